//! What a use case can answer instead of its result. The HTTP edge maps it once to a problem
//! document (`crate::http::problem`); pages and the CLI show its French text.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum AppError {
    /// The policy table refuses the action to this caller.
    #[error("Votre rôle ne permet pas cette action.")]
    Forbidden,
    /// The object does not exist or is not the caller's to see.
    #[error("Cette ressource n'existe pas ou ne vous est pas accessible.")]
    NotFound,
    /// The request is wrong (a stable code and a French sentence).
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// The request itself is malformed (a query parameter out of its values): 400.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The request clashes with the state of things.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Too many requests: try again after this many seconds.
    #[error("Trop de requêtes : réessayez dans {0} seconde(s).")]
    Limited(u64),
    /// Something failed that the caller cannot fix (a document that could not be written);
    /// logged, and answered as an internal error.
    #[error("L'opération n'a pas abouti ; rien n'a été modifié.")]
    Internal(String),
    #[error(transparent)]
    Issuer(#[from] issuer::IssuerError),
    #[error(transparent)]
    Redeem(#[from] redeemer::redeem::RedeemError),
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    #[error(transparent)]
    Organisation(#[from] issuer::organisations::OrganisationError),
    #[error(transparent)]
    User(#[from] crate::identity::users::UserError),
    #[error(transparent)]
    Settlement(#[from] settlement::runs::SettlementError),
    #[error(transparent)]
    Statistics(#[from] statistics::StatsError),
    /// A document (PDF) could not be drawn.
    #[error(transparent)]
    Print(#[from] issuer::pdf::PrintError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl AppError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::Invalid { code, message: message.into() }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::BadRequest { code, message: message.into() }
    }

    pub fn internal(err: impl std::fmt::Display) -> AppError {
        AppError::Internal(err.to_string())
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::Conflict { code, message: message.into() }
    }
}

pub type AppResult<T> = Result<T, AppError>;
