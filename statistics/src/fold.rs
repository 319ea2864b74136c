//! One refresh step's work in memory ([`Fold`]): what each ledger transaction and book status
//! change adds to the aggregate cells, and the states of the books it touched, moving their
//! cohort contributions; written at the end ([`Fold::write`]).

use crate::cells::{CellKey, add};
use crate::cohort::{BookState, Distribution};
use crate::error::StatsError;
use crate::measures::{
    AUTONOMY_AFTER, AUTONOMY_BEFORE, AUTONOMY_IMPROVED, AUTONOMY_PAIRS, MEASURES, MINUTES, Measures, N, NOT_COMPLETED,
    PROCEDURE_COMPLETED, REFERRED, SKILL_ACQUIRED, VALUE, VOUCHERS, dims, metrics,
};
use crate::period::Month;
use crate::reading::{ID_LIST, Passage, id_list, state_from_row};
use crate::store;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use std::collections::HashMap;

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
    pub(crate) async fn load_books(&mut self, conn: &mut AnyConnection, ids: &[i64]) -> Result<(), StatsError> {
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

    pub(crate) async fn book_event(
        &mut self,
        conn: &mut AnyConnection,
        book_id: i64,
        status: &str,
    ) -> Result<(), StatsError> {
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

    pub(crate) async fn ledger_transaction(
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
        store::write(conn, &self.books, self.cells).await
    }
}
