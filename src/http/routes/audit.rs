//! The audit trail — adapter of `crate::app::audit_trail`.

use crate::app::audit_trail;
use crate::audit::AuditEntry;
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
#[utoipa::path(get, path = "/api/v1/audit", operation_id = "list_audit_entries", tag = "audit", params(AuditQuery), responses((status = 200, body = Vec<AuditEntry>)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    Ok(Json(audit_trail::list(&app, &caller, q.before, q.limit).await?))
}
