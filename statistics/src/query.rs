//! Reading the aggregates: headline figures and breakdown tables.

use crate::fold::{
    AUTONOMY_AFTER, AUTONOMY_BEFORE, AUTONOMY_IMPROVED, AUTONOMY_PAIRS, FINISHED, MEASURES, MINUTES, Measures, N,
    NOT_COMPLETED, PROCEDURE_COMPLETED, REFERRED, SKILL_ACQUIRED, STARTED, USED_VALUE, USED_VOUCHERS, VALUE, VOUCHERS,
};
use crate::period::{Month, Period};
use crate::privacy::{self, Count};
use crate::table::{Cell, Table};
use crate::{StatsError, dims, metrics, ranking};
use ledger::{Cents, Db};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use std::collections::{BTreeMap, HashMap};

/// Whose activity the figures cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    /// Everything, or the orders (co-)funded by one funder.
    Operator { funder: Option<i64> },
    /// The orders this funder funds, alone or with others (their whole value, not its share).
    Funder { id: i64 },
    /// A site's own activity: its redemptions, and the people whose first use was there.
    Site { id: i64 },
}

impl Scope {
    fn funder(self) -> Option<i64> {
        match self {
            Scope::Operator { funder } => funder,
            Scope::Funder { id } => Some(id),
            Scope::Site { .. } => None,
        }
    }

    fn site(self) -> Option<i64> {
        match self {
            Scope::Site { id } => Some(id),
            _ => None,
        }
    }
}

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

/// A breakdown of the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Month,
    Departement,
    Commune,
    Site,
    Service,
    Category,
    Prescriber,
    Autonomy,
    AgeBand,
    FirstUseDelay,
}

impl Dimension {
    pub const ALL: [Dimension; 10] = [
        Dimension::Month,
        Dimension::Departement,
        Dimension::Commune,
        Dimension::Site,
        Dimension::Service,
        Dimension::Category,
        Dimension::Prescriber,
        Dimension::Autonomy,
        Dimension::AgeBand,
        Dimension::FirstUseDelay,
    ];

    /// True for the beneficiary attributes, whose tables are under statistical secrecy.
    pub fn is_beneficiary_attribute(self) -> bool {
        matches!(self, Dimension::Departement | Dimension::Commune | Dimension::Autonomy | Dimension::AgeBand)
    }

    /// French title of the table.
    pub fn title(self) -> &'static str {
        match self {
            Dimension::Month => "Par mois",
            Dimension::Departement => "Par département de résidence",
            Dimension::Commune => "Par commune de résidence",
            Dimension::Site => "Par lieu de médiation",
            Dimension::Service => "Par service",
            Dimension::Category => "Par catégorie de service",
            Dimension::Prescriber => "Par prescripteur",
            Dimension::Autonomy => "Par niveau d'autonomie",
            Dimension::AgeBand => "Par tranche d'âge",
            Dimension::FirstUseDelay => "Délai entre la remise et la première utilisation",
        }
    }

    /// True for the tables that may have thousands of rows (communes, départements, sites): they
    /// can be limited to their largest rows ([`Rows::Top`]).
    pub fn is_long(self) -> bool {
        matches!(self, Dimension::Commune | Dimension::Departement | Dimension::Site)
    }
}

/// Which rows of a long table ([`Dimension::is_long`]) a breakdown returns; other tables are
/// always complete.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Rows {
    /// Every row, in the order of their labels (what the CSV exports give).
    #[default]
    All,
    /// The `n` largest rows by the table's main measure — people for the tables of
    /// beneficiaries, passages for the table by site — largest first, then one row « Autres
    /// communes (k) » (« Autres départements », « Autres lieux ») adding up the k rows left out, so
    /// that the total is unchanged ([`Table::merged_rows`] is k). In the tables of beneficiaries
    /// only rows of 5 people or more are kept; the smaller ones go into the merged row, which is
    /// made to count 5 people or more too (the smallest kept row joins it when needed) and is
    /// protected like any row.
    Top(u32),
}

/// How many rows of a long table the dashboards and the impact report show ([`Rows::Top`]).
pub const SHOWN_ROWS: u32 = 50;

