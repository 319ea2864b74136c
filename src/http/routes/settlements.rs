//! Settlement runs and payouts (DESIGN §8) — adapters of `crate::app::settlements` and
//! `crate::app::funder_account`.
use crate::app::settlements::{self, RunView, SitePayoutView};
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json, Path, Problem};
use crate::http::{AppState, download};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

const XML: &str = "application/xml; charset=utf-8";
const PDF: &str = "application/pdf";

/// Settlement runs, newest period first (operator).
#[utoipa::path(get, path = "/api/v1/settlements", operation_id = "list_settlements", tag = "règlements", responses((status = 200, body = Vec<RunView>)))]
pub async fn list(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<RunView>>> {
    Ok(Json(settlements::list(&app, &caller).await?))
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
    State(app): State<AppState>,
    caller: Caller,
    Json(b): Json<Prepare>,
) -> ApiResult<(StatusCode, Json<RunView>)> {
    let run = settlements::prepare(&app, &caller, b.period_end, b.minimum_cents.map(ledger::Cents)).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

/// A run and its payouts (operator).
#[utoipa::path(get, path = "/api/v1/settlements/{id}", operation_id = "get_settlement", tag = "règlements", responses((status = 200, body = RunView)))]
pub async fn get(State(app): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<RunView>> {
    Ok(Json(settlements::get(&app, &caller, id).await?))
}

/// Releases a draft run: the payouts are posted and the SEPA file can be downloaded (operator
/// managers).
#[utoipa::path(post, path = "/api/v1/settlements/{id}/release", tag = "règlements", responses((status = 200, body = RunView), (status = 409, body = Problem)))]
pub async fn release(State(app): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<RunView>> {
    Ok(Json(settlements::release(&app, &caller, id).await?))
}

/// Cancels a draft run (operator managers).
#[utoipa::path(post, path = "/api/v1/settlements/{id}/cancel", operation_id = "cancel_settlement", tag = "règlements", responses((status = 204)))]
pub async fn cancel(State(app): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    settlements::cancel(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The SEPA credit transfer file (pain.001.001.09) of a released run (operator).
#[utoipa::path(get, path = "/api/v1/settlements/{id}/sepa.xml", tag = "règlements", responses((status = 200, content_type = "application/xml", body = String)))]
pub async fn sepa(State(app): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Response> {
    let xml = settlements::sepa(&app, &caller, id).await?;
    Ok(download(XML, &format!("virements-reglement-{id}.xml"), xml))
}

/// The operator's report of a run, PDF (operator).
#[utoipa::path(get, path = "/api/v1/settlements/{id}/report.pdf", operation_id = "settlement_report_pdf", tag = "règlements", responses((status = 200, content_type = "application/pdf", body = Vec<u8>)))]
pub async fn report(State(app): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Response> {
    let bytes = settlements::report(&app, &caller, id).await?;
    Ok(download(PDF, &format!("rapport-reglement-{id}.pdf"), bytes))
}

/// A site's statement for a run, PDF: each voucher redeemed in the period (the operator, the
/// site's members).
#[utoipa::path(get, path = "/api/v1/settlements/{id}/statements/{site}", operation_id = "site_statement_pdf", tag = "règlements", responses((status = 200, content_type = "application/pdf", body = Vec<u8>)))]
pub async fn statement(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, site)): Path<(i64, i64)>,
) -> ApiResult<Response> {
    let bytes = settlements::statement(&app, &caller, id, site).await?;
    Ok(download(PDF, &format!("releve-reglement-{id}-lieu-{site}.pdf"), bytes))
}

/// Direct mode: the SEPA file a funder sends to its own bank to pay the sites its share (the
/// operator, the funder).
#[utoipa::path(get, path = "/api/v1/funders/{id}/settlements/{run}/sepa.xml", tag = "règlements", responses((status = 200, content_type = "application/xml", body = String)))]
pub async fn funder_sepa(
    State(app): State<AppState>,
    caller: Caller,
    Path((funder, run)): Path<(i64, i64)>,
) -> ApiResult<Response> {
    let xml = settlements::funder_sepa(&app, &caller, funder, run).await?;
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
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<FunderAccount>,
) -> ApiResult<StatusCode> {
    crate::app::funder_account::set(&app, &caller, id, &b.iban, b.bic.as_ref(), &b.account_holder).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    /// When the bank executed the transfer (default: now).
    on: Option<DateTime<Utc>>,
}

/// Records the bank's confirmation of a payout (operator managers).
#[utoipa::path(post, path = "/api/v1/payouts/{id}/confirm", operation_id = "confirm_payout", tag = "règlements", request_body = Confirmation, responses((status = 204)))]
pub async fn confirm(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Confirmation>,
) -> ApiResult<StatusCode> {
    settlements::confirm(&app, &caller, id, b.on).await?;
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
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Return>,
) -> ApiResult<StatusCode> {
    settlements::record_return(&app, &caller, id, &b.reason, b.on).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A site's payouts, newest first (the site's members, the operator).
#[utoipa::path(get, path = "/api/v1/sites/{id}/payouts", tag = "règlements", responses((status = 200, body = Vec<SitePayoutView>)))]
pub async fn site_payouts(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<SitePayoutView>>> {
    Ok(Json(settlements::of_site(&app, &caller, id).await?))
}
