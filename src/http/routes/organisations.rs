use crate::audit;
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path, Query};
use crate::identity::organisations;
use crate::identity::users::{self, User};
use crate::identity::{OrgKind, Role, password};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only organisations of this kind: operator, funder, prescriber, site.
    #[param(value_type = Option<String>)]
    kind: Option<OrgKind>,
}

/// All organisations (operator only).
#[utoipa::path(get, path = "/api/v1/organisations", tag = "organisations", params(ListQuery),
    responses((status = 200, body = Vec<OrganisationView>)))]
pub async fn list(State(state): State<AppState>, Query(q): Query<ListQuery>) -> ApiResult<Json<Vec<OrganisationView>>> {
    Ok(Json(organisations::list(&state.db, q.kind).await?.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    /// funder, prescriber or site
    #[schema(value_type = String)]
    kind: OrgKind,
    name: String,
    /// 14 digits, Luhn-checked; spaces allowed.
    siret: Option<String>,
}

/// Creates a funder, prescriber or site organisation (operator managers).
#[utoipa::path(post, path = "/api/v1/organisations", tag = "organisations", request_body = NewOrganisation,
    responses((status = 201, body = OrganisationView), (status = 409, body = crate::http::problem::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewOrganisation>,
) -> ApiResult<(StatusCode, Json<OrganisationView>)> {
    if body.kind == OrgKind::Operator {
        return Err(ApiError::unprocessable("invalid_kind", "Il n'y a qu'un opérateur par déploiement."));
    }
    let siret = body
        .siret
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e: issuer::siret::SiretError| ApiError::unprocessable("invalid_siret", e))?;
    let mut tx = state.db.begin().await?;
    let org = organisations::create(&mut tx, body.kind, &body.name, siret.as_ref()).await?;
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
    Ok((StatusCode::CREATED, Json(org.into())))
}

/// One organisation: the operator sees all, others only their own.
#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "organisations",
    responses((status = 200, body = OrganisationView), (status = 404, body = crate::http::problem::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<OrganisationView>> {
    caller.require_org(id)?;
    Ok(Json(organisations::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?.into()))
}

/// Members of an organisation (operator users, or the organisation's managers).
#[utoipa::path(get, path = "/api/v1/organisations/{id}/users", tag = "organisations",
    responses((status = 200, body = Vec<User>)))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<User>>> {
    caller.require_org(id)?;
    organisations::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    Ok(Json(users::list_for_organisation(&state.db, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    email: String,
    display_name: String,
    role: Role,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedUser {
    user: User,
    /// Shown once: give it to the person, who changes it at first sign-in.
    one_time_password: String,
}

/// Adds a member to an organisation (operator managers, or the organisation's managers).
#[utoipa::path(post, path = "/api/v1/organisations/{id}/users", tag = "organisations", request_body = NewUser,
    responses((status = 201, body = CreatedUser), (status = 409, body = crate::http::problem::Problem)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<NewUser>,
) -> ApiResult<(StatusCode, Json<CreatedUser>)> {
    caller.require_org(id)?;
    if caller.is_operator() && !caller.is_manager() && caller.organisation_id != id {
        return Err(ApiError::forbidden());
    }
    if caller.organisation_id == id && !caller.is_manager() {
        return Err(ApiError::forbidden());
    }
    organisations::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    let one_time_password = password::generate();
    let mut tx = state.db.begin().await?;
    let user = users::create(&mut tx, id, &body.email, &body.display_name, body.role, &one_time_password).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "user.create",
        "user",
        user.id,
        serde_json::json!({"organisation_id": id, "role": user.role}),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(CreatedUser { user, one_time_password })))
}

/// An organisation as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct OrganisationView {
    pub id: i64,
    /// operator, funder, prescriber or site
    pub kind: String,
    pub name: String,
    pub siret: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<organisations::Organisation> for OrganisationView {
    fn from(o: organisations::Organisation) -> Self {
        OrganisationView {
            id: o.id,
            kind: o.kind.as_str().to_owned(),
            name: o.name,
            siret: o.siret.map(String::from),
            created_at: o.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PasswordReset {
    /// Shown once: the person signs in with it, then chooses their own.
    one_time_password: String,
}

/// Resets a user's password (operator managers): a new one-time password, the lock lifted,
/// every session of the user ended.
#[utoipa::path(post, path = "/api/v1/users/{id}/password-reset", tag = "organisations", responses((status = 200, body = PasswordReset)))]
pub async fn reset_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<PasswordReset>> {
    let mut tx = state.db.begin().await?;
    let one_time_password =
        crate::identity::sessions::reset_password(&mut tx, id).await?.ok_or_else(ApiError::not_found)?;
    audit::record(&mut tx, caller.actor(), "user.password_reset", "user", id, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(Json(PasswordReset { one_time_password }))
}
