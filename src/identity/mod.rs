//! Organisations, their users, passwords and API tokens.

pub mod organisations;
pub mod password;
pub mod tokens;
pub mod users;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an organisation is to Passerelle (DESIGN §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Operator,
    Funder,
    Prescriber,
    Site,
}

impl OrgKind {
    pub const ALL: [OrgKind; 4] = [OrgKind::Operator, OrgKind::Funder, OrgKind::Prescriber, OrgKind::Site];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Operator => "operator",
            OrgKind::Funder => "funder",
            OrgKind::Prescriber => "prescriber",
            OrgKind::Site => "site",
        }
    }

    pub fn parse(s: &str) -> Option<OrgKind> {
        OrgKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

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
