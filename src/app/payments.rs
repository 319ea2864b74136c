//! Money received from funders, and each funder's position and orders near their end.

use crate::app::{Act, App, AppError, AppResult, Caller};
use crate::audit;
use chrono::NaiveDate;
use issuer::expiry::Expiring;
use issuer::payments::{self, Payment, Position};
use ledger::Cents;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentView {
    pub id: i64,
    pub funder_id: i64,
    pub amount_cents: i64,
    #[schema(value_type = String, format = Date)]
    pub received_on: NaiveDate,
    pub bank_reference: String,
    pub ledger_transaction: i64,
}

impl From<Payment> for PaymentView {
    fn from(p: Payment) -> Self {
        PaymentView {
            id: p.id,
            funder_id: p.funder_id,
            amount_cents: p.amount_cents,
            received_on: p.received_on,
            bank_reference: p.bank_reference,
            ledger_transaction: p.ledger_transaction,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PositionView {
    pub funder_id: i64,
    /// Positive: the funder owes the clearing house; negative: the clearing house holds its money.
    pub balance_cents: i64,
    pub paid_cents: i64,
}

/// Records money received from a funder. The same bank reference, amount and day is the same
/// payment (the first one is returned).
#[tracing::instrument(skip_all, fields(user = caller.user_id, funder = funder_id))]
pub async fn record(
    app: &App,
    caller: &Caller,
    funder_id: i64,
    amount: Cents,
    received_on: NaiveDate,
    bank_reference: &str,
) -> AppResult<PaymentView> {
    caller.require(Act::RecordFunderPayment)?;
    let mut tx = app.db.begin().await?;
    let p = payments::record(&mut tx, funder_id, amount, received_on, bank_reference, caller.user()).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "payment.record",
        "funder_payment",
        p.id,
        serde_json::json!({"funder_id": funder_id, "amount_cents": p.amount_cents}),
    )
    .await?;
    tx.commit().await?;
    Ok(p.into())
}

/// Payments received from a funder (the operator, or the funder itself).
#[tracing::instrument(skip_all, fields(user = caller.user_id, funder = funder_id))]
pub async fn list(app: &App, caller: &Caller, funder_id: i64) -> AppResult<Vec<PaymentView>> {
    caller.require(Act::ListFunderPayments)?;
    caller.require_org(funder_id)?;
    Ok(payments::list(&app.db, funder_id).await?.into_iter().map(Into::into).collect())
}

/// A funder's net position.
#[tracing::instrument(skip_all, fields(user = caller.user_id, funder = funder_id))]
pub async fn position(app: &App, caller: &Caller, funder_id: i64) -> AppResult<PositionView> {
    caller.require(Act::ReadFunderPosition)?;
    caller.require_org(funder_id)?;
    issuer::profiles::get(&app.db, funder_id).await?.ok_or(AppError::NotFound)?;
    let Position { funder_id, balance_cents, paid_cents } = payments::position(&app.db, funder_id).await?;
    Ok(PositionView { funder_id, balance_cents, paid_cents })
}

/// An order of the funder whose validity ends within 30 days, with what is left to use.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExpiringView {
    pub order_id: i64,
    pub label: String,
    #[schema(value_type = String, format = Date)]
    pub valid_until: NaiveDate,
    /// The last day a voucher is honoured (validity and grace).
    #[schema(value_type = String, format = Date)]
    pub last_day: NaiveDate,
    pub books_issued: i64,
    /// Held by a prescriber, not yet handed over.
    pub books_assigned: i64,
    pub books_distributed: i64,
    /// Distributed books with at least one voucher used.
    pub books_started: i64,
    /// Distributed books with no voucher used.
    pub books_untouched: i64,
    /// Vouchers of the order still usable.
    pub active_vouchers: i64,
    pub active_value_cents: i64,
}

impl From<Expiring> for ExpiringView {
    fn from(e: Expiring) -> Self {
        let Expiring {
            order_id,
            label,
            valid_until,
            last_day,
            books_issued,
            books_assigned,
            books_distributed,
            books_started,
            books_untouched,
            active_vouchers,
            active_value_cents,
        } = e;
        ExpiringView {
            order_id,
            label,
            valid_until,
            last_day,
            books_issued,
            books_assigned,
            books_distributed,
            books_started,
            books_untouched,
            active_vouchers,
            active_value_cents,
        }
    }
}

/// The funder's orders whose validity ends within 30 days.
#[tracing::instrument(skip_all, fields(user = caller.user_id, funder = funder_id))]
pub async fn expiring(app: &App, caller: &Caller, funder_id: i64) -> AppResult<Vec<ExpiringView>> {
    caller.require(Act::ListExpiringVouchers)?;
    caller.require_org(funder_id)?;
    issuer::profiles::get(&app.db, funder_id).await?.ok_or(AppError::NotFound)?;
    let today = issuer::local_time::day(ledger::time::now());
    Ok(issuer::expiry::expiring(&app.db, funder_id, today).await?.into_iter().map(Into::into).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The view answers exactly the JSON the domain type would.
    #[test]
    fn expiring_view_serializes_like_the_domain() {
        let e = Expiring {
            order_id: 1,
            label: "Commande 2026".into(),
            valid_until: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            last_day: NaiveDate::from_ymd_opt(2027, 1, 31).unwrap(),
            books_issued: 10,
            books_assigned: 2,
            books_distributed: 8,
            books_started: 5,
            books_untouched: 3,
            active_vouchers: 12,
            active_value_cents: 24_000,
        };
        assert_eq!(serde_json::to_value(ExpiringView::from(e.clone())).unwrap(), serde_json::to_value(&e).unwrap());
    }
}
