//! What the bank says of a sent payout: confirmed (it left the account) or returned by the
//! site's bank.

use super::status::payout_status;
use super::{PayoutStatus, SettlementError};
use chrono::{DateTime, Utc};
use ledger::{AccountCode, Cents, Db, NewTransaction, time};
use sqlx::{AnyConnection, Row};

struct PayoutState {
    site: i64,
    amount: i64,
    status: PayoutStatus,
    posted: Option<i64>,
    funder: Option<i64>,
}

async fn payout_state(conn: &mut AnyConnection, payout: i64) -> Result<PayoutState, SettlementError> {
    let r =
        sqlx::query("SELECT site_id, amount_cents, status, ledger_transaction, funder_id FROM payouts WHERE id = $1")
            .bind(payout)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(SettlementError::NotFound)?;
    Ok(PayoutState {
        site: r.try_get(0)?,
        amount: r.try_get(1)?,
        status: payout_status(&r.try_get::<String, _>(2)?)?,
        posted: r.try_get(3)?,
        funder: r.try_get(4)?,
    })
}

/// Records the bank's confirmation that a payout left the account (the operator's in custody
/// mode, posting `Dr payouts:in_transit / Cr bank`; the funder's in direct mode, where nothing
/// moves in our accounts).
pub async fn confirm_in(conn: &mut AnyConnection, payout: i64, on: DateTime<Utc>) -> Result<(), SettlementError> {
    let p = payout_state(&mut *conn, payout).await?;
    if p.status != PayoutStatus::Sent {
        return Err(SettlementError::State(format!("le versement n°{payout} n'est pas en attente de confirmation")));
    }
    if p.funder.is_none() {
        let t = NewTransaction::new(
            format!("payout-confirmed:{payout}"),
            "payout_confirmed",
            "Virement confirmé par la banque",
            on,
        )
        .debit(AccountCode::payouts_in_transit(), Cents(p.amount))
        .credit(AccountCode::bank(), Cents(p.amount));
        ledger::post_in(&mut *conn, &t).await?;
    }
    sqlx::query("UPDATE payouts SET status = 'confirmed', confirmed_at = $1 WHERE id = $2")
        .bind(time::to_micros(on))
        .bind(payout)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// [`confirm_in`] in a transaction of its own.
pub async fn confirm(db: &Db, payout: i64, on: DateTime<Utc>) -> Result<(), SettlementError> {
    let mut tx = db.begin().await?;
    confirm_in(&mut tx, payout, on).await?;
    Ok(tx.commit().await?)
}

/// Records a transfer returned by the site's bank: the amount goes back on the site's payable
/// balance (paid at a later run) and the site's bank details are flagged for review, which
/// holds its payouts until they are corrected.
pub async fn record_return_in(
    conn: &mut AnyConnection,
    payout: i64,
    reason: &str,
    on: DateTime<Utc>,
) -> Result<(), SettlementError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(SettlementError::State("le motif du retour est obligatoire (500 caractères au plus)".into()));
    }
    let p = payout_state(&mut *conn, payout).await?;
    let key = format!("payout-returned:{payout}");
    let memo = format!("Virement retourné : {reason}");
    match (p.status, p.posted, p.funder) {
        // Not yet confirmed, or paid by a funder (direct mode): the settlement posting is
        // reversed (in direct mode the funder owes the amount again).
        (PayoutStatus::Sent, Some(original), _) | (PayoutStatus::Confirmed, Some(original), Some(_)) => {
            ledger::reverse_in(&mut *conn, original, &key, &memo, on).await?;
        }
        // Confirmed from our account, then returned: the money is back in the bank.
        (PayoutStatus::Confirmed, _, None) => {
            let t = NewTransaction::new(key, "payout_returned", memo, on)
                .debit(AccountCode::bank(), Cents(p.amount))
                .credit(AccountCode::site_payable(p.site), Cents(p.amount));
            ledger::post_in(&mut *conn, &t).await?;
        }
        _ => {
            return Err(SettlementError::State(format!("le versement n°{payout} n'a pas été envoyé")));
        }
    }
    sqlx::query("UPDATE payouts SET status = 'returned', returned_at = $1, return_reason = $2 WHERE id = $3")
        .bind(time::to_micros(on))
        .bind(reason)
        .bind(payout)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE sites SET bank_review = 1 WHERE organisation_id = $1").bind(p.site).execute(&mut *conn).await?;
    Ok(())
}

/// [`record_return_in`] in a transaction of its own.
pub async fn record_return(db: &Db, payout: i64, reason: &str, on: DateTime<Utc>) -> Result<(), SettlementError> {
    let mut tx = db.begin().await?;
    record_return_in(&mut tx, payout, reason, on).await?;
    Ok(tx.commit().await?)
}
