//! The API's views of the statistics: the same JSON as the statistics crate's types, with their
//! schemas for the OpenAPI document.

use rust_decimal::Decimal;
use serde::Serialize;
use statistics::{BookUse, Bucket, Cell, Count, Figures, FirstUse, Flow, Outcomes, Scope, Table};
use utoipa::ToSchema;

/// Headline figures of a scope over a period. `null` marks what does not apply to the scope
/// (a site issues and hands over no books).
#[derive(Serialize, ToSchema)]
pub struct FiguresView {
    scope: StatsScopeView,
    period: StatsPeriodView,
    issued: Option<FlowView>,
    assigned: Option<FlowView>,
    /// Books handed to beneficiaries in the period.
    distributed: Option<FlowView>,
    /// Vouchers redeemed in the period (services performed in the period).
    redeemed: FlowView,
    /// Redemptions (one per service delivered, whatever the number of vouchers).
    passages: i64,
    expired: Option<FlowView>,
    cancelled: Option<FlowView>,
    /// Of the vouchers handed over in the period, the share used since, in percent, rounded to
    /// one decimal, as a decimal string; `null` when none was handed over.
    redemption_rate: Option<Decimal>,
    first_use: FirstUseView,
    books: Option<BookUseView>,
    /// Hours of mediation delivered in the period, rounded to one decimal, as a decimal string.
    hours: Decimal,
    outcomes: OutcomesView,
    /// Books handed over in the period with at least one voucher used (for a site: whose first
    /// use was there).
    people_reached: i64,
}

/// Whose activity the figures cover.
#[derive(Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StatsScopeView {
    /// Everything, or the orders (co-)funded by one funder.
    Operator { funder: Option<i64> },
    /// The orders this funder funds, alone or with others.
    Funder { id: i64 },
    /// A site's own activity.
    Site { id: i64 },
}

/// Whole months from `from` to `to` (`AAAA-MM`), both included; both `null`: everything.
#[derive(Serialize, ToSchema)]
pub struct StatsPeriodView {
    from: Option<String>,
    to: Option<String>,
}

/// Books, vouchers and their face value.
#[derive(Serialize, ToSchema)]
pub struct FlowView {
    /// `null` where books do not apply (expiry is counted by voucher).
    books: Option<i64>,
    vouchers: i64,
    /// Face value in cents.
    value: i64,
}

/// What became of the books handed over in the period.
#[derive(Serialize, ToSchema)]
pub struct BookUseView {
    distributed: i64,
    /// No voucher used yet.
    unused: i64,
    /// At least one voucher used (includes the finished ones).
    started: i64,
    /// Every voucher used.
    finished: i64,
}

/// Time from hand-over to first use, of the books handed over in the period and used since.
#[derive(Serialize, ToSchema)]
pub struct FirstUseView {
    /// The median, in whole days; `null` if no book was used.
    median_days: Option<i64>,
    buckets: Vec<BucketView>,
}

/// A range of days from hand-over to first use, and how many books fell in it.
#[derive(Serialize, ToSchema)]
pub struct BucketView {
    /// French label, e.g. « 8 à 30 jours ».
    label: String,
    books: i64,
}

/// What the mediations achieved, as the mediators recorded it.
#[derive(Serialize, ToSchema)]
pub struct OutcomesView {
    procedure_completed: i64,
    skill_acquired: i64,
    referred: i64,
    not_completed: i64,
    /// Passages without a recorded outcome.
    not_recorded: i64,
    /// Passages with autonomy noted before and after (1 to 4).
    autonomy_pairs: i64,
    /// Mean autonomy before the help over those passages, 2 decimals, as a decimal string.
    autonomy_before: Option<Decimal>,
    /// Mean autonomy after the help, likewise.
    autonomy_after: Option<Decimal>,
    /// Passages after which autonomy was higher.
    autonomy_improved: i64,
}

