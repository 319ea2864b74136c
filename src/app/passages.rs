//! Passages at a site: check vouchers, redeem them for a delivered service (exactly once per
//! idempotency key), sync scans queued offline, read the site's history. Every scan counts
//! against the per-user and per-site rate limits, whoever calls.

use crate::app::{Act, App, AppError, AppResult, Caller};
use chrono::{DateTime, Utc};
use redeemer::outcome::{Autonomy, Outcome, OutcomeKind};
use redeemer::redeem::{self, BatchItem, RedeemRequest, Redeemed, Refusal, Verdict};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One passage as a site's device sends it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Passage {
    pub place_id: i64,
    pub service_code: String,
    /// Scanned URLs, tokens or typed codes, one per voucher.
    pub vouchers: Vec<String>,
    /// When the service was delivered (default: now).
    pub performed_at: Option<DateTime<Utc>>,
    /// Chosen by the client; a retry with the same key returns the first answer.
    pub idempotency_key: String,
    /// What the help achieved: `result` (procedure_completed, skill_acquired, referred,
    /// not_completed), `autonomy_before` and `autonomy_after` on a 1–4 scale.
    #[schema(value_type = Option<OutcomeBody>)]
    pub outcome: Option<Outcome>,
}

/// What the help achieved, as the mediator records it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBody {
    pub result: OutcomeResult,
    /// Autonomy before the help, 1 (cannot do it alone) to 4 (fully autonomous).
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 4)]
    pub autonomy_before: Option<Autonomy>,
    /// Autonomy after the help, 1 to 4.
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 4)]
    pub autonomy_after: Option<Autonomy>,
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

/// Why a voucher or a request was refused: a stable code, French words, the voucher concerned.
#[derive(Serialize, ToSchema)]
pub struct RefusalView {
    pub code: String,
    pub message: String,
    pub voucher: Option<String>,
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
    pub input: String,
    pub redeemable: bool,
    pub refusal: Option<RefusalView>,
    pub face_value_cents: Option<i64>,
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
    pub redemption_id: i64,
    pub vouchers: u32,
    pub value_cents: i64,
    pub fee_cents: i64,
    /// The site's payable balance right after this redemption.
    pub site_payable_cents: i64,
    /// A retry of an earlier request with the same key: the answer is then the first one, byte
    /// for byte; the API tells it by the status 200 and the header `Idempotent-Replayed: true`.
    #[serde(skip)]
    #[schema(ignore)]
    pub replayed: bool,
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
    pub idempotency_key: String,
    pub redeemed: Option<RedeemedView>,
    pub refusal: Option<RefusalView>,
    /// True when the item had been recorded by an earlier sync (`redeemed` is then what that
    /// sync was answered).
    pub replayed: bool,
}

impl From<BatchItem> for BatchItemView {
    fn from(b: BatchItem) -> Self {
        let BatchItem { idempotency_key, redeemed, refusal, replayed } = b;
        BatchItemView {
            idempotency_key,
            redeemed: redeemed.map(Into::into),
            refusal: refusal.map(Into::into),
            replayed,
        }
    }
}

