//! Bulk issuance: an order's books and signed vouchers are generated and stored in chunks, with
//! bounded memory, then the issuance is posted to the ledger.
//!
//! Vouchers are signed on blocking threads (both cores) while the previous chunk is being
//! written, each chunk in its own database transaction so that redemptions are never blocked
//! for long. An interrupted issuance resumes where it stopped: the order stays `issuing`, and
//! vouchers of an order that is not `issued` are not valid anywhere.

use crate::code::VoucherCode;
use crate::error::{IssuerError, Result};
use crate::keys::{Key, KeyRing};
use crate::orders::{self, Order, OrderStatus};
use crate::token::Payload;
use ledger::split::{apply_bps, split};
use ledger::{AccountCode, Cents, Db, NewTransaction, time};
use serde::Serialize;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

/// Books generated and written per database transaction.
pub const CHUNK_BOOKS: u32 = 1000;
/// Voucher rows per INSERT statement.
const ROWS_PER_INSERT: usize = 500;

#[derive(Debug, Clone, Serialize)]
pub struct IssueSummary {
    pub order_id: i64,
    pub books: u32,
    pub vouchers: u64,
    pub ledger_transaction: i64,
    /// Books found already written by an earlier, interrupted run.
    pub resumed_books: u32,
}

/// Book serial: `C{order}-{number:05}`.
pub fn serial(order_id: i64, number: u32) -> String {
    format!("C{order_id}-{number:05}")
}

struct SignedVoucher {
    position: u32,
    code: VoucherCode,
    signature: [u8; 64],
}

struct Chunk {
    first_book: u32,
    books: Vec<Vec<SignedVoucher>>,
}

fn sign_book(order: &Order, key: &Key, order_id: u32, expires_on: chrono::NaiveDate) -> Result<Vec<SignedVoucher>> {
    (1..=order.vouchers_per_book)
        .map(|position| {
            let code = VoucherCode::random();
            let payload = Payload {
                key_number: key.number,
                code,
                face_value_cents: u32::try_from(order.face_value_cents)
                    .map_err(|_| IssuerError::invalid("invalid_face_value", "valeur"))?,
                expires_on,
                order_id,
            };
            let signature =
                payload.sign(&key.signing).map_err(|e| IssuerError::invalid("invalid_order", e.to_string()))?;
            Ok(SignedVoucher { position, code, signature })
        })
        .collect()
}

/// Signs `count` books starting at `first`, on two threads.
fn sign_chunk(order: &Order, key: &Key, first: u32, count: u32) -> Result<Chunk> {
    let order_id = u32::try_from(order.id)
        .map_err(|_| IssuerError::invalid("invalid_order", "identifiant de commande trop grand"))?;
    let half = count.div_ceil(2);
    let (a, b) = std::thread::scope(|s| {
        let left = s.spawn(|| {
            (first..first + half)
                .map(|_| sign_book(order, key, order_id, order.valid_until))
                .collect::<Result<Vec<_>>>()
        });
        let right = (first + half..first + count)
            .map(|_| sign_book(order, key, order_id, order.valid_until))
            .collect::<Result<Vec<_>>>();
        (left.join().unwrap_or_else(|_| Err(IssuerError::invalid("internal", "signature interrompue"))), right)
    });
    let mut books = a?;
    books.extend(b?);
    Ok(Chunk { first_book: first, books })
}

fn insert_sql(rows: usize) -> String {
    let mut sql = String::with_capacity(100 + rows * 40);
    sql.push_str("INSERT INTO vouchers (book_id, order_id, position, code, face_value_cents, key_number, signature, status) VALUES ");
    for i in 0..rows {
        let b = i * 4;
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!("(${},$1,${},${},$2,$3,${},'active')", b + 4, b + 5, b + 6, b + 7));
    }
    sql
}

