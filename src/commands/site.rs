//! `passerelle site`: import, accreditation, and scanning from the command line.

use crate::app::anomalies::Shown;
use crate::app::passages::Passage;
use crate::app::{self, Caller};
use crate::cli::{AnomalyCommand, SiteCommand};
use crate::commands::{CliError, open_app, say};
use crate::config::Config;
use ::ledger::Cents;
use redeemer::outcome::{Autonomy, Outcome};
use std::process::ExitCode;

pub async fn run(config: &Config, cmd: SiteCommand) -> Result<ExitCode, CliError> {
    let app = open_app(config).await?;
    let system = Caller::system();
    let code = match cmd {
        SiteCommand::Import { file } => {
            let bytes = std::fs::read(&file).map_err(|e| CliError::new(format!("{} : {e}", file.display())))?;
            let report = app::sites::import(&app, &system, &bytes).await.map_err(say)?;
            println!(
                "{} lieu(x) importé(s), {} déjà connu(s), {} erreur(s).",
                report.imported,
                report.unchanged,
                report.errors.len()
            );
            for e in &report.errors {
                println!("  ligne {} — {} : {}", e.line, e.field, e.reason);
            }
            if report.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        SiteCommand::Accredit { id, until, comment } => {
            app::sites::decide(&app, &system, id, "accredited", Some(until), &comment).await.map_err(say)?;
            println!("Lieu n°{id} agréé jusqu'au {}.", until.format("%d/%m/%Y"));
            ExitCode::SUCCESS
        }
        SiteCommand::BankAccount { id, iban, bic, holder } => {
            app::sites::set_bank_account(&app, &system, id, &iban, bic.as_ref(), &holder).await.map_err(say)?;
            println!("Compte de versement du lieu n°{id} : {}.", iban.masked());
            ExitCode::SUCCESS
        }
        SiteCommand::Verify { site, place, service, at, vouchers } => {
            let verdicts =
                app::passages::verify(&app, &Caller::system_for_site(site), site, place, &service, &vouchers, at)
                    .await
                    .map_err(say)?;
            for v in &verdicts {
                match &v.refusal {
                    None => println!("OK      {}", v.input),
                    Some(r) => println!("REFUSÉ  {} — {} ({})", v.input, r.message, r.code),
                }
            }
            if verdicts.iter().all(|v| v.redeemable) { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        SiteCommand::Redeem { site, place, service, key, at, outcome, autonomy_before, autonomy_after, vouchers } => {
            let autonomy = |n: Option<i64>| n.map(Autonomy::try_from).transpose().map_err(CliError::new);
            let outcome = match outcome {
                Some(result) => Some(Outcome {
                    result: result.into(),
                    autonomy_before: autonomy(autonomy_before)?,
                    autonomy_after: autonomy(autonomy_after)?,
                }),
                None => None,
            };
            let passage = Passage {
                place_id: place,
                service_code: service,
                vouchers,
                performed_at: at,
                idempotency_key: key,
                outcome,
            };
            let done = app::passages::redeem(&app, &Caller::system_for_site(site), site, passage).await.map_err(say)?;
            println!(
                "{} n°{} : {} chèque(s), {} (commission {}). Solde dû au lieu : {}.",
                if done.replayed { "Passage déjà enregistré" } else { "Passage enregistré" },
                done.redemption_id,
                done.vouchers,
                Cents(done.value_cents).to_french(),
                Cents(done.fee_cents).to_french(),
                Cents(done.site_payable_cents).to_french()
            );
            ExitCode::SUCCESS
        }
    };
    app.db.close().await;
    Ok(code)
}

pub async fn anomaly(config: &Config, cmd: AnomalyCommand) -> Result<(), CliError> {
    let app = open_app(config).await?;
    let system = Caller::system();
    match cmd {
        AnomalyCommand::List { all } => {
            let shown = if all { Shown::All } else { Shown::Open };
            let list = app::anomalies::list(&app, &system, shown, Some(1000)).await.map_err(say)?;
            if list.is_empty() {
                println!("Aucune anomalie {}.", if all { "enregistrée" } else { "ouverte" });
            }
            for a in list {
                println!(
                    "n°{}  {}  {}  {}{}",
                    a.id,
                    redeemer::local_time::local(a.detected_at).format("%d/%m/%Y %H:%M"),
                    a.label,
                    a.site_name.as_deref().unwrap_or("—"),
                    if a.status == redeemer::anomalies::AnomalyStatus::Dismissed { "  [classée]" } else { "" }
                );
                println!("      {}", a.evidence);
                if let Some(c) = a.comment {
                    println!("      commentaire : {c}");
                }
            }
        }
        AnomalyCommand::Dismiss { id, comment } => {
            app::anomalies::dismiss(&app, &system, id, &comment).await.map_err(say)?;
            println!("Anomalie n°{id} classée.");
        }
    }
    app.db.close().await;
    Ok(())
}
