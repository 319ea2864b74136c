//! Organisations and their members — adapters of `crate::app::organisations`.

use crate::app::organisations::{self, CreatedUser, OrganisationView, PasswordReset};
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json, Path, Problem, Query};
use crate::identity::users::User;
use crate::identity::{OrgKind, Role};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only organisations of this kind: operator, funder, prescriber, site.
    #[param(value_type = Option<String>)]
    kind: Option<OrgKind>,
}

/// All organisations (operator only).
#[utoipa::path(get, path = "/api/v1/organisations", operation_id = "list_organisations", tag = "organisations", params(ListQuery),
    responses((status = 200, body = Vec<OrganisationView>)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<OrganisationView>>> {
    Ok(Json(organisations::list(&app, &caller, q.kind).await?))
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
#[utoipa::path(post, path = "/api/v1/organisations", operation_id = "create_organisation", tag = "organisations", request_body = NewOrganisation,
    responses((status = 201, body = OrganisationView), (status = 409, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<NewOrganisation>,
) -> ApiResult<(StatusCode, Json<OrganisationView>)> {
    let org = organisations::create(&app, &caller, body.kind, &body.name, body.siret.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(org)))
}

/// One organisation: the operator sees all, others only their own.
#[utoipa::path(get, path = "/api/v1/organisations/{id}", operation_id = "get_organisation", tag = "organisations",
    responses((status = 200, body = OrganisationView), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<OrganisationView>> {
    Ok(Json(organisations::get(&app, &caller, id).await?))
}

/// Members of an organisation (operator users, or the organisation's managers).
#[utoipa::path(get, path = "/api/v1/organisations/{id}/users", tag = "organisations",
    responses((status = 200, body = Vec<User>)))]
pub async fn list_users(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(organisations::members(&app, &caller, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    email: String,
    display_name: String,
    role: Role,
}

/// Adds a member to an organisation (operator managers, or the organisation's managers).
#[utoipa::path(post, path = "/api/v1/organisations/{id}/users", tag = "organisations", request_body = NewUser,
    responses((status = 201, body = CreatedUser), (status = 409, body = Problem)))]
pub async fn create_user(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<NewUser>,
) -> ApiResult<(StatusCode, Json<CreatedUser>)> {
    let created = organisations::invite(&app, &caller, id, &body.email, &body.display_name, body.role).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Resets a user's password (operator managers): a new one-time password, the lock lifted,
/// every session of the user ended.
#[utoipa::path(post, path = "/api/v1/users/{id}/password-reset", tag = "organisations", responses((status = 200, body = PasswordReset)))]
pub async fn reset_password(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<PasswordReset>> {
    Ok(Json(organisations::reset_password(&app, &caller, id).await?))
}
