//! Sites: creation, places, services, accreditation; and the scan: verify and redeem —
//! adapters of `crate::app::sites` and `crate::app::passages`.

use crate::app::passages::{self, BatchItemView, Passage, PassageView, RedeemedView, VerdictView};
use crate::app::sites::{self, ImportReportView, SiteView};
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Bytes, Json, Path, Problem, Query};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSite {
    name: String,
    siret: String,
    iban: String,
    bic: String,
    account_holder: String,
}

/// Creates a pending site with its payout account (operator managers).
#[utoipa::path(post, path = "/api/v1/sites", operation_id = "create_site", tag = "lieux", request_body = NewSite, responses((status = 201, body = SiteView)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Json(b): Json<NewSite>,
) -> ApiResult<(StatusCode, Json<SiteView>)> {
    let new = sites::NewSite {
        name: &b.name,
        siret: &b.siret,
        iban: &b.iban,
        bic: &b.bic,
        account_holder: &b.account_holder,
    };
    Ok((StatusCode::CREATED, Json(sites::create(&app, &caller, new).await?)))
}

/// Imports places from a CSV file in the national open-data standard of mediation places
/// (operator managers): valid rows become pending sites, invalid rows are reported by line.
#[utoipa::path(post, path = "/api/v1/sites/import", tag = "lieux", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReportView)))]
pub async fn import(
    State(app): State<AppState>,
    caller: Caller,
    Bytes(body): Bytes,
) -> ApiResult<Json<ImportReportView>> {
    Ok(Json(sites::import(&app, &caller, &body).await?))
}

