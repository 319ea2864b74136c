//! Sites: creation, places, services, accreditation; and the scan: verify and redeem.

use crate::audit;
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use redeemer::outcome::Outcome;
use redeemer::redeem::{self, RedeemRequest, Redeemed, Verdict};
use redeemer::sites::{self, Accreditation, Site};
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
#[utoipa::path(post, path = "/api/v1/sites", tag = "lieux", request_body = NewSite, responses((status = 201, body = Object)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<NewSite>,
) -> ApiResult<(StatusCode, Json<Site>)> {
    let siret: issuer::Siret = b.siret.parse().map_err(|e| ApiError::unprocessable("invalid_siret", e))?;
    let iban = b.iban.parse().map_err(|e| ApiError::unprocessable("invalid_iban", e))?;
    let bic = b.bic.parse().map_err(|e| ApiError::unprocessable("invalid_bic", e))?;
    let mut tx = state.db.begin().await?;
    let id = sites::create(&mut tx, &b.name, &siret, &iban, &bic, &b.account_holder).await?;
    audit::record(&mut tx, caller.actor(), "site.create", "organisation", id, serde_json::json!({"name": b.name}))
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(sites::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?)))
}

/// Imports places from a CSV file in the national open-data standard of mediation places
/// (operator managers): valid rows become pending sites, invalid rows are reported by line.
#[utoipa::path(post, path = "/api/v1/sites/import", tag = "lieux", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = Object)))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    crate::http::problem::Bytes(body): crate::http::problem::Bytes,
) -> ApiResult<Json<redeemer::import::ImportReport>> {
    let mut tx = state.db.begin().await?;
    let report = redeemer::import::import_csv_in(&mut tx, &body).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "sites.import",
        "file",
        body.len(),
        serde_json::json!({"imported": report.imported, "errors": report.errors.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(report))
}

/// All sites (operator).
#[utoipa::path(get, path = "/api/v1/sites", tag = "lieux", responses((status = 200, body = Vec<Object>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<Site>>> {
    let mut out = Vec::new();
    for id in sites::list_ids(&state.db).await? {
        if let Some(s) = sites::get(&state.db, id).await? {
            out.push(s);
        }
    }
    Ok(Json(out))
}

