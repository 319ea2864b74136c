//! Users: one organisation each, a role, an argon2id password hash.

use crate::identity::{Role, password};
use ledger::time;
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub organisation_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub disabled: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("un compte existe déjà pour l'adresse {0}")]
    EmailTaken(String),
    #[error("adresse électronique invalide")]
    BadEmail,
    #[error("le nom doit compter de 1 à 200 caractères")]
    BadName,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Lower-cased, trimmed, and shaped like an address.
pub fn normalise_email(email: &str) -> Result<String, UserError> {
    let e = email.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(e) } else { Err(UserError::BadEmail) }
}

const COLUMNS: &str = "SELECT id, organisation_id, email, display_name, role, created_at, disabled_at FROM users";

fn from_row(r: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
    let role: String = r.try_get(4)?;
    Ok(User {
        id: r.try_get(0)?,
        organisation_id: r.try_get(1)?,
        email: r.try_get(2)?,
        display_name: r.try_get(3)?,
        role: Role::parse(&role).ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role}").into()))?,
        created_at: time::from_micros(r.try_get(5)?),
        disabled: r.try_get::<Option<i64>, _>(6)?.is_some(),
    })
}

/// Creates a user with the given password (hashed with argon2id).
pub async fn create(
    conn: &mut AnyConnection,
    organisation_id: i64,
    email: &str,
    display_name: &str,
    role: Role,
    password_clear: &str,
) -> Result<User, UserError> {
    let email = normalise_email(email)?;
    let display_name = display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 200 {
        return Err(UserError::BadName);
    }
    let hash = password::hash(password_clear);
    let now = time::now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (organisation_id, email, display_name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(organisation_id)
    .bind(&email)
    .bind(display_name)
    .bind(role.as_str())
    .bind(hash)
    .bind(time::to_micros(now))
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| if ledger::db::is_unique_violation(&e) { UserError::EmailTaken(email.clone()) } else { UserError::Db(e) })?;
    Ok(User {
        id,
        organisation_id,
        email,
        display_name: display_name.to_owned(),
        role,
        created_at: now,
        disabled: false,
    })
}

pub async fn get(db: &ledger::Db, id: i64) -> Result<Option<User>, sqlx::Error> {
    let row =
        sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id = $1"))).bind(id).fetch_optional(db.pool()).await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_email(db: &ledger::Db, email: &str) -> Result<Option<User>, sqlx::Error> {
    let Ok(email) = normalise_email(email) else {
        return Ok(None);
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE email = $1")))
        .bind(email)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list_for_organisation(db: &ledger::Db, organisation_id: i64) -> Result<Vec<User>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE organisation_id = $1 ORDER BY id")))
        .bind(organisation_id)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(normalise_email("  Marie.Dupont@Gironde.FR ").unwrap(), "marie.dupont@gironde.fr");
        for bad in ["", "@x.fr", "a@b", "a b@c.fr", "a@.fr", "a@fr."] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }
}
