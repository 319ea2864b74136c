//! The HTTP server: routes, the authorization layer, problem documents, metrics.

pub mod authz;
pub mod contract;
pub mod metrics;
pub mod pages;
pub mod problem;
pub mod request_id;
pub mod routes;

use axum::Router;
use axum::http::StatusCode;
use std::sync::Arc;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// What every handler can reach: the application itself.
pub use crate::app::App as AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Passerelle", description = "Chambre de compensation des chèques de médiation numérique — API v1"),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API routes and their OpenAPI document, built from the same declarations.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) =
        OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(routes::api_routes()).split_for_parts();
    contract::complete(&mut doc);
    (router, doc)
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let (api, doc) = api();
    let doc = Arc::new(doc);
    Router::new()
        .merge(api)
        .merge(routes::system::routes(doc))
        .layer(axum::middleware::from_fn_with_state(state.clone(), authz::authorize))
        .layer(axum::middleware::from_fn(metrics::track))
        .fallback(|| async { problem::ApiError::not_found() })
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.request_timeout))
        .layer(axum::extract::DefaultBodyLimit::max(state.config.body_limit_bytes))
        .layer(axum::middleware::from_fn(security_headers))
        // The path only, never the query: links carry secrets there (`?jeton=` of a password link).
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<axum::body::Body>| {
            tracing::debug_span!("request", method = %req.method(), path = %req.uri().path(), version = ?req.version())
        }))
        // Outermost: the request id spans everything, the trace layer's lines included.
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(state)
}

/// Headers on every answer: a Content-Security-Policy without inline script or style, no
/// framing, no MIME sniffing, no referrer (voucher URLs carry tokens).
async fn security_headers(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::http::HeaderValue;
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(axum::http::header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(axum::http::header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(axum::http::header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// A file to download: its media type, its name, its bytes.
pub fn download(
    content_type: &'static str,
    file_name: &str,
    body: impl Into<axum::body::Body>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")),
        ],
        body.into(),
    )
        .into_response()
}
