//! The catalogue of services.

use crate::audit;
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use redeemer::catalogue::{self, Service};
use utoipa::ToSchema;

/// A service of the catalogue.
#[derive(serde::Serialize, serde::Deserialize, ToSchema)]
#[schema(as = CatalogueService)]
pub struct ServiceDoc {
    code: String,
    label: String,
    /// One of the nine national categories (e.g. aide_demarches_administratives).
    category: String,
    /// individual, collective or remote
    format: String,
    duration_minutes: u32,
    price_vouchers: u32,
    retired: Option<bool>,
}

/// The catalogue (any signed-in user).
#[utoipa::path(get, path = "/api/v1/catalogue", tag = "catalogue", responses((status = 200, body = Vec<ServiceDoc>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<catalogue::Listed>>> {
    Ok(Json(catalogue::list(&state.db).await?))
}

/// Adds or edits a service (operator managers).
#[utoipa::path(post, path = "/api/v1/catalogue", tag = "catalogue", request_body = ServiceDoc, responses((status = 201, body = ServiceDoc)))]
pub async fn upsert(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<Service>,
) -> ApiResult<(StatusCode, Json<Service>)> {
    let mut tx = state.db.begin().await?;
    catalogue::upsert(&mut tx, &body).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "catalogue.upsert",
        "service",
        &body.code,
        serde_json::json!({"price_vouchers": body.price_vouchers}),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(body)))
}

/// Retires a service (operator managers); past redemptions keep it.
#[utoipa::path(post, path = "/api/v1/catalogue/{code}/retire", tag = "catalogue", responses((status = 204)))]
pub async fn retire(State(state): State<AppState>, caller: Caller, Path(code): Path<String>) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    catalogue::retire(&mut tx, &code).await?;
    audit::record(&mut tx, caller.actor(), "catalogue.retire", "service", &code, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
