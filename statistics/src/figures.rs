//! The headline figures of a scope over a period ([`figures`]), and the rounding and the time to
//! first use they share with the breakdown tables.

use crate::error::StatsError;
use crate::measures::{
    ALL, AUTONOMY_AFTER, AUTONOMY_BEFORE, AUTONOMY_IMPROVED, AUTONOMY_PAIRS, FINISHED, MEASURES, MINUTES, Measures, N,
    NOT_COMPLETED, PROCEDURE_COMPLETED, REFERRED, SKILL_ACQUIRED, STARTED, USED_VOUCHERS, VALUE, VOUCHERS, dims,
    metrics,
};
use crate::period::Period;
use crate::scope::Scope;
use crate::sums::{Group, sums};
use ledger::{Cents, Db};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use std::collections::BTreeMap;

/// Books, vouchers and their face value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    /// `None` where books do not apply (expiry is counted by voucher).
    pub books: Option<i64>,
    pub vouchers: i64,
    pub value: Cents,
}

/// What became of the books handed over in the period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookUse {
    pub distributed: i64,
    /// No voucher used yet.
    pub unused: i64,
    /// At least one voucher used (includes the finished ones).
    pub started: i64,
    /// Every voucher used.
    pub finished: i64,
}

/// A range of days from hand-over to first use, and how many books fell in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// French label, e.g. « 8 à 30 jours ».
    pub label: String,
    pub books: i64,
}

/// Time from hand-over to first use, of the books handed over in the period and used since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstUse {
    /// The median, in whole days (the lower median for an even count); `None` if no book was used.
    pub median_days: Option<i64>,
    pub buckets: Vec<Bucket>,
}

/// What the mediations achieved, as the mediators recorded it (optional at redemption).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcomes {
    pub procedure_completed: i64,
    pub skill_acquired: i64,
    pub referred: i64,
    pub not_completed: i64,
    /// Passages without a recorded outcome.
    pub not_recorded: i64,
    /// Passages with autonomy noted before and after (1 to 4).
    pub autonomy_pairs: i64,
    /// Mean autonomy before and after, over those passages, rounded to 2 decimals.
    pub autonomy_before: Option<Decimal>,
    pub autonomy_after: Option<Decimal>,
    /// Passages after which autonomy was higher.
    pub autonomy_improved: i64,
}

/// Headline figures of a scope over a period. `None` marks what does not apply to the scope
/// (a site issues and hands over no books).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub scope: Scope,
    pub period: Period,
    pub issued: Option<Flow>,
    pub assigned: Option<Flow>,
    /// Books handed to beneficiaries in the period.
    pub distributed: Option<Flow>,
    /// Vouchers redeemed in the period (services performed in the period).
    pub redeemed: Flow,
    /// Redemptions (one per service delivered, whatever the number of vouchers).
    pub passages: i64,
    pub expired: Option<Flow>,
    pub cancelled: Option<Flow>,
    /// Of the vouchers handed over in the period, the share used since, in percent, rounded to
    /// one decimal (half away from zero); `None` when none was handed over.
    pub redemption_rate: Option<Decimal>,
    pub first_use: FirstUse,
    pub books: Option<BookUse>,
    /// Hours of mediation delivered in the period (the catalogue's duration of each service),
    /// rounded to one decimal.
    pub hours: Decimal,
    pub outcomes: Outcomes,
    /// Books handed over in the period with at least one voucher used (for a site: whose first
    /// use was there).
    pub people_reached: i64,
}

async fn total(conn: &mut AnyConnection, metric: &str, scope: Scope, period: Period) -> Result<Measures, StatsError> {
    Ok(sums(conn, metric, dims::TOTAL, scope, period, Group::None, &ALL)
        .await?
        .pop()
        .map_or([0; MEASURES.len()], |r| r.1))
}

fn flow(m: &Measures, books: bool) -> Flow {
    Flow { books: books.then_some(m[N]), vouchers: m[VOUCHERS], value: Cents(m[VALUE]) }
}

/// `num / den` rounded to `dp` decimals, half away from zero; `None` for a zero denominator.
pub(crate) fn ratio(num: i64, den: i64, scale: i64, dp: u32) -> Option<Decimal> {
    if den == 0 {
        return None;
    }
    let q = Decimal::from(num).checked_mul(Decimal::from(scale))?.checked_div(Decimal::from(den))?;
    Some(q.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero))
}

const DELAY_BUCKETS: [(i64, i64, &str); 5] = [
    (0, 7, "0 à 7 jours"),
    (8, 30, "8 à 30 jours"),
    (31, 90, "31 à 90 jours"),
    (91, 180, "91 à 180 jours"),
    (181, i64::MAX, "plus de 180 jours"),
];

/// Days before first use → books, in order.
pub(crate) async fn delays(
    conn: &mut AnyConnection,
    scope: Scope,
    period: Period,
) -> Result<BTreeMap<i64, i64>, StatsError> {
    let mut out = BTreeMap::new();
    for (k, m) in sums(conn, metrics::COHORT, dims::DELAY, scope, period, Group::DimValue, &[N]).await? {
        if let Ok(days) = k.parse::<i64>()
            && m[N] != 0
        {
            *out.entry(days).or_insert(0) += m[N];
        }
    }
    Ok(out)
}

