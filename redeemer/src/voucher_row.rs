//! A voucher as the redemption loads it: its state for the validity rule
//! ([`issuer::validity`]), what recording it needs (order, face value, fee, book) and what the
//! anomaly rules look at, all read in the round trip that finds it.

use crate::refusal::RedeemError;
use issuer::category;
use issuer::validity::{STATE_COLUMN_COUNT, STATE_COLUMNS, VoucherState};
use sqlx::Row;
use sqlx::any::AnyRow;

pub(crate) struct VoucherRow {
    pub(crate) id: i64,
    pub(crate) book_id: i64,
    /// Other sites where the book was used on the day of the service.
    pub(crate) book_other_sites: i64,
    pub(crate) order_id: i64,
    pub(crate) face: i64,
    /// What the validity rule judges.
    pub(crate) state: VoucherState,
    pub(crate) categories: Option<Vec<category::Category>>,
    pub(crate) redemption_fee_bps: u32,
}

/// The voucher columns [`voucher_from_row`] reads (tables `v` vouchers and `o` orders), with
/// the number of other sites that used the voucher's book between the instants `$from` and
/// `$to` (placeholders), for the anomaly rules, in the same round trip.
pub(crate) fn voucher_columns(site: &str, from: &str, to: &str) -> String {
    format!(
        "v.id, v.order_id, v.face_value_cents, {STATE_COLUMNS}, o.allowed_categories, o.redemption_fee_bps, v.book_id, \
         (SELECT COUNT(DISTINCT rv.site_id) FROM redemption_vouchers rv \
          WHERE rv.book_id = v.book_id AND rv.site_id <> {site} AND rv.performed_at >= {from} AND rv.performed_at < {to})"
    )
}

/// A voucher from the columns of [`voucher_columns`] starting at `at`; `None` when no voucher
/// matched (a left join).
pub(crate) fn voucher_from_row(row: &AnyRow, at: usize) -> Result<Option<VoucherRow>, RedeemError> {
    let Some(id) = row.try_get::<Option<i64>, _>(at)? else { return Ok(None) };
    let after = at + 3 + STATE_COLUMN_COUNT;
    let categories: Option<String> = row.try_get(after)?;
    Ok(Some(VoucherRow {
        id,
        book_id: row.try_get(after + 2)?,
        book_other_sites: row.try_get(after + 3)?,
        order_id: row.try_get(at + 1)?,
        face: row.try_get(at + 2)?,
        state: VoucherState::from_row(row, at + 3)?,
        categories: categories.map(|c| category::from_db(&c)),
        redemption_fee_bps: u32::try_from(row.try_get::<i64, _>(after + 1)?).unwrap_or(0),
    }))
}
