//! Orders: create, confirm, cancel, issue, list, read.

use crate::audit;
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use issuer::orders::{self, FeeTerms, NewOrder, Order};
use issuer::organisations::OrgKind;
use serde::Serialize;
use utoipa::ToSchema;

/// An order as the API shows it (the request body of `POST /api/v1/orders` has the same
/// fields, from `label` to `unused_policy`).
#[derive(Serialize, ToSchema)]
pub struct OrderView {
    id: i64,
    label: String,
    /// draft, confirmed, issuing, issued, cancelled
    status: String,
    #[schema(value_type = Vec<Object>)]
    funders: Vec<orders::FunderShare>,
    books: u32,
    vouchers_per_book: u32,
    face_value_cents: i64,
    face_total_cents: i64,
    #[schema(value_type = String)]
    valid_from: chrono::NaiveDate,
    #[schema(value_type = String)]
    valid_until: chrono::NaiveDate,
    grace_days: u32,
    territory: Vec<String>,
    allowed_categories: Option<Vec<String>>,
    /// refund or breakage
    unused_policy: String,
    issuance_fee_bps: u32,
    redemption_fee_bps: u32,
    created_at: chrono::DateTime<chrono::Utc>,
    issued_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<Order> for OrderView {
    fn from(o: Order) -> Self {
        OrderView {
            id: o.id,
            face_total_cents: o.face_total().0,
            label: o.label,
            status: o.status.as_str().to_owned(),
            funders: o.funders,
            books: o.books,
            vouchers_per_book: o.vouchers_per_book,
            face_value_cents: o.face_value_cents,
            valid_from: o.valid_from,
            valid_until: o.valid_until,
            grace_days: o.grace_days,
            territory: o.territory.codes().to_vec(),
            allowed_categories: o.allowed_categories.map(|c| c.iter().map(|c| c.slug().to_owned()).collect()),
            unused_policy: o.unused_policy.as_str().to_owned(),
            issuance_fee_bps: o.fees.issuance_fee_bps,
            redemption_fee_bps: o.fees.redemption_fee_bps,
            created_at: o.created_at,
            issued_at: o.issued_at,
        }
    }
}

/// The order if the caller may see it: the operator sees all, a funder the orders it funds.
pub async fn visible_order(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Order> {
    let order = orders::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    if caller.is_operator() || (caller.kind == OrgKind::Funder && order.is_funded_by(caller.organisation_id)) {
        Ok(order)
    } else {
        Err(ApiError::not_found())
    }
}

/// Orders: all for the operator, its own for a funder.
#[utoipa::path(get, path = "/api/v1/orders", tag = "commandes", responses((status = 200, body = Vec<OrderView>)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<OrderView>>> {
    let scope = (!caller.is_operator()).then_some(caller.organisation_id);
    Ok(Json(orders::list(&state.db, scope).await?.into_iter().map(Into::into).collect()))
}

/// Creates a draft order (operator managers). Fee terms in force are frozen into it.
#[utoipa::path(post, path = "/api/v1/orders", tag = "commandes", request_body(content = Object, description = "label, funders [{funder_id, share_bps}], books, vouchers_per_book (10), face_value_cents (1000), valid_from, valid_until, grace_days (31), territory [codes], allowed_categories, unused_policy (refund|breakage)"),
    responses((status = 201, body = OrderView)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewOrder>,
) -> ApiResult<(StatusCode, Json<OrderView>)> {
    let fees = FeeTerms {
        issuance_fee_bps: state.config.issuance_fee_bps,
        redemption_fee_bps: state.config.redemption_fee_bps,
    };
    let mut tx = state.db.begin().await?;
    let order = orders::create(&mut tx, &body, fees, Some(caller.user_id)).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "order.create",
        "order",
        order.id,
        serde_json::json!({"label": order.label, "books": order.books}),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(order.into())))
}

/// One order (operator, or its funders).
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "commandes", responses((status = 200, body = OrderView)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<OrderView>> {
    Ok(Json(visible_order(&state, &caller, id).await?.into()))
}

/// Blocks the books of an issued order that no beneficiary has received yet: they are cancelled
/// and their value refunded or kept per the order's policy (managers of the operator or of one of
/// the order's funders).
#[utoipa::path(post, path = "/api/v1/orders/{id}/block", tag = "commandes", responses((status = 200, body = Object)))]
pub async fn block(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    visible_order(&state, &caller, id).await?;
    if caller.role != crate::identity::Role::Manager {
        return Err(ApiError::forbidden());
    }
    let mut tx = state.db.begin().await?;
    let (books, value) = issuer::expiry::block_undistributed(&mut tx, id).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "order.block",
        "order",
        id,
        serde_json::json!({"books": books, "value_cents": value.0}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(serde_json::json!({"books_blocked": books, "value_cents": value.0})))
}

/// Confirms a draft order (operator managers).
#[utoipa::path(post, path = "/api/v1/orders/{id}/confirm", tag = "commandes", responses((status = 200, body = OrderView)))]
pub async fn confirm(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<OrderView>> {
    let mut tx = state.db.begin().await?;
    let order = orders::confirm(&mut tx, id).await?;
    audit::record(&mut tx, caller.actor(), "order.confirm", "order", id, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(Json(order.into()))
}

/// Cancels a draft or confirmed order (operator managers).
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "commandes", responses((status = 200, body = OrderView)))]
pub async fn cancel(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<Json<OrderView>> {
    let mut tx = state.db.begin().await?;
    let order = orders::cancel(&mut tx, id).await?;
    audit::record(&mut tx, caller.actor(), "order.cancel", "order", id, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(Json(order.into()))
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
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    crate::http::problem::Query(range): crate::http::problem::Query<BookRange>,
) -> ApiResult<axum::response::Response> {
    visible_order(&state, &caller, id).await?;
    let pdf = issuer::print_run::render_range(&state.db, id, &state.config.public_url, range.from, range.to).await?;
    Ok(crate::http::download("application/pdf", &format!("commande-{id}-carnets.pdf"), pdf))
}

/// Starts issuing a confirmed order (operator managers): books and signed vouchers are generated
/// in the background; the order becomes `issued` when done. Answers 202 with the order.
#[utoipa::path(post, path = "/api/v1/orders/{id}/issue", tag = "commandes", responses((status = 202, body = OrderView)))]
pub async fn issue(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<OrderView>)> {
    let order = orders::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    if !matches!(
        order.status,
        orders::OrderStatus::Confirmed | orders::OrderStatus::Issuing | orders::OrderStatus::Issued
    ) {
        return Err(ApiError::conflict(
            "invalid_order_status",
            format!("la commande {id} est « {} » : confirmez-la d'abord", order.status.as_str()),
        ));
    }
    {
        let mut tx = state.db.begin().await?;
        audit::record(&mut tx, caller.actor(), "order.issue", "order", id, serde_json::json!({})).await?;
        tx.commit().await?;
    }
    let (db, keys) = (state.db.clone(), state.keys.clone());
    tokio::spawn(async move {
        match issuer::issuance::issue(&db, &keys, id, &|_, _| {}).await {
            Ok(s) => tracing::info!(order = id, vouchers = s.vouchers, "commande émise"),
            Err(e) => tracing::error!(order = id, error = %e, "émission interrompue ; relancez-la pour reprendre"),
        }
    });
    Ok((StatusCode::ACCEPTED, Json(orders::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?.into())))
}
