//! The public voucher check (no login): is this voucher valid, what is it worth, until when,
//! how many are left in its book — and never anything about the person who holds it. Whether it
//! is valid is decided by [`crate::validity`], the rule the redemption uses too; the words here
//! are the holder's.

use crate::error::Result;
use crate::keys::KeyRing;
use crate::validity::{self, Invalid, STATE_COLUMN_COUNT, STATE_COLUMNS, VoucherState};
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

/// What the person holding the voucher is told when it cannot be used.
fn holder_message(invalid: &Invalid) -> String {
    match invalid {
        Invalid::Unreadable(e) => format!("Ce n'est pas un chèque valable : {e}."),
        Invalid::NotAuthentic(_) => "Ce chèque n'a pas été émis par Passerelle : ne l'acceptez pas.".to_owned(),
        Invalid::NotIssued => "Ce chèque n'est pas encore en circulation.".to_owned(),
        Invalid::AlreadyRedeemed => "Ce chèque a déjà été utilisé.".to_owned(),
        Invalid::Cancelled => "Ce chèque a été annulé (carnet perdu ou volé).".to_owned(),
        Invalid::Expired { last_day } | Invalid::PastLastDay { last_day } => {
            format!("Ce chèque a expiré le {}.", fr(*last_day))
        }
        Invalid::NotYetValid { valid_from } => format!("Ce chèque sera utilisable à partir du {}.", fr(*valid_from)),
        // Not reached: the public check has no place to compare with the territory.
        Invalid::OutsideTerritory { territory } => {
            format!("Ce chèque n'est utilisable qu'en {}.", territory.describe())
        }
    }
}

/// Checks any scanned or typed input on `today`.
pub async fn check(db: &ledger::Db, keys: &KeyRing, input: &str, today: NaiveDate) -> Result<VoucherCheck> {
    let (code, signed) = match validity::read(keys, input) {
        Ok(read) => read,
        Err(invalid) => return Ok(VoucherCheck::refused(invalid.code(), holder_message(&invalid))),
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {STATE_COLUMNS}, v.face_value_cents, v.order_id, b.serial, b.id \
         FROM vouchers v JOIN books b ON b.id = v.book_id JOIN orders o ON o.id = v.order_id WHERE v.code = $1"
    )))
    .bind(code.db())
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else {
        return Ok(VoucherCheck::refused("unknown", "Aucun chèque ne porte ce code. Vérifiez la saisie."));
    };
    let at = STATE_COLUMN_COUNT;
    let face: i64 = r.try_get(at)?;
    let order_id: i64 = r.try_get(at + 1)?;
    if let Some(p) = signed
        && (i64::from(p.face_value_cents) != face || i64::from(p.order_id) != order_id)
    {
        return Ok(VoucherCheck::refused("unknown", "Ce chèque ne correspond à aucun chèque émis."));
    }
    let book_id: i64 = r.try_get(at + 3)?;
    let state = VoucherState::from_row(&r, 0)?;
    let last_day = state.last_day();
    let counts = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0) AS BIGINT) FROM vouchers WHERE book_id = $1",
    )
    .bind(book_id)
    .fetch_one(db.pool())
    .await?;
    let judged = validity::judge(&state, today, None);
    let message = match &judged {
        Ok(()) => format!("Ce chèque est valable jusqu'au {}.", fr(state.valid_until)),
        Err(invalid) => holder_message(invalid),
    };
    Ok(VoucherCheck {
        valid: judged.is_ok(),
        reason: judged.err().map(|invalid| invalid.code().to_owned()),
        message,
        code: Some(code.display()),
        face_value_cents: Some(face),
        valid_from: Some(state.valid_from),
        valid_until: Some(state.valid_until),
        last_redemption_day: Some(last_day),
        book_serial: Some(r.try_get(at + 2)?),
        vouchers_in_book: Some(u32::try_from(counts.try_get::<i64, _>(0)?).unwrap_or(0)),
        vouchers_left_in_book: Some(u32::try_from(counts.try_get::<i64, _>(1)?).unwrap_or(0)),
        territory_label: Some(state.territory.describe()),
        territory: state.territory.codes().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::ScanError;

    #[test]
    fn the_holder_is_told_the_same_words_as_before_the_shared_rule() {
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let cases = [
            (Invalid::Unreadable(ScanError::Empty), "empty", "Ce n'est pas un chèque valable : rien n'a été saisi."),
            (
                Invalid::NotAuthentic(ScanError::Token(crate::token::TokenError::UnknownKey)),
                "unknown_key",
                "Ce chèque n'a pas été émis par Passerelle : ne l'acceptez pas.",
            ),
            (Invalid::NotIssued, "not_issued", "Ce chèque n'est pas encore en circulation."),
            (Invalid::AlreadyRedeemed, "already_redeemed", "Ce chèque a déjà été utilisé."),
            (Invalid::Cancelled, "cancelled", "Ce chèque a été annulé (carnet perdu ou volé)."),
            (Invalid::Expired { last_day: day("2026-01-31") }, "expired", "Ce chèque a expiré le 31/01/2026."),
            (Invalid::PastLastDay { last_day: day("2026-01-31") }, "expired", "Ce chèque a expiré le 31/01/2026."),
            (
                Invalid::NotYetValid { valid_from: day("2025-01-01") },
                "not_yet_valid",
                "Ce chèque sera utilisable à partir du 01/01/2025.",
            ),
        ];
        for (invalid, code, message) in cases {
            assert_eq!((invalid.code(), holder_message(&invalid).as_str()), (code, message));
        }
    }
}
