//! Whether a voucher can be used (DESIGN §6, §7): the one rule behind both the public check
//! ([`crate::check`], for the person holding the voucher) and the redemption (the redeemer
//! crate, for a site). [`read`] turns a scanned or typed input into a code, checking a token's
//! signature; [`judge`] decides from the voucher's stored state ([`VoucherState`]) and the day
//! whether it can be used, in a fixed order, and says why not ([`Invalid`]).
//!
//! The stable reason codes are [`Invalid::code`]'s; the words are each path's own (the holder
//! and the site are told different things), and each path adds its own rules: the redemption
//! also checks the site, the service, its category and its price.

use crate::code::VoucherCode;
use crate::keys::KeyRing;
use crate::scan::{self, ScanError, Scanned};
use crate::territory::Territory;
use crate::token::Payload;
use chrono::{Duration, NaiveDate};
use sqlx::Row;
use sqlx::any::AnyRow;

/// Why a voucher cannot be used, in the order [`read`] and [`judge`] look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// The input is not a voucher code or token.
    Unreadable(ScanError),
    /// A token whose key is unknown or whose signature is wrong: not issued by Passerelle.
    NotAuthentic(ScanError),
    /// Its order is not issued: the voucher is not in circulation.
    NotIssued,
    AlreadyRedeemed,
    /// Cancelled with its book (lost, stolen, or blocked by the funder before distribution).
    Cancelled,
    /// Marked expired by the expiry run.
    Expired {
        last_day: NaiveDate,
    },
    /// The day is before its validity.
    NotYetValid {
        valid_from: NaiveDate,
    },
    /// The day is after its last day (validity plus grace period), not marked expired yet.
    PastLastDay {
        last_day: NaiveDate,
    },
    /// The place is outside the order's territory.
    OutsideTerritory {
        territory: Territory,
    },
}

impl Invalid {
    /// Stable machine code: a scan reason (`invalid_check_character`, `bad_signature`…),
    /// `not_issued`, `already_redeemed`, `cancelled`, `expired`, `not_yet_valid` or
    /// `outside_territory`. (The redemption answers `unknown` for [`Invalid::NotIssued`].)
    pub fn code(&self) -> &'static str {
        match self {
            Invalid::Unreadable(e) | Invalid::NotAuthentic(e) => e.code(),
            Invalid::NotIssued => "not_issued",
            Invalid::AlreadyRedeemed => "already_redeemed",
            Invalid::Cancelled => "cancelled",
            Invalid::Expired { .. } | Invalid::PastLastDay { .. } => "expired",
            Invalid::NotYetValid { .. } => "not_yet_valid",
            Invalid::OutsideTerritory { .. } => "outside_territory",
        }
    }
}

/// A voucher's stored status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoucherStatus {
    Active,
    Redeemed,
    Cancelled,
    Expired,
}

impl VoucherStatus {
    /// From its stored name; the database allows only the four (anything else counts as active).
    pub fn from_db(s: &str) -> Self {
        match s {
            "redeemed" => VoucherStatus::Redeemed,
            "cancelled" => VoucherStatus::Cancelled,
            "expired" => VoucherStatus::Expired,
            _ => VoucherStatus::Active,
        }
    }
}

/// What the rule looks at: the voucher's status and its order's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherState {
    pub status: VoucherStatus,
    /// Whether its order is issued.
    pub order_issued: bool,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    /// Days after `valid_until` when sites still accept it.
    pub grace_days: i64,
    pub territory: Territory,
}

/// The columns [`VoucherState::from_row`] reads, in order, for the tables aliased `v`
/// (vouchers) and `o` (orders).
pub const STATE_COLUMNS: &str = "v.status, o.status, o.valid_from, o.valid_until, o.grace_days, o.territory";

/// How many columns [`STATE_COLUMNS`] names.
pub const STATE_COLUMN_COUNT: usize = 6;

impl VoucherState {
    /// The state from the [`STATE_COLUMNS`] of a row, starting at column `at`.
    pub fn from_row(row: &AnyRow, at: usize) -> Result<Self, sqlx::Error> {
        Ok(VoucherState {
            status: VoucherStatus::from_db(&row.try_get::<String, _>(at)?),
            order_issued: row.try_get::<String, _>(at + 1)? == "issued",
            valid_from: row.try_get::<String, _>(at + 2)?.parse().unwrap_or_default(),
            valid_until: row.try_get::<String, _>(at + 3)?.parse().unwrap_or_default(),
            grace_days: row.try_get(at + 4)?,
            territory: Territory::from_db(&row.try_get::<String, _>(at + 5)?),
        })
    }

    /// The last day a site can accept it: its validity plus the grace period.
    pub fn last_day(&self) -> NaiveDate {
        self.valid_until + Duration::days(self.grace_days)
    }
}

/// The code of a scanned or typed input, with what a token says (its signature checked with
/// `keys`); `None` for a typed code.
pub fn read(keys: &KeyRing, input: &str) -> Result<(VoucherCode, Option<Payload>), Invalid> {
    let scanned = scan::parse(input).map_err(Invalid::Unreadable)?;
    let signed = match &scanned {
        Scanned::Token(t) => Some(t.verify(keys).map_err(|e| Invalid::NotAuthentic(ScanError::from(e)))?),
        Scanned::Code(_) => None,
    };
    Ok((scanned.code(), signed))
}

