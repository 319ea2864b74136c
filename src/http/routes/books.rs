//! Books: assignment to prescribers, hand-over to beneficiaries, cancellation.

use crate::audit;
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path, Query};
use crate::http::routes::orders::visible_order;
use axum::extract::State;
use issuer::books::{self, BeneficiaryProfile, Book, BookSelection, VoucherLine};
use issuer::organisations::OrgKind;
use issuer::scan;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct BookView {
    id: i64,
    order_id: i64,
    number: u32,
    serial: String,
    /// issued, assigned, distributed, cancelled
    status: String,
    prescriber_id: Option<i64>,
    assigned_at: Option<chrono::DateTime<chrono::Utc>>,
    distributed_at: Option<chrono::DateTime<chrono::Utc>>,
    cancelled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The anonymous profile recorded at hand-over (operator and the prescriber only).
    #[schema(value_type = Option<Object>)]
    profile: Option<BeneficiaryProfile>,
}

fn view(b: Book, show_profile: bool) -> BookView {
    BookView {
        id: b.id,
        order_id: b.order_id,
        number: b.number,
        serial: b.serial,
        status: b.status.as_str().to_owned(),
        prescriber_id: b.prescriber_id,
        assigned_at: b.assigned_at,
        distributed_at: b.distributed_at,
        cancelled_at: b.cancelled_at,
        profile: if show_profile { b.profile } else { None },
    }
}

/// The book if the caller may see it: the operator, the prescriber holding it, the funders of
/// its order. Anything else is answered as if it did not exist.
async fn visible_book(state: &AppState, caller: &Caller, serial: &str) -> ApiResult<Book> {
    let mut conn = state.db.pool().acquire().await?;
    let book = books::by_serial(&mut conn, serial).await?.ok_or_else(ApiError::not_found)?;
    drop(conn);
    let allowed = match caller.kind {
        OrgKind::Operator => true,
        OrgKind::Prescriber => book.prescriber_id == Some(caller.organisation_id),
        OrgKind::Funder => visible_order(state, caller, book.order_id).await.is_ok(),
        OrgKind::Site => false,
    };
    if allowed { Ok(book) } else { Err(ApiError::not_found()) }
}

#[derive(Deserialize, IntoParams)]
pub struct BookQuery {
    /// Books of this order (operator and its funders).
    order_id: Option<i64>,
    /// At most this many (default 500, at most 5000).
    limit: Option<i64>,
}

