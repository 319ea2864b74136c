//! The error of a CLI command.

/// A command failure shown to the person at the terminal.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

impl CliError {
    pub fn new(msg: impl std::fmt::Display) -> Self {
        CliError(msg.to_string())
    }
}
