//! Reading stored transactions back with their postings, in id order, a page at a time.

use crate::post::stored_content;
use crate::transaction::leaf_hash;
use sqlx::{AnyConnection, Row};

pub(crate) struct StoredTx {
    pub id: i64,
    pub recorded_at: i64,
    pub content_hash: Vec<u8>,
    pub seal_id: Option<i64>,
    pub content: Vec<u8>,
    /// (account code, debit-positive amount) in posting order.
    pub postings: Vec<(String, i64)>,
}

impl StoredTx {
    pub fn leaf(&self) -> [u8; 32] {
        leaf_hash(self.id, self.recorded_at, &self.content)
    }
}

/// Which transactions to read.
pub(crate) enum Filter {
    All,
    Unsealed,
}

/// Up to `limit` transactions with an id above `after`, in id order.
pub(crate) async fn page(
    conn: &mut AnyConnection,
    filter: Filter,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredTx>, sqlx::Error> {
    const COLUMNS: &str = "SELECT id, idempotency_key, kind, memo, at, recorded_at, reverses_id, content_hash, seal_id \
                           FROM ledger_transactions";
    let rows = match filter {
        Filter::All => {
            sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id > $1 ORDER BY id LIMIT $2")))
                .bind(after)
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?
        }
        Filter::Unsealed => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{COLUMNS} WHERE seal_id IS NULL AND id > $1 ORDER BY id LIMIT $2"
            )))
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(Vec::new());
    };
    let (first, last): (i64, i64) = (first.try_get(0)?, last.try_get(0)?);
    let posting_rows = sqlx::query(
        "SELECT p.transaction_id, a.code, p.amount FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id \
         WHERE p.transaction_id >= $1 AND p.transaction_id <= $2 ORDER BY p.transaction_id, p.id",
    )
    .bind(first)
    .bind(last)
    .fetch_all(&mut *conn)
    .await?;
    let mut postings = posting_rows.into_iter().peekable();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let mut lines = Vec::new();
        while let Some(p) = postings.peek() {
            let tx: i64 = p.try_get(0)?;
            if tx < id {
                postings.next();
                continue;
            }
            if tx > id {
                break;
            }
            lines.push((p.try_get::<String, _>(1)?, p.try_get::<i64, _>(2)?));
            postings.next();
        }
        let key: String = r.try_get(1)?;
        let kind: String = r.try_get(2)?;
        let memo: String = r.try_get(3)?;
        let at: i64 = r.try_get(4)?;
        let reverses: Option<i64> = r.try_get(6)?;
        out.push(StoredTx {
            id,
            recorded_at: r.try_get(5)?,
            content_hash: r.try_get(7)?,
            seal_id: r.try_get(8)?,
            content: stored_content(&key, &kind, &memo, at, reverses, &lines),
            postings: lines,
        });
    }
    Ok(out)
}
