//! Recording checked redemptions: the voucher status changes, the ledger posting, the day's count
//! and the redemption rows commit in one database transaction — for one redemption, or for a
//! batch of them with a fixed number of statements (see [`crate::group_commit`]). What was
//! recorded is a [`Recorded`] (the public [`Redeemed`], re-exported by [`crate::redeem`]).

use crate::anomalies::{self, DayCount, Watch};
use crate::catalogue::Service;
use crate::outcome::Outcome;
use crate::refusal::{RedeemError, refuse};
use crate::voucher_row::VoucherRow;
use chrono::{DateTime, NaiveDate, Utc};
use ledger::db::placeholder_rows;
use ledger::split::apply_bps;
use ledger::{AccountCode, Cents, Db, NewTransaction, Posted, time};
use serde::Serialize;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use std::collections::HashMap;

/// Statements of up to this many vouchers stay prepared on their connection; larger ones (of
/// batches) are one-off statements that would push the everyday ones out of the cache.
const MAX_KEPT: usize = 4;

/// What was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redeemed {
    pub redemption_id: i64,
    pub vouchers: u32,
    pub value_cents: i64,
    pub fee_cents: i64,
    /// The site's payable balance after this redemption.
    pub site_payable_cents: i64,
    /// True when this answers a retry of an earlier request with the same key: every other
    /// field is then exactly what the first request was answered. Not part of the answer's JSON
    /// (the answer is the same, byte for byte); the API tells a retry by its status and header.
    #[serde(skip)]
    pub replayed: bool,
}

/// A redemption recorded now (with what the anomaly rules look at), or found recorded.
pub(crate) struct Recorded {
    pub(crate) redeemed: Redeemed,
    pub(crate) watch: Option<anomalies::Watch>,
}

impl Recorded {
    pub(crate) fn replayed(redeemed: Redeemed) -> Self {
        Recorded { redeemed, watch: None }
    }
}

/// A redemption whose every check passed, ready to be written.
pub(crate) struct Write {
    pub site_id: i64,
    pub place_id: i64,
    pub service: Service,
    pub vouchers: Vec<VoucherRow>,
    pub performed_at: DateTime<Utc>,
    pub key: String,
    pub hash: Vec<u8>,
    pub scanned_by: Option<i64>,
    pub outcome: Option<Outcome>,
    /// The first input, named in a refusal.
    pub first_input: Option<String>,
    /// The local day of the service.
    pub day: NaiveDate,
    pub place_name: String,
    pub opening_hours: String,
}

impl Write {
    /// The ledger transaction: each order's outstanding value moves to the site, less the fee
    /// in force for that order. Also returns the value and the fee.
    fn transaction(&self) -> Result<(NewTransaction, i64, i64), RedeemError> {
        let mut t = NewTransaction::new(
            format!("redemption:{}", self.key),
            "redemption",
            format!("Service {} — lieu {}", self.service.code, self.site_id),
            self.performed_at,
        );
        let (mut value, mut fee) = (0i64, 0i64);
        let mut orders: Vec<i64> = self.vouchers.iter().map(|r| r.order_id).collect();
        orders.sort();
        orders.dedup();
        for order in orders {
            let of: Vec<&VoucherRow> = self.vouchers.iter().filter(|r| r.order_id == order).collect();
            let amount: i64 = of.iter().map(|r| r.face).sum();
            fee += apply_bps(Cents(amount), of[0].redemption_fee_bps)?.0;
            value += amount;
            t = t.debit(AccountCode::order_outstanding(order), Cents(amount));
        }
        t = t.credit(AccountCode::site_payable(self.site_id), Cents(value - fee));
        if fee > 0 {
            t = t.credit(AccountCode::fees(), Cents(fee));
        }
        Ok((t, value, fee))
    }

