//! Unauthenticated system routes: health, metrics, the OpenAPI document, public keys.

use crate::http::AppState;
use crate::http::problem::ApiError;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::Arc;

pub fn routes(doc: Arc<utoipa::openapi::OpenApi>) -> Router<AppState> {
    let json = Arc::new(doc.to_pretty_json().unwrap_or_default());
    let pages = crate::http::pages::directory::patterns()
        .fold(Router::new(), |r, pattern| r.route(pattern, get(crate::http::pages::console::page)));
    pages
        .route("/action", axum::routing::post(crate::http::pages::console::bridge))
        .route("/telecharger", get(crate::http::pages::documents::download))
        .route("/healthz", get(healthz))
        .route("/assets/site.css", get(stylesheet))
        .route("/", get(crate::http::pages::account::home))
        .route("/connexion", get(crate::http::pages::account::login_form).post(crate::http::pages::account::login))
        .route("/deconnexion", axum::routing::post(crate::http::pages::account::logout))
        .route("/passage", get(crate::http::pages::scan::form))
        .route("/factures/{id}", get(crate::http::pages::account::invoice_pdf))
        .route("/remise", get(crate::http::pages::handover::form).post(crate::http::pages::handover::hand_over))
        .route("/passage/verifier", axum::routing::post(crate::http::pages::scan::verify))
        .route("/passage/confirmer", axum::routing::post(crate::http::pages::scan::confirm))
        .route("/passage/decoder", axum::routing::post(crate::http::pages::scan::decode_frame))
        .route("/passage/synchroniser", axum::routing::post(crate::http::pages::scan::sync))
        .route("/assets/scan.js", get(scan_script))
        .route(
            "/mot-de-passe",
            get(crate::http::pages::account::password_form).post(crate::http::pages::account::change_password),
        )
        .route(
            "/mot-de-passe-oublie",
            get(crate::http::pages::recovery::forgot_form).post(crate::http::pages::recovery::forgot),
        )
        .route(
            "/nouveau-mot-de-passe",
            get(crate::http::pages::recovery::choose_form).post(crate::http::pages::recovery::choose),
        )
        .route("/metrics", get(metrics))
        .route("/.well-known/passerelle-keys.json", get(keys))
        .route("/v", get(crate::http::pages::check::by_code))
        .route("/v/{token}", get(crate::http::pages::check::by_token))
        .route("/V/{token}", get(crate::http::pages::check::by_token))
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let json = json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], (*json).clone()) }
            }),
        )
}

/// Liveness and database reachability.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match sqlx::query("SELECT 1").execute(state.db.pool()).await {
        Ok(_) => {
            (StatusCode::OK, axum::Json(serde_json::json!({"status": "ok", "database": state.db.engine().as_str()})))
                .into_response()
        }
        Err(e) => ApiError::unavailable(e).into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    crate::http::metrics::outbox_gauges(&state.db).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::http::metrics::render(&state.db))
}

/// The operator's public keys, for offline verification of voucher signatures.
async fn keys(State(state): State<AppState>) -> impl IntoResponse {
    axum::Json(serde_json::json!({ "keys": state.keys.public_keys() }))
}

/// The scan page's script: camera, offline checks and queue (served as a file: the CSP forbids
/// inline scripts).
async fn scan_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")],
        include_str!("../assets/scan.js"),
    )
}

/// The pages' stylesheet (no inline style or script: the CSP forbids them).
async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../assets/site.css"),
    )
}
