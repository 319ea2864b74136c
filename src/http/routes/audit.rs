use crate::audit::{self, AuditEntry};
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json, Query};
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Entries older than this id (paging).
    before: Option<i64>,
    /// At most this many entries (1–500, default 100).
    limit: Option<i64>,
}

/// The audit trail, newest first: everything for the operator, their own organisation's
/// entries for managers.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery), responses((status = 200, body = Vec<AuditEntry>)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    let scope = (!caller.is_operator()).then_some(caller.organisation_id);
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    Ok(Json(audit::list(&state.db, scope, q.before, limit).await?))
}
