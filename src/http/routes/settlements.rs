//! Settlement runs and payouts (DESIGN §8, custody mode).
use crate::audit;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path};
use crate::http::{AppState, download};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use settlement::runs::{self, Run, SettlementError, SitePayout};
use settlement::sepa::Party;
use utoipa::ToSchema;

impl From<SettlementError> for ApiError {
    fn from(e: SettlementError) -> Self {
        match e {
            SettlementError::NotFound => ApiError::not_found(),
            SettlementError::Ledger(l) => l.into(),
            SettlementError::Db(db) => db.into(),
            SettlementError::State(_) | SettlementError::PreviousOpen(_) | SettlementError::LaterPeriodExists(_) => {
                ApiError::conflict(e.code(), e)
            }
            SettlementError::PeriodNotOver(_) | SettlementError::BadMinimum | SettlementError::Sepa(_) => {
                ApiError::unprocessable(e.code(), e)
            }
        }
    }
}

/// Settlement runs, newest period first (operator).
#[utoipa::path(get, path = "/api/v1/settlements", tag = "règlements", responses((status = 200, body = Vec<Object>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<Run>>> {
    Ok(Json(runs::list(&state.db).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Prepare {
    /// Last day of the period (Europe/Paris); the period must be over.
    #[schema(value_type = String)]
    period_end: NaiveDate,
    /// Smallest payout in cents (default: the configured minimum).
    minimum_cents: Option<i64>,
}

/// Prepares the run of a period as a draft to inspect; the same period again returns it
/// (operator managers).
#[utoipa::path(post, path = "/api/v1/settlements", tag = "règlements", request_body = Prepare, responses((status = 201, body = Object)))]
pub async fn prepare(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<Prepare>,
) -> ApiResult<(StatusCode, Json<Run>)> {
    let minimum = b.minimum_cents.map_or(state.config.settlement_minimum, ledger::Cents);
    let mut tx = state.db.begin().await?;
    let run =
        runs::prepare_in(&mut tx, b.period_end, minimum, state.config.settlement_mode, Some(caller.user_id)).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "settlement.prepare",
        "settlement",
        run.id,
        serde_json::json!({"period_end": run.period_end, "total_cents": run.total_cents}),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(run)))
}

/// A run and its payouts (operator).
#[utoipa::path(get, path = "/api/v1/settlements/{id}", tag = "règlements", responses((status = 200, body = Object)))]
pub async fn get(State(state): State<AppState>, Path(id): Path<i64>) -> ApiResult<Json<Run>> {
    Ok(Json(runs::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?))
}

