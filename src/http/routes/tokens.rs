use crate::audit;
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path};
use crate::identity::tokens::{self, TokenInfo};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The caller's own API tokens (never their secret).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "identité", responses((status = 200, body = Vec<TokenInfo>)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<TokenInfo>>> {
    Ok(Json(tokens::list_for_user(&state.db, caller.user_id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
    /// Days until the token stops working; none for no expiry.
    expires_in_days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    id: i64,
    /// Shown once; only its hash is stored.
    token: String,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Creates an API token for the caller.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "identité", request_body = NewToken, responses((status = 201, body = CreatedToken)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::unprocessable("invalid_name", "Le nom du jeton doit compter de 1 à 100 caractères."));
    }
    let expires_at = match body.expires_in_days {
        Some(0) | Some(3651..) => {
            return Err(ApiError::unprocessable("invalid_expiry", "La durée de validité va de 1 à 3650 jours."));
        }
        Some(days) => Some(ledger::time::now() + chrono::Duration::days(i64::from(days))),
        None => None,
    };
    let mut tx = state.db.begin().await?;
    let (id, token) = tokens::create(&mut tx, caller.user_id, name, expires_at).await?;
    audit::record(&mut tx, caller.actor(), "token.create", "api_token", id, serde_json::json!({"name": name})).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { id, token, expires_at })))
}

/// Revokes one of the caller's tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "identité", responses((status = 204), (status = 404, body = crate::http::problem::Problem)))]
pub async fn revoke(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    if !tokens::revoke(&mut tx, caller.user_id, id).await? {
        return Err(ApiError::not_found());
    }
    audit::record(&mut tx, caller.actor(), "token.revoke", "api_token", id, serde_json::json!({})).await?;
    tx.commit().await?;
    state.tokens.forget(id);
    Ok(StatusCode::NO_CONTENT)
}
