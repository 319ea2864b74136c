//! `passerelle mail`: delivers the outbox once, lists the messages.

use crate::cli::MailCommand;
use crate::commands::{CliError, connect_and_migrate};
use crate::config::Config;
use crate::notify::{outbox, sender, transport::Transport};
use std::process::ExitCode;

pub async fn run(config: &Config, cmd: MailCommand) -> Result<ExitCode, CliError> {
    let db = connect_and_migrate(config).await?;
    match cmd {
        MailCommand::Send => {
            let transport = Transport::from_config(config).map_err(CliError::new)?;
            let report = sender::deliver_due(&db, &transport, &config.mail_from, ::ledger::time::now())
                .await
                .map_err(CliError::new)?;
            println!(
                "{} courriel(s) remis, {} en échec (nouvel essai plus tard) — {}.",
                report.sent,
                report.failed,
                transport.describe()
            );
            Ok(if report.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        MailCommand::List { limit } => {
            for m in outbox::list(&db, limit.clamp(1, 1000)).await.map_err(CliError::new)? {
                println!(
                    "{:>6}  {}  {:<8}  {:<15}  essais {}  {}{}",
                    m.id,
                    m.created_at.format("%Y-%m-%d %H:%M"),
                    m.state().as_str(),
                    m.kind,
                    m.attempts,
                    m.subject,
                    m.last_error.map(|e| format!("  [{e}]")).unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