impl From<Flow> for FlowView {
    fn from(f: Flow) -> Self {
        let Flow { books, vouchers, value } = f;
        FlowView { books, vouchers, value: value.0 }
    }
}

impl From<Figures> for FiguresView {
    fn from(f: Figures) -> Self {
        let Figures {
            scope,
            period,
            issued,
            assigned,
            distributed,
            redeemed,
            passages,
            expired,
            cancelled,
            redemption_rate,
            first_use,
            books,
            hours,
            outcomes,
            people_reached,
        } = f;
        let scope = match scope {
            Scope::Operator { funder } => StatsScopeView::Operator { funder },
            Scope::Funder { id } => StatsScopeView::Funder { id },
            Scope::Site { id } => StatsScopeView::Site { id },
        };
        let period =
            StatsPeriodView { from: period.from().map(|m| m.to_string()), to: period.to().map(|m| m.to_string()) };
        let FirstUse { median_days, buckets } = first_use;
        let buckets = buckets
            .into_iter()
            .map(|b| {
                let Bucket { label, books } = b;
                BucketView { label, books }
            })
            .collect();
        let books = books.map(|b| {
            let BookUse { distributed, unused, started, finished } = b;
            BookUseView { distributed, unused, started, finished }
        });
        let Outcomes {
            procedure_completed,
            skill_acquired,
            referred,
            not_completed,
            not_recorded,
            autonomy_pairs,
            autonomy_before,
            autonomy_after,
            autonomy_improved,
        } = outcomes;
        FiguresView {
            scope,
            period,
            issued: issued.map(Into::into),
            assigned: assigned.map(Into::into),
            distributed: distributed.map(Into::into),
            redeemed: redeemed.into(),
            passages,
            expired: expired.map(Into::into),
            cancelled: cancelled.map(Into::into),
            redemption_rate,
            first_use: FirstUseView { median_days, buckets },
            books,
            hours,
            outcomes: OutcomesView {
                procedure_completed,
                skill_acquired,
                referred,
                not_completed,
                not_recorded,
                autonomy_pairs,
                autonomy_before,
                autonomy_after,
                autonomy_improved,
            },
            people_reached,
        }
    }
}

/// A breakdown table: columns, rows and, when it can be published, the total.
#[derive(Serialize, ToSchema)]
pub struct TableView {
    /// French title, e.g. « Par tranche d'âge ».
    title: String,
    /// Column headings, in French.
    columns: Vec<String>,
    rows: Vec<Vec<CellView>>,
    /// The total row (its first cell reads « Total »).
    total: Option<Vec<CellView>>,
    /// Method notes for the reader, in French.
    notes: Vec<String>,
    /// True when the rows were withheld because their counts were too small to publish.
    withheld: bool,
    /// How many rows the last row (« Autres communes (k) »…) merges with `top`; 0 when the
    /// table has every row.
    merged_rows: u64,
}

/// One cell of a table: its kind, and its value for the kinds that have one.
#[derive(Serialize, ToSchema)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum CellView {
    /// A label (name, code, month).
    Text(String),
    /// A count that is never secret.
    Int(i64),
    /// A number of people, under statistical secrecy.
    People(PeopleCountView),
    /// An amount of money, in cents.
    Money(i64),
    /// A rate, a per-capita figure or hours, already rounded, as a decimal string.
    Decimal(Decimal),
    /// A figure hidden because it would tell about a hidden count of people (« secret »).
    Hidden,
    /// Nothing to show.
    Empty,
}

/// A number of people as it may be published.
#[derive(Serialize, ToSchema)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum PeopleCountView {
    /// Shown as is.
    Shown(i64),
    /// Fewer than five people: shown « < 5 ».
    Suppressed,
    /// Five or more, hidden so that a suppressed cell cannot be recovered from the total.
    Secret,
}

