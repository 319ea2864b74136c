//! The public voucher check, reached from the QR code or a typed code. No login; rate-limited
//! per client address.

use crate::http::AppState;
use crate::http::problem::{ApiError, ApiResult, Json, Path};
use axum::extract::{ConnectInfo, State};
use issuer::check::{self, VoucherCheck};
use serde::Serialize;
use std::net::SocketAddr;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct CheckView {
    valid: bool,
    reason: Option<String>,
    /// Plain French for the person holding the voucher.
    message: String,
    code: Option<String>,
    face_value_cents: Option<i64>,
    #[schema(value_type = Option<String>)]
    valid_from: Option<chrono::NaiveDate>,
    #[schema(value_type = Option<String>)]
    valid_until: Option<chrono::NaiveDate>,
    #[schema(value_type = Option<String>)]
    last_redemption_day: Option<chrono::NaiveDate>,
    book_serial: Option<String>,
    vouchers_in_book: Option<u32>,
    vouchers_left_in_book: Option<u32>,
    territory: Vec<String>,
    territory_label: Option<String>,
}

impl From<VoucherCheck> for CheckView {
    fn from(c: VoucherCheck) -> Self {
        CheckView {
            valid: c.valid,
            reason: c.reason,
            message: c.message,
            code: c.code,
            face_value_cents: c.face_value_cents,
            valid_from: c.valid_from,
            valid_until: c.valid_until,
            last_redemption_day: c.last_redemption_day,
            book_serial: c.book_serial,
            vouchers_in_book: c.vouchers_in_book,
            vouchers_left_in_book: c.vouchers_left_in_book,
            territory: c.territory,
            territory_label: c.territory_label,
        }
    }
}

/// Checks a voucher: the full QR URL, the bare token or the typed code (public, rate-limited).
#[utoipa::path(get, path = "/api/v1/vouchers/{code}", tag = "chèques", security(()), responses((status = 200, body = CheckView), (status = 429, body = crate::http::problem::Problem)))]
pub async fn check(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(code): Path<String>,
) -> ApiResult<Json<CheckView>> {
    state.limits.check_voucher(peer.ip())?;
    let today = ledger::time::now().date_naive();
    let result = check::check(&state.db, &state.keys, &code, today).await.map_err(ApiError::from)?;
    Ok(Json(result.into()))
}
