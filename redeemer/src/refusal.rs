//! Why a redemption was refused or failed: a [`Refusal`] (a stable code, French words, the
//! voucher concerned) inside a [`RedeemError`].

use issuer::IssuerError;
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
