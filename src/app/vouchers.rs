//! The public voucher check, reached from the QR code or a typed code: no login, a rate limit
//! per client address (typed codes are checked online, so guessing must be hopeless); and, for a
//! valid voucher, the accredited places where it can be used.

use crate::app::{Act, App, AppResult, Caller};
use issuer::check::{self, VoucherCheck};
use serde::Serialize;
use std::net::IpAddr;
use utoipa::ToSchema;

/// What the check says about a voucher, for the person holding it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckView {
    pub valid: bool,
    pub reason: Option<String>,
    /// Plain French for the person holding the voucher.
    pub message: String,
    pub code: Option<String>,
    pub face_value_cents: Option<i64>,
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_from: Option<chrono::NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_until: Option<chrono::NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub last_redemption_day: Option<chrono::NaiveDate>,
    pub book_serial: Option<String>,
    pub vouchers_in_book: Option<u32>,
    pub vouchers_left_in_book: Option<u32>,
    pub territory: Vec<String>,
    pub territory_label: Option<String>,
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

/// One place where a voucher holder can go.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaceView {
    pub site: String,
    pub place: String,
    pub address: String,
    pub commune: String,
    /// Opening hours in French words.
    pub hours: String,
    /// Labels of the services offered, in catalogue order.
    pub services: Vec<String>,
}

/// At most this many places are listed.
const PLACES_LISTED: usize = 30;

/// Checks a voucher: the full QR URL, the bare token or the typed code. Counts against the limit
/// of checks of the client address `client`.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn check(app: &App, caller: &Caller, client: IpAddr, code: &str) -> AppResult<CheckView> {
    caller.require(Act::CheckVoucher)?;
    app.limits.check_voucher(client)?;
    let today = ledger::time::now().date_naive();
    Ok(check::check(&app.db, &app.keys, code, today).await?.into())
}

/// The accredited places of a territory (its départements' codes; all places if empty), by
/// commune and name, where a voucher of it can be used today.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn places(app: &App, caller: &Caller, territory: &[String]) -> AppResult<Vec<PlaceView>> {
    caller.require(Act::CheckVoucher)?;
    let today = issuer::local_time::day(ledger::time::now());
    Ok(redeemer::listing::accredited_places(&app.db, territory, today, PLACES_LISTED)
        .await?
        .into_iter()
        .map(|p| PlaceView {
            site: p.site,
            place: p.place,
            address: p.address,
            commune: p.commune,
            hours: p.hours,
            services: p.services,
        })
        .collect())
}