impl From<Cell> for CellView {
    fn from(c: Cell) -> Self {
        match c {
            Cell::Text(s) => CellView::Text(s),
            Cell::Int(n) => CellView::Int(n),
            Cell::People(Count::Shown(n)) => CellView::People(PeopleCountView::Shown(n)),
            Cell::People(Count::Suppressed) => CellView::People(PeopleCountView::Suppressed),
            Cell::People(Count::Secret) => CellView::People(PeopleCountView::Secret),
            Cell::Money(c) => CellView::Money(c.0),
            Cell::Decimal(d) => CellView::Decimal(d),
            Cell::Hidden => CellView::Hidden,
            Cell::Empty => CellView::Empty,
        }
    }
}

impl From<Table> for TableView {
    fn from(t: Table) -> Self {
        let Table { title, columns, rows, total, notes, withheld, merged_rows } = t;
        let row = |r: Vec<Cell>| r.into_iter().map(CellView::from).collect::<Vec<_>>();
        TableView {
            title,
            columns,
            rows: rows.into_iter().map(row).collect(),
            total: total.map(row),
            notes,
            withheld,
            merged_rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::Cents;
    use statistics::{Month, Period};

    fn same_json<D: Serialize + Clone, V: Serialize + From<D>>(domain: &D) {
        assert_eq!(serde_json::to_value(V::from(domain.clone())).unwrap(), serde_json::to_value(domain).unwrap());
    }

    /// The views answer exactly the JSON the domain types would.
    #[test]
    fn views_serialize_like_the_domain() {
        let flow = Flow { books: Some(3), vouchers: 30, value: Cents(60_000) };
        let month = |s: &str| s.parse::<Month>().unwrap();
        for (scope, period, some) in [
            (Scope::Operator { funder: None }, Period::all(), false),
            (Scope::Operator { funder: Some(2) }, Period::months(month("2026-01"), month("2026-09")).unwrap(), true),
            (Scope::Funder { id: 2 }, Period::month(month("2026-09")), true),
            (Scope::Site { id: 7 }, Period::all(), false),
        ] {
            same_json::<_, FiguresView>(&Figures {
                scope,
                period,
                issued: some.then_some(flow),
                assigned: some.then_some(flow),
                distributed: None,
                redeemed: Flow { books: None, vouchers: 12, value: Cents(24_000) },
                passages: 9,
                expired: some.then_some(flow),
                cancelled: None,
                redemption_rate: some.then(|| "41.7".parse().unwrap()),
                first_use: FirstUse {
                    median_days: some.then_some(12),
                    buckets: vec![Bucket { label: "8 à 30 jours".into(), books: 4 }],
                },
                books: some.then_some(BookUse { distributed: 10, unused: 4, started: 6, finished: 2 }),
                hours: "13.5".parse().unwrap(),
                outcomes: Outcomes {
                    procedure_completed: 1,
                    skill_acquired: 2,
                    referred: 3,
                    not_completed: 4,
                    not_recorded: 5,
                    autonomy_pairs: 6,
                    autonomy_before: some.then(|| "1.50".parse().unwrap()),
                    autonomy_after: some.then(|| "-0.00".parse().unwrap()),
                    autonomy_improved: 7,
                },
                people_reached: 8,
            });
        }
        let cells = vec![
            Cell::Text("Lyon".into()),
            Cell::Int(3),
            Cell::People(Count::Shown(12)),
            Cell::People(Count::Suppressed),
            Cell::People(Count::Secret),
            Cell::Money(Cents(-1_250)),
            Cell::Decimal("2.50".parse().unwrap()),
            Cell::Hidden,
            Cell::Empty,
        ];
        for total in [None, Some(cells.clone())] {
            same_json::<_, TableView>(&Table {
                title: "Par commune".into(),
                columns: vec!["Commune".into(), "Chèques".into()],
                rows: vec![cells.clone(), cells.clone()],
                total,
                notes: vec!["Secret statistique".into()],
                withheld: false,
                merged_rows: 4,
            });
        }
    }
}
