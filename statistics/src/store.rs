//! Writing a refresh step's result in its write transaction: the states of the books it touched
//! (`stats_books`), and its changes added to the aggregate rows (`stats_cells`) in key order,
//! with the first months of communes they move (`stats_first_months`).

use crate::cells::CellKey;
use crate::cohort::BookState;
use crate::error::StatsError;
use crate::first_months::count_first_months;
use crate::measures::{MEASURES, Measures, N, dims, metrics};
use ledger::db::placeholder_rows;
use sqlx::{AnyConnection, AssertSqlSafe};
use std::collections::HashMap;

/// Writes the book states and adds the deltas to the aggregates.
pub(crate) async fn write(
    conn: &mut AnyConnection,
    books: &HashMap<i64, BookState>,
    cells: HashMap<CellKey, Measures>,
) -> Result<(), StatsError> {
    let sqlite = ledger::Engine::of(conn) == ledger::Engine::Sqlite;
    let mut books: Vec<(&i64, &BookState)> = books.iter().collect();
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
    let mut cells: Vec<(CellKey, Measures)> = cells.into_iter().filter(|(_, m)| m.iter().any(|v| *v != 0)).collect();
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
    count_first_months(conn, &communes).await?;
    // Rows per statement. To bind each value, sqlx asks SQLite the name of its parameter
    // (`sqlite3_bind_parameter_name`), which SQLite finds by a linear search: binding costs the
    // square of the parameters. With 200 rows (4 400 parameters) it took nine tenths of the
    // time of writing them. PostgreSQL has no such cost and gains from fewer round trips.
    let size = if sqlite { 8 } else { 200 };
    for chunk in cells.chunks(size) {
        let updates: Vec<String> = MEASURES.iter().map(|c| format!("{c} = stats_cells.{c} + excluded.{c}")).collect();
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
