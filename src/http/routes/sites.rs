//! Sites: creation, places, services, accreditation; and the scan: verify and redeem.

use crate::audit;
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use redeemer::outcome::{Autonomy, Outcome, OutcomeKind};
use redeemer::redeem::{self, BatchItem, RedeemRequest, Redeemed, Refusal, Verdict};
use redeemer::sites::{self, Accreditation, Place, Site};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A site as its members and the operator see it.
#[derive(Serialize, ToSchema)]
pub struct SiteView {
    id: i64,
    name: String,
    siret: Option<String>,
    status: SiteStatusView,
    /// Last day of the accreditation (YYYY-MM-DD), if it ends.
    accredited_until: Option<String>,
    /// Only the first and last characters of the IBAN.
    iban_masked: Option<String>,
    /// True while the bank details are to be checked again after a returned transfer.
    bank_review: bool,
    places: Vec<PlaceView>,
    /// Codes of the catalogue services the site offers.
    services: Vec<String>,
}

/// Where a site stands with its accreditation.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SiteStatusView {
    Pending,
    Accredited,
    Suspended,
    Revoked,
}

#[derive(Serialize, ToSchema)]
pub struct PlaceView {
    id: i64,
    name: String,
    address: String,
    commune_insee: String,
    /// OpenStreetMap opening_hours syntax.
    opening_hours: String,
}

impl From<Site> for SiteView {
    fn from(s: Site) -> Self {
        let Site { id, name, siret, status, accredited_until, iban_masked, bank_review, places, services } = s;
        let status = match status {
            Accreditation::Pending => SiteStatusView::Pending,
            Accreditation::Accredited => SiteStatusView::Accredited,
            Accreditation::Suspended => SiteStatusView::Suspended,
            Accreditation::Revoked => SiteStatusView::Revoked,
        };
        let places = places
            .into_iter()
            .map(|p| {
                let Place { id, name, address, commune_insee, opening_hours } = p;
                PlaceView { id, name, address, commune_insee, opening_hours }
            })
            .collect();
        SiteView { id, name, siret, status, accredited_until, iban_masked, bank_review, places, services }
    }
}

/// The site `id`, as answered after a change.
async fn site_view(state: &AppState, id: i64) -> ApiResult<Json<SiteView>> {
    Ok(Json(sites::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?.into()))
}

/// What an import did.
#[derive(Serialize, ToSchema)]
pub struct ImportReportView {
    /// Pending sites created.
    imported: usize,
    /// Valid rows left alone: their SIRET was already known (or repeated in the file).
    unchanged: usize,
    errors: Vec<RowErrorView>,
}

/// Why a row of the file was refused.
#[derive(Serialize, ToSchema)]
pub struct RowErrorView {
    /// Line in the file (the header is line 1; 0 when the refusal is not about one line).
    line: u64,
    field: String,
    reason: String,
}

impl From<redeemer::import::ImportReport> for ImportReportView {
    fn from(r: redeemer::import::ImportReport) -> Self {
        let redeemer::import::ImportReport { imported, unchanged, errors } = r;
        let errors = errors
            .into_iter()
            .map(|e| {
                let redeemer::import::RowError { line, field, reason } = e;
                RowErrorView { line, field, reason }
            })
            .collect();
        ImportReportView { imported, unchanged, errors }
    }
}

/// Why a voucher or a request was refused: a stable code, French words, the voucher concerned.
#[derive(Serialize, ToSchema)]
pub struct RefusalView {
    code: String,
    message: String,
    voucher: Option<String>,
}

impl From<Refusal> for RefusalView {
    fn from(r: Refusal) -> Self {
        let Refusal { code, message, voucher } = r;
        RefusalView { code: code.to_owned(), message, voucher }
    }
}

/// The verdict on one input of a verification.
#[derive(Serialize, ToSchema)]
pub struct VerdictView {
    input: String,
    redeemable: bool,
    refusal: Option<RefusalView>,
    face_value_cents: Option<i64>,
}

impl From<Verdict> for VerdictView {
    fn from(v: Verdict) -> Self {
        let Verdict { input, redeemable, refusal, face_value_cents } = v;
        VerdictView { input, redeemable, refusal: refusal.map(Into::into), face_value_cents }
    }
}

