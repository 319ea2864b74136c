//! Organisations, their users, passwords and API tokens.

pub mod password;
pub mod password_tokens;
pub mod sessions;
pub mod tokens;
pub mod users;

pub use issuer::organisations::{self, OrgKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A user's role inside their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages the organisation's members and settings.
    Manager,
    /// Does the organisation's daily work.
    Member,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Manager, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Manager => "manager",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|k| k.as_str() == s)
    }
}