/// Whether a voucher in `state` can be used on `day` (a French local day), in the
/// `departement` of the place when there is one (the public check has none). The first reason
/// found, in the order of [`Invalid`].
pub fn judge(state: &VoucherState, day: NaiveDate, departement: Option<&str>) -> Result<(), Invalid> {
    if !state.order_issued {
        return Err(Invalid::NotIssued);
    }
    match state.status {
        VoucherStatus::Redeemed => return Err(Invalid::AlreadyRedeemed),
        VoucherStatus::Cancelled => return Err(Invalid::Cancelled),
        VoucherStatus::Expired => return Err(Invalid::Expired { last_day: state.last_day() }),
        VoucherStatus::Active => {}
    }
    if day < state.valid_from {
        return Err(Invalid::NotYetValid { valid_from: state.valid_from });
    }
    if day > state.last_day() {
        return Err(Invalid::PastLastDay { last_day: state.last_day() });
    }
    if departement.is_some_and(|d| !state.territory.contains(d)) {
        return Err(Invalid::OutsideTerritory { territory: state.territory.clone() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn active() -> VoucherState {
        VoucherState {
            status: VoucherStatus::Active,
            order_issued: true,
            valid_from: day("2026-01-01"),
            valid_until: day("2026-12-31"),
            grace_days: 31,
            territory: Territory::new(["33", "40"]).unwrap(),
        }
    }

    #[test]
    fn an_active_voucher_is_valid_from_its_first_to_its_last_day() {
        let v = active();
        assert_eq!(v.last_day(), day("2027-01-31"));
        for d in ["2026-01-01", "2026-12-31", "2027-01-31"] {
            assert_eq!(judge(&v, day(d), None), Ok(()), "{d}");
            assert_eq!(judge(&v, day(d), Some("40")), Ok(()), "{d}");
        }
        assert_eq!(judge(&v, day("2025-12-31"), None), Err(Invalid::NotYetValid { valid_from: day("2026-01-01") }));
        assert_eq!(judge(&v, day("2027-02-01"), None), Err(Invalid::PastLastDay { last_day: day("2027-01-31") }));
        let outside = judge(&v, day("2026-06-01"), Some("75")).unwrap_err();
        assert_eq!(outside, Invalid::OutsideTerritory { territory: v.territory.clone() });
        assert_eq!(outside.code(), "outside_territory");
        let anywhere = VoucherState { territory: Territory::default(), ..active() };
        assert_eq!(judge(&anywhere, day("2026-06-01"), Some("75")), Ok(()));
    }

    #[test]
    fn reasons_come_in_a_fixed_order() {
        // The order's status first, then the voucher's, then the dates, then the place.
        let late = day("2028-01-01");
        let not_issued = VoucherState { order_issued: false, status: VoucherStatus::Redeemed, ..active() };
        assert_eq!(judge(&not_issued, late, Some("75")), Err(Invalid::NotIssued));
        for (status, reason) in [
            (VoucherStatus::Redeemed, Invalid::AlreadyRedeemed),
            (VoucherStatus::Cancelled, Invalid::Cancelled),
            (VoucherStatus::Expired, Invalid::Expired { last_day: day("2027-01-31") }),
        ] {
            let v = VoucherState { status, ..active() };
            assert_eq!(judge(&v, late, Some("75")), Err(reason.clone()));
            assert_eq!(judge(&v, day("2026-06-01"), None), Err(reason));
        }
        let early = VoucherState { valid_from: day("2026-07-01"), ..active() };
        assert_eq!(judge(&early, day("2026-06-01"), Some("75")).unwrap_err().code(), "not_yet_valid");
        assert_eq!(judge(&active(), late, Some("75")).unwrap_err().code(), "expired");
    }

    #[test]
    fn stable_codes() {
        assert_eq!(Invalid::NotIssued.code(), "not_issued");
        assert_eq!(Invalid::AlreadyRedeemed.code(), "already_redeemed");
        assert_eq!(Invalid::Cancelled.code(), "cancelled");
        assert_eq!(Invalid::Expired { last_day: day("2027-01-31") }.code(), "expired");
        assert_eq!(Invalid::Unreadable(ScanError::Empty).code(), "empty");
        assert_eq!(VoucherStatus::from_db("redeemed"), VoucherStatus::Redeemed);
        assert_eq!(VoucherStatus::from_db("active"), VoucherStatus::Active);
    }

    #[test]
    fn reading_checks_the_signature() {
        let (_dir, keys) = crate::testing::key_ring();
        let key = keys.active().unwrap();
        let payload = Payload {
            key_number: key.number,
            code: VoucherCode::random(),
            face_value_cents: 1000,
            expires_on: day("2026-12-31"),
            order_id: 7,
        };
        let signature = payload.sign(&key.signing).unwrap();
        let token = crate::token::encode(&payload, &signature).unwrap();
        assert_eq!(read(&keys, &token), Ok((payload.code, Some(payload))));
        assert_eq!(read(&keys, &payload.code.display()), Ok((payload.code, None)));
        let forged = crate::token::encode(&payload, &[0; 64]).unwrap();
        let refused = read(&keys, &forged).unwrap_err();
        assert!(matches!(refused, Invalid::NotAuthentic(_)), "{refused:?}");
        assert_eq!(refused.code(), "bad_signature");
        assert_eq!(read(&keys, ""), Err(Invalid::Unreadable(ScanError::Empty)));
    }
}
