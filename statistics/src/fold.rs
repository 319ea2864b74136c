//! Keeping the aggregates up to date: [`refresh`] folds in what happened since it last ran.
//!
//! Two sources, both complete and never read twice:
//!
//! - the **ledger**, by seal: seals are written in commit order (`ledger::seal`), so "every
//!   transaction of the seals after the last one folded" never misses a transaction that committed
//!   late with a smaller id. Issuance (`order_issued`), redemptions (`redemption`, whose key names
//!   the redemption row) and expiry (`expiry`) are read from there; a refresh seals what is pending
//!   first;
//! - **book status changes** (assigned, distributed, cancelled), which move no money (or, for a
//!   cancellation, not always): a database trigger queues them in `stats_book_events`, and the
//!   refresh deletes the rows it folds in.
//!
//! Each step reads and folds from one read-only snapshot, then writes the result in one short
//! transaction guarded by the `generation` of the single `stats_state` row: if another refresher
//! wrote since the snapshot, the step is discarded and starts again from the new state, so nothing
//! is ever counted twice. The redemption path itself is untouched, and on SQLite the single write
//! lock is held only while the (already merged) results are written.
//!
//! The figures of a book handed to a beneficiary (its cohort: started, finished, vouchers used,
//! delay before first use) are a function of its row in `stats_books`: when that row changes, the
//! old contribution is taken away and the new one added.

use crate::period::Month;
use crate::{StatsError, dims, metrics, ranking};
use ledger::db::placeholder_rows;
use ledger::{Db, time};
use serde::Serialize;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use std::collections::HashMap;

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

pub(crate) type Measures = [i64; MEASURES.len()];

/// The longest delay before first use kept exactly, in days (longer ones are counted here).
pub(crate) const MAX_DELAY_DAYS: i64 = 9999;

/// How many ledger transactions and book events one refresh step folds in at most.
const STEP: i64 = 5000;

/// Ids named in one statement that reads by id.
const ID_LIST: usize = 1000;

/// Idempotency keys bound in one statement that reads passages by key. Few: sqlx finds each
/// SQLite parameter by a linear search (see [`Fold::write`]).
const KEY_LIST: usize = 100;

/// What a refresh folded in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Refreshed {
    /// Ledger transactions read (of every kind).
    pub ledger_transactions: u64,
    /// Book status changes read.
    pub book_events: u64,
    /// The last ledger seal folded in.
    pub last_seal_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CellKey {
    metric: &'static str,
    dim: &'static str,
    month: String,
    order_id: i64,
    site_id: i64,
    dim_value: String,
}

/// The state of a book that was handed over or used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BookState {
    pub(crate) order_id: i64,
    pub(crate) vouchers: i64,
    pub(crate) face: i64,
    /// Set once the book is handed to a beneficiary.
    pub(crate) distribution: Option<Distribution>,
    /// The prescriber holding the book now (also for books never handed over).
    pub(crate) prescriber_id: Option<i64>,
    pub(crate) first_used_at: Option<i64>,
    pub(crate) first_site_id: Option<i64>,
    pub(crate) used_vouchers: i64,
    pub(crate) used_value: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Distribution {
    pub(crate) at: i64,
    pub(crate) commune: String,
    pub(crate) age_band: String,
    pub(crate) autonomy: String,
}

impl BookState {
    /// What this book adds to the cohort aggregates (nothing before it is handed over).
    fn contribution(&self) -> Vec<(CellKey, Measures)> {
        let Some(d) = &self.distribution else {
            return Vec::new();
        };
        let month = Month::of_micros(d.at).to_string();
        let site = self.first_site_id.unwrap_or(0);
        let mut m = [0; MEASURES.len()];
        m[N] = 1;
        m[VOUCHERS] = self.vouchers;
        m[VALUE] = self.vouchers * self.face;
        m[STARTED] = i64::from(self.used_vouchers > 0);
        m[FINISHED] = i64::from(self.used_vouchers >= self.vouchers);
        m[USED_VOUCHERS] = self.used_vouchers;
        m[USED_VALUE] = self.used_value;
        let departement = departement_of(&d.commune);
        let key = |dim: &'static str, value: String| CellKey {
            metric: metrics::COHORT,
            dim,
            month: month.clone(),
            order_id: self.order_id,
            site_id: site,
            dim_value: value,
        };
        let mut out = vec![
            (key(dims::TOTAL, String::new()), m),
            (key(dims::COMMUNE, d.commune.clone()), m),
            (key(dims::DEPARTEMENT, departement), m),
            (key(dims::AGE_BAND, d.age_band.clone()), m),
            (key(dims::AUTONOMY, d.autonomy.clone()), m),
            (key(dims::PRESCRIBER, self.prescriber_id.map_or_else(String::new, |p| p.to_string())), m),
        ];
        if let Some(first) = self.first_used_at {
            let days = ((first - d.at).max(0) / 86_400_000_000).min(MAX_DELAY_DAYS);
            let mut one = [0; MEASURES.len()];
            one[N] = 1;
            out.push((key(dims::DELAY, format!("{days:04}")), one));
        }
        out
    }
}