/// What was recorded.
#[derive(Serialize, ToSchema)]
pub struct RedeemedView {
    redemption_id: i64,
    vouchers: u32,
    value_cents: i64,
    fee_cents: i64,
    /// The site's payable balance after this redemption.
    site_payable_cents: i64,
    /// True when this is a retry of an earlier request with the same key.
    replayed: bool,
}

impl From<Redeemed> for RedeemedView {
    fn from(r: Redeemed) -> Self {
        let Redeemed { redemption_id, vouchers, value_cents, fee_cents, site_payable_cents, replayed } = r;
        RedeemedView { redemption_id, vouchers, value_cents, fee_cents, site_payable_cents, replayed }
    }
}

/// The outcome of one item of an offline batch: recorded or refused.
#[derive(Serialize, ToSchema)]
pub struct BatchItemView {
    idempotency_key: String,
    redeemed: Option<RedeemedView>,
    refusal: Option<RefusalView>,
}

impl From<BatchItem> for BatchItemView {
    fn from(b: BatchItem) -> Self {
        let BatchItem { idempotency_key, redeemed, refusal } = b;
        BatchItemView { idempotency_key, redeemed: redeemed.map(Into::into), refusal: refusal.map(Into::into) }
    }
}

/// One recorded passage.
#[derive(Serialize, ToSchema)]
pub struct PassageView {
    id: i64,
    performed_at: DateTime<Utc>,
    /// The place's name.
    place: String,
    service_code: String,
    /// The service's label.
    service: String,
    vouchers: i64,
    value_cents: i64,
    fee_cents: i64,
    ledger_transaction: i64,
}

impl From<redeemer::history::Passage> for PassageView {
    fn from(p: redeemer::history::Passage) -> Self {
        let redeemer::history::Passage {
            id,
            performed_at,
            place,
            service_code,
            service,
            vouchers,
            value_cents,
            fee_cents,
            ledger_transaction,
        } = p;
        PassageView {
            id,
            performed_at,
            place,
            service_code,
            service,
            vouchers,
            value_cents,
            fee_cents,
            ledger_transaction,
        }
    }
}

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
#[utoipa::path(post, path = "/api/v1/sites", tag = "lieux", request_body = NewSite, responses((status = 201, body = SiteView)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<NewSite>,
) -> ApiResult<(StatusCode, Json<SiteView>)> {
    let siret: issuer::Siret = b.siret.parse().map_err(|e| ApiError::unprocessable("invalid_siret", e))?;
    let iban = b.iban.parse().map_err(|e| ApiError::unprocessable("invalid_iban", e))?;
    let bic = b.bic.parse().map_err(|e| ApiError::unprocessable("invalid_bic", e))?;
    let mut tx = state.db.begin().await?;
    let id = sites::create(&mut tx, &b.name, &siret, &iban, &bic, &b.account_holder).await?;
    audit::record(&mut tx, caller.actor(), "site.create", "organisation", id, serde_json::json!({"name": b.name}))
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, site_view(&state, id).await?))
}

/// Imports places from a CSV file in the national open-data standard of mediation places
/// (operator managers): valid rows become pending sites, invalid rows are reported by line.
#[utoipa::path(post, path = "/api/v1/sites/import", tag = "lieux", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReportView)))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    crate::http::problem::Bytes(body): crate::http::problem::Bytes,
) -> ApiResult<Json<ImportReportView>> {
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
    Ok(Json(report.into()))
}

/// All sites (operator).
#[utoipa::path(get, path = "/api/v1/sites", tag = "lieux", responses((status = 200, body = Vec<SiteView>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<SiteView>>> {
    let mut out = Vec::new();
    for id in sites::list_ids(&state.db).await? {
        if let Some(s) = sites::get(&state.db, id).await? {
            out.push(s.into());
        }
    }
    Ok(Json(out))
}