/// Releases a draft run: the payouts are posted and the SEPA file can be downloaded (operator
/// managers).
#[utoipa::path(post, path = "/api/v1/settlements/{id}/release", tag = "règlements", responses((status = 200, body = Object), (status = 409, body = crate::http::problem::Problem)))]
pub async fn release(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<Run>> {
    let mut tx = state.db.begin().await?;
    let run = runs::release_in(&mut tx, id, Some(caller.user_id)).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "settlement.release",
        "settlement",
        id,
        serde_json::json!({"total_cents": run.total_cents}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(run))
}

/// Cancels a draft run (operator managers).
#[utoipa::path(post, path = "/api/v1/settlements/{id}/cancel", tag = "règlements", responses((status = 204)))]
pub async fn cancel(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    runs::cancel_in(&mut tx, id).await?;
    audit::record(&mut tx, caller.actor(), "settlement.cancel", "settlement", id, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The SEPA credit transfer file (pain.001.001.09) of a released run (operator).
#[utoipa::path(get, path = "/api/v1/settlements/{id}/sepa.xml", tag = "règlements", responses((status = 200, content_type = "application/xml", body = String)))]
pub async fn sepa(State(state): State<AppState>, Path(id): Path<i64>) -> ApiResult<Response> {
    let Some((iban, bic)) = state.config.operator_account.clone() else {
        return Err(ApiError::unprocessable(
            "operator_account_missing",
            "Le compte de l'opérateur n'est pas configuré (PASSERELLE_OPERATOR_IBAN, PASSERELLE_OPERATOR_BIC).",
        ));
    };
    let name = issuer::organisations::operator(&state.db).await?.map_or_else(|| "Passerelle".to_owned(), |o| o.name);
    let xml = runs::sepa_file(&state.db, id, &Party { name, iban, bic }, None).await?;
    Ok(download(XML, &format!("virements-reglement-{id}.xml"), xml))
}

const XML: &str = "application/xml; charset=utf-8";

fn pdf(bytes: Vec<u8>, name: String) -> Response {
    download("application/pdf", &name, bytes)
}

/// The operator's report of a run, PDF (operator).
#[utoipa::path(get, path = "/api/v1/settlements/{id}/report.pdf", tag = "règlements", responses((status = 200, content_type = "application/pdf", body = Vec<u8>)))]
pub async fn report(State(state): State<AppState>, Path(id): Path<i64>) -> ApiResult<Response> {
    let run = runs::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    let bytes = settlement::statement::report_pdf(&run).map_err(ApiError::internal)?;
    Ok(pdf(bytes, format!("rapport-reglement-{id}.pdf")))
}

/// A site's statement for a run, PDF: each voucher redeemed in the period (the operator, the
/// site's members).
#[utoipa::path(get, path = "/api/v1/settlements/{id}/statements/{site}", tag = "règlements", responses((status = 200, content_type = "application/pdf", body = Vec<u8>)))]
pub async fn statement(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, site)): Path<(i64, i64)>,
) -> ApiResult<Response> {
    caller.require_org(site)?;
    let st = settlement::statement::statement(&state.db, id, site).await?;
    let bytes = settlement::statement::statement_pdf(&st).map_err(ApiError::internal)?;
    Ok(pdf(bytes, format!("releve-reglement-{id}-lieu-{site}.pdf")))
}

/// Direct mode: the SEPA file a funder sends to its own bank to pay the sites its share (the
/// operator, the funder).
#[utoipa::path(get, path = "/api/v1/funders/{id}/settlements/{run}/sepa.xml", tag = "règlements", responses((status = 200, content_type = "application/xml", body = String)))]
pub async fn funder_sepa(
    State(state): State<AppState>,
    caller: Caller,
    Path((funder, run)): Path<(i64, i64)>,
) -> ApiResult<Response> {
    caller.require_org(funder)?;
    let debtor = runs::funder_account(&state.db, funder).await?.ok_or_else(|| {
        ApiError::unprocessable("funder_account_missing", "Le compte bancaire du financeur n'est pas renseigné.")
    })?;
    let xml = runs::sepa_file(&state.db, run, &debtor, Some(funder)).await?;
    Ok(download(XML, &format!("virements-reglement-{run}-financeur-{funder}.xml"), xml))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FunderAccount {
    #[schema(value_type = String)]
    iban: redeemer::bank::Iban,
    #[schema(value_type = Option<String>)]
    bic: Option<redeemer::bank::Bic>,
    account_holder: String,
}

/// The account a funder pays the sites from in direct mode (the operator, the funder's managers).
#[utoipa::path(put, path = "/api/v1/funders/{id}/bank-account", tag = "règlements", request_body = FunderAccount, responses((status = 204)))]
pub async fn set_funder_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<FunderAccount>,
) -> ApiResult<StatusCode> {
    caller.require_org(id)?;
    let mut tx = state.db.begin().await?;
    runs::set_funder_account(&mut tx, id, &b.iban, b.bic.as_ref(), &b.account_holder).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "funder.bank_account",
        "organisation",
        id,
        serde_json::json!({"iban": b.iban.masked()}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    /// When the bank executed the transfer (default: now).
    on: Option<DateTime<Utc>>,
}

/// Records the bank's confirmation of a payout (operator managers).
#[utoipa::path(post, path = "/api/v1/payouts/{id}/confirm", tag = "règlements", request_body = Confirmation, responses((status = 204)))]
pub async fn confirm(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Confirmation>,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    runs::confirm_in(&mut tx, id, b.on.unwrap_or_else(ledger::time::now)).await?;
    audit::record(&mut tx, caller.actor(), "payout.confirm", "payout", id, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Return {
    /// The bank's reason, e.g. "AC04 compte clôturé".
    reason: String,
    on: Option<DateTime<Utc>>,
}

/// Records a returned transfer: the amount goes back to the site, whose bank details are
/// flagged for review (operator managers).
#[utoipa::path(post, path = "/api/v1/payouts/{id}/return", tag = "règlements", request_body = Return, responses((status = 204)))]
pub async fn record_return(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Return>,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    runs::record_return_in(&mut tx, id, &b.reason, b.on.unwrap_or_else(ledger::time::now)).await?;
    audit::record(&mut tx, caller.actor(), "payout.return", "payout", id, serde_json::json!({"reason": b.reason}))
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A site's payouts, newest first (the site's members, the operator).
#[utoipa::path(get, path = "/api/v1/sites/{id}/payouts", tag = "règlements", responses((status = 200, body = Vec<Object>)))]
pub async fn site_payouts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<SitePayout>>> {
    caller.require_org(id)?;
    Ok(Json(runs::site_payouts(&state.db, id).await?))
}
