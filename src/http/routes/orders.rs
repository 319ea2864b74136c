//! Orders: create, confirm, cancel, issue, block, print, list, read — adapters of
//! `crate::app::orders`.

use crate::app::orders::{self, Blocked, OrderView};
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json, Path, Problem, Query};
use axum::extract::State;
use axum::http::StatusCode;
use issuer::orders::NewOrder;

/// Orders: all for the operator, its own for a funder.
#[utoipa::path(get, path = "/api/v1/orders", tag = "commandes", responses((status = 200, body = Vec<OrderView>)))]
pub async fn list(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<OrderView>>> {
    Ok(Json(orders::list(&app, &caller).await?))
}

/// Creates a draft order (operator managers). Fee terms in force are frozen into it.
#[utoipa::path(post, path = "/api/v1/orders", tag = "commandes", request_body(content = Object, description = "label, funders [{funder_id, share_bps}], books, vouchers_per_book (10), face_value_cents (1000), valid_from, valid_until, grace_days (31), territory [codes], allowed_categories, unused_policy (refund|breakage)"),
    responses((status = 201, body = OrderView), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<NewOrder>,
) -> ApiResult<(StatusCode, Json<OrderView>)> {
    Ok((StatusCode::CREATED, Json(orders::create(&app, &caller, &body).await?)))
}

/// One order (operator, or its funders).
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "commandes", responses((status = 200, body = OrderView)))]
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
#[utoipa::path(post, path = "/api/v1/orders/{id}/confirm", tag = "commandes", responses((status = 200, body = OrderView)))]
pub async fn confirm(State(app): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<OrderView>> {
    Ok(Json(orders::confirm(&app, &caller, id).await?))
}

/// Cancels a draft or confirmed order (operator managers).
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "commandes", responses((status = 200, body = OrderView)))]
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
