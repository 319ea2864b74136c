//! Settlement runs and payouts (DESIGN §8, custody mode).
use crate::audit;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path};
use crate::http::{AppState, download};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use settlement::runs::{self, Mode, Payout, Run, SettlementError, SitePayout};
use settlement::sepa::Party;
use utoipa::ToSchema;

/// A settlement run and its payouts.
#[derive(Serialize, ToSchema)]
pub struct RunView {
    id: i64,
    /// First day of the period; none for the first run, which settles everything before its end.
    period_start: Option<NaiveDate>,
    /// Last day of the period (Europe/Paris).
    period_end: NaiveDate,
    /// `draft`, `released` or `cancelled`.
    status: String,
    mode: SettlementModeView,
    minimum_cents: i64,
    created_at: DateTime<Utc>,
    released_at: Option<DateTime<Utc>>,
    total_cents: i64,
    payouts: Vec<PayoutView>,
}

/// Who pays the sites: the operator from the money it holds (`custody`), or each funder its
/// share from its own account (`direct`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettlementModeView {
    Custody,
    Direct,
}

/// One payout of a run.
#[derive(Serialize, ToSchema)]
pub struct PayoutView {
    id: i64,
    site_id: i64,
    /// Direct mode: the funder who pays this part.
    funder_id: Option<i64>,
    site_name: String,
    amount_cents: i64,
    iban_masked: String,
    end_to_end_id: String,
    /// `draft`, `sent`, `confirmed` or `returned`.
    status: String,
    return_reason: Option<String>,
}

/// A payout of a site with the period it settles.
#[derive(Serialize, ToSchema)]
pub struct SitePayoutView {
    run_id: i64,
    period_end: NaiveDate,
    payout: PayoutView,
}

impl From<Payout> for PayoutView {
    fn from(p: Payout) -> Self {
        let Payout {
            id,
            site_id,
            funder_id,
            site_name,
            amount_cents,
            iban_masked,
            end_to_end_id,
            status,
            return_reason,
        } = p;
        PayoutView {
            id,
            site_id,
            funder_id,
            site_name,
            amount_cents,
            iban_masked,
            end_to_end_id,
            status,
            return_reason,
        }
    }
}

impl From<Run> for RunView {
    fn from(r: Run) -> Self {
        let Run {
            id,
            period_start,
            period_end,
            status,
            mode,
            minimum_cents,
            created_at,
            released_at,
            total_cents,
            payouts,
        } = r;
        let mode = match mode {
            Mode::Custody => SettlementModeView::Custody,
            Mode::Direct => SettlementModeView::Direct,
        };
        RunView {
            id,
            period_start,
            period_end,
            status,
            mode,
            minimum_cents,
            created_at,
            released_at,
            total_cents,
            payouts: payouts.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<SitePayout> for SitePayoutView {
    fn from(p: SitePayout) -> Self {
        let SitePayout { run_id, period_end, payout } = p;
        SitePayoutView { run_id, period_end, payout: payout.into() }
    }
}

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
#[utoipa::path(get, path = "/api/v1/settlements", tag = "règlements", responses((status = 200, body = Vec<RunView>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<RunView>>> {
    Ok(Json(runs::list(&state.db).await?.into_iter().map(Into::into).collect()))
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
#[utoipa::path(post, path = "/api/v1/settlements", tag = "règlements", request_body = Prepare, responses((status = 201, body = RunView)))]
pub async fn prepare(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<Prepare>,
) -> ApiResult<(StatusCode, Json<RunView>)> {
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
    Ok((StatusCode::CREATED, Json(run.into())))
}

/// A run and its payouts (operator).
#[utoipa::path(get, path = "/api/v1/settlements/{id}", tag = "règlements", responses((status = 200, body = RunView)))]
pub async fn get(State(state): State<AppState>, Path(id): Path<i64>) -> ApiResult<Json<RunView>> {
    Ok(Json(runs::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?.into()))
}

/// Releases a draft run: the payouts are posted and the SEPA file can be downloaded (operator
/// managers).
#[utoipa::path(post, path = "/api/v1/settlements/{id}/release", tag = "règlements", responses((status = 200, body = RunView), (status = 409, body = crate::http::problem::Problem)))]
pub async fn release(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<RunView>> {
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
    Ok(Json(run.into()))
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
    crate::app::funder_account::set(&state, &caller, id, &b.iban, b.bic.as_ref(), &b.account_holder).await?;
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
#[utoipa::path(get, path = "/api/v1/sites/{id}/payouts", tag = "règlements", responses((status = 200, body = Vec<SitePayoutView>)))]
pub async fn site_payouts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<SitePayoutView>>> {
    caller.require_org(id)?;
    Ok(Json(runs::site_payouts(&state.db, id).await?.into_iter().map(Into::into).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The views answer exactly the JSON the domain types would.
    #[test]
    fn views_serialize_like_the_domain() {
        let payout = |funder_id, return_reason: Option<&str>| Payout {
            id: 5,
            site_id: 7,
            funder_id,
            site_name: "Lieu".into(),
            amount_cents: 12_345,
            iban_masked: "FR…89".into(),
            end_to_end_id: "PSL-R1-S7".into(),
            status: "returned".into(),
            return_reason: return_reason.map(str::to_owned),
        };
        for (mode, period_start, released_at) in [
            (Mode::Custody, None, None),
            (Mode::Direct, NaiveDate::from_ymd_opt(2026, 10, 1), Some("2026-11-02T09:00:00Z".parse().unwrap())),
        ] {
            let run = Run {
                id: 1,
                period_start,
                period_end: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
                status: "released".into(),
                mode,
                minimum_cents: 1000,
                created_at: "2026-11-01T08:00:00Z".parse().unwrap(),
                released_at,
                total_cents: 12_345,
                payouts: vec![payout(None, None), payout(Some(3), Some("AC04 compte clôturé"))],
            };
            assert_eq!(serde_json::to_value(RunView::from(run.clone())).unwrap(), serde_json::to_value(&run).unwrap());
        }
        let p = SitePayout {
            run_id: 1,
            period_end: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            payout: payout(None, None),
        };
        assert_eq!(serde_json::to_value(SitePayoutView::from(p.clone())).unwrap(), serde_json::to_value(&p).unwrap());
    }
}
