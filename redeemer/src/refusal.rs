//! Why a redemption was refused or failed: [`Refusal`] (a stable code, French words, the
//! voucher concerned) inside [`RedeemError`], and the words a site is told when the voucher
//! validity rule ([`issuer::validity`]) says a voucher cannot be used.

use issuer::IssuerError;
use issuer::validity::Invalid;
use serde::Serialize;

/// Why a redemption was refused: a stable code, French words, and the voucher concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
    pub voucher: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error("{}", .0.message)]
    Refused(Refusal),
    #[error("la clé d'idempotence « {0} » a déjà servi pour une autre demande")]
    IdempotencyConflict(String),
    #[error(transparent)]
    Issuer(#[from] IssuerError),
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// The writing of a batch stopped before it could answer (the process is stopping).
    #[error("l'enregistrement a été interrompu ; réessayez")]
    Interrupted,
}

pub(crate) fn refuse(code: &'static str, message: impl Into<String>, voucher: Option<&str>) -> RedeemError {
    RedeemError::Refused(Refusal { code, message: message.into(), voucher: voucher.map(str::to_owned) })
}

/// The refusal of the voucher read from `input` that cannot be used, in a site's words. The
/// code is [`Invalid::code`], except `unknown` for a voucher not in circulation. (For a voucher
/// already used, the redemption says more when it was used at the same site.)
pub(crate) fn invalid_voucher(invalid: Invalid, input: &str) -> RedeemError {
    let message = match &invalid {
        Invalid::Unreadable(e) => format!("Chèque illisible : {e}."),
        Invalid::NotAuthentic(_) => "Ce chèque n'a pas été émis par Passerelle : ne l'acceptez pas.".to_owned(),
        Invalid::NotIssued => "Ce chèque n'est pas en circulation.".to_owned(),
        Invalid::AlreadyRedeemed => "Ce chèque a déjà été utilisé.".to_owned(),
        Invalid::Cancelled => "Ce chèque a été annulé (carnet perdu ou volé).".to_owned(),
        Invalid::Expired { .. } => "Ce chèque a expiré.".to_owned(),
        Invalid::NotYetValid { valid_from } => {
            format!("Ce chèque n'est valable qu'à partir du {}.", valid_from.format("%d/%m/%Y"))
        }
        Invalid::PastLastDay { last_day } => format!("Ce chèque a expiré le {}.", last_day.format("%d/%m/%Y")),
        Invalid::OutsideTerritory { territory } => {
            format!("Ce chèque n'est utilisable qu'en {}.", territory.describe())
        }
    };
    let code = if invalid == Invalid::NotIssued { "unknown" } else { invalid.code() };
    refuse(code, message, Some(input))
}

#[cfg(test)]
mod tests {
    use super::*;
    use issuer::scan::ScanError;
    use issuer::territory::Territory;

    fn said(invalid: Invalid) -> (&'static str, String, Option<String>) {
        match invalid_voucher(invalid, "saisie") {
            RedeemError::Refused(r) => (r.code, r.message, r.voucher),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_site_is_told_the_same_codes_and_words_as_before_the_shared_rule() {
        let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        let cases = [
            (Invalid::Unreadable(ScanError::Empty), "empty", "Chèque illisible : rien n'a été saisi."),
            (
                Invalid::NotAuthentic(ScanError::Token(issuer::token::TokenError::BadSignature)),
                "bad_signature",
                "Ce chèque n'a pas été émis par Passerelle : ne l'acceptez pas.",
            ),
            (Invalid::NotIssued, "unknown", "Ce chèque n'est pas en circulation."),
            (Invalid::AlreadyRedeemed, "already_redeemed", "Ce chèque a déjà été utilisé."),
            (Invalid::Cancelled, "cancelled", "Ce chèque a été annulé (carnet perdu ou volé)."),
            (Invalid::Expired { last_day: day("2026-01-31") }, "expired", "Ce chèque a expiré."),
            (
                Invalid::NotYetValid { valid_from: day("2025-01-01") },
                "not_yet_valid",
                "Ce chèque n'est valable qu'à partir du 01/01/2025.",
            ),
            (Invalid::PastLastDay { last_day: day("2026-01-31") }, "expired", "Ce chèque a expiré le 31/01/2026."),
            (
                Invalid::OutsideTerritory { territory: Territory::new(["33"]).unwrap() },
                "outside_territory",
                "Ce chèque n'est utilisable qu'en Gironde (33).",
            ),
        ];
        for (invalid, code, message) in cases {
            assert_eq!(said(invalid), (code, message.to_owned(), Some("saisie".to_owned())));
        }
    }
}
