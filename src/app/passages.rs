//! Passages at a site: check vouchers, redeem them for a delivered service (exactly once per
//! idempotency key), sync scans queued offline, read the site's history. Every scan counts
//! against the per-user and per-site rate limits, whoever calls.

use crate::app::{Act, App, AppError, AppResult, Caller};
use chrono::{DateTime, Utc};
use redeemer::outcome::Outcome;
use redeemer::redeem::{self, BatchItem, RedeemRequest, Redeemed, Verdict};
use serde::Deserialize;

/// One passage as a site's device sends it.
#[derive(Debug, Clone, Deserialize)]
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
    /// What the help achieved, when the mediator says.
    pub outcome: Option<Outcome>,
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
) -> AppResult<Vec<Verdict>> {
    caller.require(Act::VerifyVouchers)?;
    caller.require_org(site_id)?;
    app.limits.check_scan(caller.user_id, site_id)?;
    let at = at.unwrap_or_else(ledger::time::now);
    Ok(redeem::verify(&app.db, &app.keys, site_id, place_id, service_code, vouchers, at, caller.user()).await?)
}

/// Redeems vouchers for a delivered service, exactly once per idempotency key.
#[tracing::instrument(skip_all, fields(user = caller.user_id, site = site_id, place = passage.place_id))]
pub async fn redeem(app: &App, caller: &Caller, site_id: i64, passage: Passage) -> AppResult<Redeemed> {
    caller.require(Act::Redeem)?;
    caller.require_org(site_id)?;
    app.limits.check_scan(caller.user_id, site_id)?;
    Ok(redeem::redeem(&app.db, &app.keys, &passage.request(site_id, caller)).await?)
}

/// Scans queued on a device while offline: each redeemed on its own; per-item results.
#[tracing::instrument(skip_all, fields(user = caller.user_id, site = site_id, items = items.len()))]
pub async fn redeem_batch(app: &App, caller: &Caller, site_id: i64, items: Vec<Passage>) -> AppResult<Vec<BatchItem>> {
    caller.require(Act::RedeemBatch)?;
    caller.require_org(site_id)?;
    app.limits.check_scan(caller.user_id, site_id)?;
    let requests: Vec<RedeemRequest> = items.into_iter().map(|p| p.request(site_id, caller)).collect();
    let max_age = chrono::Duration::days(i64::from(app.config.offline_max_age_days));
    Ok(redeem::redeem_batch(&app.db, &app.keys, &requests, max_age).await?)
}

/// The site's recorded passages, newest first.
#[tracing::instrument(skip_all, fields(user = caller.user_id, site = site_id))]
pub async fn history(
    app: &App,
    caller: &Caller,
    site_id: i64,
    before: Option<i64>,
    limit: i64,
) -> AppResult<Vec<redeemer::history::Passage>> {
    caller.require(Act::ListPassages)?;
    caller.require_org(site_id)?;
    Ok(redeemer::history::passages(&app.db, site_id, before, limit).await?)
}