/// All sites (operator).
#[utoipa::path(get, path = "/api/v1/sites", operation_id = "list_sites", tag = "lieux", responses((status = 200, body = Vec<SiteView>)))]
pub async fn list(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<SiteView>>> {
    Ok(Json(sites::list(&app, &caller).await?))
}

/// One site (operator, or its own members).
#[utoipa::path(get, path = "/api/v1/sites/{id}", operation_id = "get_site", tag = "lieux", responses((status = 200, body = SiteView)))]
pub async fn get(State(app): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<SiteView>> {
    Ok(Json(sites::get(&app, &caller, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlace {
    name: String,
    address: String,
    /// INSEE code of the commune (5 characters, e.g. "33063").
    #[schema(value_type = String)]
    commune_insee: issuer::InseeCode,
    /// OpenStreetMap opening_hours syntax, e.g. "Mo-Fr 09:00-17:00".
    opening_hours: String,
}

/// Adds a place (operator managers, or the site's managers).
#[utoipa::path(post, path = "/api/v1/sites/{id}/places", tag = "lieux", request_body = NewPlace, responses((status = 201, body = SiteView)))]
pub async fn add_place(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<NewPlace>,
) -> ApiResult<(StatusCode, Json<SiteView>)> {
    let place = sites::NewPlace {
        name: &b.name,
        address: &b.address,
        commune_insee: &b.commune_insee,
        opening_hours: &b.opening_hours,
    };
    Ok((StatusCode::CREATED, Json(sites::add_place(&app, &caller, id, place).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Services {
    services: Vec<String>,
}

/// Sets the services a site offers (operator managers, or the site's managers).
#[utoipa::path(put, path = "/api/v1/sites/{id}/services", tag = "lieux", request_body = Services, responses((status = 200, body = SiteView)))]
pub async fn set_services(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Services>,
) -> ApiResult<Json<SiteView>> {
    Ok(Json(sites::set_services(&app, &caller, id, &b.services).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankAccount {
    /// IBAN (checked with mod 97), spaces allowed.
    #[schema(value_type = String)]
    iban: redeemer::bank::Iban,
    #[schema(value_type = Option<String>)]
    bic: Option<redeemer::bank::Bic>,
    account_holder: String,
}

/// Sets the account payouts go to (operator managers, the site's managers); this ends a review
/// of the bank details after a returned transfer.
#[utoipa::path(put, path = "/api/v1/sites/{id}/bank-account", tag = "lieux", request_body = BankAccount, responses((status = 200, body = SiteView)))]
pub async fn set_bank_account(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<BankAccount>,
) -> ApiResult<Json<SiteView>> {
    Ok(Json(sites::set_bank_account(&app, &caller, id, &b.iban, b.bic.as_ref(), &b.account_holder).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// accredited, suspended or revoked
    status: String,
    #[schema(value_type = Option<String>, format = Date)]
    until: Option<NaiveDate>,
    comment: String,
}

/// Accredits, suspends or revokes a site (operator managers); the history keeps who decided.
#[utoipa::path(post, path = "/api/v1/sites/{id}/accreditation", tag = "lieux", request_body = Decision, responses((status = 200, body = SiteView)))]
pub async fn accreditation(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Decision>,
) -> ApiResult<Json<SiteView>> {
    Ok(Json(sites::decide(&app, &caller, id, &b.status, b.until, &b.comment).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    place_id: i64,
    service_code: String,
    /// Scanned URLs, tokens or typed codes.
    vouchers: Vec<String>,
    performed_at: Option<DateTime<Utc>>,
}

/// Says for each voucher whether it can be redeemed here and now (the site's members).
#[utoipa::path(post, path = "/api/v1/sites/{id}/verify", operation_id = "verify_vouchers", tag = "passage", request_body = VerifyRequest, responses((status = 200, body = Vec<VerdictView>)))]
pub async fn verify(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<VerifyRequest>,
) -> ApiResult<Json<Vec<VerdictView>>> {
    Ok(Json(passages::verify(&app, &caller, id, b.place_id, &b.service_code, &b.vouchers, b.performed_at).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Scans queued while offline: each with its own idempotency key and performed-at time.
    items: Vec<Passage>,
}

/// Syncs scans queued on a device while offline (the site's members): per-item results.
#[utoipa::path(post, path = "/api/v1/sites/{id}/redemptions/batch", tag = "passage", request_body = Batch, responses((status = 200, body = Vec<BatchItemView>)))]
pub async fn redeem_batch(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Batch>,
) -> ApiResult<Json<Vec<BatchItemView>>> {
    Ok(Json(passages::redeem_batch(&app, &caller, id, b.items).await?))
}

/// Redeems vouchers for a delivered service (the site's members). 201 when recorded; a retry of
/// the same request with the same `idempotency_key` answers 200 with the header
/// `Idempotent-Replayed: true` and the first answer, byte for byte (the site's payable balance
/// as it was right after this redemption); the same key with another request is refused (422,
/// `idempotency_conflict`).
#[utoipa::path(post, path = "/api/v1/sites/{id}/redemptions", tag = "passage", request_body = Passage,
    responses((status = 201, body = RedeemedView),
        (status = 200, body = RedeemedView, headers(("Idempotent-Replayed" = String, description = "`true`: the first answer to this key"))),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn redeem(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Passage>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let done = passages::redeem(&app, &caller, id, b).await?;
    Ok(if done.replayed {
        (StatusCode::OK, [("idempotent-replayed", "true")], Json(done)).into_response()
    } else {
        (StatusCode::CREATED, Json(done)).into_response()
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PassageQuery {
    /// Passages older than this id (paging).
    before: Option<i64>,
    /// At most this many (1–500, default 100).
    limit: Option<i64>,
}

/// The site's recorded passages, newest first (the site's members, the operator).
#[utoipa::path(get, path = "/api/v1/sites/{id}/redemptions", tag = "passage", params(PassageQuery),
    responses((status = 200, body = Vec<PassageView>)))]
pub async fn passages(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<PassageQuery>,
) -> ApiResult<Json<Vec<PassageView>>> {
    Ok(Json(passages::history(&app, &caller, id, q.before, q.limit.unwrap_or(100)).await?))
}
