//! The error of every statistics operation.

use crate::period::PeriodError;

/// Why statistics could not be read or refreshed.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("base de données : {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Period(#[from] PeriodError),
}
