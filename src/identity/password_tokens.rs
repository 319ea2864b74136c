//! Single-use links to choose a password (« mot de passe oublié », a new member's invitation):
//! 256-bit random tokens sent by email, stored only as their SHA-256, expiring, used once.

use crate::identity::{password, tokens};
use ledger::time;
use sqlx::{AnyConnection, Row};

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// « Mot de passe oublié »: valid one hour.
    Reset,
    /// A new member's first password: valid three days.
    Invitation,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Reset => "reset",
            Purpose::Invitation => "invitation",
        }
    }

    /// How long a link stays valid.
    pub fn lifetime(self) -> chrono::Duration {
        match self {
            Purpose::Reset => chrono::Duration::hours(1),
            Purpose::Invitation => chrono::Duration::hours(72),
        }
    }
}

/// A new token for `user_id` in the caller's transaction; the clear value is returned once
/// (it goes into the message, never into the database or the logs).
pub async fn create(conn: &mut AnyConnection, user_id: i64, purpose: Purpose) -> Result<String, sqlx::Error> {
    let token = tokens::generate().trim_start_matches("psl_").to_owned();
    let now = time::now();
    sqlx::query(
        "INSERT INTO password_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tokens::digest(&token))
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(time::to_micros(now))
    .bind(time::to_micros(now + purpose.lifetime()))
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// The user a token would let choose a password now (unused, not expired), without using it.
pub async fn peek(db: &ledger::Db, token: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT t.user_id FROM password_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2 AND u.disabled_at IS NULL",
    )
    .bind(tokens::digest(token))
    .bind(time::to_micros(time::now()))
    .fetch_optional(db.pool())
    .await
}

/// Uses a token to set a new password, in the caller's transaction: the token is marked used
/// by the same statement that checks it (two concurrent uses cannot both pass), every other
/// link of the user stops working, the lock is lifted and every session ends. The user, or
/// `None` when the token is unknown, used or expired.
pub async fn use_token(conn: &mut AnyConnection, token: &str, new_password: &str) -> Result<Option<i64>, sqlx::Error> {
    let now = time::to_micros(time::now());
    let row = sqlx::query(
        "UPDATE password_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id",
    )
    .bind(now)
    .bind(tokens::digest(token))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(user_id) = row.map(|r| r.try_get::<i64, _>(0)).transpose()? else { return Ok(None) };
    let changed = sqlx::query(
        "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = NULL WHERE id = $2 AND disabled_at IS NULL",
    )
    .bind(password::hash(new_password))
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() == 0 {
        return Ok(None);
    }
    cancel_all(conn, user_id).await?;
    sqlx::query("UPDATE web_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(Some(user_id))
}

/// Every unused link of a user stops working (the password was set another way), in the
/// caller's transaction.
pub async fn cancel_all(conn: &mut AnyConnection, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE password_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(time::to_micros(time::now()))
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
