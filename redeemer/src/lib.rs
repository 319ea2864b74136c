//! Redeeming side of Passerelle: sites, catalogue, verification and redemption.
//! (In progress: bank details and the catalogue so far.)

pub mod bank;
pub mod catalogue;
