//! Double-entry core of Passerelle (DESIGN §4).
//!
//! Amounts are integer euro cents ([`Cents`]); every transaction balances; entries are
//! append-only and sealed into a hash chain; [`verify::verify`] recomputes everything.
//! The crate knows nothing of HTTP: the binary composes it.

pub mod account;
pub mod db;
pub mod error;
pub mod money;
pub mod post;
pub mod query;
pub mod seal;
pub mod split;
mod stored;
pub mod time;
pub mod transaction;
pub mod verify;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use account::{AccountCode, Nature};
pub use db::{Db, Engine};
pub use error::LedgerError;
pub use money::Cents;
pub use post::{Posted, post, post_batch_in, post_in, reverse_in};
pub use transaction::{NewTransaction, Posting};

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