/// One site (operator, or its own members).
#[utoipa::path(get, path = "/api/v1/sites/{id}", tag = "lieux", responses((status = 200, body = SiteView)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<SiteView>> {
    caller.require_org(id)?;
    site_view(&state, id).await
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
#[utoipa::path(post, path = "/api/v1/sites/{id}/places", tag = "lieux", request_body = NewPlace, responses((status = 201, body = SiteView)))]
pub async fn add_place(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<NewPlace>,
) -> ApiResult<(StatusCode, Json<SiteView>)> {
    caller.require_org(id)?;
    sites::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    let mut tx = state.db.begin().await?;
    let place = sites::add_place(&mut tx, id, &b.name, &b.address, &b.commune_insee, &b.opening_hours).await?;
    audit::record(&mut tx, caller.actor(), "site.place.add", "site_place", place, serde_json::json!({"site_id": id}))
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, site_view(&state, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Services {
    services: Vec<String>,
}

/// Sets the services a site offers (operator managers, or the site's managers).
#[utoipa::path(put, path = "/api/v1/sites/{id}/services", tag = "lieux", request_body = Services, responses((status = 200, body = SiteView)))]
pub async fn set_services(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Services>,
) -> ApiResult<Json<SiteView>> {
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
    site_view(&state, id).await
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
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<BankAccount>,
) -> ApiResult<Json<SiteView>> {
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
    site_view(&state, id).await
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
#[utoipa::path(post, path = "/api/v1/sites/{id}/accreditation", tag = "lieux", request_body = Decision, responses((status = 200, body = SiteView)))]
pub async fn accreditation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Decision>,
) -> ApiResult<Json<SiteView>> {
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
    site_view(&state, id).await
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
#[utoipa::path(post, path = "/api/v1/sites/{id}/verify", tag = "passage", request_body = VerifyRequest, responses((status = 200, body = Vec<VerdictView>)))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<VerifyRequest>,
) -> ApiResult<Json<Vec<VerdictView>>> {
    caller.require_org(id)?;
    state.limits.check_scan(caller.user_id, id)?;
    let at = b.performed_at.unwrap_or_else(ledger::time::now);
    Ok(Json(
        redeem::verify(&state.db, &state.keys, id, b.place_id, &b.service_code, &b.vouchers, at, Some(caller.user_id))
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
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
    outcome: Option<OutcomeBody>,
}

/// What the help achieved, as the mediator records it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBody {
    result: OutcomeResult,
    /// Autonomy before the help, 1 (cannot do it alone) to 4 (fully autonomous).
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 4)]
    autonomy_before: Option<Autonomy>,
    /// Autonomy after the help, 1 to 4.
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 4)]
    autonomy_after: Option<Autonomy>,
}

/// How the help ended.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeResult {
    ProcedureCompleted,
    SkillAcquired,
    Referred,
    NotCompleted,
}

impl From<OutcomeBody> for Outcome {
    fn from(o: OutcomeBody) -> Self {
        let result = match o.result {
            OutcomeResult::ProcedureCompleted => OutcomeKind::ProcedureCompleted,
            OutcomeResult::SkillAcquired => OutcomeKind::SkillAcquired,
            OutcomeResult::Referred => OutcomeKind::Referred,
            OutcomeResult::NotCompleted => OutcomeKind::NotCompleted,
        };
        Outcome { result, autonomy_before: o.autonomy_before, autonomy_after: o.autonomy_after }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Scans queued while offline: each with its own idempotency key and performed-at time.
    items: Vec<RedeemBody>,
}

/// Syncs scans queued on a device while offline (the site's members): per-item results.
#[utoipa::path(post, path = "/api/v1/sites/{id}/redemptions/batch", tag = "passage", request_body = Batch, responses((status = 200, body = Vec<BatchItemView>)))]
pub async fn redeem_batch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Batch>,
) -> ApiResult<Json<Vec<BatchItemView>>> {
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
            outcome: i.outcome.map(Into::into),
        })
        .collect();
    let max_age = chrono::Duration::days(i64::from(state.config.offline_max_age_days));
    Ok(Json(redeem::redeem_batch(&state.db, &state.keys, &items, max_age).await?.into_iter().map(Into::into).collect()))
}

