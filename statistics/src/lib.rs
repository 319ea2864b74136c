//! Statistics and impact (DESIGN §9): what happened to every euro, for a funder, a site or the
//! operator, over whole months.
//!
//! - [`refresh`](fn@refresh) folds new ledger transactions and book status changes into
//!   aggregate tables (`stats_cells`, migration 0008); call it from a background task. Queries
//!   never scan the raw tables.
//! - [`figures`](fn@figures) gives the headline figures of a [`Scope`] over a [`Period`].
//! - [`breakdown`](fn@breakdown) gives one [`Table`] per [`Dimension`]; breakdowns by
//!   beneficiary attributes (département, commune, age band, autonomy) are under statistical
//!   secrecy ([`Count`]). The long ones (commune, département, site) can be limited to their
//!   largest rows and one row merging the others ([`Rows::Top`]): the database sorts and cuts
//!   them, except the operator's table by commune, whose largest rows come from each month's
//!   largest communes (`ranking`, migration 0009).
//! - [`Table::to_csv`] writes any table for a French spreadsheet; [`open_data`] is the public
//!   file by commune and month (docs/open-data.md).
//!
//! Two clocks, stated with every table: flows (issued, assigned, redeemed, expired, cancelled)
//! count in the month they happened; figures about the people who received a book (distributed,
//! started, finished, vouchers they used, time to first use, everything by beneficiary attribute)
//! count in the month the book was **handed over** — the cohort of that month — with what they did
//! since.

mod attributes;
pub mod bench;
mod breakdown;
mod cells;
pub mod chart;
mod cohort;
mod dimension;
mod error;
mod figures;
mod first_months;
mod fold;
mod measures;
mod opendata;
mod period;
pub mod privacy;
mod ranking;
mod reading;
mod refresh;
pub mod report;
mod scope;
mod store;
mod sums;
mod table;

pub use breakdown::breakdown;
pub use dimension::{Dimension, Rows, SHOWN_ROWS};
pub use error::StatsError;
pub use figures::{BookUse, Bucket, Figures, FirstUse, Flow, Outcomes, figures};
pub use opendata::open_data;
pub use period::{Month, Period, PeriodError};
pub use privacy::{Count, THRESHOLD};
pub use refresh::{Refreshed, rebuild, rebuild_in, refresh};
pub use scope::Scope;
pub use table::{Cell, Table, money};
