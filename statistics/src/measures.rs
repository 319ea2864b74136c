//! The layout of the aggregate rows (`stats_cells`, migration 0008): the names of their metrics
//! and dimensions, their measure columns, the sets of measures read together, and sums of
//! measures.

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

/// Measures kept in each aggregate row, in column order.
pub(crate) const MEASURES: [&str; 16] = [
    "n",
    "vouchers",
    "value_cents",
    "minutes",
    "started",
    "finished",
    "used_vouchers",
    "used_value_cents",
    "procedure_completed",
    "skill_acquired",
    "referred",
    "not_completed",
    "autonomy_pairs",
    "autonomy_before",
    "autonomy_after",
    "autonomy_improved",
];

pub(crate) const N: usize = 0;
pub(crate) const VOUCHERS: usize = 1;
pub(crate) const VALUE: usize = 2;
pub(crate) const MINUTES: usize = 3;
pub(crate) const STARTED: usize = 4;
pub(crate) const FINISHED: usize = 5;
pub(crate) const USED_VOUCHERS: usize = 6;
pub(crate) const USED_VALUE: usize = 7;
pub(crate) const PROCEDURE_COMPLETED: usize = 8;
pub(crate) const SKILL_ACQUIRED: usize = 9;
pub(crate) const REFERRED: usize = 10;
pub(crate) const NOT_COMPLETED: usize = 11;
pub(crate) const AUTONOMY_PAIRS: usize = 12;
pub(crate) const AUTONOMY_BEFORE: usize = 13;
pub(crate) const AUTONOMY_AFTER: usize = 14;
pub(crate) const AUTONOMY_IMPROVED: usize = 15;

/// The value of each measure of a row, in the order of [`MEASURES`].
pub(crate) type Measures = [i64; MEASURES.len()];

/// Every measure.
pub(crate) const ALL: [usize; MEASURES.len()] = {
    let mut all = [0; MEASURES.len()];
    let mut i = 0;
    while i < all.len() {
        all[i] = i;
        i += 1;
    }
    all
};
/// The measures of tables of activity (passages, vouchers, value, hours).
pub(crate) const ACTIVITY: [usize; 4] = [N, VOUCHERS, VALUE, MINUTES];
/// The measures of tables of people (handed over, started, what they used).
pub(crate) const COHORT: [usize; 5] = [N, VOUCHERS, STARTED, USED_VOUCHERS, USED_VALUE];

/// `total` minus each of `rows`.
pub(crate) fn minus<'a>(total: &Measures, rows: impl Iterator<Item = &'a Measures>) -> Measures {
    let mut t = *total;
    for m in rows {
        for (a, b) in t.iter_mut().zip(m) {
            *a -= b;
        }
    }
    t
}

/// The sum of `rows`.
pub(crate) fn sum_all<'a>(rows: impl Iterator<Item = &'a Measures>) -> Measures {
    let mut t = [0; MEASURES.len()];
    for m in rows {
        for (a, b) in t.iter_mut().zip(m) {
            *a += b;
        }
    }
    t
}
