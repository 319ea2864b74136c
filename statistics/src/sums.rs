//! The statements that add up the aggregate rows of one metric and dimension over a scope and
//! period: by group ([`sums`]), or only the largest groups with the totals ([`largest`]).

use crate::error::StatsError;
use crate::measures::{MEASURES, Measures, USED_VALUE, VALUE};
use crate::period::Period;
use crate::scope::Scope;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

/// What a statement groups its sums by: nothing, the dimension's value, the month or the site.
#[derive(Clone, Copy)]
pub(crate) enum Group {
    None,
    DimValue,
    Month,
    Site,
}

/// The grouping key of a statement, as selected (text).
fn key_expression(group: Group) -> &'static str {
    match group {
        Group::None => "''",
        Group::DimValue => "dim_value",
        Group::Month => "month",
        Group::Site => "CAST(site_id AS TEXT)",
    }
}

/// The `GROUP BY` clause of a statement. Sites are grouped by their number, in the index's order
/// (the rows of a site come together: no sort, no hashing of text), and shown as text.
fn group_by(group: Group) -> &'static str {
    match group {
        Group::None => "",
        Group::DimValue => " GROUP BY dim_value",
        Group::Month => " GROUP BY month",
        Group::Site => " GROUP BY site_id",
    }
}

/// The rows of `stats_cells` a statement reads: one metric and dimension over a scope and period,
/// at the level of the aggregates that scope and grouping read (see migration 0008).
struct Cells<'a> {
    metric: &'a str,
    dim: &'a str,
    scope: Scope,
    period: Period,
    /// The condition after `metric = $1 AND dim = $2 AND month >= $3 AND month <= $4`.
    filter: String,
    /// Whether the statement may be kept in the connection's cache.
    persistent: bool,
}

impl<'a> Cells<'a> {
    async fn select(
        conn: &mut AnyConnection,
        metric: &'a str,
        dim: &'a str,
        scope: Scope,
        period: Period,
        group: Group,
    ) -> Result<Cells<'a>, StatsError> {
        // Order or site 0 mean "all". A funder's orders are named in the statement, so that both
        // engines read one key range per order whatever their planner's estimates.
        let by_site = matches!(group, Group::Site);
        let orders = match scope.funder() {
            Some(f) => {
                let ids: Vec<i64> =
                    sqlx::query_scalar("SELECT order_id FROM order_funders WHERE funder_id = $1 ORDER BY order_id")
                        .bind(f)
                        .fetch_all(&mut *conn)
                        .await?;
                // No order: nothing to read (-1 is no order's id).
                let ids: Vec<String> =
                    if ids.is_empty() { vec!["-1".to_owned()] } else { ids.iter().map(i64::to_string).collect() };
                Some(ids.join(", "))
            }
            None => None,
        };
        let site_filter = if by_site { "site_id <> 0" } else { "site_id = 0" };
        let filter = match (&orders, scope.site()) {
            (_, Some(_)) => " AND order_id = 0 AND site_id = $5".to_owned(),
            (Some(ids), None) => format!(" AND {site_filter} AND order_id IN ({ids})"),
            (None, None) => format!(" AND order_id = 0 AND {site_filter}"),
        };
        // Literal order ids: a one-off statement, kept out of the connection's statement cache.
        Ok(Cells { metric, dim, scope, period, filter, persistent: orders.is_none() })
    }

    /// `FROM stats_cells WHERE …`: these rows.
    fn clauses(&self) -> String {
        format!("FROM stats_cells WHERE metric = $1 AND dim = $2 AND month >= $3 AND month <= $4{}", self.filter)
    }

    /// The first placeholder after those of [`Cells::clauses`].
    fn next_mark(&self) -> &'static str {
        if self.scope.site().is_some() { "$6" } else { "$5" }
    }

    /// `sql`, which reads these rows, with their values bound.
    fn query(&self, sql: String) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
        let (from, to) = self.period.keys();
        let q = sqlx::query(AssertSqlSafe(sql))
            .persistent(self.persistent)
            .bind(self.metric.to_owned())
            .bind(self.dim.to_owned())
            .bind(from)
            .bind(to);
        match self.scope.site() {
            Some(id) => q.bind(id),
            None => q,
        }
    }
}

/// A measure as it goes into `SUM`. Counts go in as 32-bit integers: PostgreSQL then adds them
/// in a 64-bit register, where a 64-bit column takes a 128-bit state allocated per group (a third
/// of the time of the largest tables at national scale). One month's cell counts far fewer than
/// 2^31 of anything (passages, vouchers, minutes); amounts in cents stay 64-bit. SQLite's
/// integers are 64-bit whatever the cast.
pub(crate) fn summed(i: usize) -> String {
    if i == VALUE || i == USED_VALUE { MEASURES[i].to_owned() } else { format!("CAST({} AS INTEGER)", MEASURES[i]) }
}

