//! Funder payments: money received from a funder, posted `Dr bank / Cr funder:F`, and each
//! funder's net position.

use crate::error::{IssuerError, Result};
use crate::organisations::OrgKind;
use chrono::NaiveDate;
use ledger::{AccountCode, Cents, NewTransaction, time};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, Serialize)]
pub struct Payment {
    pub id: i64,
    pub funder_id: i64,
    pub amount_cents: i64,
    pub received_on: NaiveDate,
    pub bank_reference: String,
    pub ledger_transaction: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Records a payment. The same bank reference with the same amount and date returns the first
/// record; with different content it is refused.
pub async fn record(
    conn: &mut AnyConnection,
    funder_id: i64,
    amount: Cents,
    received_on: NaiveDate,
    bank_reference: &str,
    by: Option<i64>,
) -> Result<Payment> {
    let reference = bank_reference.trim();
    if reference.is_empty() || reference.chars().count() > 140 {
        return Err(IssuerError::invalid(
            "invalid_reference",
            "la référence bancaire doit compter de 1 à 140 caractères",
        ));
    }
    if amount.0 <= 0 || amount.0 > ledger::transaction::MAX_POSTING_CENTS {
        return Err(IssuerError::invalid("invalid_amount", "le montant doit être positif"));
    }
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM organisations WHERE id = $1")
        .bind(funder_id)
        .fetch_optional(&mut *conn)
        .await?;
    if kind.as_deref() != Some(OrgKind::Funder.as_str()) {
        return Err(IssuerError::NotFound);
    }
    let at = received_on.and_hms_opt(12, 0, 0).map(|d| d.and_utc()).unwrap_or_else(time::now);
    let t = NewTransaction::new(
        format!("funder-payment:{funder_id}:{reference}"),
        "funder_payment",
        format!("Virement reçu — réf. {reference}"),
        at,
    )
    .debit(AccountCode::bank(), amount)
    .credit(AccountCode::funder(funder_id), amount);
    let posted = ledger::post_in(conn, &t).await.map_err(|e| match e {
        ledger::LedgerError::IdempotencyConflict(_) => IssuerError::conflict(
            "duplicate_reference",
            format!("la référence « {reference} » a déjà servi pour un autre virement"),
        ),
        e => e.into(),
    })?;
    if !posted.replayed {
        sqlx::query(
            "INSERT INTO funder_payments (funder_id, amount_cents, received_on, bank_reference, ledger_transaction, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(funder_id)
        .bind(amount.0)
        .bind(received_on.to_string())
        .bind(reference)
        .bind(posted.transaction_id)
        .bind(time::to_micros(time::now()))
        .bind(by)
        .execute(&mut *conn)
        .await?;
    }
    let row = sqlx::query(
        "SELECT id, funder_id, amount_cents, received_on, bank_reference, ledger_transaction, created_at FROM funder_payments \
         WHERE funder_id = $1 AND bank_reference = $2",
    )
    .bind(funder_id)
    .bind(reference)
    .fetch_one(&mut *conn)
    .await?;
    from_row(&row)
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Payment> {
    let day: String = r.try_get(3)?;
    Ok(Payment {
        id: r.try_get(0)?,
        funder_id: r.try_get(1)?,
        amount_cents: r.try_get(2)?,
        received_on: day.parse().map_err(|_| IssuerError::NotFound)?,
        bank_reference: r.try_get(4)?,
        ledger_transaction: r.try_get(5)?,
        created_at: time::from_micros(r.try_get(6)?),
    })
}

pub async fn list(db: &ledger::Db, funder_id: i64) -> Result<Vec<Payment>> {
    let rows = sqlx::query(
        "SELECT id, funder_id, amount_cents, received_on, bank_reference, ledger_transaction, created_at FROM funder_payments \
         WHERE funder_id = $1 ORDER BY received_on, id",
    )
    .bind(funder_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// A funder's net position with the clearing house.
#[derive(Debug, Clone, Serialize)]
pub struct Position {
    pub funder_id: i64,
    /// Positive: the funder owes the clearing house; negative: the clearing house holds the
    /// funder's money (paid in advance, or refunds due).
    pub balance_cents: i64,
    pub paid_cents: i64,
}

pub async fn position(db: &ledger::Db, funder_id: i64) -> Result<Position> {
    let balance = ledger::query::balance(db, &AccountCode::funder(funder_id)).await?;
    let paid: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) FROM funder_payments WHERE funder_id = $1",
    )
    .bind(funder_id)
    .fetch_one(db.pool())
    .await?;
    Ok(Position { funder_id, balance_cents: balance.natural.0, paid_cents: paid })
}
