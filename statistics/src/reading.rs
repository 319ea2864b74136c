//! Reading what a refresh step folds in, many rows per statement: the passages of the ledger's
//! redemptions, by idempotency key, and the states of books kept in `stats_books`.

use crate::cohort::{BookState, Distribution};
use crate::error::StatsError;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use std::collections::HashMap;

/// Ids named in one statement that reads by id.
pub(crate) const ID_LIST: usize = 1000;

/// Idempotency keys bound in one statement that reads passages by key. Few: sqlx finds each
/// SQLite parameter by a linear search (see [`crate::store::write`]).
const KEY_LIST: usize = 100;

/// A book's state from a row of `stats_books` whose first column is the book's id and the others
/// those of the table in order.
pub(crate) fn state_from_row(r: &sqlx::any::AnyRow) -> Result<BookState, StatsError> {
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
pub(crate) struct Passage {
    pub(crate) site: i64,
    pub(crate) service: String,
    pub(crate) performed_at: i64,
    pub(crate) outcome: Option<String>,
    pub(crate) autonomy_before: Option<i64>,
    pub(crate) autonomy_after: Option<i64>,
    /// `(book, face value)` of each voucher used, in the order of the vouchers.
    pub(crate) vouchers: Vec<(i64, i64)>,
}

/// The passages of these idempotency keys, by key: two statements per few hundred passages.
pub(crate) async fn passages(conn: &mut AnyConnection, keys: &[&str]) -> Result<HashMap<String, Passage>, StatsError> {
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
pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}
