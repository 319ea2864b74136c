//! The application layer: one function per business action (a *use case*). Each takes the
//! acting [`Caller`], checks its action in the one policy table ([`policy`]), runs its
//! transaction, writes its audit entry in that transaction and returns a typed view.
//!
//! Routes (`crate::http::routes`), pages (`crate::http::pages`) and CLI commands
//! (`crate::commands`) only adapt input and output around these functions: whoever calls, the
//! same rule decides, the same audit line is written. docs/architecture.md shows how to add one.

pub mod anomalies;
pub mod audit_trail;
pub mod books;
pub mod caller;
pub mod catalogue;
pub mod error;
pub mod funder_account;
pub mod invoices;
pub mod ledger;
pub mod limits;
pub mod mail;
pub mod orders;
pub mod organisations;
pub mod passages;
pub mod passwords;
pub mod payments;
pub mod policy;
pub mod profiles;
pub mod settlements;
pub mod sites;
pub mod statistics;
pub mod tokens;
pub mod vouchers;

pub use caller::Caller;
pub use error::{AppError, AppResult};
pub use policy::{Access, Act};

use crate::config::Config;
use issuer::keys::KeyRing;
use std::sync::Arc;

/// What every use case can reach: the database, the configuration, the signing keys, the rate
/// limits and the cache of bearer tokens. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub db: ::ledger::Db,
    pub config: Arc<Config>,
    pub keys: Arc<KeyRing>,
    pub limits: limits::Limits,
    pub tokens: Arc<crate::identity::tokens::TokenCache>,
}

impl App {
    /// The application on a database, with the configuration's rate limits and token cache.
    pub fn new(db: ::ledger::Db, config: Config, keys: KeyRing) -> App {
        let limits = limits::Limits::new(60, config.scans_per_minute_per_user, config.scans_per_minute_per_site);
        let tokens = Arc::new(crate::identity::tokens::TokenCache::new(config.token_cache));
        App { db, config: Arc::new(config), keys: Arc::new(keys), limits, tokens }
    }
}