/// One recorded passage.
#[derive(Serialize, ToSchema)]
pub struct PassageView {
    pub id: i64,
    pub performed_at: DateTime<Utc>,
    /// The place's name.
    pub place: String,
    pub service_code: String,
    /// The service's label.
    pub service: String,
    pub vouchers: i64,
    pub value_cents: i64,
    pub fee_cents: i64,
    pub ledger_transaction: i64,
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

impl Passage {
    fn request(self, site_id: i64, caller: &Caller) -> RedeemRequest {
        RedeemRequest {
            site_id,
            place_id: self.place_id,
            service_code: self.service_code,
            vouchers: self.vouchers,
            performed_at: self.performed_at,
            idempotency_key: self.idempotency_key,
            scanned_by: caller.user(),
            outcome: self.outcome,
        }
    }
}

/// The scan desk of a site: its name, its places and the services it offers (code, label,
/// price in vouchers).
#[derive(Debug, Clone)]
pub struct Desk {
    pub site: String,
    pub places: Vec<(i64, String)>,
    pub services: Vec<(String, String, u32)>,
}

/// The caller's own site, ready to scan at.
#[tracing::instrument(skip_all, fields(user = caller.user_id, site = caller.organisation_id))]
pub async fn desk(app: &App, caller: &Caller) -> AppResult<Desk> {
    caller.require(Act::VerifyVouchers)?;
    let site = redeemer::sites::get(&app.db, caller.organisation_id).await?.ok_or(AppError::NotFound)?;
    let services = redeemer::catalogue::list(&app.db)
        .await?
        .into_iter()
        .filter(|l| !l.retired && site.services.contains(&l.service.code))
        .map(|l| (l.service.code, l.service.label, l.service.price_vouchers))
        .collect();
    Ok(Desk { site: site.name, places: site.places.into_iter().map(|p| (p.id, p.name)).collect(), services })
}

/// Says for each voucher whether it can be redeemed here and now, changing nothing.
#[tracing::instrument(skip_all, fields(user = caller.user_id, site = site_id, place = place_id))]
pub async fn verify(
    app: &App,
    caller: &Caller,
    site_id: i64,
    place_id: i64,
    service_code: &str,
    vouchers: &[String],
    at: Option<DateTime<Utc>>,
) -> AppResult<Vec<VerdictView>> {
    caller.require(Act::VerifyVouchers)?;
    caller.require_org(site_id)?;
    app.limits.check_scan(caller.user_id, site_id)?;
    let at = at.unwrap_or_else(ledger::time::now);
    let verdicts =
        redeem::verify(&app.db, &app.keys, site_id, place_id, service_code, vouchers, at, caller.user()).await?;
    Ok(verdicts.into_iter().map(Into::into).collect())
}

/// Redeems vouchers for a delivered service, exactly once per idempotency key.
#[tracing::instrument(skip_all, fields(user = caller.user_id, site = site_id, place = passage.place_id))]
pub async fn redeem(app: &App, caller: &Caller, site_id: i64, passage: Passage) -> AppResult<RedeemedView> {
    caller.require(Act::Redeem)?;
    caller.require_org(site_id)?;
    app.limits.check_scan(caller.user_id, site_id)?;
    Ok(redeem::redeem(&app.db, &app.keys, &passage.request(site_id, caller)).await?.into())
}

/// Scans queued on a device while offline: each redeemed on its own; per-item results.
#[tracing::instrument(skip_all, fields(user = caller.user_id, site = site_id, items = items.len()))]
pub async fn redeem_batch(
    app: &App,
    caller: &Caller,
    site_id: i64,
    items: Vec<Passage>,
) -> AppResult<Vec<BatchItemView>> {
    caller.require(Act::RedeemBatch)?;
    caller.require_org(site_id)?;
    app.limits.check_scan(caller.user_id, site_id)?;
    let requests: Vec<RedeemRequest> = items.into_iter().map(|p| p.request(site_id, caller)).collect();
    let max_age = chrono::Duration::days(i64::from(app.config.offline_max_age_days));
    Ok(redeem::redeem_batch(&app.db, &app.keys, &requests, max_age).await?.into_iter().map(Into::into).collect())
}

/// The site's recorded passages, newest first.
#[tracing::instrument(skip_all, fields(user = caller.user_id, site = site_id))]
pub async fn history(
    app: &App,
    caller: &Caller,
    site_id: i64,
    before: Option<i64>,
    limit: i64,
) -> AppResult<Vec<PassageView>> {
    caller.require(Act::ListPassages)?;
    caller.require_org(site_id)?;
    Ok(redeemer::history::passages(&app.db, site_id, before, limit).await?.into_iter().map(Into::into).collect())
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
            replayed: true,
        });
        same_json::<_, BatchItemView>(&BatchItem {
            idempotency_key: "k2".into(),
            redeemed: None,
            refusal: Some(refusal),
            replayed: false,
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