/// Books: a prescriber's own; the books of an order for the operator and its funders.
#[utoipa::path(get, path = "/api/v1/books", tag = "carnets", params(BookQuery), responses((status = 200, body = Vec<BookView>)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<BookQuery>,
) -> ApiResult<Json<Vec<BookView>>> {
    let limit = q.limit.unwrap_or(500).clamp(1, 5000);
    let (order, prescriber) = match caller.kind {
        OrgKind::Prescriber => (q.order_id, Some(caller.organisation_id)),
        OrgKind::Operator => (q.order_id, None),
        _ => {
            let id = q.order_id.ok_or_else(|| ApiError::bad_request("missing_order", "précisez order_id"))?;
            visible_order(&state, &caller, id).await?;
            (Some(id), None)
        }
    };
    let show = matches!(caller.kind, OrgKind::Operator | OrgKind::Prescriber);
    Ok(Json(books::list(&state.db, order, prescriber, limit).await?.into_iter().map(|b| view(b, show)).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct BookDetail {
    book: BookView,
    #[schema(value_type = Vec<Object>)]
    vouchers: Vec<VoucherLine>,
}

/// One book and its vouchers (operator, the prescriber holding it, the funders of its order).
#[utoipa::path(get, path = "/api/v1/books/{serial}", tag = "carnets", responses((status = 200, body = BookDetail)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(serial): Path<String>,
) -> ApiResult<Json<BookDetail>> {
    let book = visible_book(&state, &caller, &serial).await?;
    let mut conn = state.db.pool().acquire().await?;
    let vouchers = books::vouchers(&mut conn, book.id).await?;
    let show = matches!(caller.kind, OrgKind::Operator | OrgKind::Prescriber);
    Ok(Json(BookDetail { book: view(book, show), vouchers }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    prescriber_id: i64,
    /// Either {"serials": [...]} or {"order_id": 1, "from": 1, "to": 50}.
    #[schema(value_type = Object)]
    books: BookSelection,
}

#[derive(Serialize, ToSchema)]
pub struct Assigned {
    assigned: u64,
}

/// Assigns books to a prescriber organisation (operator).
#[utoipa::path(post, path = "/api/v1/books/assign", tag = "carnets", request_body = Assignment, responses((status = 200, body = Assigned)))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<Assignment>,
) -> ApiResult<Json<Assigned>> {
    let mut tx = state.db.begin().await?;
    let n = books::assign(&mut tx, &body.books, body.prescriber_id).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "books.assign",
        "organisation",
        body.prescriber_id,
        serde_json::json!({"books": n}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(Assigned { assigned: n }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Handover {
    /// The book, by serial…
    serial: Option<String>,
    /// …or by any of its vouchers, scanned or typed.
    voucher: Option<String>,
    /// age_band, commune_insee, autonomy (excluded|beginner|advanced), referral_reason.
    #[schema(value_type = Object)]
    profile: BeneficiaryProfile,
}

/// Records the hand-over of a book to a beneficiary (the prescriber holding it). No name, no
/// contact: only the anonymous profile.
#[utoipa::path(post, path = "/api/v1/distributions", tag = "carnets", request_body = Handover, responses((status = 200, body = BookView)))]
pub async fn distribute(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<Handover>,
) -> ApiResult<Json<BookView>> {
    let mut tx = state.db.begin().await?;
    let book = match (&body.serial, &body.voucher) {
        (Some(serial), None) => books::by_serial(&mut tx, serial).await?,
        (None, Some(input)) => {
            let code = scan::parse(input).map_err(|e| ApiError::unprocessable(e.code(), e))?.code();
            books::by_voucher(&mut tx, code).await?
        }
        _ => return Err(ApiError::unprocessable("invalid_body", "donnez soit serial, soit voucher")),
    }
    .filter(|b| b.prescriber_id == Some(caller.organisation_id))
    .ok_or_else(ApiError::not_found)?;
    let book = books::distribute(&mut tx, book.id, caller.organisation_id, &body.profile, Some(caller.user_id)).await?;
    audit::record(&mut tx, caller.actor(), "book.distribute", "book", &book.serial, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(Json(view(book, true)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cancellation {
    reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct CancelledView {
    book: BookView,
    vouchers_cancelled: u64,
    value_cents: i64,
    ledger_transaction: Option<i64>,
}

/// Cancels a lost or stolen book (operator, the prescriber holding it, the funders of its
/// order): its active vouchers are cancelled and their value moves per the order's policy.
#[utoipa::path(post, path = "/api/v1/books/{serial}/cancel", tag = "carnets", request_body = Cancellation, responses((status = 200, body = CancelledView)))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(serial): Path<String>,
    Json(body): Json<Cancellation>,
) -> ApiResult<Json<CancelledView>> {
    let book = visible_book(&state, &caller, &serial).await?;
    let mut tx = state.db.begin().await?;
    let c = books::cancel(&mut tx, book.id, &body.reason).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "book.cancel",
        "book",
        &c.book.serial,
        serde_json::json!({"reason": body.reason, "value_cents": c.value_cents}),
    )
    .await?;
    tx.commit().await?;
    let show = matches!(caller.kind, OrgKind::Operator | OrgKind::Prescriber);
    Ok(Json(CancelledView {
        book: view(c.book, show),
        vouchers_cancelled: c.vouchers_cancelled,
        value_cents: c.value_cents,
        ledger_transaction: c.ledger_transaction,
    }))
}
