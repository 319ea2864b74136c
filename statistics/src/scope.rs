//! Whose activity figures and tables cover: the operator (all or one funder's orders), a funder
//! or a site.

use serde::{Deserialize, Serialize};

/// Whose activity the figures cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    /// Everything, or the orders (co-)funded by one funder.
    Operator { funder: Option<i64> },
    /// The orders this funder funds, alone or with others (their whole value, not its share).
    Funder { id: i64 },
    /// A site's own activity: its redemptions, and the people whose first use was there.
    Site { id: i64 },
}

impl Scope {
    pub(crate) fn funder(self) -> Option<i64> {
        match self {
            Scope::Operator { funder } => funder,
            Scope::Funder { id } => Some(id),
            Scope::Site { .. } => None,
        }
    }

    pub(crate) fn site(self) -> Option<i64> {
        match self {
            Scope::Site { id } => Some(id),
            _ => None,
        }
    }
}
