//! Releasing a draft run (each payout posted and marked sent) or cancelling it (nothing had
//! moved).

use super::{Run, RunStatus, SettlementError, cutoff, get_in};
use ledger::{AccountCode, Cents, Db, NewTransaction, time};
use sqlx::AnyConnection;

/// Releases a draft run: every payout is posted and marked sent, in one transaction.
pub async fn release_in(conn: &mut AnyConnection, id: i64, by: Option<i64>) -> Result<Run, SettlementError> {
    let run = get_in(&mut *conn, id).await?.ok_or(SettlementError::NotFound)?;
    if run.status != RunStatus::Draft {
        return Err(SettlementError::State(format!("le règlement n°{id} est déjà {}", run.status.french())));
    }
    let at = cutoff(run.period_end);
    for p in &run.payouts {
        let t = NewTransaction::new(
            format!("payout:{}", p.id),
            "settlement",
            format!("Versement {} — règlement n°{id}", p.end_to_end_id),
            at,
        )
        .debit(AccountCode::site_payable(p.site_id), Cents(p.amount_cents))
        // Direct mode: the funder pays the site, which settles what it owes for its vouchers.
        .credit(p.funder_id.map_or_else(AccountCode::payouts_in_transit, AccountCode::funder), Cents(p.amount_cents));
        let posted = ledger::post_in(&mut *conn, &t).await?;
        sqlx::query("UPDATE payouts SET status = 'sent', ledger_transaction = $1 WHERE id = $2 AND status = 'draft'")
            .bind(posted.transaction_id)
            .bind(p.id)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("UPDATE settlement_runs SET status = 'released', released_at = $1, released_by = $2 WHERE id = $3")
        .bind(time::to_micros(time::now()))
        .bind(by)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    get_in(conn, id).await?.ok_or(SettlementError::NotFound)
}

/// [`release_in`] in a transaction of its own.
pub async fn release(db: &Db, id: i64, by: Option<i64>) -> Result<Run, SettlementError> {
    let mut tx = db.begin().await?;
    let run = release_in(&mut tx, id, by).await?;
    tx.commit().await?;
    Ok(run)
}

/// Cancels a draft run (nothing had moved); its period can then be prepared again.
pub async fn cancel_in(conn: &mut AnyConnection, id: i64) -> Result<(), SettlementError> {
    let run = get_in(&mut *conn, id).await?.ok_or(SettlementError::NotFound)?;
    if run.status != RunStatus::Draft {
        return Err(SettlementError::State(format!("le règlement n°{id} est déjà {}", run.status.french())));
    }
    sqlx::query("DELETE FROM payouts WHERE run_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM settlement_runs WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// [`cancel_in`] in a transaction of its own.
pub async fn cancel(db: &Db, id: i64) -> Result<(), SettlementError> {
    let mut tx = db.begin().await?;
    cancel_in(&mut tx, id).await?;
    Ok(tx.commit().await?)
}