/// One site (operator, or its own members).
#[utoipa::path(get, path = "/api/v1/sites/{id}", tag = "lieux", responses((status = 200, body = Object)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<Site>> {
    caller.require_org(id)?;
    Ok(Json(sites::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlace {
    name: String,
    address: String,
    commune_insee: String,
    /// OpenStreetMap opening_hours syntax, e.g. "Mo-Fr 09:00-17:00".
    opening_hours: String,
}

/// Adds a place (operator managers, or the site's managers).
#[utoipa::path(post, path = "/api/v1/sites/{id}/places", tag = "lieux", request_body = NewPlace, responses((status = 201, body = Object)))]
pub async fn add_place(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<NewPlace>,
) -> ApiResult<(StatusCode, Json<Site>)> {
    caller.require_org(id)?;
    sites::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    let mut tx = state.db.begin().await?;
    let place = sites::add_place(&mut tx, id, &b.name, &b.address, &b.commune_insee, &b.opening_hours).await?;
    audit::record(&mut tx, caller.actor(), "site.place.add", "site_place", place, serde_json::json!({"site_id": id}))
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(sites::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Services {
    services: Vec<String>,
}

/// Sets the services a site offers (operator managers, or the site's managers).
#[utoipa::path(put, path = "/api/v1/sites/{id}/services", tag = "lieux", request_body = Services, responses((status = 200, body = Object)))]
pub async fn set_services(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Services>,
) -> ApiResult<Json<Site>> {
    caller.require_org(id)?;
    sites::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    let codes: Vec<&str> = b.services.iter().map(String::as_str).collect();
    let mut tx = state.db.begin().await?;
    sites::set_services(&mut tx, id, &codes).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "site.services",
        "organisation",
        id,
        serde_json::json!({"services": b.services}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(sites::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?))
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
#[utoipa::path(put, path = "/api/v1/sites/{id}/bank-account", tag = "lieux", request_body = BankAccount, responses((status = 200, body = Object)))]
pub async fn set_bank_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<BankAccount>,
) -> ApiResult<Json<Site>> {
    caller.require_org(id)?;
    let mut tx = state.db.begin().await?;
    sites::set_bank_account(&mut tx, id, &b.iban, b.bic.as_ref(), &b.account_holder).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "site.bank_account",
        "organisation",
        id,
        serde_json::json!({"iban": b.iban.masked()}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(sites::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// accredited, suspended or revoked
    #[schema(value_type = String)]
    status: String,
    #[schema(value_type = Option<String>)]
    until: Option<NaiveDate>,
    comment: String,
}

/// Accredits, suspends or revokes a site (operator managers); the history keeps who decided.
#[utoipa::path(post, path = "/api/v1/sites/{id}/accreditation", tag = "lieux", request_body = Decision, responses((status = 200, body = Object)))]
pub async fn accreditation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Decision>,
) -> ApiResult<Json<Site>> {
    let status = Accreditation::parse(&b.status).filter(|s| *s != Accreditation::Pending).ok_or_else(|| {
        ApiError::unprocessable("invalid_status", "statut attendu : accredited, suspended ou revoked")
    })?;
    let mut tx = state.db.begin().await?;
    sites::decide(&mut tx, id, status, b.until, Some(caller.user_id), &b.comment).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "site.accreditation",
        "organisation",
        id,
        serde_json::json!({"status": b.status, "until": b.until}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(sites::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?))
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
#[utoipa::path(post, path = "/api/v1/sites/{id}/verify", tag = "passage", request_body = VerifyRequest, responses((status = 200, body = Vec<Object>)))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<VerifyRequest>,
) -> ApiResult<Json<Vec<Verdict>>> {
    caller.require_org(id)?;
    state.limits.check_scan(caller.user_id, id)?;
    let at = b.performed_at.unwrap_or_else(ledger::time::now);
    Ok(Json(
        redeem::verify(&state.db, &state.keys, id, b.place_id, &b.service_code, &b.vouchers, at, Some(caller.user_id))
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    place_id: i64,
    service_code: String,
    vouchers: Vec<String>,
    /// When the service was delivered (default: now).
    performed_at: Option<DateTime<Utc>>,
    /// Chosen by the client; a retry with the same key returns the first answer.
    idempotency_key: String,
    /// What the help achieved: `result` (procedure_completed, skill_acquired, referred,
    /// not_completed), `autonomy_before` and `autonomy_after` on a 1–4 scale.
    #[schema(value_type = Option<Object>)]
    outcome: Option<Outcome>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Scans queued while offline: each with its own idempotency key and performed-at time.
    #[schema(value_type = Vec<Object>)]
    items: Vec<RedeemBody>,
}

/// Syncs scans queued on a device while offline (the site's members): per-item results.
#[utoipa::path(post, path = "/api/v1/sites/{id}/redemptions/batch", tag = "passage", request_body = Batch, responses((status = 200, body = Vec<Object>)))]
pub async fn redeem_batch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Batch>,
) -> ApiResult<Json<Vec<redeem::BatchItem>>> {
    caller.require_org(id)?;
    state.limits.check_scan(caller.user_id, id)?;
    let items: Vec<RedeemRequest> = b
        .items
        .into_iter()
        .map(|i| RedeemRequest {
            site_id: id,
            place_id: i.place_id,
            service_code: i.service_code,
            vouchers: i.vouchers,
            performed_at: i.performed_at,
            idempotency_key: i.idempotency_key,
            scanned_by: Some(caller.user_id),
            outcome: i.outcome,
        })
        .collect();
    let max_age = chrono::Duration::days(i64::from(state.config.offline_max_age_days));
    Ok(Json(redeem::redeem_batch(&state.db, &state.keys, &items, max_age).await?))
}

/// Redeems vouchers for a delivered service (the site's members). 201 when recorded, 200 for a
/// retry of the same request; the answer includes the site's new payable balance.
#[utoipa::path(post, path = "/api/v1/sites/{id}/redemptions", tag = "passage", request_body = RedeemBody, responses((status = 201, body = Object), (status = 409, body = crate::http::problem::Problem)))]
pub async fn redeem(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<RedeemBody>,
) -> ApiResult<(StatusCode, Json<Redeemed>)> {
    caller.require_org(id)?;
    state.limits.check_scan(caller.user_id, id)?;
    let req = RedeemRequest {
        site_id: id,
        place_id: b.place_id,
        service_code: b.service_code,
        vouchers: b.vouchers,
        performed_at: b.performed_at,
        idempotency_key: b.idempotency_key,
        scanned_by: Some(caller.user_id),
        outcome: b.outcome,
    };
    let done = redeem::redeem(&state.db, &state.keys, &req).await?;
    Ok((if done.replayed { StatusCode::OK } else { StatusCode::CREATED }, Json(done)))
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
    responses((status = 200, body = Vec<Object>)))]
pub async fn passages(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    crate::http::problem::Query(q): crate::http::problem::Query<PassageQuery>,
) -> ApiResult<Json<Vec<redeemer::history::Passage>>> {
    caller.require_org(id)?;
    Ok(Json(redeemer::history::passages(&state.db, id, q.before, q.limit.unwrap_or(100)).await?))
}
