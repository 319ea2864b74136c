//! The Passerelle application: CLI, configuration, HTTP server and the identity layer that
//! compose the `ledger`, `issuer` and `redeemer` crates.

pub mod app;
pub mod audit;
pub mod cli;
pub mod commands;
pub mod config;
pub mod continuity;
pub mod html;
pub mod http;
pub mod identity;
pub mod notify;
pub mod server;
