//! Redeeming side of Passerelle: sites, catalogue, verification and redemption.

pub mod bank;
pub mod catalogue;
pub mod import;
pub mod redeem;
pub mod sites;
