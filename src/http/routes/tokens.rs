//! The caller's API tokens — adapters of `crate::app::tokens`.

use crate::app::tokens::{self, CreatedToken};
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json, Path, Problem};
use crate::identity::tokens::TokenInfo;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

/// The caller's own API tokens (never their secret).
#[utoipa::path(get, path = "/api/v1/tokens", operation_id = "list_tokens", tag = "identité", responses((status = 200, body = Vec<TokenInfo>)))]
pub async fn list(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<TokenInfo>>> {
    Ok(Json(tokens::list(&app, &caller).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
    /// Days until the token stops working; none for no expiry.
    expires_in_days: Option<u32>,
}

/// Creates an API token for the caller.
#[utoipa::path(post, path = "/api/v1/tokens", operation_id = "create_token", tag = "identité", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    Ok((StatusCode::CREATED, Json(tokens::create(&app, &caller, &body.name, body.expires_in_days).await?)))
}

/// Revokes one of the caller's tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "identité", responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke(State(app): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    tokens::revoke(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