/// The département of an INSEE commune code (from the reference data, else from the code).
pub(crate) fn departement_of(insee: &str) -> String {
    match issuer::territory::commune(insee) {
        Some(c) => c.departement.clone(),
        None if insee.starts_with("97") => insee.chars().take(3).collect(),
        None => insee.chars().take(2).collect(),
    }
}

/// Where a flow happened: its month, order and site (0: none).
pub(crate) struct At {
    pub month: String,
    pub order: i64,
    pub site: i64,
}

struct Service {
    category: String,
    minutes: i64,
}

/// One refresh step's work in memory, written at the end.
#[derive(Default)]
pub(crate) struct Fold {
    cells: HashMap<CellKey, Measures>,
    books: HashMap<i64, BookState>,
    services: HashMap<String, Service>,
}

/// Adds `sign × m` to a cell, at every level queries read: the cell's order over all sites, all
/// orders and sites, and when it has a site, that site over all orders and (for the total) the
/// order at that site. Order and site 0 mean "all".
fn add(cells: &mut HashMap<CellKey, Measures>, key: CellKey, m: &Measures, sign: i64) {
    let (order, site) = (key.order_id, key.site_id);
    let mut levels = vec![(order, 0), (0, 0)];
    if site != 0 {
        levels.push((0, site));
        if key.dim == dims::TOTAL {
            levels.push((order, site));
        }
    }
    for (order_id, site_id) in levels {
        let cell = cells.entry(CellKey { order_id, site_id, ..key.clone() }).or_insert([0; MEASURES.len()]);
        for (c, v) in cell.iter_mut().zip(m) {
            *c += sign * v;
        }
    }
}

impl Fold {
    /// Adds `m` to the cell of a flow `metric` by `dim` = `dim_value` at `at`.
    pub(crate) fn flow(&mut self, metric: &'static str, dim: &'static str, dim_value: String, at: &At, m: &Measures) {
        let key = CellKey { metric, dim, month: at.month.clone(), order_id: at.order, site_id: at.site, dim_value };
        add(&mut self.cells, key, m, 1);
    }

    async fn book(&mut self, conn: &mut AnyConnection, book_id: i64) -> Result<Option<&mut BookState>, StatsError> {
        self.load_books(conn, &[book_id]).await?;
        Ok(self.books.get_mut(&book_id))
    }

    /// Reads the states of the books not read yet, a few statements for them all: from
    /// `stats_books`, else (a book never counted) from the books and their orders. A book found in
    /// neither stays out.
    async fn load_books(&mut self, conn: &mut AnyConnection, ids: &[i64]) -> Result<(), StatsError> {
        let mut wanted: Vec<i64> = ids.iter().copied().filter(|id| !self.books.contains_key(id)).collect();
        wanted.sort_unstable();
        wanted.dedup();
        for chunk in wanted.chunks(ID_LIST) {
            let sql = format!(
                "SELECT book_id, order_id, vouchers, face_value_cents, distributed_at, prescriber_id, commune_insee, \
                 age_band, autonomy, first_used_at, first_site_id, used_vouchers, used_value_cents \
                 FROM stats_books WHERE book_id IN ({})",
                id_list(chunk)
            );
            for r in sqlx::query(AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *conn).await? {
                self.books.insert(r.try_get(0)?, state_from_row(&r)?);
            }
            let missing: Vec<i64> = chunk.iter().copied().filter(|id| !self.books.contains_key(id)).collect();
            if missing.is_empty() {
                continue;
            }
            let sql = format!(
                "SELECT b.id, b.order_id, o.vouchers_per_book, o.face_value_cents, b.prescriber_id \
                 FROM books b JOIN orders o ON o.id = b.order_id WHERE b.id IN ({})",
                id_list(&missing)
            );
            for r in sqlx::query(AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *conn).await? {
                let state = BookState {
                    order_id: r.try_get(1)?,
                    vouchers: r.try_get(2)?,
                    face: r.try_get(3)?,
                    distribution: None,
                    prescriber_id: r.try_get(4)?,
                    first_used_at: None,
                    first_site_id: None,
                    used_vouchers: 0,
                    used_value: 0,
                };
                self.books.insert(r.try_get(0)?, state);
            }
        }
        Ok(())
    }

