//! The outbox as the operator reads it: every message and where its delivery stands.

use crate::app::{Act, App, AppResult, Caller};
use crate::notify::outbox::{self, Counts, Stored};

/// The most recent messages first (at most 500) and the count in each state.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn list(app: &App, caller: &Caller, limit: i64) -> AppResult<(Vec<Stored>, Counts)> {
    caller.require(Act::ListMessages)?;
    let messages = outbox::list(&app.db, limit.clamp(1, 500)).await?;
    Ok((messages, outbox::counts(&app.db).await?))
}
