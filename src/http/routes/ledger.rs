//! The ledger: trial balance, check, account statements — adapters of `crate::app::ledger`.

use crate::app::ledger::{self, Statement, TrialBalance, VerifyResult};
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json, Path, Problem, Query};
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct AsOf {
    /// Balances counting only transactions up to this instant (RFC 3339).
    as_of: Option<DateTime<Utc>>,
}

/// Every account's balance and their total (operator).
#[utoipa::path(get, path = "/api/v1/ledger/trial-balance", tag = "grand livre", params(AsOf), responses((status = 200, body = TrialBalance)))]
pub async fn trial_balance(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<AsOf>,
) -> ApiResult<Json<TrialBalance>> {
    Ok(Json(ledger::trial_balance(&app, &caller, q.as_of).await?))
}

/// Recomputes seals, balances and invariants (operator managers).
#[utoipa::path(get, path = "/api/v1/ledger/verify", operation_id = "verify_ledger", tag = "grand livre", responses((status = 200, body = VerifyResult)))]
pub async fn verify(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<VerifyResult>> {
    Ok(Json(ledger::verify(&app, &caller).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct Period {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

/// An account statement with running balance. The operator reads any account; a funder its
/// `funder:{id}` account; a site its `site:{id}:payable` account.
#[utoipa::path(get, path = "/api/v1/ledger/accounts/{code}/statement", operation_id = "account_statement", tag = "grand livre", params(Period),
    responses((status = 200, body = Statement), (status = 404, body = Problem)))]
pub async fn statement(
    State(app): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(period): Query<Period>,
) -> ApiResult<Json<Statement>> {
    Ok(Json(ledger::statement(&app, &caller, &code, period.from, period.to).await?))
}