    /// Adds a book's whole cohort contribution (for generated data).
    pub(crate) fn add_contribution(&mut self, state: &BookState) {
        for (k, m) in state.contribution() {
            add(&mut self.cells, k, &m, 1);
        }
    }

    /// Cells touched so far.
    pub(crate) fn cell_count(&self) -> usize {
        self.cells.len()
    }

    /// Moves the cells over all orders (order 0) into `all`, where those of several folds add up
    /// (for generated data: written once for many orders).
    pub(crate) fn move_all_orders_into(&mut self, all: &mut Fold) {
        for (k, m) in std::mem::take(&mut self.cells) {
            if k.order_id == 0 {
                let cell = all.cells.entry(k).or_insert([0; MEASURES.len()]);
                for (c, v) in cell.iter_mut().zip(m) {
                    *c += v;
                }
            } else {
                self.cells.insert(k, m);
            }
        }
    }

    /// Applies `change` to a book's state, moving its cohort contribution accordingly.
    async fn change_book(
        &mut self,
        conn: &mut AnyConnection,
        book_id: i64,
        change: impl FnOnce(&mut BookState),
    ) -> Result<(), StatsError> {
        let Some(state) = self.book(conn, book_id).await? else {
            tracing::warn!(book_id, "statistiques : carnet introuvable");
            return Ok(());
        };
        let before = state.contribution();
        change(state);
        let after = state.contribution();
        for (k, m) in before {
            add(&mut self.cells, k, &m, -1);
        }
        for (k, m) in after {
            add(&mut self.cells, k, &m, 1);
        }
        Ok(())
    }