/// Every measure.
const ALL: [usize; MEASURES.len()] = {
    let mut all = [0; MEASURES.len()];
    let mut i = 0;
    while i < all.len() {
        all[i] = i;
        i += 1;
    }
    all
};
/// The measures of tables of activity (passages, vouchers, value, hours).
const ACTIVITY: [usize; 4] = [N, VOUCHERS, VALUE, MINUTES];
/// The measures of tables of people (handed over, started, what they used).
pub(crate) const COHORT: [usize; 5] = [N, VOUCHERS, STARTED, USED_VOUCHERS, USED_VALUE];

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
async fn delays(conn: &mut AnyConnection, scope: Scope, period: Period) -> Result<BTreeMap<i64, i64>, StatsError> {
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

fn first_use(hist: &BTreeMap<i64, i64>) -> FirstUse {
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

/// The headline figures of `scope` over `period`, from the aggregates (see [`crate::refresh`]).
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

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn hours(minutes: i64) -> Cell {
    Cell::Decimal(ratio(minutes, 60, 1, 1).unwrap_or_default())
}

async fn names(conn: &mut AnyConnection, ids: impl Iterator<Item = i64>) -> Result<HashMap<i64, String>, StatsError> {
    let ids: Vec<String> = ids.map(|i| i.to_string()).collect();
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows =
            sqlx::query(AssertSqlSafe(format!("SELECT id, name FROM organisations WHERE id IN ({})", chunk.join(","))))
                .persistent(false)
                .fetch_all(&mut *conn)
                .await?;
        for r in rows {
            out.insert(r.try_get(0)?, r.try_get(1)?);
        }
    }
    Ok(out)
}

const ACTIVITY_COLUMNS: [&str; 4] = ["Passages", "Chèques utilisés", "Valeur utilisée (€)", "Heures de médiation"];

fn activity(m: &Measures) -> [Cell; 4] {
    [Cell::Int(m[N]), Cell::Int(m[VOUCHERS]), Cell::Money(Cents(m[VALUE])), hours(m[MINUTES])]
}

/// `total` minus each of `rows`.
fn minus<'a>(total: &Measures, rows: impl Iterator<Item = &'a Measures>) -> Measures {
    let mut t = *total;
    for m in rows {
        for (a, b) in t.iter_mut().zip(m) {
            *a -= b;
        }
    }
    t
}

fn sum_all<'a>(rows: impl Iterator<Item = &'a Measures>) -> Measures {
    let mut t = [0; MEASURES.len()];
    for m in rows {
        for (a, b) in t.iter_mut().zip(m) {
            *a += b;
        }
    }
    t
}

/// French labels of the age bands, in order.
pub(crate) const AGE_BANDS: [(&str, &str); 6] = [
    ("moins_de_25", "Moins de 25 ans"),
    ("25_39", "25 à 39 ans"),
    ("40_54", "40 à 54 ans"),
    ("55_64", "55 à 64 ans"),
    ("65_74", "65 à 74 ans"),
    ("75_et_plus", "75 ans et plus"),
];

/// French labels of the autonomy levels, in order.
pub(crate) const AUTONOMIES: [(&str, &str); 3] = [
    ("excluded", "N'utilise pas le numérique"),
    ("beginner", "Débute, a besoin d'aide"),
    ("advanced", "Se débrouille, veut progresser"),
];

const COHORT_NOTE: &str = "Personnes : carnets remis pendant la période (une personne par carnet) ; leur utilisation \
                           est comptée depuis la remise, quelle que soit la date des passages.";
const SECRECY_NOTE: &str = "Secret statistique : « < 5 » signale moins de 5 personnes ; « secret » masque une autre \
                            case pour que le total ne permette pas de la retrouver.";

/// One row of a table by beneficiary attribute: its label cells and cohort measures.
pub(crate) struct AttributeRow {
    pub labels: Vec<Cell>,
    pub measures: Measures,
    /// Inhabitants, for per-capita figures.
    pub population: Option<u64>,
    /// For the row « Autres … (k) » of a limited table, k: the rows it merges (0 for others).
    pub merged: u64,
}

