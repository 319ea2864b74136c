//! Rate limits: per client address on the public voucher check (typed codes are checked
//! online, so guessing must be hopeless) and on « mot de passe oublié », per user and site on
//! scans.

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
    /// « Mot de passe oublié »: requests per client address, and messages per email address.
    password_requests: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    password_messages: Arc<DefaultKeyedRateLimiter<String>>,
}

/// « Mot de passe oublié » requests a minute per client address.
pub const PASSWORD_REQUESTS_PER_MINUTE: u32 = 5;
/// Reset messages an hour per email address (beyond, the request is answered the same way and
/// nothing is sent).
pub const PASSWORD_MESSAGES_PER_HOUR: u32 = 3;

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
        let per_hour = NonZeroU32::new(PASSWORD_MESSAGES_PER_HOUR).unwrap_or(NonZeroU32::MIN);
        Limits {
            voucher_checks: keyed(checks),
            scans_per_user: keyed(per_user),
            scans_per_site: keyed(per_site),
            password_requests: keyed(PASSWORD_REQUESTS_PER_MINUTE),
            password_messages: Arc::new(RateLimiter::keyed(Quota::per_hour(per_hour))),
        }
    }

    /// A « mot de passe oublié » request from `ip`: refused (429) beyond the limit.
    pub fn check_password_request(&self, ip: IpAddr) -> Result<(), AppError> {
        self.password_requests.check_key(&ip).map_err(refused)?;
        if self.password_requests.len() > 100_000 {
            self.password_requests.retain_recent();
        }
        Ok(())
    }

    /// Whether one more reset message may go to `email` this hour (counted whether the account
    /// exists or not, so the answer never tells).
    pub fn allow_password_message(&self, email: &str) -> bool {
        let allowed = self.password_messages.check_key(&email.to_owned()).is_ok();
        if self.password_messages.len() > 100_000 {
            self.password_messages.retain_recent();
        }
        allowed
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_requests_are_limited() {
        let limits = Limits::new(60, 600, 3000);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..PASSWORD_REQUESTS_PER_MINUTE {
            assert!(limits.check_password_request(ip).is_ok());
        }
        assert!(matches!(limits.check_password_request(ip), Err(AppError::Limited(_))));
        assert!(limits.check_password_request("192.0.2.8".parse().unwrap()).is_ok(), "per address");
        for _ in 0..PASSWORD_MESSAGES_PER_HOUR {
            assert!(limits.allow_password_message("marie@exemple.fr"));
        }
        assert!(!limits.allow_password_message("marie@exemple.fr"));
        assert!(limits.allow_password_message("paul@exemple.fr"));
    }
}
