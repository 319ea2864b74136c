//! Everything the issuing side can refuse or fail at.

use ledger::LedgerError;

#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    /// Bad input, with a stable code and a French message.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// The request is valid but the object's state does not allow it.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("introuvable")]
    NotFound,
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("génération du PDF impossible : {0}")]
    Print(String),
}

impl IssuerError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        IssuerError::Invalid { code, message: message.into() }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        IssuerError::Conflict { code, message: message.into() }
    }

    pub fn code(&self) -> &'static str {
        match self {
            IssuerError::Invalid { code, .. } | IssuerError::Conflict { code, .. } => code,
            IssuerError::NotFound => "not_found",
            IssuerError::Ledger(e) => e.code(),
            IssuerError::Db(_) => "database_error",
            IssuerError::Print(_) => "print_error",
        }
    }
}

pub type Result<T> = std::result::Result<T, IssuerError>;
