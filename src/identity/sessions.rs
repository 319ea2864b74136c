//! Web sessions: a random cookie value, stored as its SHA-256; a CSRF token per session; account
//! lockout after repeated failed sign-ins.

use crate::identity::{password, tokens, users};
use ledger::time;
use sqlx::{AnyConnection, Row};

/// Failed sign-ins in a row that lock an account, and for how long.
pub const MAX_FAILURES: i64 = 5;
pub const LOCK_MINUTES: i64 = 15;
/// How long a session lasts without signing in again.
pub const SESSION_HOURS: i64 = 12;

/// A signed-in session.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub user: users::User,
    pub csrf: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("adresse ou mot de passe incorrect")]
    Wrong,
    #[error("compte verrouillé après {MAX_FAILURES} essais : réessayez dans {0} minute(s)")]
    Locked(i64),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn random_token() -> String {
    tokens::generate().trim_start_matches("psl_").to_owned()
}

/// Checks the email and password and opens a new session; returns it with the cookie value
/// (shown once). A fresh value at every sign-in: a session cannot be fixed in advance.
pub async fn sign_in(db: &ledger::Db, email: &str, password_clear: &str) -> Result<(Session, String), SignInError> {
    let user = users::by_email(db, email).await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        // The same work as for a real account, so that timing does not reveal which exist.
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let _ = password::verify(password_clear, DUMMY.get_or_init(|| password::hash("compte inexistant")));
        return Err(SignInError::Wrong);
    };
    let row = sqlx::query("SELECT password_hash, failed_logins, locked_until FROM users WHERE id = $1")
        .bind(user.id)
        .fetch_one(db.pool())
        .await?;
    let now = time::to_micros(time::now());
    if let Some(until) = row.try_get::<Option<i64>, _>(2)?.filter(|u| *u > now) {
        return Err(SignInError::Locked((until - now) / 60_000_000 + 1));
    }
    if !password::verify(password_clear, &row.try_get::<String, _>(0)?) {
        let failures = row.try_get::<i64, _>(1)? + 1;
        let locked = (failures >= MAX_FAILURES).then(|| now + LOCK_MINUTES * 60_000_000);
        let mut tx = db.begin().await?;
        sqlx::query("UPDATE users SET failed_logins = $1, locked_until = $2 WHERE id = $3")
            .bind(if locked.is_some() { 0 } else { failures })
            .bind(locked)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Err(match locked {
            Some(_) => SignInError::Locked(LOCK_MINUTES),
            None => SignInError::Wrong,
        });
    }
    let cookie = random_token();
    let csrf = random_token();
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO web_sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(tokens::digest(&cookie))
    .bind(user.id)
    .bind(&csrf)
    .bind(now)
    .bind(now + SESSION_HOURS * 3_600_000_000)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((Session { id, user, csrf }, cookie))
}

/// The session a cookie value opens, if it is valid, not expired and not revoked.
pub async fn find(db: &ledger::Db, cookie: &str) -> Result<Option<Session>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, user_id, csrf FROM web_sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(tokens::digest(cookie))
    .bind(time::to_micros(time::now()))
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let Some(user) = users::get(db, r.try_get(1)?).await?.filter(|u| !u.disabled) else { return Ok(None) };
    Ok(Some(Session { id: r.try_get(0)?, user, csrf: r.try_get(2)? }))
}

/// Ends a session (sign-out).
pub async fn revoke(db: &ledger::Db, id: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE web_sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(time::to_micros(time::now()))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Changes a user's password after checking the current one; ends the user's other sessions and
/// cancels their emailed password links.
pub async fn change_password(db: &ledger::Db, session: &Session, current: &str, new: &str) -> Result<(), String> {
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(session.user.id)
        .fetch_one(db.pool())
        .await
        .map_err(|e| e.to_string())?;
    if !password::verify(current, &stored) {
        return Err("mot de passe actuel incorrect".into());
    }
    password::check_strength(new).map_err(str::to_owned)?;
    let mut tx = db.begin().await.map_err(|e| e.to_string())?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password::hash(new))
        .bind(session.user.id)
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query("UPDATE web_sessions SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL")
        .bind(time::to_micros(time::now()))
        .bind(session.user.id)
        .bind(session.id)
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    crate::identity::password_tokens::cancel_all(&mut tx, session.user.id).await.map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// The operator resets a user's password: a new one-time password (returned once), the lock
/// lifted, every session of the user ended and every emailed password link cancelled; in the
/// caller's transaction (with its audit entry).
pub async fn reset_password(conn: &mut AnyConnection, user_id: i64) -> Result<Option<String>, sqlx::Error> {
    let one_time = password::generate();
    let done = sqlx::query("UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = NULL WHERE id = $2")
        .bind(password::hash(&one_time))
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    sqlx::query("UPDATE web_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(time::to_micros(time::now()))
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    crate::identity::password_tokens::cancel_all(&mut *conn, user_id).await?;
    Ok(Some(one_time))
}