    fn voucher_ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.vouchers.iter().map(|v| v.id)
    }

    /// The site's payable balance right after this redemption's posting.
    fn payable_after(&self, posted: &Posted) -> i64 {
        posted.natural_balance(&AccountCode::site_payable(self.site_id)).map_or(0, |c| c.0)
    }

    /// What was recorded, and what the anomaly rules look at.
    fn recorded(&self, id: i64, value: i64, fee: i64, posted: &Posted, day: DayCount) -> Recorded {
        let payable = self.payable_after(posted);
        let mut books: Vec<(i64, i64)> = self.vouchers.iter().map(|r| (r.book_id, r.book_other_sites)).collect();
        books.dedup_by_key(|b| b.0);
        Recorded {
            redeemed: Redeemed {
                redemption_id: id,
                vouchers: self.vouchers.len() as u32,
                value_cents: value,
                fee_cents: fee,
                site_payable_cents: payable,
                replayed: false,
            },
            watch: Some(Watch {
                redemption_id: id,
                site_id: self.site_id,
                place_name: self.place_name.clone(),
                opening_hours: self.opening_hours.clone(),
                performed_at: self.performed_at,
                books,
                day,
            }),
        }
    }

    fn taken(&self) -> RedeemError {
        refuse("already_redeemed", "Ce chèque vient d'être utilisé.", self.first_input.as_deref())
    }
}

/// Marks the vouchers redeemed, only those still active; how many changed.
async fn mark_redeemed(conn: &mut AnyConnection, ids: &[i64], now: i64) -> Result<u64, sqlx::Error> {
    // Placeholders, not literals: one prepared statement per voucher count (see MAX_KEPT).
    let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let mut update = sqlx::query(AssertSqlSafe(format!(
        "UPDATE vouchers SET status = 'redeemed', status_at = $1 WHERE status = 'active' AND id IN ({})",
        marks.join(", ")
    )))
    .persistent(ids.len() <= MAX_KEPT)
    .bind(now);
    for id in ids {
        update = update.bind(*id);
    }
    Ok(update.execute(&mut *conn).await?.rows_affected())
}

/// One redemption row to insert: the checked write, its value, fee, ledger transaction and the
/// site's payable balance right after it (kept to answer a retry exactly as the first request).
type NewRow<'a> = (&'a Write, i64, i64, &'a Posted);

/// Inserts the redemption rows; their ids by idempotency key.
async fn insert_redemptions(
    conn: &mut AnyConnection,
    writes: &[NewRow<'_>],
    now: i64,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let mut insert = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO redemptions (idempotency_key, request_hash, site_id, place_id, service_code, scanned_by, performed_at, \
         recorded_at, voucher_count, value_cents, fee_cents, ledger_transaction, outcome, autonomy_before, autonomy_after, \
         site_payable_after) VALUES {} RETURNING id, idempotency_key",
        placeholder_rows(writes.len(), 16)
    )))
    .persistent(writes.len() == 1);
    for (w, value, fee, posted) in writes {
        insert = insert
            .bind(w.key.as_str())
            .bind(w.hash.as_slice())
            .bind(w.site_id)
            .bind(w.place_id)
            .bind(w.service.code.as_str())
            .bind(w.scanned_by)
            .bind(time::to_micros(w.performed_at))
            .bind(now)
            .bind(w.vouchers.len() as i64)
            .bind(*value)
            .bind(*fee)
            .bind(posted.transaction_id)
            .bind(w.outcome.map(|o| o.result.as_str()))
            .bind(w.outcome.and_then(|o| o.autonomy_before).map(i64::from))
            .bind(w.outcome.and_then(|o| o.autonomy_after).map(i64::from))
            .bind(w.payable_after(posted));
    }
    let mut ids = HashMap::with_capacity(writes.len());
    for r in insert.fetch_all(&mut *conn).await? {
        ids.insert(r.try_get(1)?, r.try_get(0)?);
    }
    Ok(ids)
}

