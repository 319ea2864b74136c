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
