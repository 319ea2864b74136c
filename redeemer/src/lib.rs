//! Redeeming side of Passerelle: sites, catalogue, verification and redemption.

pub mod anomalies;
pub mod bank;
pub mod camera;
pub mod catalogue;
mod group_commit;
pub mod history;
pub mod import;
pub mod listing;
pub mod outcome;
mod record;
pub mod redeem;
mod refusal;
pub mod sites;
mod voucher_row;

/// French local time (Europe/Paris), shared with the issuer.
pub use issuer::local_time;
