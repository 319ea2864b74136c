//! Where a run and each of its payouts stand, as stored (`settlement_runs.status`,
//! `payouts.status`) and as people read them.

use serde::{Deserialize, Serialize};

/// A run is prepared as a draft, then released or cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Draft,
    Released,
    Cancelled,
}

/// A payout is a draft with its run, sent to the bank when the run is released, then confirmed
/// or returned by the bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutStatus {
    Draft,
    Sent,
    Confirmed,
    Returned,
}

impl RunStatus {
    pub const ALL: [RunStatus; 3] = [RunStatus::Draft, RunStatus::Released, RunStatus::Cancelled];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Draft => "draft",
            RunStatus::Released => "released",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// In French: « en préparation », « validé », « annulé ».
    pub fn french(self) -> &'static str {
        match self {
            RunStatus::Draft => "en préparation",
            RunStatus::Released => "validé",
            RunStatus::Cancelled => "annulé",
        }
    }
}

impl PayoutStatus {
    pub const ALL: [PayoutStatus; 4] =
        [PayoutStatus::Draft, PayoutStatus::Sent, PayoutStatus::Confirmed, PayoutStatus::Returned];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Draft => "draft",
            PayoutStatus::Sent => "sent",
            PayoutStatus::Confirmed => "confirmed",
            PayoutStatus::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<PayoutStatus> {
        PayoutStatus::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// In French: « en préparation », « envoyé à la banque », « exécuté », « retourné ».
    pub fn french(self) -> &'static str {
        match self {
            PayoutStatus::Draft => "en préparation",
            PayoutStatus::Sent => "envoyé à la banque",
            PayoutStatus::Confirmed => "exécuté",
            PayoutStatus::Returned => "retourné",
        }
    }
}

/// A stored run status; one this version does not know is a decoding error, not a panic.
pub(super) fn run_status(stored: &str) -> Result<RunStatus, sqlx::Error> {
    RunStatus::parse(stored).ok_or_else(|| unknown("règlement", stored))
}

/// A stored payout status, likewise.
pub(super) fn payout_status(stored: &str) -> Result<PayoutStatus, sqlx::Error> {
    PayoutStatus::parse(stored).ok_or_else(|| unknown("versement", stored))
}

fn unknown(what: &str, stored: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("état de {what} inconnu : « {stored} »").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in PayoutStatus::ALL {
            assert_eq!(PayoutStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(RunStatus::parse("Draft"), None);
        assert_eq!(PayoutStatus::parse(""), None);
    }
}
