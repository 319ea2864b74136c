//! Tamper evidence: transactions are sealed in commit order into a hash chain.
//!
//! A seal covers a batch of transactions that were committed and not yet sealed. It records the
//! leaf hash of each (id, recording time and canonical content) and its own hash,
//! `SHA-256("seal" ‖ seal id ‖ previous seal hash ‖ leaves)`. Sealing runs in batches, beside
//! posting, so it never slows redemptions down.

use crate::stored::{Filter, page};
use crate::{Db, LedgerError, time};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, Row};

/// The hash before the first seal.
pub const GENESIS: [u8; 32] = [0; 32];

/// What one sealing pass did.
#[derive(Debug, Clone, Serialize)]
pub struct SealSummary {
    pub seal_id: i64,
    pub transactions: usize,
    pub first_transaction: i64,
    pub last_transaction: i64,
    pub hash: String,
}

pub(crate) fn seal_hash(seal_id: i64, prev: &[u8], leaves: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"seal");
    h.update(seal_id.to_be_bytes());
    h.update(prev);
    h.update(leaves);
    h.finalize().into()
}

/// Seals up to `max` committed, unsealed transactions. Returns `None` when there was nothing to
/// seal. Safe to run from several instances at once: one wins, the others find nothing or fail
/// on the seal's primary key and retry later.
pub async fn seal_pending(db: &Db, max: i64) -> Result<Option<SealSummary>, LedgerError> {
    let mut tx = db.begin().await?;
    let batch = page(&mut tx, Filter::Unsealed, 0, max.max(1)).await?;
    if batch.is_empty() {
        return Ok(None);
    }
    let last =
        sqlx::query("SELECT id, hash FROM ledger_seals ORDER BY id DESC LIMIT 1").fetch_optional(&mut *tx).await?;
    let (prev_id, prev_hash): (i64, Vec<u8>) = match last {
        Some(r) => (r.try_get(0)?, r.try_get(1)?),
        None => (0, GENESIS.to_vec()),
    };
    let seal_id = prev_id + 1;
    let mut leaves = Vec::with_capacity(batch.len() * 32);
    for t in &batch {
        leaves.extend_from_slice(&t.leaf());
    }
    let hash = seal_hash(seal_id, &prev_hash, &leaves);
    let first = batch[0].id;
    let last = batch[batch.len() - 1].id;
    sqlx::query(
        "INSERT INTO ledger_seals (id, prev_hash, hash, leaves, first_tx_id, last_tx_id, tx_count, sealed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(seal_id)
    .bind(&prev_hash)
    .bind(hash.to_vec())
    .bind(&leaves)
    .bind(first)
    .bind(last)
    .bind(batch.len() as i64)
    .bind(time::to_micros(time::now()))
    .execute(&mut *tx)
    .await?;
    // Name the sealed ids explicitly: a transaction with an id inside the range that commits
    // later is left for the next seal.
    for chunk in batch.chunks(1000) {
        let ids: Vec<String> = chunk.iter().map(|t| t.id.to_string()).collect();
        let sql =
            format!("UPDATE ledger_transactions SET seal_id = $1 WHERE seal_id IS NULL AND id IN ({})", ids.join(","));
        // Literal ids: a one-off statement, kept out of the connection's statement cache.
        let done = sqlx::query(AssertSqlSafe(sql)).persistent(false).bind(seal_id).execute(&mut *tx).await?;
        if done.rows_affected() != chunk.len() as u64 {
            return Err(LedgerError::Invalid("a concurrent sealer took part of the batch; retry".into()));
        }
    }
    tx.commit().await?;
    Ok(Some(SealSummary {
        seal_id,
        transactions: batch.len(),
        first_transaction: first,
        last_transaction: last,
        hash: hex::encode(hash),
    }))
}

/// Seals everything pending, batch after batch. Returns the number of transactions sealed.
pub async fn seal_all(db: &Db, batch: i64) -> Result<usize, LedgerError> {
    let mut total = 0;
    while let Some(s) = seal_pending(db, batch).await? {
        total += s.transactions;
    }
    Ok(total)
}
