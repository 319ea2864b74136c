//! A transaction to post, its validation and its canonical bytes.

#[cfg(test)]
use crate::testing::fixed_time;
use crate::{AccountCode, Cents, LedgerError, time};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The largest amount one posting may carry: ten billion euros. Keeps every sum far from
/// the limits of a 64-bit integer on both engines.
pub const MAX_POSTING_CENTS: i64 = 1_000_000_000_000;

/// One line of a transaction: debit when positive, credit when negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub account: AccountCode,
    pub amount: Cents,
}

/// A transaction to post. Build it with [`NewTransaction::new`] and the debit/credit methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransaction {
    /// Unique per transaction: the same key with the same content returns the original.
    pub key: String,
    /// A short machine word: `funder_payment`, `order_issued`, `redemption`, …
    pub kind: String,
    /// Free text for people.
    pub memo: String,
    /// When the event happened (business time).
    pub at: DateTime<Utc>,
    pub postings: Vec<Posting>,
    /// The transaction this one reverses.
    pub reverses: Option<i64>,
}

impl NewTransaction {
    pub fn new(key: impl Into<String>, kind: impl Into<String>, memo: impl Into<String>, at: DateTime<Utc>) -> Self {
        NewTransaction {
            key: key.into(),
            kind: kind.into(),
            memo: memo.into(),
            at,
            postings: Vec::new(),
            reverses: None,
        }
    }

    pub fn debit(mut self, account: AccountCode, amount: Cents) -> Self {
        self.postings.push(Posting { account, amount });
        self
    }

    pub fn credit(mut self, account: AccountCode, amount: Cents) -> Self {
        self.postings.push(Posting { account, amount: Cents(amount.0.saturating_neg()) });
        self
    }

    /// Checks the rules of DESIGN §4 and returns the postings in lock order.
    pub(crate) fn validate(&self) -> Result<Vec<Posting>, LedgerError> {
        if self.key.trim().is_empty() || self.key.len() > 200 {
            return Err(LedgerError::Invalid("the idempotency key must have 1 to 200 characters".into()));
        }
        if self.kind.is_empty()
            || self.kind.len() > 64
            || !self.kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            return Err(LedgerError::Invalid("the kind must be 1 to 64 lower-case letters or underscores".into()));
        }
        if self.memo.len() > 1000 {
            return Err(LedgerError::Invalid("the memo is longer than 1000 bytes".into()));
        }
        if self.postings.len() < 2 {
            return Err(LedgerError::TooFewPostings);
        }
        if self.postings.len() > 64 {
            return Err(LedgerError::Invalid("a transaction has at most 64 postings".into()));
        }
        let mut sum: i128 = 0;
        for p in &self.postings {
            if p.amount.is_zero() {
                return Err(LedgerError::ZeroPosting(p.account.clone()));
            }
            if p.amount.0.unsigned_abs() > MAX_POSTING_CENTS as u64 {
                return Err(LedgerError::Overflow);
            }
            sum += i128::from(p.amount.0);
        }
        if sum != 0 {
            return Err(LedgerError::Unbalanced(sum));
        }
        let mut ordered = self.postings.clone();
        ordered.sort_by(|a, b| a.account.lock_key().cmp(&b.account.lock_key()).then(a.amount.cmp(&b.amount)));
        Ok(ordered)
    }

    /// The canonical bytes of this transaction's content (everything but its id and
    /// recording time).
    pub fn content_bytes(&self) -> Vec<u8> {
        content_bytes(
            &self.key,
            &self.kind,
            &self.memo,
            time::to_micros(self.at),
            self.reverses,
            self.postings.iter().map(|p| (p.account.as_str(), p.amount.0)),
        )
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Canonical encoding: length-prefixed strings, big-endian integers, postings sorted by
/// account code then amount. Stable across engines and versions (`v1`).
pub fn content_bytes<'a>(
    key: &str,
    kind: &str,
    memo: &str,
    at_micros: i64,
    reverses: Option<i64>,
    postings: impl Iterator<Item = (&'a str, i64)>,
) -> Vec<u8> {
    let mut lines: Vec<(&str, i64)> = postings.collect();
    lines.sort();
    let mut out = Vec::with_capacity(128 + lines.len() * 40);
    out.extend_from_slice(b"passerelle-tx-v1");
    put_str(&mut out, key);
    put_str(&mut out, kind);
    put_str(&mut out, memo);
    out.extend_from_slice(&at_micros.to_be_bytes());
    out.extend_from_slice(&reverses.unwrap_or(0).to_be_bytes());
    out.extend_from_slice(&(lines.len() as u32).to_be_bytes());
    for (code, amount) in lines {
        put_str(&mut out, code);
        out.extend_from_slice(&amount.to_be_bytes());
    }
    out
}

/// SHA-256 of the content bytes, stored with the transaction for idempotency checks.
pub fn content_hash(content: &[u8]) -> Vec<u8> {
    Sha256::digest(content).to_vec()
}

/// The leaf a seal covers: the transaction's id and recording time bound to its content.
pub fn leaf_hash(id: i64, recorded_at_micros: i64, content: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"leaf");
    h.update(id.to_be_bytes());
    h.update(recorded_at_micros.to_be_bytes());
    h.update(content);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tx() -> NewTransaction {
        NewTransaction::new("k1", "redemption", "memo", fixed_time())
            .debit(AccountCode::order_outstanding(1), Cents(1000))
            .credit(AccountCode::site_payable(2), Cents(950))
            .credit(AccountCode::fees(), Cents(50))
    }

    #[test]
    fn validation_rules() {
        assert!(tx().validate().is_ok());
        let ordered = tx().validate().unwrap();
        assert_eq!(ordered[0].account, AccountCode::site_payable(2), "sharded hot accounts are locked last");
        let mut t = tx();
        t.postings.truncate(1);
        assert!(matches!(t.validate(), Err(LedgerError::TooFewPostings)));
        let t = tx().debit(AccountCode::bank(), Cents(0));
        assert!(matches!(t.validate(), Err(LedgerError::ZeroPosting(_))));
        let t = tx().debit(AccountCode::bank(), Cents(1));
        assert!(matches!(t.validate(), Err(LedgerError::Unbalanced(1))));
        let mut t = tx();
        t.kind = "Bad Kind".into();
        assert!(matches!(t.validate(), Err(LedgerError::Invalid(_))));
    }

    #[test]
    fn content_is_order_independent_but_content_sensitive() {
        let a = tx();
        let mut b = tx();
        b.postings.reverse();
        assert_eq!(a.content_bytes(), b.content_bytes());
        let mut c = tx();
        c.memo = "other".into();
        assert_ne!(a.content_bytes(), c.content_bytes());
    }

    proptest! {
        #[test]
        fn any_balanced_set_validates(amounts in proptest::collection::vec(1i64..MAX_POSTING_CENTS / 10, 1..10)) {
            let mut t = NewTransaction::new("k", "test", "", fixed_time());
            let mut total = 0i64;
            for (i, a) in amounts.iter().enumerate() {
                t = t.debit(AccountCode::funder(i as i64 + 1), Cents(*a));
                total += a;
            }
            t = t.credit(AccountCode::bank(), Cents(total));
            prop_assert!(t.validate().is_ok());
        }
    }
}
