//! `passerelle`: the binary that composes the ledger, issuer and redeemer crates.

use clap::Parser;
use passerelle::cli::Cli;
use passerelle::commands::dispatch::run;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    run(cli).await
}
