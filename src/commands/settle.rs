//! `passerelle settle` and `passerelle settlement …`: settlement runs from the terminal.

use crate::audit::{self, Actor};
use crate::cli::{InvoiceCommand, SettlementCommand};
use crate::commands::CliError;
use crate::commands::connect_and_migrate;
use crate::config::Config;
use ledger::db::WriteTx;
use ledger::{Cents, Db};
use settlement::runs::{self, Run};
use settlement::sepa::Party;

fn print_run(run: &Run) {
    let from = run.period_start.map(|d| format!("du {} ", d.format("%d/%m/%Y"))).unwrap_or_default();
    let status = match run.status.as_str() {
        "draft" => "en préparation",
        "released" => "validé",
        _ => "annulé",
    };
    println!(
        "Règlement n°{} {from}au {} — {status} — {} versement(s), {}",
        run.id,
        run.period_end.format("%d/%m/%Y"),
        run.payouts.len(),
        Cents(run.total_cents).to_french()
    );
    for p in &run.payouts {
        println!(
            "  versement n°{}  {}  {}  {}  {}  [{}]",
            p.id,
            p.end_to_end_id,
            p.site_name,
            p.iban_masked,
            Cents(p.amount_cents).to_french(),
            p.status
        );
    }
}

/// A write transaction for one change made from the terminal.
async fn begin(db: &Db) -> Result<WriteTx, CliError> {
    db.begin().await.map_err(CliError::new)
}

/// Writes the change's audit entry in its transaction, then commits both.
async fn commit_audited(
    mut tx: WriteTx,
    action: &str,
    object: &str,
    id: i64,
    details: serde_json::Value,
) -> Result<(), CliError> {
    audit::record(&mut tx, Actor::SYSTEM, action, object, id, details).await.map_err(CliError::new)?;
    tx.commit().await.map_err(CliError::new)
}

fn write(out: &std::path::Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(out, bytes).map_err(|e| CliError::new(format!("{} : {e}", out.display())))?;
    println!("Écrit : {}", out.display());
    Ok(())
}

pub async fn prepare(config: &Config, period_end: chrono::NaiveDate, minimum: Option<Cents>) -> Result<(), CliError> {
    let db = connect_and_migrate(config).await?;
    let mut tx = begin(&db).await?;
    let minimum = minimum.unwrap_or(config.settlement_minimum);
    let run =
        runs::prepare_in(&mut tx, period_end, minimum, config.settlement_mode, None).await.map_err(CliError::new)?;
    commit_audited(tx, "settlement.prepare", "settlement", run.id, serde_json::json!({"via": "cli"})).await?;
    print_run(&run);
    if run.status == "draft" {
        println!("Vérifiez, puis validez : passerelle settlement release {}", run.id);
    }
    db.close().await;
    Ok(())
}

pub async fn run(config: &Config, cmd: SettlementCommand) -> Result<(), CliError> {
    let db = connect_and_migrate(config).await?;
    let now = ledger::time::now();
    match cmd {
        SettlementCommand::List => {
            let list = runs::list(&db).await.map_err(CliError::new)?;
            if list.is_empty() {
                println!("Aucun règlement.");
            }
            list.iter().for_each(print_run);
        }
        SettlementCommand::Show { id } => print_run(
            &runs::get(&db, id).await.map_err(CliError::new)?.ok_or_else(|| CliError::new("règlement inconnu"))?,
        ),
        SettlementCommand::Release { id } => {
            let mut tx = begin(&db).await?;
            let run = runs::release_in(&mut tx, id, None).await.map_err(CliError::new)?;
            commit_audited(tx, "settlement.release", "settlement", id, serde_json::json!({"via": "cli"})).await?;
            print_run(&run);
        }
        SettlementCommand::Cancel { id } => {
            let mut tx = begin(&db).await?;
            runs::cancel_in(&mut tx, id).await.map_err(CliError::new)?;
            commit_audited(tx, "settlement.cancel", "settlement", id, serde_json::json!({"via": "cli"})).await?;
            println!("Règlement n°{id} annulé.");
        }
        SettlementCommand::Sepa { id, out } => {
            let (iban, bic) = config.operator_account.clone().ok_or_else(|| {
                CliError::new("compte de l'opérateur non configuré (PASSERELLE_OPERATOR_IBAN, PASSERELLE_OPERATOR_BIC)")
            })?;
            let name = issuer::organisations::operator(&db)
                .await
                .map_err(CliError::new)?
                .map_or_else(|| "Passerelle".to_owned(), |o| o.name);
            let xml = runs::sepa_file(&db, id, &Party { name, iban, bic }, None).await.map_err(CliError::new)?;
            std::fs::write(&out, xml).map_err(|e| CliError::new(format!("{} : {e}", out.display())))?;
            println!("Fichier de virements écrit : {}", out.display());
        }
        SettlementCommand::Statement { id, site, out } => {
            let st = settlement::statement::statement(&db, id, site).await.map_err(CliError::new)?;
            write(&out, &settlement::statement::statement_pdf(&st).map_err(CliError::new)?)?;
        }
        SettlementCommand::Report { id, out } => {
            let run =
                runs::get(&db, id).await.map_err(CliError::new)?.ok_or_else(|| CliError::new("règlement inconnu"))?;
            write(&out, &settlement::statement::report_pdf(&run).map_err(CliError::new)?)?;
        }
        SettlementCommand::Confirm { payout, on } => {
            let mut tx = begin(&db).await?;
            runs::confirm_in(&mut tx, payout, on.unwrap_or(now)).await.map_err(CliError::new)?;
            commit_audited(tx, "payout.confirm", "payout", payout, serde_json::json!({"via": "cli"})).await?;
            println!("Versement n°{payout} confirmé.");
        }
        SettlementCommand::Return { payout, reason, on } => {
            let mut tx = begin(&db).await?;
            runs::record_return_in(&mut tx, payout, &reason, on.unwrap_or(now)).await.map_err(CliError::new)?;
            let details = serde_json::json!({"reason": reason, "via": "cli"});
            commit_audited(tx, "payout.return", "payout", payout, details).await?;
            println!(
                "Versement n°{payout} retourné : le montant revient au lieu, ses coordonnées bancaires sont à vérifier."
            );
        }
    }
    db.close().await;
    Ok(())
}

pub async fn invoice(config: &Config, cmd: InvoiceCommand) -> Result<(), CliError> {
    let db = connect_and_migrate(config).await?;
    match cmd {
        InvoiceCommand::List { funder } => {
            let written = crate::server::write_invoices(&db, config).await?;
            if written > 0 {
                println!("{written} document(s) écrit(s).");
            }
            for d in issuer::invoices::list(&db, funder).await.map_err(CliError::new)? {
                println!(
                    "n°{}  {}  {}  {}  financeur n°{}  commande n°{}  {}",
                    d.id,
                    d.reference,
                    if d.kind == "invoice" { "facture" } else { "avoir  " },
                    d.issued_on.format("%d/%m/%Y"),
                    d.funder_id,
                    d.order_id,
                    Cents(d.total_cents).to_french()
                );
            }
        }
        InvoiceCommand::Pdf { id, out } => {
            let doc = issuer::invoices::get(&db, id)
                .await
                .map_err(CliError::new)?
                .ok_or_else(|| CliError::new("document inconnu"))?;
            write(&out, &issuer::invoices::pdf(&doc).map_err(CliError::new)?)?;
        }
    }
    db.close().await;
    Ok(())
}
