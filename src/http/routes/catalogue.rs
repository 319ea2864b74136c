//! The catalogue of services — adapters of `crate::app::catalogue`.

use crate::app::catalogue::{self, ServiceView};
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use redeemer::catalogue::Service;
use utoipa::ToSchema;

/// A service to add or edit.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the request body; `redeemer::catalogue::Service` reads it
pub struct NewService {
    /// Capitals, digits and dashes, e.g. DEM-ACCOMP.
    code: String,
    label: String,
    /// One of the nine national categories (e.g. aide_demarches_administratives).
    category: String,
    /// individual, collective or remote
    format: String,
    duration_minutes: u32,
    price_vouchers: u32,
}

/// The catalogue (any signed-in user).
#[utoipa::path(get, path = "/api/v1/catalogue", operation_id = "list_services", tag = "catalogue", responses((status = 200, body = Vec<ServiceView>)))]
pub async fn list(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<ServiceView>>> {
    Ok(Json(catalogue::list(&app, &caller).await?))
}

/// Adds or edits a service (operator managers).
#[utoipa::path(post, path = "/api/v1/catalogue", tag = "catalogue", request_body = NewService, responses((status = 201, body = ServiceView)))]
pub async fn upsert(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<Service>,
) -> ApiResult<(StatusCode, Json<ServiceView>)> {
    Ok((StatusCode::CREATED, Json(catalogue::save(&app, &caller, body).await?)))
}

/// Retires a service (operator managers); past redemptions keep it.
#[utoipa::path(post, path = "/api/v1/catalogue/{code}/retire", tag = "catalogue", responses((status = 204)))]
pub async fn retire(State(app): State<AppState>, caller: Caller, Path(code): Path<String>) -> ApiResult<StatusCode> {
    catalogue::retire(&app, &caller, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}
