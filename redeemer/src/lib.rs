//! Redeeming side of Passerelle: sites, catalogue, verification and redemption.

pub mod anomalies;
pub mod bank;
pub mod catalogue;
pub mod import;
pub mod local_time;
pub mod outcome;
pub mod redeem;
pub mod sites;
