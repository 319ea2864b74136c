//! `passerelle ledger …`

use crate::cli::LedgerCommand;
use crate::commands::CliError;
use crate::commands::connect_and_migrate;
use crate::config::Config;
use ledger::{AccountCode, Cents};
use std::process::ExitCode;

pub async fn run(config: &Config, cmd: LedgerCommand) -> Result<ExitCode, CliError> {
    let db = connect_and_migrate(config).await?;
    let code = match cmd {
        LedgerCommand::Verify { json } => {
            let mut report = ledger::verify::verify(&db).await.map_err(CliError::new)?;
            issuer::invariants::check(&db, &mut report).await.map_err(CliError::new)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            } else {
                println!(
                    "{} transactions, {} écritures, {} comptes, {} sceaux ({} transactions pas encore scellées).",
                    report.transactions, report.postings, report.accounts, report.seals, report.unsealed
                );
                if report.is_ok() {
                    println!("Grand livre vérifié : tout concorde.");
                } else {
                    if let Some(id) = report.first_bad_transaction() {
                        println!("Première transaction qui ne concorde plus : {id}");
                    }
                    println!("{} problème(s) :", report.problem_count);
                    for p in &report.problems {
                        println!("  [{}] {}", p.code, p.message);
                    }
                }
            }
            if report.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        LedgerCommand::TrialBalance { as_of } => {
            let tb = ledger::query::trial_balance(&db, as_of).await.map_err(CliError::new)?;
            println!("{:<28} {:>10} {:>20}", "compte", "nature", "solde");
            for a in &tb.accounts {
                println!("{:<28} {:>10} {:>20}", a.account.as_str(), a.nature.as_str(), a.natural.to_french());
            }
            println!("{:<28} {:>10} {:>20}", "total (débits − crédits)", "", tb.total.to_french());
            ExitCode::SUCCESS
        }
        LedgerCommand::Statement { account, from, to } => {
            let account: AccountCode = account.parse().map_err(CliError::new)?;
            let s = ledger::query::statement(&db, &account, from, to).await.map_err(CliError::new)?;
            println!("Relevé du compte {} ({})", s.account, s.nature.as_str());
            println!("Solde d'ouverture : {}", s.opening.to_french());
            for l in &s.lines {
                println!(
                    "{}  n°{:<8} {:<16} {:>16} {:>18}  {}",
                    l.at.format("%d/%m/%Y %H:%M"),
                    l.transaction_id,
                    l.kind,
                    Cents(l.amount.0).to_french(),
                    l.running_balance.to_french(),
                    l.memo
                );
            }
            println!("Solde de clôture : {}", s.closing.to_french());
            ExitCode::SUCCESS
        }
        LedgerCommand::Seal => {
            let n = ledger::seal::seal_all(&db, 5_000).await.map_err(CliError::new)?;
            println!("{n} transaction(s) scellée(s).");
            ExitCode::SUCCESS
        }
    };
    db.close().await;
    Ok(code)
}