/// Redeems vouchers for a delivered service (the site's members). 201 when recorded, 200 for a
/// retry of the same request; the answer includes the site's new payable balance.
#[utoipa::path(post, path = "/api/v1/sites/{id}/redemptions", tag = "passage", request_body = RedeemBody, responses((status = 201, body = RedeemedView), (status = 200, body = RedeemedView), (status = 409, body = crate::http::problem::Problem)))]
pub async fn redeem(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<RedeemBody>,
) -> ApiResult<(StatusCode, Json<RedeemedView>)> {
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
        outcome: b.outcome.map(Into::into),
    };
    let done = redeem::redeem(&state.db, &state.keys, &req).await?;
    Ok((if done.replayed { StatusCode::OK } else { StatusCode::CREATED }, Json(done.into())))
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
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    crate::http::problem::Query(q): crate::http::problem::Query<PassageQuery>,
) -> ApiResult<Json<Vec<PassageView>>> {
    caller.require_org(id)?;
    let passages = redeemer::history::passages(&state.db, id, q.before, q.limit.unwrap_or(100)).await?;
    Ok(Json(passages.into_iter().map(Into::into).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The view answers exactly the JSON the domain type would.
    fn same_json<D: Serialize + Clone, V: Serialize + From<D>>(domain: &D) {
        assert_eq!(serde_json::to_value(V::from(domain.clone())).unwrap(), serde_json::to_value(domain).unwrap());
    }

    #[test]
    fn views_serialize_like_the_domain() {
        let place = Place {
            id: 3,
            name: "Médiathèque".into(),
            address: "1 rue de la Paix".into(),
            commune_insee: "75056".into(),
            opening_hours: "Mo-Fr 09:00-17:00".into(),
        };
        for (status, until, siret, iban) in [
            (Accreditation::Pending, None, None, None),
            (
                Accreditation::Accredited,
                Some("2027-01-31".to_owned()),
                Some("12345678200010".to_owned()),
                Some("FR…89".to_owned()),
            ),
            (Accreditation::Suspended, None, None, None),
            (Accreditation::Revoked, None, None, None),
        ] {
            same_json::<Site, SiteView>(&Site {
                id: 7,
                name: "Lieu".into(),
                siret,
                status,
                accredited_until: until,
                iban_masked: iban,
                bank_review: true,
                places: vec![place.clone()],
                services: vec!["atelier".into()],
            });
        }
        same_json::<_, ImportReportView>(&redeemer::import::ImportReport {
            imported: 2,
            unchanged: 1,
            errors: vec![redeemer::import::RowError {
                line: 4,
                field: "pivot".into(),
                reason: "SIRET invalide".into(),
            }],
        });
        let refusal =
            Refusal { code: "expired", message: "Ce chèque a expiré.".into(), voucher: Some("ABCD".into()) };
        same_json::<_, VerdictView>(&Verdict {
            input: "ABCD".into(),
            redeemable: false,
            refusal: Some(refusal.clone()),
            face_value_cents: None,
        });
        same_json::<_, VerdictView>(&Verdict {
            input: "EFGH".into(),
            redeemable: true,
            refusal: None,
            face_value_cents: Some(500),
        });
        let redeemed = Redeemed {
            redemption_id: 1,
            vouchers: 2,
            value_cents: 1000,
            fee_cents: 30,
            site_payable_cents: 970,
            replayed: false,
        };
        same_json::<_, RedeemedView>(&redeemed);
        same_json::<_, BatchItemView>(&BatchItem {
            idempotency_key: "k1".into(),
            redeemed: Some(redeemed),
            refusal: None,
        });
        same_json::<_, BatchItemView>(&BatchItem {
            idempotency_key: "k2".into(),
            redeemed: None,
            refusal: Some(refusal),
        });
        same_json::<_, PassageView>(&redeemer::history::Passage {
            id: 9,
            performed_at: "2026-10-01T08:30:00Z".parse().unwrap(),
            place: "Médiathèque".into(),
            service_code: "atelier".into(),
            service: "Atelier".into(),
            vouchers: 2,
            value_cents: 1000,
            fee_cents: 30,
            ledger_transaction: 42,
        });
    }

    /// The outcome of a redemption reads as the domain type reads it, refusals included.
    #[test]
    fn outcome_body_reads_like_the_domain() {
        for text in [
            r#"{"result":"procedure_completed"}"#,
            r#"{"result":"skill_acquired","autonomy_before":1,"autonomy_after":4}"#,
            r#"{"result":"referred","autonomy_before":null}"#,
            r#"{"result":"not_completed","autonomy_after":2}"#,
            r#"{"result":"referred","autonomy_before":1,"autonomy_after":9}"#,
            r#"{"result":"unknown"}"#,
            r#"{"result":"referred","extra":1}"#,
            r#"{}"#,
        ] {
            let view = serde_json::from_str::<OutcomeBody>(text).map(Outcome::from).map_err(|e| e.to_string());
            let domain = serde_json::from_str::<Outcome>(text).map_err(|e| e.to_string());
            assert_eq!(view, domain, "{text}");
        }
    }
}