pub(crate) fn first_use(hist: &BTreeMap<i64, i64>) -> FirstUse {
    let count: i64 = hist.values().sum();
    let mut median = None;
    let mut seen = 0;
    for (days, n) in hist {
        seen += n;
        if count > 0 && seen > (count - 1) / 2 {
            median = Some(*days);
            break;
        }
    }
    let buckets = DELAY_BUCKETS
        .iter()
        .map(|(lo, hi, label)| Bucket {
            label: (*label).to_owned(),
            books: hist.range(*lo..=*hi).map(|(_, n)| n).sum(),
        })
        .collect();
    FirstUse { median_days: median, buckets }
}

/// The headline figures of `scope` over `period`, from the aggregates (see
/// [`crate::refresh`](fn@crate::refresh)).
pub async fn figures(db: &Db, scope: Scope, period: Period) -> Result<Figures, StatsError> {
    let mut conn = db.pool().acquire().await?;
    let site = scope.site().is_some();
    let issued = if site { None } else { Some(flow(&total(&mut conn, metrics::ISSUED, scope, period).await?, true)) };
    let assigned =
        if site { None } else { Some(flow(&total(&mut conn, metrics::ASSIGNED, scope, period).await?, true)) };
    let expired =
        if site { None } else { Some(flow(&total(&mut conn, metrics::EXPIRED, scope, period).await?, false)) };
    let cancelled =
        if site { None } else { Some(flow(&total(&mut conn, metrics::CANCELLED, scope, period).await?, true)) };
    let r = total(&mut conn, metrics::REDEEMED, scope, period).await?;
    let c = total(&mut conn, metrics::COHORT, scope, period).await?;
    let hist = delays(&mut conn, scope, period).await?;
    let recorded = r[PROCEDURE_COMPLETED] + r[SKILL_ACQUIRED] + r[REFERRED] + r[NOT_COMPLETED];
    Ok(Figures {
        scope,
        period,
        issued,
        assigned,
        distributed: (!site).then(|| flow(&c, true)),
        redeemed: flow(&r, false),
        passages: r[N],
        expired,
        cancelled,
        redemption_rate: if site { None } else { ratio(c[USED_VOUCHERS], c[VOUCHERS], 100, 1) },
        first_use: first_use(&hist),
        books: (!site).then(|| BookUse {
            distributed: c[N],
            unused: c[N] - c[STARTED],
            started: c[STARTED],
            finished: c[FINISHED],
        }),
        hours: ratio(r[MINUTES], 60, 1, 1).unwrap_or_default(),
        outcomes: Outcomes {
            procedure_completed: r[PROCEDURE_COMPLETED],
            skill_acquired: r[SKILL_ACQUIRED],
            referred: r[REFERRED],
            not_completed: r[NOT_COMPLETED],
            not_recorded: r[N] - recorded,
            autonomy_pairs: r[AUTONOMY_PAIRS],
            autonomy_before: ratio(r[AUTONOMY_BEFORE], r[AUTONOMY_PAIRS], 1, 2),
            autonomy_after: ratio(r[AUTONOMY_AFTER], r[AUTONOMY_PAIRS], 1, 2),
            autonomy_improved: r[AUTONOMY_IMPROVED],
        },
        people_reached: c[STARTED],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_round_half_away_from_zero() {
        assert_eq!(ratio(1, 8, 100, 1), Some(Decimal::new(125, 1)));
        assert_eq!(ratio(1, 3, 100, 1), Some(Decimal::new(333, 1)));
        assert_eq!(ratio(2, 3, 100, 1), Some(Decimal::new(667, 1)));
        // 0,25 h → 0,3 (half away from zero), not 0,2 (banker's rounding).
        assert_eq!(ratio(15, 60, 1, 1), Some(Decimal::new(3, 1)));
        assert_eq!(ratio(1, 0, 100, 1), None);
        assert_eq!(ratio(i64::MAX, 1, 1000, 0), Some(Decimal::from(i64::MAX) * Decimal::from(1000)));
        assert_eq!(ratio(i64::MAX, 1, i64::MAX, 1), None, "overflow is no figure, not a panic");
    }

    #[test]
    fn median_and_buckets_of_delays() {
        let hist: BTreeMap<i64, i64> = [(0, 1), (3, 1), (10, 2), (200, 1)].into_iter().collect();
        let fu = first_use(&hist);
        assert_eq!(fu.median_days, Some(10), "0, 3, 10, 10, 200");
        assert_eq!(fu.buckets.iter().map(|b| b.books).collect::<Vec<_>>(), vec![2, 2, 0, 0, 1]);
        let even: BTreeMap<i64, i64> = [(1, 1), (5, 1)].into_iter().collect();
        assert_eq!(first_use(&even).median_days, Some(1), "lower median");
        assert_eq!(first_use(&BTreeMap::new()).median_days, None);
    }
}
