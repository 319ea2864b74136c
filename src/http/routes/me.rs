use crate::app::organisations::OrganisationView;
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json};
use crate::identity::organisations;
use crate::identity::users::{self, User};
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub organisation: OrganisationView,
}

/// The caller's account and organisation.
#[utoipa::path(get, path = "/api/v1/me", tag = "identité", responses((status = 200, body = Me)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Me>> {
    let user = users::get(&state.db, caller.user_id).await?.ok_or_else(ApiError::not_found)?;
    let organisation =
        organisations::get(&state.db, caller.organisation_id).await?.ok_or_else(ApiError::not_found)?.into();
    Ok(Json(Me { user, organisation }))
}
