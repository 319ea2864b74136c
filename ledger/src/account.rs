//! The chart of accounts of DESIGN §4.

use crate::LedgerError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Whether debits or credits increase an account's natural balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Nature {
    Asset,
    Liability,
    Income,
}

impl Nature {
    pub fn as_str(self) -> &'static str {
        match self {
            Nature::Asset => "asset",
            Nature::Liability => "liability",
            Nature::Income => "income",
        }
    }

    /// Stored balances are debit-positive; the natural balance is positive when the account
    /// holds what its nature says (an asset owed to us, a liability we owe, income earned).
    pub fn natural(self, debit_positive: i64) -> i64 {
        match self {
            Nature::Asset => debit_positive,
            Nature::Liability | Nature::Income => -debit_positive,
        }
    }
}

/// A valid account code, e.g. `bank`, `funder:12`, `order:7:outstanding`, `site:3:payable`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountCode(String);

impl AccountCode {
    pub fn bank() -> Self {
        AccountCode("bank".into())
    }
    pub fn fees() -> Self {
        AccountCode("fees".into())
    }
    pub fn breakage() -> Self {
        AccountCode("breakage".into())
    }
    pub fn payouts_in_transit() -> Self {
        AccountCode("payouts:in_transit".into())
    }
    pub fn funder(id: i64) -> Self {
        AccountCode(format!("funder:{id}"))
    }
    pub fn order_outstanding(id: i64) -> Self {
        AccountCode(format!("order:{id}:outstanding"))
    }
    pub fn site_payable(id: i64) -> Self {
        AccountCode(format!("site:{id}:payable"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn nature(&self) -> Nature {
        match self.0.split(':').next() {
            Some("bank") | Some("funder") | Some("payouts") => Nature::Asset,
            Some("order") | Some("site") => Nature::Liability,
            _ => Nature::Income,
        }
    }

    /// Liabilities to sites and live voucher value can never go below zero.
    pub fn no_overdraft(&self) -> bool {
        matches!(self.0.split(':').next(), Some("order") | Some("site"))
    }

    /// Shared accounts that every kind of event touches. They are locked last in a
    /// transaction so that their row lock is held as briefly as possible.
    pub fn is_shared(&self) -> bool {
        !self.0.contains(|c: char| c.is_ascii_digit())
    }

    /// The organisation or order an account belongs to, if any: (`"funder"`, 12).
    pub fn owner(&self) -> Option<(&str, i64)> {
        let mut parts = self.0.split(':');
        let kind = parts.next()?;
        let id = parts.next()?.parse().ok()?;
        Some((kind, id))
    }

    /// Accounts whose balance is kept in [`crate::post::SHARDS`] rows, one chosen at random by
    /// each transaction: the shared accounts, and each order's outstanding value (all
    /// redemptions of a large order touch it at once). Their balance is the sum of the rows;
    /// a single row may go below zero.
    pub fn is_sharded(&self) -> bool {
        self.is_shared() || self.0.starts_with("order:")
    }

    /// Lock order: per-organisation accounts first, sharded hot accounts last.
    pub(crate) fn lock_key(&self) -> (bool, &str) {
        (self.is_sharded(), &self.0)
    }
}

fn parse_id(s: Option<&str>) -> Result<i64, &'static str> {
    let s = s.ok_or("missing identifier")?;
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with('0') {
        return Err("identifier must be a positive integer without leading zero");
    }
    s.parse().map_err(|_| "identifier out of range")
}

impl FromStr for AccountCode {
    type Err = LedgerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why| LedgerError::InvalidAccountCode(s.chars().take(64).collect(), why);
        let parts: Vec<&str> = s.split(':').collect();
        match parts.as_slice() {
            ["bank"] | ["fees"] | ["breakage"] | ["payouts", "in_transit"] => Ok(AccountCode(s.to_owned())),
            ["funder", id] => Ok(AccountCode::funder(parse_id(Some(id)).map_err(bad)?)),
            ["order", id, "outstanding"] => Ok(AccountCode::order_outstanding(parse_id(Some(id)).map_err(bad)?)),
            ["site", id, "payable"] => Ok(AccountCode::site_payable(parse_id(Some(id)).map_err(bad)?)),
            _ => Err(bad(
                "expected bank, fees, breakage, payouts:in_transit, funder:ID, order:ID:outstanding or site:ID:payable",
            )),
        }
    }
}

impl TryFrom<String> for AccountCode {
    type Error = LedgerError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<AccountCode> for String {
    fn from(c: AccountCode) -> String {
        c.0
    }
}

impl fmt::Display for AccountCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_chart() {
        for ok in
            ["bank", "fees", "breakage", "payouts:in_transit", "funder:1", "order:42:outstanding", "site:7:payable"]
        {
            let code: AccountCode = ok.parse().unwrap();
            assert_eq!(code.as_str(), ok);
        }
        for bad in ["", "bank:1", "funder:", "funder:0", "funder:01", "funder:-1", "order:1", "site:x:payable", "FEES"]
        {
            assert!(bad.parse::<AccountCode>().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn natures_and_lock_order() {
        assert_eq!(AccountCode::site_payable(1).nature(), Nature::Liability);
        assert_eq!(AccountCode::funder(1).nature(), Nature::Asset);
        assert_eq!(AccountCode::fees().nature(), Nature::Income);
        assert!(AccountCode::fees().lock_key() > AccountCode::site_payable(9).lock_key());
        assert!(AccountCode::order_outstanding(1).lock_key() > AccountCode::site_payable(9).lock_key());
        assert_eq!(AccountCode::site_payable(9).owner(), Some(("site", 9)));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC*") {
            let _ = s.parse::<AccountCode>();
        }
    }
}
