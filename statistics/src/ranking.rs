//! The operator's largest communes over a period, without adding up every commune.
//!
//! At national scale the operator's table by commune of residence covers about 27 000 communes
//! over a year, spread over about 70 000 monthly cells: grouping them all to show the 50 largest
//! took most of the dashboard's time. Instead (migration 0009):
//!
//! - **the rows** come from the threshold algorithm (Fagin, Lotem and Naor) over each month's
//!   communes, largest first (an index): read the `d` largest of every month, add up exactly the
//!   months of every commune seen (another index), and stop when the smallest of the rows kept is
//!   larger than the most an unseen commune could reach — the sum of each month's `d`-th value.
//!   Otherwise read deeper (`d` × 4), down to every commune if need be. The rows and their order
//!   are exactly those of grouping every commune;
//! - **the totals** are those of the cohort over all communes (each book counts once in the
//!   total and once in its commune);
//! - **the number of communes** comes from `stats_first_months`, kept by
//!   [`count_first_months`](crate::first_months::count_first_months) as the aggregates are
//!   written: a commune with people in the period is counted once, in its first month of the
//!   period.

use crate::error::StatsError;
use crate::first_months::{CHUNK, LEVEL};
use crate::measures::{MEASURES, Measures, N, dims, metrics};
use crate::period::Period;
use crate::scope::Scope;
use crate::sums::{Group, Largest, measures_of, summed, sums};
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use std::collections::HashMap;

/// Above this many months in the period, the statement reading each month's largest communes
/// would be too long (SQLite joins at most 500 `SELECT`s): the caller groups every commune.
const MOST_MONTHS: usize = 120;

/// The `limit` communes with the most people handed over in `period`, with the measures `wanted`
/// (all read from the index by commune: those of the tables of people), the totals over every
/// commune and their number — what grouping every commune would give. `None` when the period has
/// too many months ([`MOST_MONTHS`]).
pub(crate) async fn largest_communes(
    conn: &mut AnyConnection,
    period: Period,
    wanted: &[usize],
    limit: u32,
) -> Result<Option<Largest>, StatsError> {
    reading_from(conn, period, wanted, limit, (2 * limit as usize).max(32)).await
}

/// [`largest_communes`], reading first the `depth` largest communes of each month.
async fn reading_from(
    conn: &mut AnyConnection,
    period: Period,
    wanted: &[usize],
    limit: u32,
    mut depth: usize,
) -> Result<Option<Largest>, StatsError> {
    // Several statements: one snapshot, so that the rows, totals and count agree.
    let mut snapshot = ledger::db::begin_snapshot_on(conn).await?;
    let conn = &mut *snapshot;
    let (from, to) = period.keys();
    // The months with someone handed over (the total counts everyone, whatever their commune).
    let months: Vec<String> = sqlx::query_scalar(
        "SELECT month FROM stats_cells WHERE metric = $1 AND dim = $2 AND order_id = 0 AND site_id = 0 \
         AND month >= $3 AND month <= $4 AND n > 0 ORDER BY month",
    )
    .bind(metrics::COHORT)
    .bind(dims::TOTAL)
    .bind(&from)
    .bind(&to)
    .fetch_all(&mut *conn)
    .await?;
    if months.len() > MOST_MONTHS {
        return Ok(None);
    }
    let groups: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(communes), 0) AS BIGINT) FROM stats_first_months \
         WHERE month >= $1 AND month <= $2 AND previous < $3",
    )
    .bind(&from)
    .bind(&to)
    .bind(&from)
    .fetch_one(&mut *conn)
    .await?;
    let scope = Scope::Operator { funder: None };
    let totals = sums(conn, metrics::COHORT, dims::TOTAL, scope, period, Group::None, wanted)
        .await?
        .pop()
        .map_or([0; MEASURES.len()], |r| r.1);
    let limit = limit as usize;
    let mut exact: HashMap<String, Measures> = HashMap::new();
    let ranked = loop {
        let (seen, bound) = month_leaders(conn, &months, depth).await?;
        let unseen: Vec<String> = seen.into_iter().filter(|c| !exact.contains_key(c)).collect();
        exact.extend(period_sums(conn, &unseen, &from, &to, wanted).await?);
        let mut ranked: Vec<(&String, &Measures)> = exact.iter().filter(|(_, m)| m[N] > 0).collect();
        ranked.sort_unstable_by(|a, b| b.1[N].cmp(&a.1[N]).then_with(|| a.0.cmp(b.0)));
        // An unseen commune counts at most `bound`: it cannot pass a row larger than that.
        let settled = bound == 0 || limit == 0 || ranked.get(limit - 1).is_some_and(|(_, m)| m[N] > bound);
        if settled {
            break ranked;
        }
        depth = depth.saturating_mul(4);
    };
    let rows = ranked.into_iter().take(limit).map(|(c, m)| (c.clone(), *m)).collect();
    snapshot.commit().await?;
    Ok(Some(Largest { rows, totals, groups: u64::try_from(groups).unwrap_or(0) }))
}