    async fn book_event(&mut self, conn: &mut AnyConnection, book_id: i64, status: &str) -> Result<(), StatsError> {
        let row = sqlx::query(
            "SELECT b.order_id, b.prescriber_id, b.assigned_at, b.distributed_at, b.cancelled_at, b.commune_insee, \
             b.age_band, b.autonomy, o.vouchers_per_book, o.face_value_cents \
             FROM books b JOIN orders o ON o.id = b.order_id WHERE b.id = $1",
        )
        .bind(book_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else {
            return Ok(());
        };
        let order: i64 = row.try_get(0)?;
        let prescriber: Option<i64> = row.try_get(1)?;
        let prescriber_key = prescriber.map_or_else(String::new, |p| p.to_string());
        let (vpb, face): (i64, i64) = (row.try_get(8)?, row.try_get(9)?);
        match status {
            "assigned" => {
                let Some(at) = row.try_get::<Option<i64>, _>(2)? else {
                    return Ok(());
                };
                let month = Month::of_micros(at).to_string();
                let mut m = [0; MEASURES.len()];
                (m[N], m[VOUCHERS], m[VALUE]) = (1, vpb, vpb * face);
                let here = At { month: month.clone(), order, site: 0 };
                self.flow(metrics::ASSIGNED, dims::TOTAL, String::new(), &here, &m);
                self.flow(metrics::ASSIGNED, dims::PRESCRIBER, prescriber_key, &here, &m);
                self.change_book(conn, book_id, |s| s.prescriber_id = prescriber).await?;
            }
            "distributed" => {
                let Some(at) = row.try_get::<Option<i64>, _>(3)? else {
                    return Ok(());
                };
                let d = Distribution {
                    at,
                    commune: row.try_get::<Option<String>, _>(5)?.unwrap_or_default(),
                    age_band: row.try_get::<Option<String>, _>(6)?.unwrap_or_default(),
                    autonomy: row.try_get::<Option<String>, _>(7)?.unwrap_or_default(),
                };
                self.change_book(conn, book_id, |s| {
                    s.prescriber_id = prescriber;
                    s.distribution = Some(d);
                })
                .await?;
            }
            "cancelled" => {
                let Some(at) = row.try_get::<Option<i64>, _>(4)? else {
                    return Ok(());
                };
                let v = sqlx::query(
                    "SELECT COUNT(*), COALESCE(CAST(SUM(face_value_cents) AS BIGINT), 0) FROM vouchers \
                     WHERE book_id = $1 AND status = 'cancelled'",
                )
                .bind(book_id)
                .fetch_one(&mut *conn)
                .await?;
                let month = Month::of_micros(at).to_string();
                let mut m = [0; MEASURES.len()];
                (m[N], m[VOUCHERS], m[VALUE]) = (1, v.try_get(0)?, v.try_get(1)?);
                let here = At { month: month.clone(), order, site: 0 };
                self.flow(metrics::CANCELLED, dims::TOTAL, String::new(), &here, &m);
                self.flow(metrics::CANCELLED, dims::PRESCRIBER, prescriber_key, &here, &m);
            }
            _ => {}
        }
        Ok(())
    }

    async fn ledger_transaction(
        &mut self,
        conn: &mut AnyConnection,
        tx_id: i64,
        kind: &str,
        key: &str,
        at: i64,
        passages: &HashMap<String, Passage>,
    ) -> Result<(), StatsError> {
        let month = Month::of_micros(at).to_string();
        match kind {
            "order_issued" => {
                let Some(order) = key.strip_prefix("order-issued:").and_then(|o| o.parse::<i64>().ok()) else {
                    return Ok(());
                };
                let row = sqlx::query("SELECT books, vouchers_per_book, face_value_cents FROM orders WHERE id = $1")
                    .bind(order)
                    .fetch_optional(&mut *conn)
                    .await?;
                let Some(row) = row else {
                    return Ok(());
                };
                let (books, vpb, face): (i64, i64, i64) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                let mut m = [0; MEASURES.len()];
                (m[N], m[VOUCHERS], m[VALUE]) = (books, books * vpb, books * vpb * face);
                let here = At { month: month.clone(), order, site: 0 };
                self.flow(metrics::ISSUED, dims::TOTAL, String::new(), &here, &m);
            }
            "expiry" => {
                let Some(order) = key.strip_prefix("order-expired:").and_then(|o| o.parse::<i64>().ok()) else {
                    return Ok(());
                };
                // Debits equal credits: the value is half the sum of the postings' sizes.
                let value: i64 = sqlx::query_scalar(
                    "SELECT COALESCE(CAST(SUM(ABS(amount)) AS BIGINT), 0) FROM ledger_postings WHERE transaction_id = $1",
                )
                .bind(tx_id)
                .fetch_one(&mut *conn)
                .await?;
                let face: Option<i64> = sqlx::query_scalar("SELECT face_value_cents FROM orders WHERE id = $1")
                    .bind(order)
                    .fetch_optional(&mut *conn)
                    .await?;
                let value = value / 2;
                let mut m = [0; MEASURES.len()];
                (m[VOUCHERS], m[VALUE]) = (face.filter(|f| *f > 0).map_or(0, |f| value / f), value);
                let here = At { month: month.clone(), order, site: 0 };
                self.flow(metrics::EXPIRED, dims::TOTAL, String::new(), &here, &m);
            }
            "redemption" => {
                if let Some(k) = key.strip_prefix("redemption:") {
                    match passages.get(k) {
                        Some(p) => self.redemption(conn, p).await?,
                        None => tracing::warn!(
                            key = k,
                            "statistiques : passage introuvable pour une écriture du grand livre"
                        ),
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn service(&mut self, conn: &mut AnyConnection, code: &str) -> Result<(String, i64), StatsError> {
        if !self.services.contains_key(code) {
            let row = sqlx::query("SELECT category, duration_minutes FROM catalogue_services WHERE code = $1")
                .bind(code)
                .fetch_optional(&mut *conn)
                .await?;
            let s = match row {
                Some(r) => Service { category: r.try_get(0)?, minutes: r.try_get(1)? },
                None => Service { category: String::new(), minutes: 0 },
            };
            self.services.insert(code.to_owned(), s);
        }
        let s = &self.services[code];
        Ok((s.category.clone(), s.minutes))
    }

    async fn redemption(&mut self, conn: &mut AnyConnection, p: &Passage) -> Result<(), StatsError> {
        let (category, minutes) = self.service(conn, &p.service).await?;
        // The vouchers of each book, in the order of their first voucher.
        let mut groups: Vec<(i64, i64, i64)> = Vec::new();
        for &(book, face) in &p.vouchers {
            match groups.iter_mut().find(|g| g.0 == book) {
                Some(g) => (g.1, g.2) = (g.1 + 1, g.2 + face),
                None => groups.push((book, 1, face)),
            }
        }
        let month = Month::of_micros(p.performed_at).to_string();
        for (i, (book, count, value)) in groups.into_iter().enumerate() {
            let Some(state) = self.book(conn, book).await? else {
                continue;
            };
            let (order, prescriber) = (state.order_id, state.prescriber_id);
            let mut m = [0; MEASURES.len()];
            (m[VOUCHERS], m[VALUE]) = (count, value);
            // The passage itself (its duration and outcome) counts once, with its first book.
            if i == 0 {
                m[N] = 1;
                m[MINUTES] = minutes;
                match p.outcome.as_deref() {
                    Some("procedure_completed") => m[PROCEDURE_COMPLETED] = 1,
                    Some("skill_acquired") => m[SKILL_ACQUIRED] = 1,
                    Some("referred") => m[REFERRED] = 1,
                    Some("not_completed") => m[NOT_COMPLETED] = 1,
                    _ => {}
                }
                if let (Some(b), Some(a)) = (p.autonomy_before, p.autonomy_after) {
                    (m[AUTONOMY_PAIRS], m[AUTONOMY_BEFORE], m[AUTONOMY_AFTER]) = (1, b, a);
                    m[AUTONOMY_IMPROVED] = i64::from(a > b);
                }
            }
            let prescriber_key = prescriber.map_or_else(String::new, |p| p.to_string());
            let here = At { month: month.clone(), order, site: p.site };
            self.flow(metrics::REDEEMED, dims::TOTAL, String::new(), &here, &m);
            self.flow(metrics::REDEEMED, dims::SERVICE, p.service.clone(), &here, &m);
            self.flow(metrics::REDEEMED, dims::CATEGORY, category.clone(), &here, &m);
            self.flow(metrics::REDEEMED, dims::PRESCRIBER, prescriber_key, &here, &m);
            self.change_book(conn, book, |s| {
                s.used_vouchers += count;
                s.used_value += value;
                if s.first_used_at.is_none_or(|f| p.performed_at < f) {
                    s.first_used_at = Some(p.performed_at);
                    s.first_site_id = Some(p.site);
                }
            })
            .await?;
        }
        Ok(())
    }

    /// Writes the book states and adds the deltas to the aggregates.
    pub(crate) async fn write(self, conn: &mut AnyConnection) -> Result<(), StatsError> {
        let sqlite = ledger::Engine::of(conn) == ledger::Engine::Sqlite;
        let mut books: Vec<(&i64, &BookState)> = self.books.iter().collect();
        books.sort_unstable_by_key(|b| *b.0);
        // Rows per statement: see those of the cells below.
        let size = if sqlite { 16 } else { 200 };
        for chunk in books.chunks(size) {
            let sql = format!(
                "INSERT INTO stats_books (book_id, order_id, vouchers, face_value_cents, distributed_at, prescriber_id, \
                 commune_insee, age_band, autonomy, first_used_at, first_site_id, used_vouchers, used_value_cents) \
                 VALUES {} \
                 ON CONFLICT (book_id) DO UPDATE SET distributed_at = excluded.distributed_at, \
                 prescriber_id = excluded.prescriber_id, commune_insee = excluded.commune_insee, \
                 age_band = excluded.age_band, autonomy = excluded.autonomy, first_used_at = excluded.first_used_at, \
                 first_site_id = excluded.first_site_id, used_vouchers = excluded.used_vouchers, \
                 used_value_cents = excluded.used_value_cents",
                placeholder_rows(chunk.len(), 13)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(chunk.len() == size);
            for (id, s) in chunk {
                let d = s.distribution.as_ref();
                q = q
                    .bind(**id)
                    .bind(s.order_id)
                    .bind(s.vouchers)
                    .bind(s.face)
                    .bind(d.map(|d| d.at))
                    .bind(s.prescriber_id)
                    .bind(d.map(|d| d.commune.clone()))
                    .bind(d.map(|d| d.age_band.clone()))
                    .bind(d.map(|d| d.autonomy.clone()))
                    .bind(s.first_used_at)
                    .bind(s.first_site_id)
                    .bind(s.used_vouchers)
                    .bind(s.used_value);
            }
            q.execute(&mut *conn).await?;
        }
        let mut cells: Vec<(CellKey, Measures)> =
            self.cells.into_iter().filter(|(_, m)| m.iter().any(|v| *v != 0)).collect();
        // In the order of the primary key: each page of the table (SQLite stores it in key order,
        // WITHOUT ROWID) or of its index is visited once, one after the other.
        cells.sort_unstable_by(|(a, _), (b, _)| {
            (a.metric, a.dim, a.order_id, a.site_id, &a.month, &a.dim_value).cmp(&(
                b.metric,
                b.dim,
                b.order_id,
                b.site_id,
                &b.month,
                &b.dim_value,
            ))
        });
        let communes: Vec<(&str, &str, i64)> = cells
            .iter()
            .filter(|(k, m)| {
                k.metric == metrics::COHORT && k.dim == dims::COMMUNE && k.order_id == 0 && k.site_id == 0 && m[N] != 0
            })
            .map(|(k, m)| (k.dim_value.as_str(), k.month.as_str(), m[N]))
            .collect();
        ranking::count_first_months(conn, &communes).await?;
        // Rows per statement. To bind each value, sqlx asks SQLite the name of its parameter
        // (`sqlite3_bind_parameter_name`), which SQLite finds by a linear search: binding costs the
        // square of the parameters. With 200 rows (4 400 parameters) it took nine tenths of the
        // time of writing them. PostgreSQL has no such cost and gains from fewer round trips.
        let size = if sqlite { 8 } else { 200 };
        for chunk in cells.chunks(size) {
            let updates: Vec<String> =
                MEASURES.iter().map(|c| format!("{c} = stats_cells.{c} + excluded.{c}")).collect();
            let sql = format!(
                "INSERT INTO stats_cells (metric, dim, month, order_id, site_id, dim_value, {}) VALUES {} \
                 ON CONFLICT (metric, dim, order_id, site_id, month, dim_value) DO UPDATE SET {}",
                MEASURES.join(", "),
                placeholder_rows(chunk.len(), 6 + MEASURES.len()),
                updates.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(chunk.len() == size);
            for (k, m) in chunk {
                q = q
                    .bind(k.metric)
                    .bind(k.dim)
                    .bind(k.month.clone())
                    .bind(k.order_id)
                    .bind(k.site_id)
                    .bind(k.dim_value.clone());
                for v in m {
                    q = q.bind(*v);
                }
            }
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// A book's state from a row of `stats_books` whose first column is the book's id and the others
/// those of the table in order.
fn state_from_row(r: &sqlx::any::AnyRow) -> Result<BookState, StatsError> {
    let distributed_at: Option<i64> = r.try_get(4)?;
    Ok(BookState {
        order_id: r.try_get(1)?,
        vouchers: r.try_get(2)?,
        face: r.try_get(3)?,
        distribution: match distributed_at {
            Some(at) => Some(Distribution {
                at,
                commune: r.try_get::<Option<String>, _>(6)?.unwrap_or_default(),
                age_band: r.try_get::<Option<String>, _>(7)?.unwrap_or_default(),
                autonomy: r.try_get::<Option<String>, _>(8)?.unwrap_or_default(),
            }),
            None => None,
        },
        prescriber_id: r.try_get(5)?,
        first_used_at: r.try_get(9)?,
        first_site_id: r.try_get(10)?,
        used_vouchers: r.try_get(11)?,
        used_value: r.try_get(12)?,
    })
}

/// A passage as the aggregates see it.
struct Passage {
    site: i64,
    service: String,
    performed_at: i64,
    outcome: Option<String>,
    autonomy_before: Option<i64>,
    autonomy_after: Option<i64>,
    /// `(book, face value)` of each voucher used, in the order of the vouchers.
    vouchers: Vec<(i64, i64)>,
}

/// The passages of these idempotency keys, by key: two statements per few hundred passages.
async fn passages(conn: &mut AnyConnection, keys: &[&str]) -> Result<HashMap<String, Passage>, StatsError> {
    let mut out = HashMap::with_capacity(keys.len());
    let mut keys_of = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(KEY_LIST) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, idempotency_key, site_id, service_code, performed_at, outcome, autonomy_before, autonomy_after \
             FROM redemptions WHERE idempotency_key IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(chunk.len() == KEY_LIST);
        for k in chunk {
            q = q.bind(*k);
        }
        for r in q.fetch_all(&mut *conn).await? {
            let (id, key): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
            let passage = Passage {
                site: r.try_get(2)?,
                service: r.try_get(3)?,
                performed_at: r.try_get(4)?,
                outcome: r.try_get(5)?,
                autonomy_before: r.try_get(6)?,
                autonomy_after: r.try_get(7)?,
                vouchers: Vec::new(),
            };
            keys_of.insert(id, key.clone());
            out.insert(key, passage);
        }
    }
    let mut ids: Vec<i64> = keys_of.keys().copied().collect();
    ids.sort_unstable();
    for chunk in ids.chunks(ID_LIST) {
        let sql = format!(
            "SELECT rv.redemption_id, rv.book_id, v.face_value_cents FROM redemption_vouchers rv \
             JOIN vouchers v ON v.id = rv.voucher_id WHERE rv.redemption_id IN ({}) ORDER BY rv.redemption_id, v.id",
            id_list(chunk)
        );
        for r in sqlx::query(AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *conn).await? {
            let id: i64 = r.try_get(0)?;
            if let Some(p) = keys_of.get(&id).and_then(|k| out.get_mut(k)) {
                p.vouchers.push((r.try_get(1)?, r.try_get(2)?));
            }
        }
    }
    Ok(out)
}

/// Ids written into a statement (whole numbers: nothing to escape), comma-separated.
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Folds into the aggregates everything that happened since the last refresh: ledger
/// transactions of the seals not yet read, and queued book status changes. Seals pending ledger
/// transactions first (as the server does every half second).
///
/// Idempotent (a second call finds nothing new) and safe to call from several processes at once:
/// refreshers take turns on the state row, so nothing is counted twice. Call it from a background
/// task (every few seconds) and before showing figures that must include the last minute.
pub async fn refresh(db: &Db) -> Result<Refreshed, StatsError> {
    if let Err(e) = ledger::seal::seal_all(db, 10_000).await {
        // Another instance sealing at the same moment: what it seals is folded next time.
        tracing::debug!(error = %e, "statistiques : scellement différé");
    }
    let mut total = Refreshed::default();
    loop {
        let (step, more) = refresh_step(db).await?;
        total.ledger_transactions += step.ledger_transactions;
        total.book_events += step.book_events;
        total.last_seal_id = step.last_seal_id;
        if !more {
            return Ok(total);
        }
    }
}

/// Empties the aggregates and queues every book's status again, so that the next [`refresh`]
/// recomputes everything from the ledger and the books: after an import (whose rows are inserted,
/// not updated, so the trigger sees nothing), or after a change in how statistics are computed.
/// Runs inside the caller's write transaction.
pub async fn rebuild_in(conn: &mut AnyConnection) -> Result<(), StatsError> {
    for sql in [
        "UPDATE stats_state SET last_seal_id = 0, generation = generation + 1 WHERE id = 1",
        "DELETE FROM stats_cells",
        "DELETE FROM stats_first_months",
        "DELETE FROM stats_books",
        "DELETE FROM stats_book_events",
        "INSERT INTO stats_book_events (book_id, status) SELECT id, 'assigned' FROM books WHERE assigned_at IS NOT NULL ORDER BY id",
        "INSERT INTO stats_book_events (book_id, status) SELECT id, 'distributed' FROM books WHERE distributed_at IS NOT NULL ORDER BY id",
        "INSERT INTO stats_book_events (book_id, status) SELECT id, 'cancelled' FROM books WHERE status = 'cancelled' ORDER BY id",
    ] {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    Ok(())
}

/// [`rebuild_in`] in a transaction of its own, then [`refresh`].
pub async fn rebuild(db: &Db) -> Result<Refreshed, StatsError> {
    let mut tx = db.begin().await?;
    rebuild_in(&mut tx).await?;
    tx.commit().await?;
    refresh(db).await
}

/// One step: at most [`STEP`] book events and the seals holding about [`STEP`] ledger
/// transactions. Everything is read and folded in memory from one read-only snapshot, which takes
/// no write lock (SQLite has one writer: redemptions keep going meanwhile); then one short write
/// transaction adds the result, provided no other refresher wrote since the snapshot (the
/// `generation` of the state row did not move), else the step starts again. Returns whether more
/// is waiting.
async fn refresh_step(db: &Db) -> Result<(Refreshed, bool), StatsError> {
    loop {
        let mut snap = db.begin_snapshot().await?;
        let state =
            sqlx::query("SELECT last_seal_id, generation FROM stats_state WHERE id = 1").fetch_one(&mut *snap).await?;
        let (last_seal, generation): (i64, i64) = (state.try_get(0)?, state.try_get(1)?);
        let mut fold = Fold::default();

        let events = sqlx::query("SELECT id, book_id, status FROM stats_book_events ORDER BY id LIMIT $1")
            .bind(STEP)
            .fetch_all(&mut *snap)
            .await?;
        let mut event_ids = Vec::with_capacity(events.len());
        for e in &events {
            let (id, book, status): (i64, i64, String) = (e.try_get(0)?, e.try_get(1)?, e.try_get(2)?);
            fold.book_event(&mut snap, book, &status).await?;
            event_ids.push(id);
        }

        // Whole seals, up to about STEP transactions (at least one seal). More is waiting when
        // this step stops before the last seal read, or read a full page.
        let seals = sqlx::query("SELECT id, tx_count FROM ledger_seals WHERE id > $1 ORDER BY id LIMIT 1000")
            .bind(last_seal)
            .fetch_all(&mut *snap)
            .await?;
        let (mut upto, mut counted, mut more) = (last_seal, 0i64, seals.len() == 1000);
        for s in &seals {
            let (id, n): (i64, i64) = (s.try_get(0)?, s.try_get(1)?);
            if counted > 0 && counted + n > STEP {
                more = true;
                break;
            }
            upto = id;
            counted += n;
        }
        let mut read = 0u64;
        if upto > last_seal {
            let txs = sqlx::query(
                "SELECT id, kind, idempotency_key, at FROM ledger_transactions WHERE seal_id > $1 AND seal_id <= $2 ORDER BY id",
            )
            .bind(last_seal)
            .bind(upto)
            .fetch_all(&mut *snap)
            .await?;
            read = txs.len() as u64;
            let txs: Vec<(i64, String, String, i64)> = txs
                .iter()
                .map(|t| Ok((t.try_get(0)?, t.try_get(1)?, t.try_get(2)?, t.try_get(3)?)))
                .collect::<Result<_, sqlx::Error>>()?;
            // The passages and their books read together, not one statement each.
            let keys: Vec<&str> =
                txs.iter().filter(|t| t.1 == "redemption").filter_map(|t| t.2.strip_prefix("redemption:")).collect();
            let passages = passages(&mut snap, &keys).await?;
            let books: Vec<i64> = passages.values().flat_map(|p| p.vouchers.iter().map(|v| v.0)).collect();
            fold.load_books(&mut snap, &books).await?;
            for (id, kind, key, at) in &txs {
                fold.ledger_transaction(&mut snap, *id, kind, key, *at, &passages).await?;
            }
        }
        snap.rollback().await?;
        more |= events.len() as i64 == STEP;
        let done = Refreshed { ledger_transactions: read, book_events: events.len() as u64, last_seal_id: upto };
        if read == 0 && events.is_empty() {
            return Ok((done, false));
        }

        let mut tx = db.begin().await?;
        // First statement: the turn (row lock on PostgreSQL; SQLite's write lock is already held).
        let turn = sqlx::query(
            "UPDATE stats_state SET last_seal_id = $1, generation = generation + 1, refreshed_at = $2 \
             WHERE id = 1 AND generation = $3",
        )
        .bind(upto)
        .bind(time::to_micros(time::now()))
        .bind(generation)
        .execute(&mut *tx)
        .await?;
        if turn.rows_affected() != 1 {
            // Another refresher wrote first: fold again from its result.
            continue;
        }
        fold.write(&mut tx).await?;
        for chunk in event_ids.chunks(ID_LIST) {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM stats_book_events WHERE id IN ({})", id_list(chunk))))
                .persistent(false)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        return Ok((done, more));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> BookState {
        BookState {
            order_id: 7,
            vouchers: 10,
            face: 1000,
            distribution: None,
            prescriber_id: Some(3),
            first_used_at: None,
            first_site_id: None,
            used_vouchers: 0,
            used_value: 0,
        }
    }

    #[test]
    fn a_book_counts_in_its_cohort_once_handed_over() {
        let mut s = state();
        assert!(s.contribution().is_empty(), "not handed over: no cohort");
        let day = 86_400_000_000;
        let at = ledger::time::to_micros("2026-09-10T10:00:00Z".parse().unwrap());
        s.distribution =
            Some(Distribution { at, commune: "33063".into(), age_band: "65_74".into(), autonomy: "excluded".into() });
        let c = s.contribution();
        assert_eq!(c.len(), 6, "no delay before first use");
        assert!(c.iter().all(|(k, m)| k.month == "2026-09" && k.site_id == 0 && m[N] == 1 && m[STARTED] == 0));
        assert!(c.iter().any(|(k, _)| k.dim == dims::DEPARTEMENT && k.dim_value == "33"));
        s.used_vouchers = 10;
        s.used_value = 10_000;
        s.first_used_at = Some(at + 3 * day + 5);
        s.first_site_id = Some(42);
        let c = s.contribution();
        let delay = c.iter().find(|(k, _)| k.dim == dims::DELAY).unwrap();
        assert_eq!(delay.0.dim_value, "0003");
        let total = c.iter().find(|(k, _)| k.dim == dims::TOTAL).unwrap();
        assert_eq!((total.0.site_id, total.1[STARTED], total.1[FINISHED], total.1[USED_VALUE]), (42, 1, 1, 10_000));
        // Used before the recorded hand-over (a clock skew): no negative delay.
        s.first_used_at = Some(at - day);
        assert_eq!(s.contribution().iter().find(|(k, _)| k.dim == dims::DELAY).unwrap().0.dim_value, "0000");
    }

    #[test]
    fn departements_of_communes() {
        assert_eq!(departement_of("33063"), "33");
        assert_eq!(departement_of("2A004"), "2A");
        assert_eq!(departement_of("97411"), "974");
        assert_eq!(departement_of(""), "");
    }
}
