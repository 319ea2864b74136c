//! Anomaly flags for review — adapters of `crate::app::anomalies`.

use crate::app::anomalies::{self, AnomalyView, Shown};
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json, Path, Problem, Query};
use axum::extract::State;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AnomalyQuery {
    /// `open` (default) or `all`.
    status: Option<String>,
    /// At most this many, newest first (default 200).
    limit: Option<i64>,
}

/// Anomaly flags with their evidence, newest first (operator).
#[utoipa::path(get, path = "/api/v1/anomalies", operation_id = "list_anomalies", tag = "anomalies", params(AnomalyQuery), responses((status = 200, body = Vec<AnomalyView>)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<AnomalyQuery>,
) -> ApiResult<Json<Vec<AnomalyView>>> {
    Ok(Json(anomalies::list(&app, &caller, Shown::parse(q.status.as_deref())?, q.limit).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dismissal {
    /// Why the flag needs no further action (required).
    comment: String,
}

/// Dismisses an anomaly with a comment (operator); the audit trail keeps who and why.
#[utoipa::path(post, path = "/api/v1/anomalies/{id}/dismiss", tag = "anomalies", request_body = Dismissal, responses((status = 200, body = AnomalyView), (status = 409, body = Problem)))]
pub async fn dismiss(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Dismissal>,
) -> ApiResult<Json<AnomalyView>> {
    Ok(Json(anomalies::dismiss(&app, &caller, id, &b.comment).await?))
}
