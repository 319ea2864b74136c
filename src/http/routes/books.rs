//! Books: assignment to prescribers, hand-over to beneficiaries, cancellation — adapters of
//! `crate::app::books`.

use crate::app::books::{self, Assigned, BookDetail, BookRef, BookView, CancelledView};
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path, Query};
use axum::extract::State;
use issuer::books::{BeneficiaryProfile, BookSelection};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub struct BookQuery {
    /// Books of this order (operator and its funders).
    order_id: Option<i64>,
    /// At most this many (default 500, at most 5000).
    limit: Option<i64>,
}

/// Books: a prescriber's own; the books of an order for the operator and its funders.
#[utoipa::path(get, path = "/api/v1/books", operation_id = "list_books", tag = "carnets", params(BookQuery), responses((status = 200, body = Vec<BookView>)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<BookQuery>,
) -> ApiResult<Json<Vec<BookView>>> {
    Ok(Json(books::list(&app, &caller, q.order_id, q.limit).await?))
}

/// One book and its vouchers (operator, the prescriber holding it, the funders of its order).
#[utoipa::path(get, path = "/api/v1/books/{serial}", operation_id = "get_book", tag = "carnets", responses((status = 200, body = BookDetail)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(serial): Path<String>,
) -> ApiResult<Json<BookDetail>> {
    Ok(Json(books::get(&app, &caller, &serial).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    prescriber_id: i64,
    /// Either {"serials": [...]} or {"order_id": 1, "from": 1, "to": 50}.
    #[schema(value_type = BookSelectionDoc)]
    books: BookSelection,
}

/// Which books: by serial, or a range of an order's book numbers (`issuer::books::BookSelection`
/// reads it; this documents it).
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(as = BookSelection)]
#[allow(dead_code)]
pub enum BookSelectionDoc {
    Serials { serials: Vec<String> },
    Range { order_id: i64, from: u32, to: u32 },
}

/// The anonymous profile recorded at hand-over (`issuer::books::BeneficiaryProfile` reads it; this
/// documents it).
#[derive(Deserialize, ToSchema)]
#[schema(as = BeneficiaryProfile)]
#[allow(dead_code)]
pub struct ProfileDoc {
    /// moins_de_25, 25_39, 40_54, 55_64, 65_74, 75_et_plus
    age_band: String,
    /// INSEE code of the commune of residence.
    commune_insee: String,
    /// excluded, beginner or advanced
    autonomy: String,
    #[serde(default)]
    referral_reason: Option<String>,
}

/// Assigns books to a prescriber organisation (operator).
#[utoipa::path(post, path = "/api/v1/books/assign", tag = "carnets", request_body = Assignment, responses((status = 200, body = Assigned)))]
pub async fn assign(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<Assignment>,
) -> ApiResult<Json<Assigned>> {
    Ok(Json(books::assign(&app, &caller, body.prescriber_id, &body.books).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Handover {
    /// The book, by serial…
    serial: Option<String>,
    /// …or by any of its vouchers, scanned or typed.
    voucher: Option<String>,
    /// The anonymous profile of the person.
    #[schema(value_type = ProfileDoc)]
    profile: BeneficiaryProfile,
}

/// Records the hand-over of a book to a beneficiary (the prescriber holding it). No name, no
/// contact: only the anonymous profile.
#[utoipa::path(post, path = "/api/v1/distributions", tag = "carnets", request_body = Handover, responses((status = 200, body = BookView)))]
pub async fn distribute(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<Handover>,
) -> ApiResult<Json<BookView>> {
    let book = match (body.serial, body.voucher) {
        (Some(serial), None) => BookRef::Serial(serial),
        (None, Some(voucher)) => BookRef::Voucher(voucher),
        _ => return Err(ApiError::unprocessable("invalid_body", "donnez soit serial, soit voucher")),
    };
    Ok(Json(books::hand_over(&app, &caller, &book, &body.profile).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cancellation {
    reason: String,
}

/// Cancels a lost or stolen book (operator, the prescriber holding it, the funders of its
/// order): its active vouchers are cancelled and their value moves per the order's policy.
#[utoipa::path(post, path = "/api/v1/books/{serial}/cancel", operation_id = "cancel_book", tag = "carnets", request_body = Cancellation, responses((status = 200, body = CancelledView)))]
pub async fn cancel(
    State(app): State<AppState>,
    caller: Caller,
    Path(serial): Path<String>,
    Json(body): Json<Cancellation>,
) -> ApiResult<Json<CancelledView>> {
    Ok(Json(books::cancel(&app, &caller, &serial, &body.reason).await?))
}
