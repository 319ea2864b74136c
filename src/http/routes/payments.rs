//! Funder payments and net positions.

use crate::audit;
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use issuer::expiry::Expiring;
use issuer::payments::{self, Payment, Position};
use ledger::Cents;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPayment {
    amount_cents: i64,
    /// Day the money arrived (YYYY-MM-DD).
    #[schema(value_type = String)]
    received_on: NaiveDate,
    /// The bank's reference: a second payment with the same reference is the same payment.
    bank_reference: String,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentView {
    id: i64,
    funder_id: i64,
    amount_cents: i64,
    #[schema(value_type = String)]
    received_on: NaiveDate,
    bank_reference: String,
    ledger_transaction: i64,
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

/// Records money received from a funder (operator managers).
#[utoipa::path(post, path = "/api/v1/funders/{id}/payments", tag = "financeurs", request_body = NewPayment, responses((status = 201, body = PaymentView)))]
pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<NewPayment>,
) -> ApiResult<(StatusCode, Json<PaymentView>)> {
    let mut tx = state.db.begin().await?;
    let p = payments::record(
        &mut tx,
        id,
        Cents(body.amount_cents),
        body.received_on,
        &body.bank_reference,
        Some(caller.user_id),
    )
    .await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "payment.record",
        "funder_payment",
        p.id,
        serde_json::json!({"funder_id": id, "amount_cents": p.amount_cents}),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

/// Payments received from a funder (operator, or the funder itself).
#[utoipa::path(get, path = "/api/v1/funders/{id}/payments", tag = "financeurs", responses((status = 200, body = Vec<PaymentView>)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<PaymentView>>> {
    caller.require_org(id)?;
    Ok(Json(payments::list(&state.db, id).await?.into_iter().map(Into::into).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct PositionView {
    funder_id: i64,
    /// Positive: the funder owes the clearing house; negative: the clearing house holds its money.
    balance_cents: i64,
    paid_cents: i64,
}

/// An order whose validity ends within 30 days, with what is left to use.
#[derive(Serialize, ToSchema)]
pub struct ExpiringView {
    order_id: i64,
    label: String,
    valid_until: NaiveDate,
    /// Last day the vouchers can be used (the validity plus the grace period).
    last_day: NaiveDate,
    books_issued: i64,
    /// Held by a prescriber, not yet handed over.
    books_assigned: i64,
    books_distributed: i64,
    /// Distributed books with at least one voucher used.
    books_started: i64,
    /// Distributed books with no voucher used.
    books_untouched: i64,
    active_vouchers: i64,
    active_value_cents: i64,
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

/// The funder's orders whose validity ends within 30 days, with what is left to use (operator,
/// or the funder itself).
#[utoipa::path(get, path = "/api/v1/funders/{id}/expiring", tag = "financeurs", responses((status = 200, body = Vec<ExpiringView>)))]
pub async fn expiring(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<ExpiringView>>> {
    caller.require_org(id)?;
    issuer::profiles::get(&state.db, id).await?.ok_or_else(crate::http::problem::ApiError::not_found)?;
    let today = redeemer::local_time::day(ledger::time::now());
    Ok(Json(issuer::expiry::expiring(&state.db, id, today).await?.into_iter().map(Into::into).collect()))
}

/// A funder's net position (operator, or the funder itself).
#[utoipa::path(get, path = "/api/v1/funders/{id}/position", tag = "financeurs", responses((status = 200, body = PositionView)))]
pub async fn position(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<PositionView>> {
    caller.require_org(id)?;
    issuer::profiles::get(&state.db, id).await?.ok_or_else(crate::http::problem::ApiError::not_found)?;
    let Position { funder_id, balance_cents, paid_cents } = payments::position(&state.db, id).await?;
    Ok(Json(PositionView { funder_id, balance_cents, paid_cents }))
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