async fn write_chunk(
    conn: &mut AnyConnection,
    order: &Order,
    key_number: u16,
    chunk: &Chunk,
    full_sql: &str,
) -> Result<()> {
    let mut sql = String::from("INSERT INTO books (order_id, number, serial, status) VALUES ");
    for i in 0..chunk.books.len() {
        sql.push_str(&format!("{}($1, ${}, ${}, 'issued')", if i > 0 { "," } else { "" }, 2 * i + 2, 2 * i + 3));
    }
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(order.id);
    for i in 0..chunk.books.len() as u32 {
        let n = chunk.first_book + i;
        q = q.bind(i64::from(n)).bind(serial(order.id, n));
    }
    q.execute(&mut *conn).await?;
    let last = chunk.first_book + chunk.books.len() as u32 - 1;
    let rows = sqlx::query(
        "SELECT id, number FROM books WHERE order_id = $1 AND number >= $2 AND number <= $3 ORDER BY number",
    )
    .bind(order.id)
    .bind(i64::from(chunk.first_book))
    .bind(i64::from(last))
    .fetch_all(&mut *conn)
    .await?;
    let book_ids: Vec<i64> = rows.iter().map(|r| r.try_get(0)).collect::<std::result::Result<_, _>>()?;
    let all: Vec<(i64, &SignedVoucher)> =
        chunk.books.iter().zip(&book_ids).flat_map(|(vouchers, id)| vouchers.iter().map(move |v| (*id, v))).collect();
    for part in all.chunks(ROWS_PER_INSERT) {
        let sql = if part.len() == ROWS_PER_INSERT { full_sql.to_owned() } else { insert_sql(part.len()) };
        let mut q =
            sqlx::query(AssertSqlSafe(sql)).bind(order.id).bind(order.face_value_cents).bind(i64::from(key_number));
        for (book_id, v) in part {
            q = q.bind(*book_id).bind(i64::from(v.position)).bind(v.code.db()).bind(v.signature.to_vec());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Issues a confirmed order (or resumes an interrupted issuance). `progress(done, total)` is
/// called after each chunk with voucher counts. Issuing an order that is already issued
/// returns its summary.
pub async fn issue(
    db: &Db,
    keys: &KeyRing,
    order_id: i64,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<IssueSummary> {
    let key = keys
        .active()
        .ok_or_else(|| IssuerError::conflict("no_signing_key", "aucune clé de signature : lancez `passerelle init`"))?
        .clone();
    let mut tx = db.begin().await?;
    let current = orders::get_in(&mut tx, order_id).await?.ok_or(IssuerError::NotFound)?;
    if current.status == OrderStatus::Issued {
        let t: Option<i64> = sqlx::query_scalar("SELECT issue_transaction FROM orders WHERE id = $1")
            .bind(order_id)
            .fetch_one(&mut *tx)
            .await?;
        return Ok(IssueSummary {
            order_id,
            books: current.books,
            vouchers: current.voucher_count(),
            ledger_transaction: t.unwrap_or_default(),
            resumed_books: current.books,
        });
    }
    let order = orders::start_issuing(&mut tx, order_id).await?;
    let done: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(MAX(number), 0) AS BIGINT) FROM books WHERE order_id = $1")
            .bind(order_id)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    let resumed = u32::try_from(done).unwrap_or(0);
    let total = order.voucher_count();
    progress(u64::from(resumed) * u64::from(order.vouchers_per_book), total);

    // Producer: signs chunk after chunk on blocking threads, two chunks ahead at most.
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Result<Chunk>>(2);
    let producer = {
        let (order, key) = (order.clone(), key.clone());
        tokio::task::spawn_blocking(move || {
            let mut next = resumed + 1;
            while next <= order.books {
                let count = CHUNK_BOOKS.min(order.books - next + 1);
                let chunk = sign_chunk(&order, &key, next, count);
                let failed = chunk.is_err();
                if sender.blocking_send(chunk).is_err() || failed {
                    return;
                }
                next += count;
            }
        })
    };
    let full_sql = insert_sql(ROWS_PER_INSERT);
    let mut written = u64::from(resumed) * u64::from(order.vouchers_per_book);
    while let Some(chunk) = receiver.recv().await {
        let mut chunk = chunk?;
        // A code already taken (one chance in ~10¹² per voucher) fails the chunk: draw again.
        let mut attempts = 0;
        loop {
            let mut tx = db.begin().await?;
            match write_chunk(&mut tx, &order, key.number, &chunk, &full_sql).await {
                Ok(()) => {
                    tx.commit().await?;
                    break;
                }
                Err(IssuerError::Db(e)) if ledger::db::is_unique_violation(&e) && attempts < 3 => {
                    drop(tx);
                    attempts += 1;
                    let (o, k, first, n) = (order.clone(), key.clone(), chunk.first_book, chunk.books.len() as u32);
                    chunk = tokio::task::spawn_blocking(move || sign_chunk(&o, &k, first, n))
                        .await
                        .map_err(|e| IssuerError::invalid("internal", e.to_string()))??;
                }
                Err(e) => return Err(e),
            }
        }
        written += chunk.books.iter().map(|b| b.len() as u64).sum::<u64>();
        progress(written, total);
    }
    producer.await.map_err(|e| IssuerError::invalid("internal", e.to_string()))?;

    // Post the issuance and mark the order issued, together.
    let mut tx = db.begin().await?;
    let face = order.face_total();
    let fee = apply_bps(face, order.fees.issuance_fee_bps)?;
    let weights = order.weights();
    let face_parts = split(face, &weights)?;
    let fee_parts = split(fee, &weights)?;
    let mut t = NewTransaction::new(
        format!("order-issued:{order_id}"),
        "order_issued",
        format!("Émission de la commande {order_id} — {}", order.label),
        time::now(),
    );
    for ((f, face_part), fee_part) in order.funders.iter().zip(face_parts).zip(fee_parts) {
        t = t.debit(AccountCode::funder(f.funder_id), Cents(face_part.0 + fee_part.0));
    }
    t = t.credit(AccountCode::order_outstanding(order_id), face);
    if fee.0 > 0 {
        t = t.credit(AccountCode::fees(), fee);
    }
    let posted = ledger::post_in(&mut tx, &t).await?;
    sqlx::query("UPDATE orders SET status = 'issued', issued_at = $1, issue_transaction = $2 WHERE id = $3 AND status = 'issuing'")
        .bind(time::to_micros(time::now()))
        .bind(posted.transaction_id)
        .bind(order_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(IssueSummary {
        order_id,
        books: order.books,
        vouchers: total,
        ledger_transaction: posted.transaction_id,
        resumed_books: resumed,
    })
}

/// The reference for `bench/issue.sh`: the same book and voucher rows, written with the same
/// statements and chunk sizes, but with no signing (an all-zero signature) and no pipeline.
pub async fn bulk_insert_reference(db: &Db, order: &Order) -> Result<()> {
    let full_sql = insert_sql(ROWS_PER_INSERT);
    let mut next = 1;
    while next <= order.books {
        let count = CHUNK_BOOKS.min(order.books - next + 1);
        let books = (0..count)
            .map(|_| {
                (1..=order.vouchers_per_book)
                    .map(|position| SignedVoucher { position, code: VoucherCode::random(), signature: [0; 64] })
                    .collect()
            })
            .collect();
        let chunk = Chunk { first_book: next, books };
        let mut tx = db.begin().await?;
        write_chunk(&mut tx, order, 0, &chunk, &full_sql).await?;
        tx.commit().await?;
        next += count;
    }
    Ok(())
}
