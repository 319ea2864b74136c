//! Invariants between vouchers and the ledger, checked by `passerelle ledger verify`:
//! `order:O:outstanding` equals the face value of the order's active vouchers.

use crate::error::Result;
use ledger::AccountCode;
use ledger::verify::VerifyReport;
use sqlx::Row;

pub async fn check(db: &ledger::Db, report: &mut VerifyReport) -> Result<()> {
    let rows = sqlx::query(
        "SELECT o.id, CAST(COALESCE(SUM(CASE WHEN v.status = 'active' THEN v.face_value_cents ELSE 0 END), 0) AS BIGINT) \
         FROM orders o LEFT JOIN vouchers v ON v.order_id = o.id WHERE o.status = 'issued' GROUP BY o.id ORDER BY o.id",
    )
    .fetch_all(db.pool())
    .await?;
    for r in rows {
        let order: i64 = r.try_get(0)?;
        let active: i64 = r.try_get(1)?;
        let account = AccountCode::order_outstanding(order);
        let ledger_value = ledger::query::balance(db, &account).await?.natural.0;
        if ledger_value != active {
            report.add(
                "outstanding_mismatch",
                None,
                Some(account.to_string()),
                format!("order {order}: the ledger holds {ledger_value} cents outstanding, its active vouchers are worth {active}"),
            );
        }
    }
    Ok(())
}
