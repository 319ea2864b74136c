//! `passerelle settle` and `passerelle settlement …`: settlement runs from the terminal.

use crate::app::settlements::{self, RunView};
use crate::app::{AppError, Caller};
use crate::cli::{InvoiceCommand, SettlementCommand};
use crate::commands::{CliError, connect_and_migrate, open_app, say};
use crate::config::Config;
use ledger::Cents;
use settlement::runs::RunStatus;

fn print_run(run: &RunView) {
    let from = run.period_start.map(|d| format!("du {} ", d.format("%d/%m/%Y"))).unwrap_or_default();
    let status = run.status.french();
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
            p.status.as_str()
        );
    }
}

/// A use case's refusal as the terminal has always said it: the settlement crate's own sentence.
fn refused(e: AppError) -> CliError {
    match e {
        AppError::Settlement(e) => CliError::new(e),
        AppError::Print(e) => CliError::new(e),
        AppError::Db(e) => CliError::new(e),
        AppError::NotFound => CliError::new("règlement inconnu"),
        AppError::Invalid { code: "operator_account_missing", .. } => {
            CliError::new("compte de l'opérateur non configuré (PASSERELLE_OPERATOR_IBAN, PASSERELLE_OPERATOR_BIC)")
        }
        other => say(other),
    }
}

fn write(out: &std::path::Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(out, bytes).map_err(|e| CliError::new(format!("{} : {e}", out.display())))?;
    println!("Écrit : {}", out.display());
    Ok(())
}

pub async fn prepare(config: &Config, period_end: chrono::NaiveDate, minimum: Option<Cents>) -> Result<(), CliError> {
    let app = open_app(config).await?;
    let run = settlements::prepare(&app, &Caller::system(), period_end, minimum).await.map_err(refused)?;
    print_run(&run);
    if run.status == RunStatus::Draft {
        println!("Vérifiez, puis validez : passerelle settlement release {}", run.id);
    }
    app.db.close().await;
    Ok(())
}

pub async fn run(config: &Config, cmd: SettlementCommand) -> Result<(), CliError> {
    let app = open_app(config).await?;
    let system = Caller::system();
    match cmd {
        SettlementCommand::List => {
            let list = settlements::list(&app, &system).await.map_err(refused)?;
            if list.is_empty() {
                println!("Aucun règlement.");
            }
            list.iter().for_each(print_run);
        }
        SettlementCommand::Show { id } => print_run(&settlements::get(&app, &system, id).await.map_err(refused)?),
        SettlementCommand::Release { id } => {
            print_run(&settlements::release(&app, &system, id).await.map_err(refused)?);
        }
        SettlementCommand::Cancel { id } => {
            settlements::cancel(&app, &system, id).await.map_err(refused)?;
            println!("Règlement n°{id} annulé.");
        }
        SettlementCommand::Sepa { id, out } => {
            let xml = settlements::sepa(&app, &system, id).await.map_err(refused)?;
            std::fs::write(&out, xml).map_err(|e| CliError::new(format!("{} : {e}", out.display())))?;
            println!("Fichier de virements écrit : {}", out.display());
        }
        SettlementCommand::Statement { id, site, out } => {
            write(&out, &settlements::statement(&app, &system, id, site).await.map_err(refused)?)?;
        }
        SettlementCommand::Report { id, out } => {
            write(&out, &settlements::report(&app, &system, id).await.map_err(refused)?)?;
        }
        SettlementCommand::Confirm { payout, on } => {
            settlements::confirm(&app, &system, payout, on).await.map_err(refused)?;
            println!("Versement n°{payout} confirmé.");
        }
        SettlementCommand::Return { payout, reason, on } => {
            settlements::record_return(&app, &system, payout, &reason, on).await.map_err(refused)?;
            println!(
                "Versement n°{payout} retourné : le montant revient au lieu, ses coordonnées bancaires sont à vérifier."
            );
        }
    }
    app.db.close().await;
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
