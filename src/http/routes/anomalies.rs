//! Anomaly flags for operator review (DESIGN §7).
use crate::audit;
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path, Query};
use axum::extract::State;
use redeemer::anomalies::{self, Anomaly, DismissError};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

impl From<DismissError> for ApiError {
    fn from(e: DismissError) -> Self {
        match e {
            DismissError::NotFound => ApiError::not_found(),
            DismissError::AlreadyDismissed => ApiError::conflict("already_dismissed", e),
            DismissError::MissingComment => ApiError::unprocessable("missing_comment", e),
            DismissError::Db(db) => db.into(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AnomalyQuery {
    /// `open` (default) or `all`.
    status: Option<String>,
    /// At most this many, newest first (default 200).
    limit: Option<i64>,
}

/// Anomaly flags with their evidence, newest first (operator).
#[utoipa::path(get, path = "/api/v1/anomalies", tag = "anomalies", params(AnomalyQuery), responses((status = 200, body = Vec<Object>)))]
pub async fn list(State(state): State<AppState>, Query(q): Query<AnomalyQuery>) -> ApiResult<Json<Vec<Anomaly>>> {
    let open_only = match q.status.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(_) => return Err(ApiError::bad_request("invalid_query", "status attendu : open ou all")),
    };
    Ok(Json(anomalies::list(&state.db, open_only, q.limit.unwrap_or(200)).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dismissal {
    /// Why the flag needs no further action (required).
    comment: String,
}

/// Dismisses an anomaly with a comment (operator); the audit trail keeps who and why.
#[utoipa::path(post, path = "/api/v1/anomalies/{id}/dismiss", tag = "anomalies", request_body = Dismissal, responses((status = 200, body = Object), (status = 409, body = crate::http::problem::Problem)))]
pub async fn dismiss(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Dismissal>,
) -> ApiResult<Json<Anomaly>> {
    let mut tx = state.db.begin().await?;
    let done = anomalies::dismiss(&mut tx, id, Some(caller.user_id), &b.comment).await?;
    audit::record(&mut tx, caller.actor(), "anomaly.dismiss", "anomaly", id, serde_json::json!({"comment": b.comment}))
        .await?;
    tx.commit().await?;
    Ok(Json(done))
}
