//! The public voucher check, reached from the QR code or a typed code — adapter of
//! `crate::app::vouchers`. No login; rate-limited per client address.

use crate::app::Caller;
use crate::app::vouchers::{self, CheckView};
use crate::http::AppState;
use crate::http::problem::{ApiResult, Json, Path, Problem};
use axum::extract::{ConnectInfo, State};
use std::net::SocketAddr;

/// Checks a voucher: the full QR URL, the bare token or the typed code (public, rate-limited).
#[utoipa::path(get, path = "/api/v1/vouchers/{code}", tag = "chèques", security(()), responses((status = 200, body = CheckView), (status = 429, body = Problem)))]
pub async fn check(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(code): Path<String>,
) -> ApiResult<Json<CheckView>> {
    Ok(Json(vouchers::check(&app, &Caller::anonymous(), peer.ip(), &code).await?))
}
