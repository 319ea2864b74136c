//! A site's redemptions, newest first: what its members recorded, for its own history page.

use ledger::{Db, time};
use serde::Serialize;
use sqlx::Row;

/// One recorded passage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Passage {
    pub id: i64,
    pub performed_at: chrono::DateTime<chrono::Utc>,
    pub place: String,
    pub service_code: String,
    pub service: String,
    pub vouchers: i64,
    pub value_cents: i64,
    pub fee_cents: i64,
    pub ledger_transaction: i64,
}

/// At most `limit` (1–500) passages of `site`, older than the passage `before` if given.
pub async fn passages(db: &Db, site: i64, before: Option<i64>, limit: i64) -> Result<Vec<Passage>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT r.id, r.performed_at, p.name, r.service_code, c.label, r.voucher_count, r.value_cents, r.fee_cents, \
         r.ledger_transaction FROM redemptions r JOIN site_places p ON p.id = r.place_id \
         JOIN catalogue_services c ON c.code = r.service_code \
         WHERE r.site_id = $1 AND ($2 IS NULL OR r.id < $2) ORDER BY r.id DESC LIMIT $3",
    )
    .bind(site)
    .bind(before)
    .bind(limit.clamp(1, 500))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Passage {
                id: r.try_get(0)?,
                performed_at: time::from_micros(r.try_get(1)?),
                place: r.try_get(2)?,
                service_code: r.try_get(3)?,
                service: r.try_get(4)?,
                vouchers: r.try_get(5)?,
                value_cents: r.try_get(6)?,
                fee_cents: r.try_get(7)?,
                ledger_transaction: r.try_get(8)?,
            })
        })
        .collect()
}