/// Builds a table by beneficiary attribute with statistical secrecy. `listed`: rows appear only
/// because someone is in them (communes, départements), so a reader knows each counts at least
/// one person.
pub(crate) fn attribute_table(
    title: &str,
    label_columns: &[&str],
    rows: Vec<AttributeRow>,
    listed: bool,
    per_capita: bool,
) -> Table {
    let mut columns: Vec<String> = label_columns.iter().map(|c| (*c).to_owned()).collect();
    columns.extend(
        [
            "Personnes (carnets remis)",
            "Chèques remis",
            "Personnes ayant utilisé un chèque",
            "Chèques utilisés",
            "Valeur utilisée (€)",
            "Taux d'utilisation (%)",
        ]
        .map(str::to_owned),
    );
    if per_capita {
        columns.extend(
            ["Population", "Chèques remis pour 1 000 habitants", "Chèques utilisés pour 1 000 habitants"]
                .map(str::to_owned),
        );
    }
    let people: Vec<i64> = rows.iter().map(|r| r.measures[N]).collect();
    let started: Vec<i64> = rows.iter().map(|r| r.measures[STARTED]).collect();
    // What a reader knows without the count: a listed row counts someone, a merged row someone
    // in each row it merges.
    let lower: Vec<i64> =
        rows.iter().map(|r| if listed { i64::try_from(r.merged.max(1)).unwrap_or(i64::MAX) } else { 0 }).collect();
    let protected = privacy::protect(&people, &lower, &vec![false; rows.len()], false).and_then(|p| {
        let forced: Vec<bool> = p.iter().map(|c| c.shown().is_none()).collect();
        privacy::protect(&started, &vec![0; rows.len()], &forced, false).map(|s| (p, s))
    });
    let t = sum_all(rows.iter().map(|r| &r.measures));
    let mut total = vec![text("Total")];
    total.extend(label_columns.iter().skip(1).map(|_| Cell::Empty));
    total.extend([
        Cell::People(Count::Shown(t[N])),
        Cell::Int(t[VOUCHERS]),
        Cell::People(Count::Shown(t[STARTED])),
        Cell::Int(t[USED_VOUCHERS]),
        Cell::Money(Cents(t[USED_VALUE])),
        ratio(t[USED_VOUCHERS], t[VOUCHERS], 100, 1).map_or(Cell::Empty, Cell::Decimal),
    ]);
    if per_capita {
        total.extend([Cell::Empty, Cell::Empty, Cell::Empty]);
    }
    let mut notes = vec![COHORT_NOTE.to_owned(), SECRECY_NOTE.to_owned()];
    let Some((p, s)) = protected else {
        notes.push("Effectifs trop faibles : le détail n'est pas publié.".to_owned());
        return Table {
            title: title.to_owned(),
            columns,
            rows: Vec::new(),
            total: Some(total),
            notes,
            withheld: true,
            merged_rows: 0,
        };
    };
    let out = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let m = r.measures;
            let (people_shown, started_shown) = (p[i].shown().is_some(), s[i].shown().is_some());
            let or_hidden = |shown: bool, c: Cell| if shown { c } else { Cell::Hidden };
            let mut cells = r.labels;
            cells.extend([
                Cell::People(p[i]),
                or_hidden(people_shown, Cell::Int(m[VOUCHERS])),
                Cell::People(s[i]),
                or_hidden(started_shown, Cell::Int(m[USED_VOUCHERS])),
                or_hidden(started_shown, Cell::Money(Cents(m[USED_VALUE]))),
                or_hidden(
                    people_shown && started_shown,
                    ratio(m[USED_VOUCHERS], m[VOUCHERS], 100, 1).map_or(Cell::Empty, Cell::Decimal),
                ),
            ]);
            if per_capita {
                let pop = r.population.unwrap_or(0) as i64;
                cells.push(if pop > 0 { Cell::Int(pop) } else { Cell::Empty });
                cells
                    .push(or_hidden(people_shown, ratio(m[VOUCHERS], pop, 1000, 1).map_or(Cell::Empty, Cell::Decimal)));
                cells.push(or_hidden(
                    started_shown,
                    ratio(m[USED_VOUCHERS], pop, 1000, 1).map_or(Cell::Empty, Cell::Decimal),
                ));
            }
            cells
        })
        .collect();
    Table { title: title.to_owned(), columns, rows: out, total: Some(total), notes, withheld: false, merged_rows: 0 }
}

