//! « Mot de passe oublié » and choosing a password with a link received by email. Asking gives
//! the same answer whether the address has an account or not; the link is single use, expires,
//! and is stored only as its SHA-256.

use crate::app::{Act, App, AppError, AppResult, Caller};
use crate::audit;
use crate::identity::password_tokens::{self, Purpose};
use crate::identity::{password, users};
use crate::notify::{messages, outbox};
use std::net::IpAddr;

/// The address of the page where a link's token chooses a password.
pub fn link(app: &App, token: &str) -> String {
    format!("{}/nouveau-mot-de-passe?jeton={token}", app.config.public_url)
}

/// Asks for a reset link for `email`. Nothing tells whether the address has an account: the
/// answer is the same and does not wait for the lookup (its time does not tell either); when
/// the address has an account, the token and its message are written to the outbox in one
/// transaction. Limited per client address (429) and, silently, per email.
#[tracing::instrument(skip_all)]
pub async fn request_reset(app: &App, caller: &Caller, email: &str, ip: IpAddr) -> AppResult<()> {
    caller.require(Act::RequestPasswordReset)?;
    app.limits.check_password_request(ip)?;
    let Ok(email) = users::normalise_email(email) else { return Ok(()) };
    if !app.limits.allow_password_message(&email) {
        return Ok(());
    }
    let app = app.clone();
    tokio::spawn(async move {
        if let Err(e) = write_reset(&app, &email).await {
            tracing::warn!(error = %e, "lien de nouveau mot de passe non écrit");
        }
    });
    Ok(())
}

/// The token and its message, in one transaction, if `email` has an active account.
async fn write_reset(app: &App, email: &str) -> AppResult<()> {
    let Some(user) = users::by_email(&app.db, email).await?.filter(|u| !u.disabled) else { return Ok(()) };
    let mut tx = app.db.begin().await?;
    let token = password_tokens::create(&mut tx, user.id, Purpose::Reset).await?;
    let minutes = Purpose::Reset.lifetime().num_minutes();
    let message = messages::password_reset(&user.email, &user.display_name, &link(app, &token), minutes);
    let message_id = outbox::enqueue(&mut tx, &message).await?;
    audit::record(
        &mut tx,
        crate::audit::Actor { user_id: None, organisation_id: Some(user.organisation_id) },
        "user.password_reset_requested",
        "user",
        user.id,
        serde_json::json!({"message_id": message_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether a link can still choose a password (for the page to show its form or say it expired).
pub async fn link_is_valid(app: &App, caller: &Caller, token: &str) -> AppResult<bool> {
    caller.require(Act::ChoosePassword)?;
    Ok(password_tokens::peek(&app.db, token).await?.is_some())
}

/// Chooses a new password with a link: once, before it expires. Every other link of the user
/// stops working and every session ends.
#[tracing::instrument(skip_all)]
pub async fn choose(app: &App, caller: &Caller, token: &str, new_password: &str) -> AppResult<()> {
    caller.require(Act::ChoosePassword)?;
    password::check_strength(new_password).map_err(|e| AppError::invalid("weak_password", capitalised(e)))?;
    let mut tx = app.db.begin().await?;
    let Some(user_id) = password_tokens::use_token(&mut tx, token, new_password).await? else {
        return Err(AppError::invalid(
            "invalid_link",
            "Ce lien n'est plus valable (déjà utilisé ou expiré) : demandez-en un nouveau depuis la page de connexion.",
        ));
    };
    audit::record(&mut tx, caller.actor(), "user.password_chosen", "user", user_id, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(())
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect::<String>() + ".").unwrap_or_default()
}
