//! Issuing side of Passerelle: funders, orders, books, vouchers, codes and signatures.

pub mod books;
pub mod category;
pub mod check;
pub mod code;
pub mod error;
pub mod expiry;
pub mod insee;
pub mod invariants;
pub mod invoices;
pub mod issuance;
pub mod keys;
pub mod local_time;
pub mod orders;
pub mod organisations;
pub mod payments;
pub mod pdf;
pub mod print_run;
pub mod profiles;
pub mod scan;
pub mod siret;
pub mod territory;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod token;
pub mod validity;

pub use error::{IssuerError, Result};
pub use insee::InseeCode;
pub use siret::Siret;
