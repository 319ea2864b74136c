//! Orders: create, confirm, cancel, issue, block, print, list, read — adapters of
//! `crate::app::orders`.

use crate::app::orders::{self, Blocked, FunderShareView, OrderView};
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json, Path, Problem, Query};
use axum::extract::State;
use axum::http::StatusCode;
use issuer::orders::NewOrder;
use serde::Deserialize;
use utoipa::ToSchema;

/// Orders: all for the operator, its own for a funder.
#[utoipa::path(get, path = "/api/v1/orders", operation_id = "list_orders", tag = "commandes", responses((status = 200, body = Vec<OrderView>)))]
pub async fn list(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<OrderView>>> {
    Ok(Json(orders::list(&app, &caller).await?))
}

/// A draft order to create (`issuer::orders::NewOrder` reads it; this documents it).
#[derive(Deserialize, ToSchema)]
#[schema(as = NewOrder)]
#[allow(dead_code)]
pub struct NewOrderDoc {
    label: String,
    /// Who pays what share, in basis points adding up to 10 000.
    funders: Vec<FunderShareView>,
    books: u32,
    /// Default 10.
    #[serde(default)]
    vouchers_per_book: u32,
    /// Default 1 000 (10,00 €).
    #[serde(default)]
    face_value_cents: i64,
    #[schema(format = Date)]
    valid_from: String,
    #[schema(format = Date)]
    valid_until: String,
    /// Days of grace after the last day of validity (default 31).
    #[serde(default)]
    grace_days: u32,
    /// Département codes; none for all of France.
    #[serde(default)]
    territory: Vec<String>,
    /// Service categories the vouchers may pay for; none for all.
    #[serde(default)]
    allowed_categories: Option<Vec<String>>,
    /// refund (default) or breakage
    #[serde(default)]
    unused_policy: String,
}

/// Creates a draft order (operator managers). Fee terms in force are frozen into it.
#[utoipa::path(post, path = "/api/v1/orders", operation_id = "create_order", tag = "commandes", request_body = NewOrderDoc,
    responses((status = 201, body = OrderView), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<NewOrder>,
) -> ApiResult<(StatusCode, Json<OrderView>)> {
    Ok((StatusCode::CREATED, Json(orders::create(&app, &caller, &body).await?)))
}

/// One order (operator, or its funders).
#[utoipa::path(get, path = "/api/v1/orders/{id}", operation_id = "get_order", tag = "commandes", responses((status = 200, body = OrderView)))]
pub async fn get(State(app): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<OrderView>> {
    Ok(Json(orders::get(&app, &caller, id).await?))
}

/// Blocks the books of an issued order that no beneficiary has received yet: they are cancelled
/// and their value refunded or kept per the order's policy (managers of the operator or of one of
/// the order's funders).
#[utoipa::path(post, path = "/api/v1/orders/{id}/block", tag = "commandes", responses((status = 200, body = Blocked)))]
pub async fn block(State(app): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<Blocked>> {
    Ok(Json(orders::block(&app, &caller, id).await?))
}

/// Confirms a draft order (operator managers).
#[utoipa::path(post, path = "/api/v1/orders/{id}/confirm", operation_id = "confirm_order", tag = "commandes", responses((status = 200, body = OrderView)))]
pub async fn confirm(State(app): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<OrderView>> {
    Ok(Json(orders::confirm(&app, &caller, id).await?))
}

/// Cancels a draft or confirmed order (operator managers).
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", operation_id = "cancel_order", tag = "commandes", responses((status = 200, body = OrderView)))]
pub async fn cancel(State(app): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<OrderView>> {
    Ok(Json(orders::cancel(&app, &caller, id).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct BookRange {
    /// First book number (default 1).
    from: Option<u32>,
    /// Last book number (default: the last; at most 100 books per file).
    to: Option<u32>,
}

/// Print-ready A4 PDF of an issued order's books: a cover per book, then its vouchers with QR
/// codes and cut marks (operator, or the order's funders). At most 100 books per file.
#[utoipa::path(get, path = "/api/v1/orders/{id}/books.pdf", tag = "commandes", params(BookRange),
    responses((status = 200, content_type = "application/pdf", description = "PDF")))]
pub async fn books_pdf(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(range): Query<BookRange>,
) -> ApiResult<axum::response::Response> {
    let pdf = orders::print(&app, &caller, id, range.from, range.to).await?;
    Ok(crate::http::download("application/pdf", &format!("commande-{id}-carnets.pdf"), pdf))
}

/// Starts issuing a confirmed order (operator managers): books and signed vouchers are generated
/// in the background; the order becomes `issued` when done. Answers 202 with the order.
#[utoipa::path(post, path = "/api/v1/orders/{id}/issue", tag = "commandes", responses((status = 202, body = OrderView)))]
pub async fn issue(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<OrderView>)> {
    Ok((StatusCode::ACCEPTED, Json(orders::issue(&app, &caller, id).await?)))
}
