//! `passerelle funder|prescriber|order|book …`: the issuing side from the terminal.

use crate::app::profiles::{NewProfile, ProfileKind};
use crate::app::{self, AppError, Caller};
use crate::cli::{BookCommand, FunderCommand, OrderCommand, PrescriberCommand, ProfileArgs};
use crate::commands::{CliError, connect_and_migrate, open_app, say};
use crate::config::Config;
use issuer::books::BookSelection;
use issuer::orders::NewOrder;
use ledger::Cents;

fn e(err: impl std::fmt::Display) -> CliError {
    CliError::new(err)
}

async fn create_profile(app: &app::App, kind: ProfileKind, args: ProfileArgs) -> Result<(), CliError> {
    let new = NewProfile { name: args.name, siret: args.siret, category: args.category, territory: args.territory };
    let p = app::profiles::create(app, &Caller::system(), kind, new).await.map_err(say)?;
    println!(
        "{} n°{} créé : {} ({})",
        if kind == ProfileKind::Funder { "Financeur" } else { "Prescripteur" },
        p.id,
        p.name,
        p.territory_label
    );
    Ok(())
}

pub async fn funder(config: &Config, cmd: FunderCommand) -> Result<(), CliError> {
    let app = open_app(config).await?;
    let system = Caller::system();
    match cmd {
        FunderCommand::Create(args) => create_profile(&app, ProfileKind::Funder, args).await?,
        FunderCommand::List => {
            println!("{:>5}  {:<45} {:<18} {:>18}", "n°", "financeur", "catégorie", "position");
            for p in app::profiles::list(&app, &system, ProfileKind::Funder).await.map_err(say)? {
                let pos = app::payments::position(&app, &system, p.id).await.map_err(say)?;
                println!("{:>5}  {:<45} {:<18} {:>18}", p.id, p.name, p.category, Cents(pos.balance_cents).to_french());
            }
            println!("(position positive : le financeur doit de l'argent ; négative : l'opérateur détient ses fonds)");
        }
        FunderCommand::Pay { id, amount, reference, date } => {
            let amount: Cents = amount.parse().map_err(CliError::new)?;
            let day = date.unwrap_or_else(|| ledger::time::now().date_naive());
            let p = app::payments::record(&app, &system, id, amount, day, &reference).await.map_err(say)?;
            println!(
                "Virement de {} enregistré (référence {}, transaction {}).",
                Cents(p.amount_cents).to_french(),
                p.bank_reference,
                p.ledger_transaction
            );
        }
    }
    app.db.close().await;
    Ok(())
}

pub async fn prescriber(config: &Config, cmd: PrescriberCommand) -> Result<(), CliError> {
    let app = open_app(config).await?;
    match cmd {
        PrescriberCommand::Create(args) => create_profile(&app, ProfileKind::Prescriber, args).await?,
        PrescriberCommand::List => {
            for p in app::profiles::list(&app, &Caller::system(), ProfileKind::Prescriber).await.map_err(say)? {
                println!("{:>5}  {:<45} {:<18} {}", p.id, p.name, p.category, p.territory_label);
            }
        }
    }
    app.db.close().await;
    Ok(())
}

pub async fn order(config: &Config, cmd: OrderCommand) -> Result<(), CliError> {
    let app = open_app(config).await?;
    let system = Caller::system();
    match cmd {
        OrderCommand::Create { file } => {
            let text = std::fs::read_to_string(&file).map_err(|err| e(format!("{} : {err}", file.display())))?;
            let new: NewOrder = serde_json::from_str(&text).map_err(|err| e(format!("{} : {err}", file.display())))?;
            let o = app::orders::create(&app, &system, &new).await.map_err(say)?;
            println!(
                "Commande n°{} créée (brouillon) : {} carnets de {} chèques de {}, soit {}.",
                o.id,
                o.books,
                o.vouchers_per_book,
                Cents(o.face_value_cents).to_french(),
                Cents(o.face_total_cents).to_french()
            );
        }
        OrderCommand::List => {
            for o in app::orders::list(&app, &system).await.map_err(say)? {
                println!(
                    "{:>5}  {:<10} {:>7} carnets {:>16}  {}",
                    o.id,
                    o.status,
                    o.books,
                    Cents(o.face_total_cents).to_french(),
                    o.label
                );
            }
        }
        OrderCommand::Confirm { id } => {
            let o = app::orders::confirm(&app, &system, id).await.map_err(say)?;
            println!("Commande n°{} confirmée : {}", o.id, o.label);
        }
        OrderCommand::Issue { id } => {
            let bar = indicatif::ProgressBar::new(0).with_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} émission [{bar:40}] {pos}/{len} chèques ({per_sec}, reste {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            let progress = |done: u64, total: u64| {
                bar.set_length(total);
                bar.set_position(done);
            };
            let started = std::time::Instant::now();
            let s = app::orders::issue_now(&app, &system, id, &progress).await.map_err(say)?;
            bar.finish_and_clear();
            println!(
                "Commande n°{id} émise : {} carnets, {} chèques signés en {:.1} s (transaction {}{}).",
                s.books,
                s.vouchers,
                started.elapsed().as_secs_f64(),
                s.ledger_transaction,
                if s.resumed_books > 0 {
                    format!(", reprise après {} carnets", s.resumed_books)
                } else {
                    String::new()
                }
            );
        }
        OrderCommand::Print { id, out, from, to } => {
            let files = crate::commands::print::order_files(&app.db, config, id, from, to, &out).await?;
            for f in files {
                println!("{}", f.display());
            }
        }
    }
    app.db.close().await;
    Ok(())
}

pub async fn book(config: &Config, cmd: BookCommand) -> Result<(), CliError> {
    let app = open_app(config).await?;
    let system = Caller::system();
    match cmd {
        BookCommand::Assign { order, from, to, prescriber } => {
            let selection = BookSelection::Range { order_id: order, from, to };
            let n = app::books::assign(&app, &system, prescriber, &selection).await.map_err(say)?.assigned;
            println!("{n} carnet(s) confié(s) au prescripteur n°{prescriber}.");
        }
        BookCommand::Cancel { serial, reason } => {
            let c = app::books::cancel(&app, &system, &serial, &reason).await.map_err(|err| match err {
                AppError::NotFound => e(format!("carnet inconnu : {serial}")),
                other => say(other),
            })?;
            println!(
                "Carnet {} annulé : {} chèque(s), {}.",
                c.book.serial,
                c.vouchers_cancelled,
                Cents(c.value_cents).to_french()
            );
        }
    }
    app.db.close().await;
    Ok(())
}

pub async fn expire(config: &Config, as_of: Option<chrono::NaiveDate>) -> Result<(), CliError> {
    let db = connect_and_migrate(config).await?;
    let as_of = as_of.unwrap_or_else(|| redeemer::local_time::day(::ledger::time::now()));
    let done = ::issuer::expiry::expire(&db, as_of).await.map_err(CliError::new)?;
    if done.is_empty() {
        println!("Aucun chèque à faire expirer au {}.", as_of.format("%d/%m/%Y"));
    }
    for e in &done {
        let policy = match e.policy {
            ::issuer::orders::UnusedPolicy::Refund => "remboursés aux financeurs",
            ::issuer::orders::UnusedPolicy::Breakage => "conservés",
        };
        println!(
            "Commande n°{} : {} chèque(s) expiré(s), {} {policy}.",
            e.order_id,
            e.vouchers,
            ::ledger::Cents(e.value_cents).to_french()
        );
    }
    db.close().await;
    Ok(())
}
