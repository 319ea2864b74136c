//! The audit trail as people read it: everything for the operator, their own organisation's
//! entries for managers; newest first, a page at a time.

use crate::app::{Act, App, AppResult, Caller};
use crate::audit::{self, AuditEntry};

/// Entries on a page when the caller does not say (at most [`MAX_LIMIT`]).
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;

/// The entries older than `before` (an entry id, for paging), at most `limit` (1–500, default
/// 100), newest first.
#[tracing::instrument(skip_all, fields(user = caller.user_id, before = before))]
pub async fn list(app: &App, caller: &Caller, before: Option<i64>, limit: Option<i64>) -> AppResult<Vec<AuditEntry>> {
    caller.require(Act::ReadAuditTrail)?;
    let scope = (!caller.is_operator()).then_some(caller.organisation_id);
    let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    Ok(audit::list(&app.db, scope, before, limit).await?)
}
