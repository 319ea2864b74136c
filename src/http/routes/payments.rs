//! Funder payments, net positions and orders near their end — adapters of
//! `crate::app::payments`.

use crate::app::payments::{self, ExpiringView, PaymentView, PositionView};
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use ledger::Cents;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPayment {
    amount_cents: i64,
    /// Day the money arrived (YYYY-MM-DD).
    #[schema(value_type = String, format = Date)]
    received_on: NaiveDate,
    /// The bank's reference: a second payment with the same reference is the same payment.
    bank_reference: String,
}

/// Records money received from a funder (operator managers).
#[utoipa::path(post, path = "/api/v1/funders/{id}/payments", tag = "financeurs", request_body = NewPayment, responses((status = 201, body = PaymentView)))]
pub async fn record(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<NewPayment>,
) -> ApiResult<(StatusCode, Json<PaymentView>)> {
    let p = payments::record(&app, &caller, id, Cents(b.amount_cents), b.received_on, &b.bank_reference).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Payments received from a funder (operator, or the funder itself).
#[utoipa::path(get, path = "/api/v1/funders/{id}/payments", operation_id = "list_payments", tag = "financeurs", responses((status = 200, body = Vec<PaymentView>)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<PaymentView>>> {
    Ok(Json(payments::list(&app, &caller, id).await?))
}

/// The funder's orders whose validity ends within 30 days, with what is left to use (operator,
/// or the funder itself).
#[utoipa::path(get, path = "/api/v1/funders/{id}/expiring", tag = "financeurs", responses((status = 200, body = Vec<ExpiringView>)))]
pub async fn expiring(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<ExpiringView>>> {
    Ok(Json(payments::expiring(&app, &caller, id).await?))
}

/// A funder's net position (operator, or the funder itself).
#[utoipa::path(get, path = "/api/v1/funders/{id}/position", tag = "financeurs", responses((status = 200, body = PositionView)))]
pub async fn position(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<PositionView>> {
    Ok(Json(payments::position(&app, &caller, id).await?))
}
