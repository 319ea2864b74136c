//! The public voucher check (no login): is this voucher valid, what is it worth, until when,
//! how many are left in its book — and never anything about the person who holds it.

use crate::code::VoucherCode;
use crate::error::Result;
use crate::keys::KeyRing;
use crate::scan::{self, Scanned};
use chrono::NaiveDate;
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize)]
pub struct VoucherCheck {
    pub valid: bool,
    /// Stable reason when not valid: `unknown`, `bad_signature`, `already_redeemed`, `expired`,
    /// `not_yet_valid`, `cancelled`, `not_issued`, or a scan reason (`invalid_check_character`…).
    pub reason: Option<String>,
    /// Plain French for the person holding the voucher.
    pub message: String,
    pub code: Option<String>,
    pub face_value_cents: Option<i64>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    /// Last day a site can still accept it (validity plus grace period).
    pub last_redemption_day: Option<NaiveDate>,
    pub book_serial: Option<String>,
    pub vouchers_in_book: Option<u32>,
    pub vouchers_left_in_book: Option<u32>,
    /// Départements where it can be used (empty: anywhere).
    pub territory: Vec<String>,
    pub territory_label: Option<String>,
}

impl VoucherCheck {
    fn refused(reason: &str, message: impl Into<String>) -> Self {
        VoucherCheck {
            valid: false,
            reason: Some(reason.to_owned()),
            message: message.into(),
            code: None,
            face_value_cents: None,
            valid_from: None,
            valid_until: None,
            last_redemption_day: None,
            book_serial: None,
            vouchers_in_book: None,
            vouchers_left_in_book: None,
            territory: Vec::new(),
            territory_label: None,
        }
    }
}

fn fr(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// Checks any scanned or typed input on `today`.
pub async fn check(db: &ledger::Db, keys: &KeyRing, input: &str, today: NaiveDate) -> Result<VoucherCheck> {
    let scanned = match scan::parse(input) {
        Ok(s) => s,
        Err(e) => return Ok(VoucherCheck::refused(e.code(), format!("Ce n'est pas un chèque valable : {e}."))),
    };
    let signed = match &scanned {
        Scanned::Token(t) => match t.verify(keys) {
            Ok(p) => Some(p),
            Err(e) => {
                let e = scan::ScanError::from(e);
                return Ok(VoucherCheck::refused(
                    e.code(),
                    "Ce chèque n'a pas été émis par Passerelle : ne l'acceptez pas.",
                ));
            }
        },
        Scanned::Code(_) => None,
    };
    let code: VoucherCode = scanned.code();
    let row = sqlx::query(
        "SELECT v.status, v.face_value_cents, v.order_id, b.serial, b.id, b.status, o.status, o.valid_from, o.valid_until, \
         o.grace_days, o.territory FROM vouchers v JOIN books b ON b.id = v.book_id JOIN orders o ON o.id = v.order_id WHERE v.code = $1",
    )
    .bind(code.db())
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else {
        return Ok(VoucherCheck::refused("unknown", "Aucun chèque ne porte ce code. Vérifiez la saisie."));
    };
    let status: String = r.try_get(0)?;
    let face: i64 = r.try_get(1)?;
    let order_id: i64 = r.try_get(2)?;
    if let Some(p) = signed
        && (i64::from(p.face_value_cents) != face || i64::from(p.order_id) != order_id)
    {
        return Ok(VoucherCheck::refused("unknown", "Ce chèque ne correspond à aucun chèque émis."));
    }
    let book_id: i64 = r.try_get(4)?;
    let order_status: String = r.try_get(6)?;
    let valid_from: NaiveDate = r.try_get::<String, _>(7)?.parse().unwrap_or_default();
    let valid_until: NaiveDate = r.try_get::<String, _>(8)?.parse().unwrap_or_default();
    let last_day = valid_until + chrono::Duration::days(r.try_get::<i64, _>(9)?);
    let territory = crate::territory::Territory::from_db(&r.try_get::<String, _>(10)?);
    let counts = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0) AS BIGINT) FROM vouchers WHERE book_id = $1",
    )
    .bind(book_id)
    .fetch_one(db.pool())
    .await?;
    let (reason, message) = if order_status != "issued" {
        (Some("not_issued"), "Ce chèque n'est pas encore en circulation.".to_owned())
    } else {
        match status.as_str() {
            "redeemed" => (Some("already_redeemed"), "Ce chèque a déjà été utilisé.".to_owned()),
            "cancelled" => (Some("cancelled"), "Ce chèque a été annulé (carnet perdu ou volé).".to_owned()),
            "expired" => (Some("expired"), format!("Ce chèque a expiré le {}.", fr(last_day))),
            _ if today < valid_from => {
                (Some("not_yet_valid"), format!("Ce chèque sera utilisable à partir du {}.", fr(valid_from)))
            }
            _ if today > last_day => (Some("expired"), format!("Ce chèque a expiré le {}.", fr(last_day))),
            _ => (None, format!("Ce chèque est valable jusqu'au {}.", fr(valid_until))),
        }
    };
    Ok(VoucherCheck {
        valid: reason.is_none(),
        reason: reason.map(str::to_owned),
        message,
        code: Some(code.display()),
        face_value_cents: Some(face),
        valid_from: Some(valid_from),
        valid_until: Some(valid_until),
        last_redemption_day: Some(last_day),
        book_serial: Some(r.try_get(3)?),
        vouchers_in_book: Some(u32::try_from(counts.try_get::<i64, _>(0)?).unwrap_or(0)),
        vouchers_left_in_book: Some(u32::try_from(counts.try_get::<i64, _>(1)?).unwrap_or(0)),
        territory_label: Some(territory.describe()),
        territory: territory.codes().to_vec(),
    })
}
