//! Who the caller is — adapter of `crate::app::tokens::me`.

use crate::app::tokens::{self, Me};
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json};
use axum::extract::State;

/// The caller's account and organisation.
#[utoipa::path(get, path = "/api/v1/me", tag = "identité", responses((status = 200, body = Me)))]
pub async fn me(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Me>> {
    Ok(Json(tokens::me(&app, &caller).await?))
}
