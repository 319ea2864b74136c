//! Rate limits: per client address on the public voucher check (typed codes are checked
//! online, so guessing must be hopeless).

use crate::http::problem::ApiError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

#[derive(Clone)]
pub struct Limits {
    voucher_checks: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Limits {
    /// `per_minute` public checks per client address, with bursts of the same size.
    pub fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Limits { voucher_checks: Arc::new(RateLimiter::keyed(Quota::per_minute(n))) }
    }

    pub fn check_voucher(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.voucher_checks.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::too_many_requests(wait.as_secs() + 1)
        })?;
        if self.voucher_checks.len() > 100_000 {
            self.voucher_checks.retain_recent();
        }
        Ok(())
    }
}
