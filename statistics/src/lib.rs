//! Statistics and impact (DESIGN §9): what happened to every euro, for a funder, a site or the
//! operator, over whole months.
//!
//! - [`refresh`] folds new ledger transactions and book status changes into aggregate tables
//!   (`stats_cells`, migration 0008); call it from a background task. Queries never scan the
//!   raw tables.
//! - [`figures`] gives the headline figures of a [`Scope`] over a [`Period`].
//! - [`breakdown`] gives one [`Table`] per [`Dimension`]; breakdowns by beneficiary attributes
//!   (département, commune, age band, autonomy) are under statistical secrecy ([`Count`]). The
//!   long ones (commune, département, site) can be limited to their largest rows and one row
//!   merging the others ([`Rows::Top`]): the database sorts and cuts them, except the
//!   operator's table by commune, whose largest rows come from each month's largest communes
//!   (`ranking`, migration 0009).
//! - [`Table::to_csv`] writes any table for a French spreadsheet; [`open_data`] is the public
//!   file by commune and month (docs/open-data.md).
//!
//! Two clocks, stated with every table: flows (issued, assigned, redeemed, expired, cancelled)
//! count in the month they happened; figures about the people who received a book (distributed,
//! started, finished, vouchers they used, time to first use, everything by beneficiary attribute)
//! count in the month the book was **handed over** — the cohort of that month — with what they did
//! since.

pub mod bench;
pub mod chart;
mod fold;
mod opendata;
mod period;
pub mod privacy;
mod query;
mod ranking;
pub mod report;
mod table;

pub use fold::{Refreshed, rebuild, rebuild_in, refresh};
pub use opendata::open_data;
pub use period::{Month, Period, PeriodError};
pub use privacy::{Count, THRESHOLD};
pub use query::{
    BookUse, Bucket, Dimension, Figures, FirstUse, Flow, Outcomes, Rows, SHOWN_ROWS, Scope, breakdown, figures,
};
pub use table::{Cell, Table, money};

/// Why statistics could not be read or refreshed.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("base de données : {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Period(#[from] PeriodError),
}

/// Names of the metrics kept in `stats_cells.metric`.
pub(crate) mod metrics {
    /// Orders issued, in the month of the issuance posting.
    pub const ISSUED: &str = "issued";
    /// Books assigned to a prescriber.
    pub const ASSIGNED: &str = "assigned";
    /// Books cancelled (lost, stolen, blocked), with their vouchers still active then.
    pub const CANCELLED: &str = "cancelled";
    /// Vouchers expired, in the month of the expiry posting.
    pub const EXPIRED: &str = "expired";
    /// Redemptions, in the month the service was performed.
    pub const REDEEMED: &str = "redeemed";
    /// Books handed over, in the month of the hand-over, with what was done with them since.
    pub const COHORT: &str = "cohort";
}

/// Names of the breakdown dimensions kept in `stats_cells.dim`.
pub(crate) mod dims {
    pub const TOTAL: &str = "total";
    pub const PRESCRIBER: &str = "prescriber";
    pub const SERVICE: &str = "service";
    pub const CATEGORY: &str = "category";
    pub const COMMUNE: &str = "commune";
    pub const DEPARTEMENT: &str = "departement";
    pub const AGE_BAND: &str = "age_band";
    pub const AUTONOMY: &str = "autonomy";
    /// Days from hand-over to first use, zero-padded.
    pub const DELAY: &str = "delay";
}
