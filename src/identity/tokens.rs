//! API tokens: shown once, stored as SHA-256 hashes, revocable, with an optional expiry.

use crate::identity::{OrgKind, Role};
use ledger::time;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

/// The prefix that makes a Passerelle token recognisable (for secret scanners too).
pub const PREFIX: &str = "psl_";

/// A new random token: `psl_` followed by 43 base64url characters (256 bits).
pub fn generate() -> String {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    format!("{PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored: the hex SHA-256 of the token.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Who a valid token belongs to.
#[derive(Debug, Clone)]
pub struct TokenOwner {
    pub token_id: i64,
    pub user_id: i64,
    pub organisation_id: i64,
    pub kind: OrgKind,
    pub role: Role,
}

/// Looks a presented token up: unknown, revoked, expired tokens and disabled users all fail.
pub async fn authenticate(db: &ledger::Db, token: &str) -> Result<Option<TokenOwner>, sqlx::Error> {
    if !token.starts_with(PREFIX) || token.len() > 100 {
        return Ok(None);
    }
    let now = time::to_micros(time::now());
    let row = sqlx::query(
        "SELECT t.id, u.id, o.id, o.kind, u.role, t.last_used_at FROM api_tokens t \
         JOIN users u ON u.id = t.user_id JOIN organisations o ON o.id = u.organisation_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2) \
         AND u.disabled_at IS NULL",
    )
    .bind(digest(token))
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let token_id: i64 = row.try_get(0)?;
    let last_used: Option<i64> = row.try_get(5)?;
    // Record use at most every ten minutes, so reads do not become writes.
    if last_used.is_none_or(|t| now - t > 600_000_000) {
        let mut tx = db.begin().await?;
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(token_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    let kind: String = row.try_get(3)?;
    let role: String = row.try_get(4)?;
    Ok(Some(TokenOwner {
        token_id,
        user_id: row.try_get(1)?,
        organisation_id: row.try_get(2)?,
        kind: OrgKind::parse(&kind).unwrap_or(OrgKind::Site),
        role: Role::parse(&role).unwrap_or(Role::Member),
    }))
}

/// Creates a token for a user and returns (id, token). The token is never stored in clear.
pub async fn create(
    conn: &mut AnyConnection,
    user_id: i64,
    name: &str,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(i64, String), sqlx::Error> {
    let token = generate();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user_id)
    .bind(name)
    .bind(digest(&token))
    .bind(time::to_micros(time::now()))
    .bind(expires_at.map(time::to_micros))
    .fetch_one(&mut *conn)
    .await?;
    Ok((id, token))
}

/// One token as listed to its owner (never the secret).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn list_for_user(db: &ledger::Db, user_id: i64) -> Result<Vec<TokenInfo>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, name, created_at, expires_at, revoked_at, last_used_at FROM api_tokens WHERE user_id = $1 ORDER BY id")
        .bind(user_id)
        .fetch_all(db.pool())
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(TokenInfo {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                created_at: time::from_micros(r.try_get(2)?),
                expires_at: r.try_get::<Option<i64>, _>(3)?.map(time::from_micros),
                revoked_at: r.try_get::<Option<i64>, _>(4)?.map(time::from_micros),
                last_used_at: r.try_get::<Option<i64>, _>(5)?.map(time::from_micros),
            })
        })
        .collect()
}

/// Revokes one of the user's tokens. Returns false when the user has no such token.
pub async fn revoke(conn: &mut AnyConnection, user_id: i64, token_id: i64) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
            .bind(time::to_micros(time::now()))
            .bind(token_id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() == 1 {
        return Ok(true);
    }
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM api_tokens WHERE id = $1 AND user_id = $2")
        .bind(token_id)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(exists.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = generate();
        assert!(a.starts_with(PREFIX));
        assert_eq!(a.len(), 4 + 43);
        assert_ne!(a, generate());
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), a);
    }
}
