//! Runs the command the terminal asked for: loads the configuration, starts the logs, calls the
//! command and turns its outcome into the process's exit code.

use crate::cli::{Cli, Command, TokenCommand};
use crate::commands;
use crate::config::Config;
use std::process::ExitCode;

fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

/// The command of `cli`, run to its end.
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
        Command::Site(cmd) => commands::site::run(&config, cmd).await,
        Command::Mail(cmd) => commands::mail::run(&config, cmd).await,
        Command::Backup { out } => commands::backup::run(&config, &out).await.map(|_| ExitCode::SUCCESS),
        Command::Export { out } => commands::continuity::export(&config, &out).await.map(|_| ExitCode::SUCCESS),
        Command::Import { dir } => commands::continuity::import(&config, &dir).await.map(|_| ExitCode::SUCCESS),
        Command::Invoice(cmd) => commands::settle::invoice(&config, cmd).await.map(|_| ExitCode::SUCCESS),
        Command::Expire { as_of } => commands::issuer::expire(&config, as_of).await.map(|_| ExitCode::SUCCESS),
        Command::Settle { period_end, minimum } => {
            commands::settle::prepare(&config, period_end, minimum).await.map(|_| ExitCode::SUCCESS)
        }
        Command::Settlement(cmd) => commands::settle::run(&config, cmd).await.map(|_| ExitCode::SUCCESS),
        Command::Anomaly(cmd) => commands::site::anomaly(&config, cmd).await.map(|_| ExitCode::SUCCESS),
        Command::Key(cmd) => commands::key(&config, cmd).map(|_| ExitCode::SUCCESS),
        Command::Funder(cmd) => commands::issuer::funder(&config, cmd).await.map(|_| ExitCode::SUCCESS),
        Command::Prescriber(cmd) => commands::issuer::prescriber(&config, cmd).await.map(|_| ExitCode::SUCCESS),
        Command::Order(cmd) => commands::issuer::order(&config, cmd).await.map(|_| ExitCode::SUCCESS),
        Command::Book(cmd) => commands::issuer::book(&config, cmd).await.map(|_| ExitCode::SUCCESS),
        #[cfg(feature = "bench")]
        Command::Bench(cmd) => commands::bench::run(&config, cmd).await.map(|_| ExitCode::SUCCESS),
        #[cfg(feature = "bench")]
        Command::Loadtest { url, plan, clients, seconds } => {
            commands::loadtest::run(&url, &plan, clients, std::time::Duration::from_secs(seconds))
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
