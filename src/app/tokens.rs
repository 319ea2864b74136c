//! Who the caller is, and their API tokens: the account and organisation behind a token, the
//! caller's own tokens (listed without their secret), created and revoked.

use crate::app::organisations::OrganisationView;
use crate::app::{Act, App, AppError, AppResult, Caller};
use crate::audit;
use crate::identity::organisations;
use crate::identity::tokens::{self, TokenInfo};
use crate::identity::users::{self, User};
use serde::Serialize;
use utoipa::ToSchema;

/// The caller's account and organisation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub organisation: OrganisationView,
}

/// A token just created: its secret, shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedToken {
    pub id: i64,
    /// Shown once; only its hash is stored.
    pub token: String,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The caller's account and organisation.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn me(app: &App, caller: &Caller) -> AppResult<Me> {
    caller.require(Act::ReadMe)?;
    let user = users::get(&app.db, caller.user_id).await?.ok_or(AppError::NotFound)?;
    let organisation = organisations::get(&app.db, caller.organisation_id).await?.ok_or(AppError::NotFound)?.into();
    Ok(Me { user, organisation })
}

/// The caller's own API tokens (never their secret).
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn list(app: &App, caller: &Caller) -> AppResult<Vec<TokenInfo>> {
    caller.require(Act::ListTokens)?;
    Ok(tokens::list_for_user(&app.db, caller.user_id).await?)
}

/// Creates an API token for the caller, valid `expires_in_days` days (1–3650; none for no
/// expiry).
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn create(app: &App, caller: &Caller, name: &str, expires_in_days: Option<u32>) -> AppResult<CreatedToken> {
    caller.require(Act::CreateToken)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid("invalid_name", "Le nom du jeton doit compter de 1 à 100 caractères."));
    }
    let expires_at = match expires_in_days {
        Some(0) | Some(3651..) => {
            return Err(AppError::invalid("invalid_expiry", "La durée de validité va de 1 à 3650 jours."));
        }
        Some(days) => Some(ledger::time::now() + chrono::Duration::days(i64::from(days))),
        None => None,
    };
    let mut tx = app.db.begin().await?;
    let (id, token) = tokens::create(&mut tx, caller.user_id, name, expires_at).await?;
    audit::record(&mut tx, caller.actor(), "token.create", "api_token", id, serde_json::json!({"name": name})).await?;
    tx.commit().await?;
    Ok(CreatedToken { id, token, expires_at })
}

/// Revokes one of the caller's tokens; it stops working at once (the cache forgets it).
#[tracing::instrument(skip_all, fields(user = caller.user_id, token = id))]
pub async fn revoke(app: &App, caller: &Caller, id: i64) -> AppResult<()> {
    caller.require(Act::RevokeToken)?;
    let mut tx = app.db.begin().await?;
    if !tokens::revoke(&mut tx, caller.user_id, id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(&mut tx, caller.actor(), "token.revoke", "api_token", id, serde_json::json!({})).await?;
    tx.commit().await?;
    app.tokens.forget(id);
    Ok(())
}