/// Inserts one row per voucher used: `(redemption, site, performed at, voucher, book)`.
async fn insert_vouchers(conn: &mut AnyConnection, rows: &[(i64, &Write)]) -> Result<(), sqlx::Error> {
    let count: usize = rows.iter().map(|(_, w)| w.vouchers.len()).sum();
    let mut insert = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO redemption_vouchers (redemption_id, site_id, performed_at, voucher_id, book_id) VALUES {}",
        placeholder_rows(count, 5)
    )))
    .persistent(count <= MAX_KEPT);
    for (id, w) in rows {
        for v in &w.vouchers {
            insert = insert.bind(*id).bind(w.site_id).bind(time::to_micros(w.performed_at)).bind(v.id).bind(v.book_id);
        }
    }
    insert.execute(&mut *conn).await?;
    Ok(())
}

/// Records one redemption in its own database transaction. Exactly once: only active vouchers
/// change; if any moved meanwhile, nothing is recorded.
pub(crate) async fn write_one(db: &Db, w: &Write) -> Result<Recorded, RedeemError> {
    let now = time::to_micros(time::now());
    let (transaction, value, fee) = w.transaction()?;
    let ids: Vec<i64> = w.voucher_ids().collect();
    let mut tx = db.begin().await?;
    if mark_redeemed(&mut tx, &ids, now).await? != ids.len() as u64 {
        // Another request took a voucher first (the caller checks whether it was this same one).
        return Err(w.taken());
    }
    let posted = ledger::post_in(&mut tx, &transaction).await?;
    if posted.replayed {
        // The key was used by another request meanwhile: the caller sorts it out.
        return Err(refuse("conflict", "Réessayez.", None));
    }
    let day = anomalies::count_redemptions(&mut tx, &[(w.site_id, w.day)]).await?[0];
    let id = insert_redemptions(&mut tx, &[(w, value, fee, &posted)], now)
        .await?
        .remove(&w.key)
        .ok_or_else(|| refuse("conflict", "Réessayez.", None))?;
    insert_vouchers(&mut tx, &[(id, w)]).await?;
    tx.commit().await?;
    Ok(w.recorded(id, value, fee, &posted, day))
}

/// Records several redemptions in one database transaction, with the same statements as one
/// redemption. All or nothing: when any of them cannot be recorded as it stands (a voucher
/// taken meanwhile, a key used, the same voucher twice), this returns an error, writes nothing,
/// and the caller records them one by one to give each its own answer.
pub(crate) async fn write_batch(db: &Db, writes: &[&Write]) -> Result<Vec<Recorded>, RedeemError> {
    let now = time::to_micros(time::now());
    let mut ids: Vec<i64> = writes.iter().flat_map(|w| w.voucher_ids()).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(refuse("duplicate_voucher", "Le même chèque est présenté deux fois.", None));
    }
    let built = writes.iter().map(|w| w.transaction()).collect::<Result<Vec<_>, _>>()?;
    let transactions: Vec<NewTransaction> = built.iter().map(|b| b.0.clone()).collect();
    let mut tx = db.begin().await?;
    if mark_redeemed(&mut tx, &ids, now).await? != ids.len() as u64 {
        return Err(refuse("already_redeemed", "Un chèque du lot vient d'être utilisé.", None));
    }
    let posted = ledger::post_batch_in(&mut tx, &transactions).await?;
    let days: Vec<(i64, NaiveDate)> = writes.iter().map(|w| (w.site_id, w.day)).collect();
    let days = anomalies::count_redemptions(&mut tx, &days).await?;
    let rows: Vec<NewRow<'_>> = writes.iter().zip(&built).zip(&posted).map(|((w, b), p)| (*w, b.1, b.2, p)).collect();
    let mut redemption_ids = insert_redemptions(&mut tx, &rows, now).await?;
    let mut recorded_ids = Vec::with_capacity(writes.len());
    for w in writes {
        let id = redemption_ids.remove(&w.key).ok_or_else(|| refuse("conflict", "Réessayez.", None))?;
        recorded_ids.push((id, *w));
    }
    insert_vouchers(&mut tx, &recorded_ids).await?;
    tx.commit().await?;
    Ok(recorded_ids
        .iter()
        .zip(&built)
        .zip(posted.iter().zip(days))
        .map(|(((id, w), b), (p, day))| w.recorded(*id, b.1, b.2, p, day))
        .collect())
}
