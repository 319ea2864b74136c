//! `passerelle site`: import, accreditation, and scanning from the command line.

use crate::audit::{self, Actor};
use crate::cli::{AnomalyCommand, SiteCommand};
use crate::commands::CliError;
use crate::commands::connect_and_migrate;
use crate::config::Config;
use ::ledger::Cents;
use issuer::keys::KeyRing;
use redeemer::anomalies;
use redeemer::outcome::{Autonomy, Outcome};
use redeemer::redeem::{self, RedeemRequest};
use std::process::ExitCode;

pub async fn run(config: &Config, cmd: SiteCommand) -> Result<ExitCode, CliError> {
    let db = connect_and_migrate(config).await?;
    let code = match cmd {
        SiteCommand::Import { file } => {
            let bytes = std::fs::read(&file).map_err(|e| CliError::new(format!("{} : {e}", file.display())))?;
            let report = redeemer::import::import_csv(&db, &bytes).await.map_err(CliError::new)?;
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
            let mut tx = db.begin().await.map_err(CliError::new)?;
            redeemer::sites::decide(
                &mut tx,
                id,
                redeemer::sites::Accreditation::Accredited,
                Some(until),
                None,
                &comment,
            )
            .await
            .map_err(CliError::new)?;
            audit::record(
                &mut tx,
                Actor::SYSTEM,
                "site.accreditation",
                "organisation",
                id,
                serde_json::json!({"until": until, "via": "cli"}),
            )
            .await
            .map_err(CliError::new)?;
            tx.commit().await.map_err(CliError::new)?;
            println!("Lieu n°{id} agréé jusqu'au {}.", until.format("%d/%m/%Y"));
            ExitCode::SUCCESS
        }
        SiteCommand::BankAccount { id, iban, bic, holder } => {
            let mut tx = db.begin().await.map_err(CliError::new)?;
            redeemer::sites::set_bank_account(&mut tx, id, &iban, bic.as_ref(), &holder)
                .await
                .map_err(CliError::new)?;
            audit::record(
                &mut tx,
                Actor::SYSTEM,
                "site.bank_account",
                "organisation",
                id,
                serde_json::json!({"iban": iban.masked(), "via": "cli"}),
            )
            .await
            .map_err(CliError::new)?;
            tx.commit().await.map_err(CliError::new)?;
            println!("Compte de versement du lieu n°{id} : {}.", iban.masked());
            ExitCode::SUCCESS
        }
        SiteCommand::Verify { site, place, service, at, vouchers } => {
            let keys = KeyRing::load(&config.key_dir).map_err(CliError::new)?;
            let at = at.unwrap_or_else(::ledger::time::now);
            let verdicts =
                redeem::verify(&db, &keys, site, place, &service, &vouchers, at, None).await.map_err(CliError::new)?;
            for v in &verdicts {
                match &v.refusal {
                    None => println!("OK      {}", v.input),
                    Some(r) => println!("REFUSÉ  {} — {} ({})", v.input, r.message, r.code),
                }
            }
            if verdicts.iter().all(|v| v.redeemable) { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        SiteCommand::Redeem { site, place, service, key, at, outcome, autonomy_before, autonomy_after, vouchers } => {
            let keys = KeyRing::load(&config.key_dir).map_err(CliError::new)?;
            let autonomy = |n: Option<i64>| n.map(Autonomy::try_from).transpose().map_err(CliError::new);
            let outcome = match outcome {
                Some(result) => Some(Outcome {
                    result: result.into(),
                    autonomy_before: autonomy(autonomy_before)?,
                    autonomy_after: autonomy(autonomy_after)?,
                }),
                None => None,
            };
            let req = RedeemRequest {
                site_id: site,
                place_id: place,
                service_code: service,
                vouchers,
                performed_at: at,
                idempotency_key: key,
                scanned_by: None,
                outcome,
            };
            let done = redeem::redeem(&db, &keys, &req).await.map_err(CliError::new)?;
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
    db.close().await;
    Ok(code)
}

pub async fn anomaly(config: &Config, cmd: AnomalyCommand) -> Result<(), CliError> {
    let db = connect_and_migrate(config).await?;
    match cmd {
        AnomalyCommand::List { all } => {
            let list = anomalies::list(&db, !all, 1000).await.map_err(CliError::new)?;
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
                    if a.status == "dismissed" { "  [classée]" } else { "" }
                );
                println!("      {}", a.evidence);
                if let Some(c) = a.comment {
                    println!("      commentaire : {c}");
                }
            }
        }
        AnomalyCommand::Dismiss { id, comment } => {
            let mut tx = db.begin().await.map_err(CliError::new)?;
            anomalies::dismiss(&mut tx, id, None, &comment).await.map_err(CliError::new)?;
            audit::record(
                &mut tx,
                Actor::SYSTEM,
                "anomaly.dismiss",
                "anomaly",
                id,
                serde_json::json!({"comment": comment, "via": "cli"}),
            )
            .await
            .map_err(CliError::new)?;
            tx.commit().await.map_err(CliError::new)?;
            println!("Anomalie n°{id} classée.");
        }
    }
    db.close().await;
    Ok(())
}
