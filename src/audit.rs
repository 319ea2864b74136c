//! The audit trail: who changed what, and when. Written in the same database transaction as the
//! change it records.

use ledger::time;
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

/// Who acted: a user of an organisation, or the system itself (CLI, scheduled jobs).
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub organisation_id: Option<i64>,
}

impl Actor {
    pub const SYSTEM: Actor = Actor { user_id: None, organisation_id: None };
}

pub async fn record(
    conn: &mut AnyConnection,
    actor: Actor,
    action: &str,
    object_type: &str,
    object_id: impl ToString,
    details: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_user_id, organisation_id, action, object_type, object_id, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(time::to_micros(time::now()))
    .bind(actor.user_id)
    .bind(actor.organisation_id)
    .bind(action)
    .bind(object_type)
    .bind(object_id.to_string())
    .bind(details.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor_user_id: Option<i64>,
    pub organisation_id: Option<i64>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub details: serde_json::Value,
}

/// The newest entries first, optionally for one organisation, before an entry id (paging).
pub async fn list(
    db: &ledger::Db,
    organisation_id: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, at, actor_user_id, organisation_id, action, object_type, object_id, details FROM audit_log \
         WHERE ($1 IS NULL OR organisation_id = $1) AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(organisation_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|r| {
            let details: String = r.try_get(7)?;
            Ok(AuditEntry {
                id: r.try_get(0)?,
                at: time::from_micros(r.try_get(1)?),
                actor_user_id: r.try_get(2)?,
                organisation_id: r.try_get(3)?,
                action: r.try_get(4)?,
                object_type: r.try_get(5)?,
                object_id: r.try_get(6)?,
                details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
            })
        })
        .collect()
}