/// One breakdown table of `scope` over `period`: every row, or for a long table
/// ([`Dimension::is_long`]) only its largest ones ([`Rows::Top`]; other tables ignore it). Tables
/// by beneficiary attribute ([`Dimension::is_beneficiary_attribute`]) are under statistical
/// secrecy; every table's total equals the matching headline figure of [`figures`], limited or
/// not.
pub async fn breakdown(
    db: &Db,
    scope: Scope,
    period: Period,
    dimension: Dimension,
    rows: Rows,
) -> Result<Table, StatsError> {
    let mut conn = db.pool().acquire().await?;
    let conn = &mut *conn;
    let title = dimension.title();
    let limit = match rows {
        Rows::Top(n) if dimension.is_long() => Some(n),
        _ => None,
    };
    let simple = |columns: Vec<String>, rows: Vec<Vec<Cell>>, total: Vec<Cell>, notes: Vec<String>| Table {
        title: title.to_owned(),
        columns,
        rows,
        total: Some(total),
        notes,
        withheld: false,
        merged_rows: 0,
    };
    let redemption_note =
        "Passages : services rendus pendant la période ; heures : durée prévue au catalogue.".to_owned();
    Ok(match dimension {
        Dimension::Month => {
            let redeemed = sums(conn, metrics::REDEEMED, dims::TOTAL, scope, period, Group::Month, &ACTIVITY).await?;
            let cohort = sums(conn, metrics::COHORT, dims::TOTAL, scope, period, Group::Month, &[N, VOUCHERS]).await?;
            let mut months: BTreeMap<String, (Measures, Measures)> = BTreeMap::new();
            for (k, m) in redeemed {
                months.entry(k).or_default().0 = m;
            }
            for (k, m) in cohort {
                months.entry(k).or_default().1 = m;
            }
            let row = |label: Cell, r: &Measures, c: &Measures| {
                let mut cells = vec![label, Cell::Int(c[N]), Cell::Int(c[VOUCHERS])];
                cells.extend(activity(r));
                cells
            };
            let rows = months
                .iter()
                .filter(|(_, (r, c))| r.iter().chain(c.iter()).any(|v| *v != 0))
                .map(|(k, (r, c))| row(text(k.parse::<Month>().map_or_else(|_| k.clone(), |m| m.label())), r, c))
                .collect();
            let total =
                row(text("Total"), &sum_all(months.values().map(|v| &v.0)), &sum_all(months.values().map(|v| &v.1)));
            let mut columns = vec!["Mois".to_owned(), "Carnets remis".to_owned(), "Chèques remis".to_owned()];
            columns.extend(ACTIVITY_COLUMNS.map(str::to_owned));
            simple(columns, rows, total, vec![redemption_note, "Carnets remis : dans le mois de la remise.".to_owned()])
        }
        Dimension::Site => {
            // Sites with at least one passage: the largest first when limited, else all of them.
            let (found, rest) = match limit {
                Some(n) => {
                    let top =
                        largest(conn, metrics::REDEEMED, dims::TOTAL, scope, period, Group::Site, &ACTIVITY, N, n)
                            .await?;
                    let rest = minus(&top.totals, top.rows.iter().map(|r| &r.1));
                    let merged = top.groups.saturating_sub(top.rows.len() as u64);
                    (top.rows, (merged > 0).then_some((merged, rest)))
                }
                None => {
                    let all = sums(conn, metrics::REDEEMED, dims::TOTAL, scope, period, Group::Site, &ACTIVITY).await?;
                    (all.into_iter().filter(|(_, m)| m[N] > 0).collect(), None)
                }
            };
            let parsed: Vec<(i64, Measures)> =
                found.into_iter().filter_map(|(k, m)| Some((k.parse().ok()?, m))).collect();
            let names = names(conn, parsed.iter().map(|(id, _)| *id)).await?;
            let mut rows: Vec<(String, Vec<Cell>)> = parsed
                .iter()
                .map(|(id, m)| {
                    let name = names.get(id).cloned().unwrap_or_else(|| format!("Lieu n°{id}"));
                    let mut cells = vec![text(name.clone())];
                    cells.extend(activity(m));
                    (name, cells)
                })
                .collect();
            if limit.is_none() {
                rows.sort_by(|a, b| a.0.cmp(&b.0));
            }
            let mut rows: Vec<Vec<Cell>> = rows.into_iter().map(|r| r.1).collect();
            let mut notes = vec![redemption_note];
            let mut merged_rows = 0;
            if let Some((merged, rest)) = rest {
                let mut cells = vec![text(format!("Autres lieux ({merged})"))];
                cells.extend(activity(&rest));
                rows.push(cells);
                notes.push(limited_note(rows.len() - 1, merged, &LIEUX));
                merged_rows = merged;
            }
            let mut total = vec![text("Total")];
            total.extend(activity(&sum_all(parsed.iter().map(|p| &p.1).chain(rest.iter().map(|r| &r.1)))));
            let mut columns = vec!["Lieu".to_owned()];
            columns.extend(ACTIVITY_COLUMNS.map(str::to_owned));
            Table { merged_rows, ..simple(columns, rows, total, notes) }
        }
        Dimension::Service | Dimension::Category => {
            let dim = if dimension == Dimension::Service { dims::SERVICE } else { dims::CATEGORY };
            let redeemed = sums(conn, metrics::REDEEMED, dim, scope, period, Group::DimValue, &ACTIVITY).await?;
            let labels: HashMap<String, (String, String)> = if dimension == Dimension::Service {
                let rows =
                    sqlx::query("SELECT code, label, category FROM catalogue_services").fetch_all(&mut *conn).await?;
                let mut out = HashMap::new();
                for r in rows {
                    let category: String = r.try_get(2)?;
                    out.insert(r.try_get(0)?, (r.try_get(1)?, category_label(&category)));
                }
                out
            } else {
                HashMap::new()
            };
            let mut rows: Vec<Vec<Cell>> = redeemed
                .iter()
                .filter(|(_, m)| m.iter().any(|v| *v != 0))
                .map(|(k, m)| {
                    let mut cells = if dimension == Dimension::Service {
                        let (label, category) = labels.get(k).cloned().unwrap_or_else(|| (k.clone(), String::new()));
                        vec![text(k.clone()), text(label), text(category)]
                    } else {
                        vec![text(category_label(k))]
                    };
                    cells.extend(activity(m));
                    cells
                })
                .collect();
            rows.sort_by_key(|r| r.first().map(Cell::to_french));
            let mut columns: Vec<String> = if dimension == Dimension::Service {
                vec!["Code".into(), "Service".into(), "Catégorie".into()]
            } else {
                vec!["Catégorie".into()]
            };
            let mut total = vec![text("Total")];
            total.extend(columns.iter().skip(1).map(|_| Cell::Empty));
            total.extend(activity(&sum_all(redeemed.iter().map(|r| &r.1))));
            columns.extend(ACTIVITY_COLUMNS.map(str::to_owned));
            simple(columns, rows, total, vec![redemption_note])
        }
        Dimension::Prescriber => {
            let cohort = sums(conn, metrics::COHORT, dims::PRESCRIBER, scope, period, Group::DimValue, &COHORT).await?;
            let redeemed =
                sums(conn, metrics::REDEEMED, dims::PRESCRIBER, scope, period, Group::DimValue, &ACTIVITY).await?;
            let mut by: BTreeMap<String, (Measures, Measures)> = BTreeMap::new();
            for (k, m) in cohort {
                by.entry(k).or_default().0 = m;
            }
            for (k, m) in redeemed {
                by.entry(k).or_default().1 = m;
            }
            let names = names(conn, by.keys().filter_map(|k| k.parse().ok())).await?;
            let row = |label: Cell, c: &Measures, r: &Measures| {
                let mut cells = vec![
                    label,
                    Cell::Int(c[N]),
                    Cell::Int(c[STARTED]),
                    ratio(c[USED_VOUCHERS], c[VOUCHERS], 100, 1).map_or(Cell::Empty, Cell::Decimal),
                ];
                cells.extend(activity(r));
                cells
            };
            let mut rows: Vec<(String, Vec<Cell>)> = by
                .iter()
                .filter(|(_, (c, r))| c.iter().chain(r.iter()).any(|v| *v != 0))
                .map(|(k, (c, r))| {
                    let name = k
                        .parse::<i64>()
                        .ok()
                        .and_then(|id| names.get(&id).cloned())
                        .unwrap_or_else(|| "Sans prescripteur".to_owned());
                    (name.clone(), row(text(name), c, r))
                })
                .collect();
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            let total = row(text("Total"), &sum_all(by.values().map(|v| &v.0)), &sum_all(by.values().map(|v| &v.1)));
            let mut columns = vec![
                "Prescripteur".to_owned(),
                "Carnets remis".to_owned(),
                "Carnets utilisés".to_owned(),
                "Taux d'utilisation (%)".to_owned(),
            ];
            columns.extend(ACTIVITY_COLUMNS.map(str::to_owned));
            simple(
                columns,
                rows.into_iter().map(|r| r.1).collect(),
                total,
                vec![COHORT_NOTE.to_owned(), redemption_note],
            )
        }
        Dimension::FirstUseDelay => {
            let hist = delays(conn, scope, period).await?;
            let fu = first_use(&hist);
            let rows = fu.buckets.iter().map(|b| vec![text(b.label.clone()), Cell::Int(b.books)]).collect();
            let total = vec![text("Total"), Cell::Int(hist.values().sum())];
            let mut notes = vec![COHORT_NOTE.to_owned()];
            if let Some(m) = fu.median_days {
                notes.push(format!("Délai médian : {m} jour(s)."));
            }
            simple(vec!["Délai".into(), "Carnets".into()], rows, total, notes)
        }
        Dimension::AgeBand | Dimension::Autonomy => {
            let (dim, list, heading) = if dimension == Dimension::AgeBand {
                (dims::AGE_BAND, &AGE_BANDS[..], "Tranche d'âge")
            } else {
                (dims::AUTONOMY, &AUTONOMIES[..], "Autonomie")
            };
            let found: HashMap<String, Measures> =
                sums(conn, metrics::COHORT, dim, scope, period, Group::DimValue, &COHORT).await?.into_iter().collect();
            // Every level is listed, with someone or not.
            let mut rows: Vec<AttributeRow> = list
                .iter()
                .map(|(code, label)| AttributeRow {
                    labels: vec![text(*label)],
                    measures: found.get(*code).copied().unwrap_or_default(),
                    population: None,
                    merged: 0,
                })
                .collect();
            let other = sum_all(found.iter().filter(|(k, _)| !list.iter().any(|(c, _)| c == k)).map(|(_, m)| m));
            if other[N] != 0 {
                rows.push(AttributeRow {
                    labels: vec![text("Non renseigné")],
                    measures: other,
                    population: None,
                    merged: 0,
                });
            }
            attribute_table(title, &[heading], rows, false, false)
        }
        Dimension::Commune | Dimension::Departement => {
            let commune = dimension == Dimension::Commune;
            let dim = if commune { dims::COMMUNE } else { dims::DEPARTEMENT };
            // Places with at least one person: the largest first when limited, else all of them.
            let (found, rest) = match limit {
                Some(n) => {
                    // The operator's table by commune: too many communes to group them all.
                    let ranked = if commune && scope == (Scope::Operator { funder: None }) {
                        ranking::largest_communes(conn, period, &COHORT, n).await?
                    } else {
                        None
                    };
                    let top = match ranked {
                        Some(top) => top,
                        None => {
                            largest(conn, metrics::COHORT, dim, scope, period, Group::DimValue, &COHORT, N, n).await?
                        }
                    };
                    // Rows under the threshold (they come last) go with the others; so does the
                    // smallest kept row if the others would count fewer than 5 people, so that the
                    // merged row is no small count either.
                    let mut kept: Vec<(String, Measures)> =
                        top.rows.into_iter().take_while(|(_, m)| m[N] >= privacy::THRESHOLD).collect();
                    let mut merged = top.groups.saturating_sub(kept.len() as u64);
                    let mut rest = minus(&top.totals, kept.iter().map(|r| &r.1));
                    if merged > 0
                        && rest[N] < privacy::THRESHOLD
                        && let Some((_, smallest)) = kept.pop()
                    {
                        merged += 1;
                        rest = sum_all([&rest, &smallest].into_iter());
                    }
                    (kept, (merged > 0).then_some((merged, rest)))
                }
                None => {
                    let all = sums(conn, metrics::COHORT, dim, scope, period, Group::DimValue, &COHORT).await?;
                    (all.into_iter().filter(|(_, m)| m[N] > 0).collect(), None)
                }
            };
            let mut rows: Vec<AttributeRow> = found
                .into_iter()
                .map(|(code, m)| {
                    let (name, population) = if commune {
                        issuer::territory::commune(&code)
                            .map_or((String::new(), None), |c| (c.name.clone(), Some(u64::from(c.population))))
                    } else {
                        let name = issuer::territory::departement(&code).map_or_else(String::new, |d| d.name.clone());
                        (name, Some(issuer::territory::departement_population(&code)))
                    };
                    AttributeRow { labels: vec![text(code), text(name)], measures: m, population, merged: 0 }
                })
                .collect();
            if limit.is_none() {
                rows.sort_by_key(|r| r.labels.first().map(Cell::to_french));
            }
            let words = if commune { &COMMUNES } else { &DEPARTEMENTS };
            let kept = rows.len();
            if let Some((merged, rest)) = rest {
                rows.push(AttributeRow {
                    labels: vec![text(format!("Autres {} ({merged})", words.plural)), Cell::Empty],
                    measures: rest,
                    population: None,
                    merged,
                });
            }
            let headings: [&str; 2] = if commune { ["Code INSEE", "Commune"] } else { ["Code", "Département"] };
            let mut t = attribute_table(title, &headings, rows, true, true);
            // A withheld table tells nothing of its rows, not even how many were merged.
            if let Some((merged, _)) = rest.filter(|_| !t.withheld) {
                t.notes.push(limited_note(kept, merged, words));
                t.merged_rows = merged;
            }
            t
        }
    })
}

