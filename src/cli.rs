//! Command-line interface.

use crate::commands;
use crate::config::Config;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "passerelle", version, about = "Chambre de compensation des chèques de médiation numérique")]
pub struct Cli {
    /// Configuration file (default: ./passerelle.toml if it exists). Environment variables override it.
    #[arg(long, global = true, value_name = "FICHIER")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the database, run migrations, generate the signing key and the first operator admin.
    Init {
        /// Email address of the first operator administrator.
        #[arg(long, default_value = "admin@passerelle.local")]
        admin_email: String,
        /// Name of the operator organisation.
        #[arg(long, default_value = "Passerelle — chambre de compensation")]
        organisation: String,
    },
    /// Run pending database migrations.
    Migrate,
    /// Start the HTTP server.
    Serve,
    /// Start a fresh demo on its own SQLite file, with realistic data, and print the logins.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Demo database file (replaced at each start).
        #[arg(long, default_value = "passerelle-demo.db")]
        database: PathBuf,
        /// Seed the database and exit without serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Inspect and check the ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Load generators for the benchmarks in bench/.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Post three-posting redemption transactions from concurrent clients on DATABASE_URL.
    Ledger {
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Duration of the run in seconds.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Number of distinct orders drawn on.
        #[arg(long, default_value_t = 200)]
        orders: i64,
        /// Number of distinct sites paid.
        #[arg(long, default_value_t = 1000)]
        sites: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Recompute seals, balances and invariants; exit status 1 if anything does not match.
    Verify {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print every account's balance and the total (always zero).
    TrialBalance {
        /// Balances at this past instant (RFC 3339, e.g. 2026-01-31T23:59:59Z).
        #[arg(long)]
        as_of: Option<DateTime<Utc>>,
    },
    /// Print an account statement with running balance.
    Statement {
        /// Account code: bank, fees, breakage, payouts:in_transit, funder:ID, order:ID:outstanding, site:ID:payable.
        account: String,
        #[arg(long)]
        from: Option<DateTime<Utc>>,
        #[arg(long)]
        to: Option<DateTime<Utc>>,
    },
    /// Seal every committed transaction not yet sealed (the server does it continuously).
    Seal,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it once.
    Create {
        /// The user's email address.
        #[arg(long)]
        email: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until the token expires (none: no expiry).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

/// A command failure shown to the person at the terminal.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

impl CliError {
    pub fn new(msg: impl std::fmt::Display) -> Self {
        CliError(msg.to_string())
    }
}

fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

pub async fn run(cli: Cli) -> ExitCode {
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(config.log_json);
    let result = match cli.command {
        Command::Init { admin_email, organisation } => {
            commands::init::run(&config, &admin_email, &organisation).await.map(|_| ExitCode::SUCCESS)
        }
        Command::Migrate => commands::migrate(&config).await.map(|_| ExitCode::SUCCESS),
        Command::Serve => commands::serve(config).await.map(|_| ExitCode::SUCCESS),
        Command::Demo { listen, database, no_serve } => {
            commands::demo::run(config, listen, &database, !no_serve).await.map(|_| ExitCode::SUCCESS)
        }
        Command::Ledger(cmd) => commands::ledger::run(&config, cmd).await,
        Command::Bench(BenchCommand::Ledger { clients, seconds, orders, sites }) => {
            commands::bench::ledger(&config, clients, std::time::Duration::from_secs(seconds), orders, sites)
                .await
                .map(|_| ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Create { email, name, expires_in_days }) => {
            commands::token_create(&config, &email, &name, expires_in_days).await.map(|_| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("erreur : {e}");
            ExitCode::FAILURE
        }
    }
}
