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
//! A step's work in memory is a [`Fold`]; what it reads in bulk comes from `reading`, and its
//! result is written by `store`.

use crate::error::StatsError;
use crate::fold::Fold;
use crate::reading::{ID_LIST, id_list, passages};
use ledger::{Db, time};
use serde::Serialize;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

/// How many ledger transactions and book events one refresh step folds in at most.
const STEP: i64 = 5000;

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