/// How the rows of a long table are named in its notes.
struct Words {
    /// « communes », « départements », « lieux »
    plural: &'static str,
    /// Which rows are kept.
    largest: &'static str,
}

const COMMUNES: Words = Words { plural: "communes", largest: "comptant le plus de personnes (5 au moins)" };
const DEPARTEMENTS: Words = Words { plural: "départements", largest: "comptant le plus de personnes (5 au moins)" };
const LIEUX: Words = Words { plural: "lieux", largest: "ayant le plus de passages" };

/// The note of a limited table: what was kept, in which order, and what the last row merges.
fn limited_note(kept: usize, merged: u64, w: &Words) -> String {
    format!(
        "{kept} ligne(s) détaillée(s) : les {plural} {largest}, par ordre décroissant ; « Autres {plural} \
         ({merged}) » additionne les {merged} autres, et le total est inchangé.",
        plural = w.plural,
        largest = w.largest
    )
}

/// French label of a service category slug.
fn category_label(slug: &str) -> String {
    issuer::category::Category::from_slug(slug).map_or_else(|| slug.to_owned(), |c| c.label().to_owned())
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

    #[test]
    fn attribute_tables_hide_small_rows_and_what_gives_them_away() {
        let row = |label: &str, people: i64, started: i64| {
            let mut m = [0; MEASURES.len()];
            (m[N], m[VOUCHERS], m[STARTED], m[USED_VOUCHERS], m[USED_VALUE]) =
                (people, people * 10, started, started * 3, started * 3000);
            AttributeRow { labels: vec![text(label)], measures: m, population: Some(1000), merged: 0 }
        };
        let t = attribute_table(
            "x",
            &["Commune"],
            vec![row("A", 2, 1), row("B", 30, 20), row("C", 8, 6), row("D", 50, 40)],
            true,
            true,
        );
        assert!(!t.withheld);
        let a = &t.rows[0];
        assert_eq!(a[1], Cell::People(Count::Suppressed));
        assert!(a[2..].iter().all(|c| matches!(c, Cell::Hidden | Cell::People(_) | Cell::Int(1000))), "{a:?}");
        // C is the next smallest: hidden so that A is not the total minus the others.
        assert_eq!(t.rows[2][1], Cell::People(Count::Secret));
        assert_eq!(t.rows[2][2], Cell::Hidden);
        assert_eq!(t.rows[1][1], Cell::People(Count::Shown(30)));
        assert_eq!(t.total.as_ref().unwrap()[1], Cell::People(Count::Shown(90)));
        let lone = attribute_table("x", &["Commune"], vec![row("A", 3, 1)], true, false);
        assert!(lone.withheld && lone.rows.is_empty());
    }
}
