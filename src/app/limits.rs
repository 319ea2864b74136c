//! Rate limits: per client address on the public voucher check (typed codes are checked
//! online, so guessing must be hopeless).

use crate::app::AppError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

#[derive(Clone)]
pub struct Limits {
    voucher_checks: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    scans_per_user: Arc<DefaultKeyedRateLimiter<i64>>,
    scans_per_site: Arc<DefaultKeyedRateLimiter<i64>>,
}

fn keyed<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Arc<DefaultKeyedRateLimiter<K>> {
    let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    Arc::new(RateLimiter::keyed(Quota::per_minute(n)))
}

fn refused(not_until: governor::NotUntil<governor::clock::QuantaInstant>) -> AppError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    AppError::Limited(wait.as_secs() + 1)
}

impl Limits {
    /// `checks` public checks a minute per client address; `per_user` and `per_site` scans
    /// (verify, redeem, batch) a minute per user and per site; bursts of the same size.
    pub fn new(checks: u32, per_user: u32, per_site: u32) -> Self {
        Limits { voucher_checks: keyed(checks), scans_per_user: keyed(per_user), scans_per_site: keyed(per_site) }
    }

    /// Verify and redeem calls, per user and per site.
    pub fn check_scan(&self, user: i64, site: i64) -> Result<(), AppError> {
        self.scans_per_user.check_key(&user).map_err(refused)?;
        self.scans_per_site.check_key(&site).map_err(refused)?;
        Ok(())
    }

    pub fn check_voucher(&self, ip: IpAddr) -> Result<(), AppError> {
        self.voucher_checks.check_key(&ip).map_err(refused)?;
        if self.voucher_checks.len() > 100_000 {
            self.voucher_checks.retain_recent();
        }
        Ok(())
    }
}
