//! Funders and prescribers: organisations with a category and a territory — adapters of
//! `crate::app::profiles`.

use crate::app::profiles::{self, NewProfile, ProfileChange, ProfileKind, ProfileView};
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;

/// All funders (operator).
#[utoipa::path(get, path = "/api/v1/funders", tag = "financeurs", responses((status = 200, body = Vec<ProfileView>)))]
pub async fn list_funders(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<ProfileView>>> {
    Ok(Json(profiles::list(&app, &caller, ProfileKind::Funder).await?))
}

/// Creates a funder (operator managers).
#[utoipa::path(post, path = "/api/v1/funders", tag = "financeurs", request_body = NewProfile, responses((status = 201, body = ProfileView)))]
pub async fn create_funder(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<NewProfile>,
) -> ApiResult<(StatusCode, Json<ProfileView>)> {
    Ok((StatusCode::CREATED, Json(profiles::create(&app, &caller, ProfileKind::Funder, body).await?)))
}

/// One funder (operator, or the funder itself).
#[utoipa::path(get, path = "/api/v1/funders/{id}", tag = "financeurs", responses((status = 200, body = ProfileView)))]
pub async fn get_funder(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<ProfileView>> {
    Ok(Json(profiles::get(&app, &caller, ProfileKind::Funder, id).await?))
}

/// Edits a funder (operator managers).
#[utoipa::path(patch, path = "/api/v1/funders/{id}", tag = "financeurs", request_body = ProfileChange, responses((status = 200, body = ProfileView)))]
pub async fn update_funder(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<ProfileChange>,
) -> ApiResult<Json<ProfileView>> {
    Ok(Json(profiles::update(&app, &caller, ProfileKind::Funder, id, body).await?))
}

/// All prescribers (operator).
#[utoipa::path(get, path = "/api/v1/prescribers", tag = "prescripteurs", responses((status = 200, body = Vec<ProfileView>)))]
pub async fn list_prescribers(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<ProfileView>>> {
    Ok(Json(profiles::list(&app, &caller, ProfileKind::Prescriber).await?))
}

/// Creates a prescriber (operator managers).
#[utoipa::path(post, path = "/api/v1/prescribers", tag = "prescripteurs", request_body = NewProfile, responses((status = 201, body = ProfileView)))]
pub async fn create_prescriber(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<NewProfile>,
) -> ApiResult<(StatusCode, Json<ProfileView>)> {
    Ok((StatusCode::CREATED, Json(profiles::create(&app, &caller, ProfileKind::Prescriber, body).await?)))
}

/// One prescriber (operator, or the prescriber itself).
#[utoipa::path(get, path = "/api/v1/prescribers/{id}", tag = "prescripteurs", responses((status = 200, body = ProfileView)))]
pub async fn get_prescriber(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<ProfileView>> {
    Ok(Json(profiles::get(&app, &caller, ProfileKind::Prescriber, id).await?))
}

/// Edits a prescriber (operator managers).
#[utoipa::path(patch, path = "/api/v1/prescribers/{id}", tag = "prescripteurs", request_body = ProfileChange, responses((status = 200, body = ProfileView)))]
pub async fn update_prescriber(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<ProfileChange>,
) -> ApiResult<Json<ProfileView>> {
    Ok(Json(profiles::update(&app, &caller, ProfileKind::Prescriber, id, body).await?))
}
