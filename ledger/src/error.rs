use crate::AccountCode;

/// Everything the ledger can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("a transaction needs at least two postings")]
    TooFewPostings,
    #[error("posting on {0} has a zero amount")]
    ZeroPosting(AccountCode),
    #[error("postings do not balance: they sum to {0} cents")]
    Unbalanced(i128),
    #[error("amount overflow")]
    Overflow,
    #[error("invalid account code {0:?}: {1}")]
    InvalidAccountCode(String, &'static str),
    #[error("idempotency key {0:?} was already used for a different transaction")]
    IdempotencyConflict(String),
    #[error("account {0} would go below zero")]
    Overdraft(AccountCode),
    #[error("transaction {0} not found")]
    TransactionNotFound(i64),
    #[error("transaction {0} has already been reversed")]
    AlreadyReversed(i64),
    #[error("account {0} not found")]
    AccountNotFound(AccountCode),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl LedgerError {
    /// A stable machine code for the HTTP edge and the CLI.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::TooFewPostings => "ledger_too_few_postings",
            LedgerError::ZeroPosting(_) => "ledger_zero_posting",
            LedgerError::Unbalanced(_) => "ledger_unbalanced",
            LedgerError::Overflow => "ledger_overflow",
            LedgerError::InvalidAccountCode(..) => "ledger_invalid_account",
            LedgerError::IdempotencyConflict(_) => "idempotency_conflict",
            LedgerError::Overdraft(_) => "ledger_overdraft",
            LedgerError::TransactionNotFound(_) => "ledger_transaction_not_found",
            LedgerError::AlreadyReversed(_) => "ledger_already_reversed",
            LedgerError::AccountNotFound(_) => "ledger_account_not_found",
            LedgerError::Invalid(_) => "invalid_input",
            LedgerError::Db(_) | LedgerError::Migrate(_) => "database_error",
        }
    }
}
