//! API tokens: shown once, stored as SHA-256 hashes, revocable, with an optional expiry.

use crate::identity::{OrgKind, Role};
use ledger::time;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

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

/// Tokens found valid in the last few seconds, by digest, so that a client sending many requests
/// (a site's scanner at a busy hour) does not have its token looked up in the database at each
/// one. A token revoked through this process is forgotten at once; one revoked through another
/// process sharing the database stops working here at the latest `ttl` later. A token's own
/// expiry is honoured to the second.
pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    owner: TokenOwner,
    checked: Instant,
    /// The token's expiry, in microseconds since the epoch.
    expires_at: Option<i64>,
}

/// Tokens kept at most; past this the stale ones go, then all if need be.
const MOST_CACHED: usize = 10_000;

impl TokenCache {
    /// A cache keeping each token `ttl` after its lookup; `Duration::ZERO` keeps none.
    pub fn new(ttl: Duration) -> Self {
        TokenCache { ttl, entries: Mutex::new(HashMap::new()) }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, digest: &str, now: i64) -> Option<TokenOwner> {
        let entries = self.entries();
        let c = entries.get(digest)?;
        let fresh = c.checked.elapsed() < self.ttl && c.expires_at.is_none_or(|e| e > now);
        fresh.then(|| c.owner.clone())
    }

    fn keep(&self, digest: String, owner: TokenOwner, expires_at: Option<i64>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= MOST_CACHED {
            entries.retain(|_, c| c.checked.elapsed() < self.ttl);
            if entries.len() >= MOST_CACHED {
                entries.clear();
            }
        }
        entries.insert(digest, Cached { owner, checked: Instant::now(), expires_at });
    }

    /// Forgets a token (revoked).
    pub fn forget(&self, token_id: i64) {
        self.entries().retain(|_, c| c.owner.token_id != token_id);
    }
}

/// Looks a presented token up: unknown, revoked, expired tokens and disabled users all fail.
pub async fn authenticate(db: &ledger::Db, cache: &TokenCache, token: &str) -> Result<Option<TokenOwner>, sqlx::Error> {
    if !token.starts_with(PREFIX) || token.len() > 100 {
        return Ok(None);
    }
    let now = time::to_micros(time::now());
    let digest = digest(token);
    if let Some(owner) = cache.get(&digest, now) {
        return Ok(Some(owner));
    }
    let row = sqlx::query(
        "SELECT t.id, u.id, o.id, o.kind, u.role, t.last_used_at, t.expires_at FROM api_tokens t \
         JOIN users u ON u.id = t.user_id JOIN organisations o ON o.id = u.organisation_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2) \
         AND u.disabled_at IS NULL",
    )
    .bind(&digest)
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
    let owner = TokenOwner {
        token_id,
        user_id: row.try_get(1)?,
        organisation_id: row.try_get(2)?,
        kind: OrgKind::parse(&kind).unwrap_or(OrgKind::Site),
        role: Role::parse(&role).unwrap_or(Role::Member),
    };
    cache.keep(digest, owner.clone(), row.try_get(6)?);
    Ok(Some(owner))
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

    fn owner(token_id: i64) -> TokenOwner {
        TokenOwner { token_id, user_id: 1, organisation_id: 1, kind: OrgKind::Site, role: Role::Member }
    }

    #[test]
    fn the_cache_keeps_a_token_for_its_time_only() {
        let now = time::to_micros(time::now());
        let cache = TokenCache::new(Duration::from_millis(200));
        cache.keep("a".into(), owner(1), None);
        cache.keep("b".into(), owner(2), Some(now + 60_000_000));
        cache.keep("c".into(), owner(3), Some(now + 1));
        assert_eq!(cache.get("a", now).map(|o| o.token_id), Some(1));
        assert_eq!(cache.get("b", now).map(|o| o.token_id), Some(2));
        assert!(cache.get("c", now + 1).is_none(), "the token's own expiry is honoured");
        assert!(cache.get("unknown", now).is_none());
        cache.forget(1);
        assert!(cache.get("a", now).is_none(), "a revoked token is forgotten at once");
        assert!(cache.get("b", now).is_some());
        std::thread::sleep(Duration::from_millis(250));
        assert!(cache.get("b", now).is_none(), "looked up again after the cache's time");
        let none = TokenCache::new(Duration::ZERO);
        none.keep("a".into(), owner(1), None);
        assert!(none.get("a", now).is_none(), "a zero time keeps nothing");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = TokenCache::new(Duration::from_secs(60));
        for i in 0..=MOST_CACHED as i64 {
            cache.keep(format!("t{i}"), owner(i), None);
        }
        assert!(cache.entries().len() <= MOST_CACHED);
        assert!(cache.get(&format!("t{MOST_CACHED}"), 0).is_some(), "the newest is kept");
    }

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
