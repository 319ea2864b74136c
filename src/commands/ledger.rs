//! `passerelle ledger …`

use crate::app::ledger::{self as books, VerifyProblem};
use crate::app::{App, Caller};
use crate::cli::LedgerCommand;
use crate::commands::{CliError, open_app, say};
use crate::config::Config;
use ledger::{AccountCode, Cents};
use serde::Serialize;
use std::process::ExitCode;

/// The check's report as `--json` prints it.
#[derive(Serialize)]
struct Report<'a> {
    transactions: u64,
    postings: u64,
    accounts: u64,
    seals: u64,
    unsealed: u64,
    problem_count: u64,
    problems: &'a [VerifyProblem],
}

pub async fn run(config: &Config, cmd: LedgerCommand) -> Result<ExitCode, CliError> {
    let app = open_app(config).await?;
    let code = run_on(&app, cmd).await;
    app.db.close().await;
    code
}

async fn run_on(app: &App, cmd: LedgerCommand) -> Result<ExitCode, CliError> {
    let system = Caller::system();
    let code = match cmd {
        LedgerCommand::Verify { json } => {
            let report = books::verify(app, &system).await.map_err(say)?;
            if json {
                let printed = Report {
                    transactions: report.transactions,
                    postings: report.postings,
                    accounts: report.accounts,
                    seals: report.seals,
                    unsealed: report.unsealed,
                    problem_count: report.problem_count,
                    problems: &report.problems,
                };
                println!("{}", serde_json::to_string_pretty(&printed).unwrap_or_default());
            } else {
                println!(
                    "{} transactions, {} écritures, {} comptes, {} sceaux ({} transactions pas encore scellées).",
                    report.transactions, report.postings, report.accounts, report.seals, report.unsealed
                );
                if report.ok {
                    println!("Grand livre vérifié : tout concorde.");
                } else {
                    if let Some(id) = report.first_bad_transaction {
                        println!("Première transaction qui ne concorde plus : {id}");
                    }
                    println!("{} problème(s) :", report.problem_count);
                    for p in &report.problems {
                        println!("  [{}] {}", p.code, p.message);
                    }
                }
            }
            if report.ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        LedgerCommand::TrialBalance { as_of } => {
            let tb = books::trial_balance(app, &system, as_of).await.map_err(say)?;
            println!("{:<28} {:>10} {:>20}", "compte", "nature", "solde");
            for a in &tb.accounts {
                println!("{:<28} {:>10} {:>20}", a.account, a.nature, Cents(a.natural).to_french());
            }
            println!("{:<28} {:>10} {:>20}", "total (débits − crédits)", "", Cents(tb.total).to_french());
            ExitCode::SUCCESS
        }
        LedgerCommand::Statement { account, from, to } => {
            let code: AccountCode = account.parse().map_err(CliError::new)?;
            let s = books::statement(app, &system, &account, from, to).await.map_err(say)?;
            println!("Relevé du compte {} ({})", s.account, code.nature().as_str());
            println!("Solde d'ouverture : {}", Cents(s.opening).to_french());
            for l in &s.lines {
                println!(
                    "{}  n°{:<8} {:<16} {:>16} {:>18}  {}",
                    l.at.format("%d/%m/%Y %H:%M"),
                    l.transaction_id,
                    l.kind,
                    Cents(l.amount).to_french(),
                    Cents(l.running_balance).to_french(),
                    l.memo
                );
            }
            println!("Solde de clôture : {}", Cents(s.closing).to_french());
            ExitCode::SUCCESS
        }
        LedgerCommand::Seal => {
            let n = ledger::seal::seal_all(&app.db, 5_000).await.map_err(CliError::new)?;
            println!("{n} transaction(s) scellée(s).");
            ExitCode::SUCCESS
        }
    };
    Ok(code)
}
