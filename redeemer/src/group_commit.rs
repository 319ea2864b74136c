//! Group commit of redemptions. Many sites scan at once; each redemption's write transaction is
//! a dozen statements and a commit that waits for the disk. Redemptions that arrive while
//! another is being written wait together, and the next writer takes them all into one database
//! transaction with the same statements as one redemption ([`record::write_batch`]): fewer round
//! trips and one commit for all. When the batch cannot be written as it stands (two requests
//! for the same voucher, a key used twice…), it is rolled back and its redemptions are written
//! one by one ([`record::write_one`]), so each gets the answer it would have had alone.
//!
//! SQLite has one writer at a time anyway: one batch at a time. PostgreSQL takes several
//! concurrent writers: up to [`POSTGRES_WRITERS`] batches at a time, so that a writer waiting
//! for the disk or the CPU does not hold everyone up. Several processes on one database each
//! write their own batches; the conditional status change keeps every voucher redeemed once.

use crate::record::{self, Recorded, Write};
use crate::refusal::RedeemError;
use ledger::{Db, Engine};
use std::collections::HashSet;
use std::sync::{Arc, OnceLock, PoisonError};
use tokio::sync::{Semaphore, oneshot};

/// At most this many redemptions in one database transaction.
const MAX_BATCH: usize = 64;

/// Batches written at the same time on PostgreSQL (by one process).
const POSTGRES_WRITERS: usize = 2;

type Reply = oneshot::Sender<Result<Recorded, RedeemError>>;

/// The redemptions waiting to be written, and the writers' turns.
#[derive(Default)]
pub(crate) struct GroupCommit {
    waiting: std::sync::Mutex<Vec<(Write, Reply)>>,
    turns: OnceLock<Arc<Semaphore>>,
}

impl GroupCommit {
    fn turns(&self, engine: Engine) -> Arc<Semaphore> {
        let writers = if engine == Engine::Postgres { POSTGRES_WRITERS } else { 1 };
        self.turns.get_or_init(|| Arc::new(Semaphore::new(writers))).clone()
    }

    fn take(&self) -> Vec<(Write, Reply)> {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let n = waiting.len().min(MAX_BATCH);
        waiting.drain(..n).collect()
    }
}

/// Records a checked redemption, alone or with others waiting at the same time.
pub(crate) async fn record(db: &Db, write: Write) -> Result<Recorded, RedeemError> {
    let queue = db.shared::<GroupCommit>();
    let (reply, mut answer) = oneshot::channel();
    queue.waiting.lock().unwrap_or_else(PoisonError::into_inner).push((write, reply));
    let turns = queue.turns(db.engine());
    loop {
        tokio::select! {
            biased;
            answer = &mut answer => {
                return answer.unwrap_or_else(|_| Err(RedeemError::Interrupted));
            }
            turn = turns.clone().acquire_owned() => {
                let Ok(turn) = turn else { return Err(RedeemError::Interrupted) };
                // Ours is in this batch, or past MAX_BATCH others in a later one, or already
                // taken by another writer, which will answer it.
                let batch = queue.take();
                if batch.is_empty() {
                    drop(turn);
                    return answer.await.unwrap_or_else(|_| Err(RedeemError::Interrupted));
                }
                // The batch is written by its own task: a caller that goes away (a client
                // hanging up) does not cancel the others' redemptions halfway.
                let db = db.clone();
                let written = tokio::spawn(async move {
                    let _turn = turn;
                    write_all(&db, batch).await;
                });
                let _ = written.await;
            }
        }
    }
}

/// Writes a batch in one transaction, or one by one when it cannot be written as it stands. A
/// redemption that asks for a voucher already asked for earlier in the batch is written after
/// it, alone (it will most likely be told the voucher is used).
async fn write_all(db: &Db, batch: Vec<(Write, Reply)>) {
    let mut seen = HashSet::new();
    let (together, after): (Vec<_>, Vec<_>) =
        batch.into_iter().partition(|(w, _)| w.vouchers.iter().all(|v| seen.insert(v.id)));
    let mut alone = Vec::new();
    // A batch of one too: its statements are fewer than one-by-one posting's (one update for
    // all its accounts).
    if !together.is_empty() {
        let writes: Vec<&Write> = together.iter().map(|(w, _)| w).collect();
        match record::write_batch(db, &writes).await {
            Ok(recorded) => {
                for ((_, reply), r) in together.into_iter().zip(recorded) {
                    let _ = reply.send(Ok(r));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, size = together.len(), "batch written one by one");
                alone = together;
            }
        }
    }
    for (w, reply) in alone.into_iter().chain(after) {
        let _ = reply.send(record::write_one(db, &w).await);
    }
}
