//! Organisations and their members: the operator creates organisations; managers invite members
//! (an email with a single-use link to choose a password, and a one-time password to hand over
//! if the message does not arrive); the operator's managers reset a forgotten password.

use crate::app::{Act, App, AppError, AppResult, Caller};
use crate::audit;
use crate::identity::organisations::{self, Organisation};
use crate::identity::password_tokens::{self, Purpose};
use crate::identity::users::{self, User};
use crate::identity::{OrgKind, Role, password};
use crate::notify::{messages, outbox};
use serde::Serialize;
use utoipa::ToSchema;

/// An organisation as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganisationView {
    pub id: i64,
    /// operator, funder, prescriber or site
    pub kind: String,
    pub name: String,
    pub siret: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Organisation> for OrganisationView {
    fn from(o: Organisation) -> Self {
        OrganisationView {
            id: o.id,
            kind: o.kind.as_str().to_owned(),
            name: o.name,
            siret: o.siret.map(String::from),
            created_at: o.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedUser {
    pub user: User,
    /// Shown once: the person may sign in with it if the invitation email (a link to choose a
    /// password) does not arrive, and changes it at first sign-in.
    pub one_time_password: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PasswordReset {
    /// Shown once: the person signs in with it, then chooses their own.
    pub one_time_password: String,
}

/// Every organisation, or those of one kind.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn list(app: &App, caller: &Caller, kind: Option<OrgKind>) -> AppResult<Vec<OrganisationView>> {
    caller.require(Act::ListOrganisations)?;
    Ok(organisations::list(&app.db, kind).await?.into_iter().map(Into::into).collect())
}

/// Creates a funder, prescriber or site organisation (there is one operator).
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn create(
    app: &App,
    caller: &Caller,
    kind: OrgKind,
    name: &str,
    siret: Option<&str>,
) -> AppResult<OrganisationView> {
    caller.require(Act::CreateOrganisation)?;
    if kind == OrgKind::Operator {
        return Err(AppError::invalid("invalid_kind", "Il n'y a qu'un opérateur par déploiement."));
    }
    let siret = siret
        .map(str::parse::<issuer::Siret>)
        .transpose()
        .map_err(|e| AppError::invalid("invalid_siret", e.to_string()))?;
    let mut tx = app.db.begin().await?;
    let org = organisations::create(&mut tx, kind, name, siret.as_ref()).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "organisation.create",
        "organisation",
        org.id,
        serde_json::json!({"kind": org.kind, "name": org.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(org.into())
}

/// One organisation: the operator sees all, others only their own.
#[tracing::instrument(skip_all, fields(user = caller.user_id, organisation = id))]
pub async fn get(app: &App, caller: &Caller, id: i64) -> AppResult<OrganisationView> {
    caller.require(Act::ReadOrganisation)?;
    caller.require_org(id)?;
    Ok(organisations::get(&app.db, id).await?.ok_or(AppError::NotFound)?.into())
}

/// The members of an organisation (operator users, or the organisation's managers).
#[tracing::instrument(skip_all, fields(user = caller.user_id, organisation = id))]
pub async fn members(app: &App, caller: &Caller, id: i64) -> AppResult<Vec<User>> {
    caller.require(Act::ListMembers)?;
    caller.require_org(id)?;
    organisations::get(&app.db, id).await?.ok_or(AppError::NotFound)?;
    Ok(users::list_for_organisation(&app.db, id).await?)
}

/// Whether the caller may invite members into organisation `id`: the operator's managers
/// anywhere, an organisation's managers at home.
pub fn may_invite(caller: &Caller, id: i64) -> bool {
    caller.may(Act::InviteMember) && caller.is_manager() && (caller.organisation_id == id || caller.is_operator())
}

/// Adds a member to an organisation: an invitation email with a single-use link to choose a
/// password (written to the outbox in the same transaction), and a one-time password to hand
/// over should the message not arrive.
#[tracing::instrument(skip_all, fields(user = caller.user_id, organisation = id))]
pub async fn invite(
    app: &App,
    caller: &Caller,
    id: i64,
    email: &str,
    display_name: &str,
    role: Role,
) -> AppResult<CreatedUser> {
    caller.require(Act::InviteMember)?;
    caller.require_org(id)?;
    if !may_invite(caller, id) {
        return Err(AppError::Forbidden);
    }
    let organisation = organisations::get(&app.db, id).await?.ok_or(AppError::NotFound)?;
    let one_time_password = password::generate();
    let mut tx = app.db.begin().await?;
    let user = users::create(&mut tx, id, email, display_name, role, &one_time_password).await?;
    let token = password_tokens::create(&mut tx, user.id, Purpose::Invitation).await?;
    let message = messages::invitation(
        &user.email,
        &user.display_name,
        &organisation.name,
        &crate::app::passwords::link(app, &token),
        Purpose::Invitation.lifetime().num_hours(),
    );
    let message_id = outbox::enqueue(&mut tx, &message).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "user.create",
        "user",
        user.id,
        serde_json::json!({"organisation_id": id, "role": user.role, "message_id": message_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedUser { user, one_time_password })
}

/// Resets a user's password: a new one-time password, the lock lifted, every session ended.
#[tracing::instrument(skip_all, fields(user = caller.user_id, member = id))]
pub async fn reset_password(app: &App, caller: &Caller, id: i64) -> AppResult<PasswordReset> {
    caller.require(Act::ResetPassword)?;
    let mut tx = app.db.begin().await?;
    let one_time_password = crate::identity::sessions::reset_password(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, caller.actor(), "user.password_reset", "user", id, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(PasswordReset { one_time_password })
}
