//! Issuing side of Passerelle: funders, orders, books, vouchers, codes and signatures.

pub mod code;
pub mod keys;
pub mod print;
pub mod scan;
pub mod siret;
pub mod territory;
pub mod token;

pub use siret::Siret;
