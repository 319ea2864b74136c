//! Settlement runs (DESIGN §4, §8). Custody mode: at the end of a period, each site whose
//! payable balance at the cut-off reaches the minimum gets one payout. A run is prepared as a
//! draft (nothing moves; it can be inspected), then released: each payout posts
//! `Dr site:S:payable / Cr payouts:in_transit` and the SEPA file can be downloaded. The bank's
//! confirmation posts `Dr payouts:in_transit / Cr bank`; a returned transfer puts the amount
//! back on the site's payable balance and flags its bank details for review. Direct mode: each
//! funder pays the sites its share, from its own account (see [`Mode`]).
//!
//! Periods are French local days: a run for the period ending on day D counts everything
//! recorded with a business time before D + 1 at midnight in Paris.
//!
//! This module holds the run and payout types and the errors; the work is in its parts:
//! `preparation` (drafts, scheduled runs, direct mode's split by funder), `releasing`
//! (release or cancel a draft), `payout_outcome` (the bank's confirmation or return),
//! `reading` (runs and a site's payouts) and `sepa_files` (transfer files, funder accounts).
//! Everything public is re-exported here: `settlement::runs::prepare` and so on.

mod payout_outcome;
mod preparation;
mod reading;
mod releasing;
mod sepa_files;
mod status;

pub use payout_outcome::{confirm, confirm_in, record_return, record_return_in};
pub use preparation::{Period, prepare, prepare_due, prepare_in};
pub use reading::{SitePayout, get, list, site_payouts};
pub use releasing::{cancel, cancel_in, release, release_in};
pub use sepa_files::{funder_account, sepa_file, set_funder_account};
pub use status::{PayoutStatus, RunStatus};

use crate::sepa::SepaError;
use chrono::{DateTime, NaiveDate, Utc};
use ledger::LedgerError;
use reading::get_in;
use redeemer::local_time;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    #[error("règlement inconnu")]
    NotFound,
    #[error("la période n'est pas terminée : elle se clôt le {0} à minuit")]
    PeriodNotOver(NaiveDate),
    #[error("le règlement de la période close le {0} n'est ni validé ni annulé")]
    PreviousOpen(NaiveDate),
    #[error("un règlement existe déjà pour une période plus récente (close le {0})")]
    LaterPeriodExists(NaiveDate),
    #[error("{0}")]
    State(String),
    #[error("le montant minimum d'un versement doit être positif")]
    BadMinimum,
    #[error(transparent)]
    Sepa(#[from] SepaError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl SettlementError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            SettlementError::NotFound => "not_found",
            SettlementError::PeriodNotOver(_) => "period_not_over",
            SettlementError::PreviousOpen(_) => "previous_run_open",
            SettlementError::LaterPeriodExists(_) => "later_period_exists",
            SettlementError::State(_) => "invalid_state",
            SettlementError::BadMinimum => "invalid_minimum",
            SettlementError::Sepa(_) => "invalid_sepa",
            SettlementError::Ledger(_) => "ledger_error",
            SettlementError::Db(_) => "database_error",
        }
    }
}

/// Who pays the sites (DESIGN §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Funders pay the operator, the operator pays the sites.
    Custody,
    /// The operator never holds the money: each funder pays the sites its share of the vouchers
    /// it funded, from its own account, with its own SEPA file.
    Direct,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Custody => "custody",
            Mode::Direct => "direct",
        }
    }
    pub fn parse(s: &str) -> Option<Mode> {
        [Mode::Custody, Mode::Direct].into_iter().find(|m| m.as_str() == s)
    }
}

/// One payout of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payout {
    pub id: i64,
    pub site_id: i64,
    /// Direct mode: the funder who pays this part.
    pub funder_id: Option<i64>,
    pub site_name: String,
    pub amount_cents: i64,
    pub iban_masked: String,
    pub end_to_end_id: String,
    pub status: PayoutStatus,
    pub return_reason: Option<String>,
}

/// A settlement run and its payouts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub id: i64,
    pub period_start: Option<NaiveDate>,
    pub period_end: NaiveDate,
    pub status: RunStatus,
    pub mode: Mode,
    pub minimum_cents: i64,
    pub created_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
    pub total_cents: i64,
    pub payouts: Vec<Payout>,
}

impl Run {
    /// The SEPA message identifier of the run.
    pub fn message_id(&self) -> String {
        format!("PSL-R{}-{}", self.id, self.period_end.format("%Y%m%d"))
    }

    /// The text each transfer carries: the period and the site's statement.
    pub fn remittance(&self, payout: &Payout) -> String {
        let from = self.period_start.map(|d| format!("du {} ", d.format("%d/%m/%Y"))).unwrap_or_default();
        format!(
            "Passerelle reglement {from}au {} releve R{}-S{}",
            self.period_end.format("%d/%m/%Y"),
            self.id,
            payout.site_id
        )
    }
}

/// The instant a period ending on `day` closes.
pub fn cutoff(day: NaiveDate) -> DateTime<Utc> {
    local_time::day_bounds(day).1
}

fn parse_day(s: &str) -> Result<NaiveDate, SettlementError> {
    s.parse().map_err(|_| SettlementError::State(format!("date illisible en base : {s}")))
}