/// The communes among the `depth` largest of each month, and the most an unseen commune can
/// count over these months: the sum of each month's smallest value read (0 for a month read to
/// its end).
async fn month_leaders(
    conn: &mut AnyConnection,
    months: &[String],
    depth: usize,
) -> Result<(Vec<String>, i64), StatsError> {
    if months.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let one = |i: usize| {
        format!(
            "SELECT * FROM (SELECT month, dim_value, CAST(n AS BIGINT) FROM stats_cells WHERE {LEVEL} \
             AND month = ${} AND n > 0 ORDER BY n DESC LIMIT {depth}) m{i}",
            i + 1
        )
    };
    let sql = (0..months.len()).map(one).collect::<Vec<_>>().join(" UNION ALL ");
    let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(false);
    for m in months {
        q = q.bind(m.as_str());
    }
    let rows = q.fetch_all(&mut *conn).await?;
    // Month → (rows read, smallest value read).
    let mut read: HashMap<String, (usize, i64)> = HashMap::new();
    let mut seen = Vec::with_capacity(rows.len());
    for r in rows {
        let (month, commune, n): (String, String, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let e = read.entry(month).or_insert((0, i64::MAX));
        e.0 += 1;
        e.1 = e.1.min(n);
        seen.push(commune);
    }
    seen.sort_unstable();
    seen.dedup();
    let bound = read.values().filter(|(count, _)| *count >= depth).map(|(_, smallest)| smallest).sum();
    Ok((seen, bound))
}

/// The sums of the measures `wanted` of each commune over the months `from` to `to`. The months
/// are chosen in the sums, not in the `WHERE` clause: a range of months there would let
/// PostgreSQL's planner prefer scanning the period's communes in the index by month, testing each
/// against the list (measured: 60 to 80 ms per statement at regional scale), to looking up the
/// listed communes in the index by commune.
async fn period_sums(
    conn: &mut AnyConnection,
    communes: &[String],
    from: &str,
    to: &str,
    wanted: &[usize],
) -> Result<Vec<(String, Measures)>, StatsError> {
    let mut out = Vec::with_capacity(communes.len());
    for chunk in communes.chunks(CHUNK) {
        let names = (1..=chunk.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let (first, last) = (chunk.len() + 1, chunk.len() + 2);
        let columns: Vec<String> = wanted
            .iter()
            .map(|&i| {
                format!(
                    "COALESCE(CAST(SUM(CASE WHEN month >= ${first} AND month <= ${last} THEN {} ELSE 0 END) \
                     AS BIGINT), 0)",
                    summed(i)
                )
            })
            .collect();
        let sql = format!(
            "SELECT dim_value, {} FROM stats_cells WHERE {LEVEL} AND dim_value IN ({names}) GROUP BY dim_value",
            columns.join(", "),
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(chunk.len() == CHUNK);
        for c in chunk {
            q = q.bind(c.as_str());
        }
        for r in q.bind(from).bind(to).fetch_all(&mut *conn).await? {
            out.push((r.try_get(0)?, measures_of(&r, 1, wanted)?));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold::{At, Fold};
    use crate::measures::{COHORT, STARTED, USED_VALUE, USED_VOUCHERS, VALUE, VOUCHERS};
    use crate::period::Month;
    use crate::scope::Scope;
    use crate::sums::largest;
    use ledger::testing::TestDb;

    /// Deterministic pseudo-random numbers (xorshift64*).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
        }
    }

    fn month(i: u64) -> String {
        format!("{}-{:02}", 2025 + i / 12, 1 + i % 12)
    }

    /// One person handed over, with what they used.
    fn person(rng: &mut Rng) -> Measures {
        let mut m = [0; MEASURES.len()];
        m[N] = 1;
        m[VOUCHERS] = 10;
        m[VALUE] = 10_000;
        m[STARTED] = rng.below(2) as i64;
        m[USED_VOUCHERS] = rng.below(11) as i64;
        m[USED_VALUE] = 1_000 * m[USED_VOUCHERS];
        m
    }

    /// Adds `m` to a commune's cohort in a month, at the level of one order, as a refresh would:
    /// the fold adds the operator's level.
    fn put(fold: &mut Fold, commune: &str, month: &str, m: &Measures) {
        let at = At { month: month.to_owned(), order: 7, site: 0 };
        fold.flow(metrics::COHORT, dims::COMMUNE, commune.to_owned(), &at, m);
        fold.flow(metrics::COHORT, dims::TOTAL, String::new(), &at, m);
    }

    /// `stats_first_months` as migration 0009 computes it from the cells.
    const FROM_SCRATCH: &str = "SELECT month, previous, COUNT(*) FROM (\
        SELECT month, COALESCE(LAG(month) OVER (PARTITION BY dim_value ORDER BY month), '') AS previous \
        FROM stats_cells WHERE metric = 'cohort' AND dim = 'commune' AND order_id = 0 AND site_id = 0 AND n > 0\
        ) s GROUP BY month, previous ORDER BY month, previous";

    /// Communes drawn unevenly (a few large, many small, many ties), written in several
    /// refreshes; then people taken back, emptying some communes' months (first, last and in
    /// between). The kept counts of communes match those computed from scratch, and for many
    /// periods and limits the ranking gives exactly what grouping every commune gives.
    async fn the_ranking_matches_grouping_every_commune(t: TestDb) {
        let mut rng = Rng(0x5EED);
        for _ in 0..6 {
            let mut fold = Fold::default();
            for _ in 0..400 {
                let c = rng.below(300);
                let commune = format!("{:05}", 33_000 + c * c / 300);
                put(&mut fold, &commune, &month(rng.below(20)), &person(&mut rng));
            }
            let mut tx = t.db.begin().await.unwrap();
            fold.write(&mut tx).await.unwrap();
            tx.commit().await.unwrap();
        }
        let mut conn = t.db.pool().acquire().await.unwrap();
        let cells = sqlx::query(
            "SELECT dim_value, month, n, vouchers, value_cents, started, used_vouchers, used_value_cents              FROM stats_cells WHERE metric = 'cohort' AND dim = 'commune' AND order_id = 0 AND site_id = 0              ORDER BY dim_value, month",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let commune_of = |r: &sqlx::any::AnyRow| r.try_get::<String, _>(0).unwrap();
        // Take everyone back from one month of every fourth commune with several months.
        let mut fold = Fold::default();
        let mut emptied = 0;
        for (i, r) in cells.iter().enumerate() {
            let several = cells.iter().filter(|c| commune_of(c) == commune_of(r)).count() > 1;
            if several && i % 4 == 0 {
                let mut m = [0; MEASURES.len()];
                for (column, measure) in
                    [N, VOUCHERS, VALUE, STARTED, USED_VOUCHERS, USED_VALUE].into_iter().enumerate()
                {
                    m[measure] = -r.try_get::<i64, _>(2 + column).unwrap();
                }
                put(&mut fold, &commune_of(r), &r.try_get::<String, _>(1).unwrap(), &m);
                emptied += 1;
            }
        }
        assert!(emptied > 20, "{emptied}");
        let mut tx = t.db.begin().await.unwrap();
        fold.write(&mut tx).await.unwrap();
        tx.commit().await.unwrap();

        let kept: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT month, previous, CAST(communes AS BIGINT) FROM stats_first_months WHERE communes <> 0 \
             ORDER BY month, previous",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let scratch: Vec<(String, String, i64)> = sqlx::query_as(FROM_SCRATCH).fetch_all(&mut *conn).await.unwrap();
        assert!(scratch.len() > 40, "{}", scratch.len());
        assert_eq!(kept, scratch);

        let p = |a: &str, b: &str| Period::months(a.parse::<Month>().unwrap(), b.parse().unwrap()).unwrap();
        let scope = Scope::Operator { funder: None };
        for period in [
            Period::all(),
            p("2025-03", "2026-02"),
            p("2025-06", "2025-06"),
            p("2026-07", "2027-12"),
            p("2024-01", "2025-01"),
            p("2030-01", "2030-12"),
        ] {
            for limit in [0, 1, 2, 3, 10, 50, 10_000] {
                let grouped = largest(
                    &mut conn,
                    metrics::COHORT,
                    dims::COMMUNE,
                    scope,
                    period,
                    Group::DimValue,
                    &COHORT,
                    N,
                    limit,
                )
                .await
                .unwrap();
                // From the first depth on, and from shallower ones, which must read deeper.
                let first = (2 * limit as usize).max(32);
                for depth in [first, 1, 2, 5] {
                    let ranked = reading_from(&mut conn, period, &COHORT, limit, depth).await.unwrap().unwrap();
                    assert_eq!(ranked, grouped, "{period:?}, {limit} rows, from depth {depth}");
                }
            }
        }
        let year = largest(
            &mut conn,
            metrics::COHORT,
            dims::COMMUNE,
            scope,
            p("2025-03", "2026-02"),
            Group::DimValue,
            &COHORT,
            N,
            3,
        )
        .await
        .unwrap();
        assert!(year.groups > 50 && year.rows.len() == 3 && year.totals[N] > 1000, "{year:?}");
    }

    ledger::both_engines!(the_ranking_matches_grouping_every_commune);
}