/// `SUM(measure)` of each wanted measure, as whole numbers.
fn sum_columns(wanted: &[usize]) -> Vec<String> {
    wanted.iter().map(|&i| format!("COALESCE(CAST(SUM({}) AS BIGINT), 0)", summed(i))).collect()
}

/// Reads the wanted measures of a row from column `first` on.
pub(crate) fn measures_of(r: &sqlx::any::AnyRow, first: usize, wanted: &[usize]) -> Result<Measures, StatsError> {
    let mut m = [0; MEASURES.len()];
    for (column, &i) in wanted.iter().enumerate() {
        m[i] = r.try_get(first + column)?;
    }
    Ok(m)
}

/// Sums of the measures of one metric and dimension over a scope and period, by group.
pub(crate) async fn sums(
    conn: &mut AnyConnection,
    metric: &str,
    dim: &str,
    scope: Scope,
    period: Period,
    group: Group,
    wanted: &[usize],
) -> Result<Vec<(String, Measures)>, StatsError> {
    let cells = Cells::select(conn, metric, dim, scope, period, group).await?;
    // Only the measures the caller shows: fewer values to decode per row.
    let sql = format!(
        "SELECT {}, {} {}{}",
        key_expression(group),
        sum_columns(wanted).join(", "),
        cells.clauses(),
        group_by(group)
    );
    let q = cells.query(sql);
    let rows = q.fetch_all(&mut *conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push((r.try_get(0)?, measures_of(&r, 1, wanted)?));
    }
    Ok(out)
}

/// The groups with the largest sums of measure `rank`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Largest {
    /// At most `limit` groups whose `rank` sum is positive, largest first (ties by key).
    pub(crate) rows: Vec<(String, Measures)>,
    /// The sums over every group whose `rank` sum is positive, kept or not.
    pub(crate) totals: Measures,
    /// How many groups have a positive `rank` sum.
    pub(crate) groups: u64,
}

/// The `limit` groups with the largest sums of measure `rank`, and the totals over all groups:
/// the database sorts and cuts (`ORDER BY … LIMIT`), and adds up every group in the same
/// statement (`SUM(…) OVER ()` over the groups' sums, evaluated before the limit), so that only
/// `limit` rows travel and are decoded whatever the number of groups. The groups' sums are
/// 64-bit integers by then: the totals and the ranking do not go through `NUMERIC`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn largest(
    conn: &mut AnyConnection,
    metric: &str,
    dim: &str,
    scope: Scope,
    period: Period,
    group: Group,
    wanted: &[usize],
    rank: usize,
    limit: u32,
) -> Result<Largest, StatsError> {
    let cells = Cells::select(conn, metric, dim, scope, period, group).await?;
    let named: Vec<String> = sum_columns(wanted).iter().enumerate().map(|(c, sum)| format!("{sum} AS m{c}")).collect();
    let columns: Vec<String> = (0..wanted.len()).map(|c| format!("m{c}")).collect();
    let totals: Vec<String> = columns.iter().map(|m| format!("CAST(SUM({m}) OVER () AS BIGINT)")).collect();
    let sql = format!(
        "SELECT k, {}, {}, COUNT(*) OVER () FROM (SELECT {g} AS k, {}, CAST(SUM({r}) AS BIGINT) AS r {}{}) g \
         WHERE r > 0 ORDER BY r DESC, k LIMIT {}",
        columns.join(", "),
        totals.join(", "),
        named.join(", "),
        cells.clauses(),
        group_by(group),
        cells.next_mark(),
        g = key_expression(group),
        r = summed(rank),
    );
    let q = cells.query(sql);
    // At least one row, which carries the totals.
    let found = q.bind(i64::from(limit.max(1))).fetch_all(&mut *conn).await?;
    let mut out = Largest { rows: Vec::with_capacity(found.len()), totals: [0; MEASURES.len()], groups: 0 };
    if let Some(first) = found.first() {
        out.totals = measures_of(first, 1 + wanted.len(), wanted)?;
        out.groups = u64::try_from(first.try_get::<i64, _>(1 + 2 * wanted.len())?).unwrap_or(0);
    }
    for row in found.iter().take(limit as usize) {
        out.rows.push((row.try_get(0)?, measures_of(row, 1, wanted)?));
    }
    Ok(out)
}
