//! Expiry (DESIGN §8): after an order's `valid_until` plus its grace period, its active vouchers
//! expire and their value moves per the order's policy (refund to the funders by share, or
//! breakage). Thirty days before `valid_until`, funders see what is left to use; a funder may
//! also block the books not yet handed to anyone.

use crate::books::{self, BookStatus};
use crate::error::{IssuerError, Result};
use crate::orders::{self, Order, OrderStatus, UnusedPolicy};
use chrono::{Duration, NaiveDate};
use ledger::{Cents, Db, time};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// What the expiry of one order did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expired {
    pub order_id: i64,
    pub vouchers: u64,
    pub value_cents: i64,
    pub policy: UnusedPolicy,
    pub ledger_transaction: Option<i64>,
}

/// The last day an order's vouchers can be used (its validity plus the grace period).
pub fn last_day(order: &Order) -> NaiveDate {
    order.valid_until + Duration::days(i64::from(order.grace_days))
}

/// Expires every issued order whose last day is before `as_of`. Each order is one database
/// transaction; running it again finds nothing left to expire.
pub async fn expire(db: &Db, as_of: NaiveDate) -> Result<Vec<Expired>> {
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM orders WHERE status = 'issued' ORDER BY id").fetch_all(db.pool()).await?;
    let mut out = Vec::new();
    for id in ids {
        let mut tx = db.begin().await?;
        let order = orders::get_in(&mut tx, id).await?.ok_or(IssuerError::NotFound)?;
        if order.status != OrderStatus::Issued || last_day(&order) >= as_of {
            continue;
        }
        let now = time::now();
        let done = sqlx::query(
            "UPDATE vouchers SET status = 'expired', status_at = $1 WHERE order_id = $2 AND status = 'active'",
        )
        .bind(time::to_micros(now))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let count = done.rows_affected();
        if count == 0 {
            continue;
        }
        let value = Cents(count as i64 * order.face_value_cents);
        // Dated at the first day after the last one, so the order's balance at that date is zero.
        let at = (last_day(&order) + Duration::days(1)).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let posted = orders::post_unused(
            &mut tx,
            &order,
            format!("order-expired:{id}"),
            "expiry",
            format!("Expiration de la commande n°{id} : {count} chèque(s) non utilisé(s)"),
            value,
            at,
        )
        .await?;
        tx.commit().await?;
        out.push(Expired {
            order_id: id,
            vouchers: count,
            value_cents: value.0,
            policy: order.unused_policy,
            ledger_transaction: posted,
        });
    }
    Ok(out)
}

/// An order whose validity ends within 30 days, as its funders see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expiring {
    pub order_id: i64,
    pub label: String,
    pub valid_until: NaiveDate,
    pub last_day: NaiveDate,
    pub books_issued: i64,
    /// Held by a prescriber, not yet handed over.
    pub books_assigned: i64,
    pub books_distributed: i64,
    /// Distributed books with at least one voucher used.
    pub books_started: i64,
    /// Distributed books with no voucher used.
    pub books_untouched: i64,
    pub active_vouchers: i64,
    pub active_value_cents: i64,
}

/// The funder's issued orders whose `valid_until` falls within 30 days of `as_of` (the J-30
/// warning), with what is left to use.
pub async fn expiring(db: &Db, funder: i64, as_of: NaiveDate) -> Result<Vec<Expiring>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT o.id FROM orders o JOIN order_funders f ON f.order_id = o.id \
         WHERE f.funder_id = $1 AND o.status = 'issued' AND o.valid_until >= $2 AND o.valid_until <= $3 ORDER BY o.valid_until, o.id",
    )
    .bind(funder)
    .bind(as_of.to_string())
    .bind((as_of + Duration::days(30)).to_string())
    .fetch_all(db.pool())
    .await?;
    let mut conn = db.pool().acquire().await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let order = orders::get_in(&mut conn, id).await?.ok_or(IssuerError::NotFound)?;
        let row = sqlx::query(
            "SELECT \
               COUNT(*) FILTER (WHERE b.status <> 'cancelled'), \
               COUNT(*) FILTER (WHERE b.status = 'assigned'), \
               COUNT(*) FILTER (WHERE b.status = 'distributed'), \
               COUNT(*) FILTER (WHERE b.status = 'distributed' AND EXISTS (SELECT 1 FROM vouchers v WHERE v.book_id = b.id AND v.status = 'redeemed')) \
             FROM books b WHERE b.order_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
        let active: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vouchers WHERE order_id = $1 AND status = 'active'")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        let (distributed, started): (i64, i64) = (row.try_get(2)?, row.try_get(3)?);
        out.push(Expiring {
            order_id: id,
            label: order.label.clone(),
            valid_until: order.valid_until,
            last_day: last_day(&order),
            books_issued: row.try_get(0)?,
            books_assigned: row.try_get(1)?,
            books_distributed: distributed,
            books_started: started,
            books_untouched: distributed - started,
            active_vouchers: active,
            active_value_cents: active * order.face_value_cents,
        });
    }
    Ok(out)
}

/// Blocks, before expiry, the books of an order that no beneficiary has received yet (issued
/// or held by a prescriber): each is cancelled with the order's policy for unused value.
/// Returns the number of books blocked and their value. Runs in the caller's transaction, so that
/// its audit entry commits with it.
pub async fn block_undistributed(conn: &mut AnyConnection, order_id: i64) -> Result<(u64, Cents)> {
    let order = orders::get_in(&mut *conn, order_id).await?.ok_or(IssuerError::NotFound)?;
    if order.status != OrderStatus::Issued {
        return Err(IssuerError::conflict("order_not_issued", format!("la commande {order_id} n'est pas émise")));
    }
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM books WHERE order_id = $1 AND status IN ($2, $3) ORDER BY id")
            .bind(order_id)
            .bind(BookStatus::Issued.as_str())
            .bind(BookStatus::Assigned.as_str())
            .fetch_all(&mut *conn)
            .await?;
    let mut value = 0i64;
    for id in &ids {
        value += books::cancel(&mut *conn, *id, "Bloqué par le financeur avant l'échéance").await?.value_cents;
    }
    Ok((ids.len() as u64, Cents(value)))
}
