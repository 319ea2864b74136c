//! Issuing side of Passerelle: funders, orders, books, vouchers, codes and signatures.

pub mod keys;
pub mod siret;

pub use siret::Siret;
