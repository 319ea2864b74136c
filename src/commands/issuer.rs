//! `passerelle funder|prescriber|order|book …`: the issuing side from the terminal.

use crate::audit::{self, Actor};
use crate::cli::{BookCommand, FunderCommand, OrderCommand, PrescriberCommand, ProfileArgs};
use crate::commands::CliError;
use crate::commands::connect_and_migrate;
use crate::config::Config;
use issuer::books::{self, BookSelection};
use issuer::keys::KeyRing;
use issuer::orders::{self, FeeTerms, NewOrder};
use issuer::organisations::OrgKind;
use issuer::territory::Territory;
use issuer::{issuance, payments, profiles};
use ledger::Cents;

fn e(err: impl std::fmt::Display) -> CliError {
    CliError::new(err)
}

async fn create_profile(config: &Config, kind: OrgKind, args: ProfileArgs) -> Result<(), CliError> {
    let db = connect_and_migrate(config).await?;
    let siret: issuer::Siret = args.siret.parse().map_err(e)?;
    let territory = Territory::new(args.territory).map_err(e)?;
    let mut tx = db.begin().await.map_err(e)?;
    let p = profiles::create(&mut tx, kind, &args.name, &siret, &args.category, territory).await.map_err(e)?;
    audit::record(
        &mut tx,
        Actor::SYSTEM,
        &format!("{}.create", kind.as_str()),
        "organisation",
        p.organisation.id,
        serde_json::json!({"via": "cli"}),
    )
    .await
    .map_err(e)?;
    tx.commit().await.map_err(e)?;
    println!(
        "{} n°{} créé : {} ({})",
        if kind == OrgKind::Funder { "Financeur" } else { "Prescripteur" },
        p.organisation.id,
        p.organisation.name,
        p.territory
    );
    Ok(())
}

pub async fn funder(config: &Config, cmd: FunderCommand) -> Result<(), CliError> {
    match cmd {
        FunderCommand::Create(args) => create_profile(config, OrgKind::Funder, args).await,
        FunderCommand::List => {
            let db = connect_and_migrate(config).await?;
            println!("{:>5}  {:<45} {:<18} {:>18}", "n°", "financeur", "catégorie", "position");
            for p in profiles::list(&db, OrgKind::Funder).await.map_err(e)? {
                let pos = payments::position(&db, p.organisation.id).await.map_err(e)?;
                println!(
                    "{:>5}  {:<45} {:<18} {:>18}",
                    p.organisation.id,
                    p.organisation.name,
                    p.category,
                    Cents(pos.balance_cents).to_french()
                );
            }
            println!("(position positive : le financeur doit de l'argent ; négative : l'opérateur détient ses fonds)");
            Ok(())
        }
        FunderCommand::Pay { id, amount, reference, date } => {
            let db = connect_and_migrate(config).await?;
            let amount: Cents = amount.parse().map_err(e)?;
            let day = date.unwrap_or_else(|| ledger::time::now().date_naive());
            let mut tx = db.begin().await.map_err(e)?;
            let p = payments::record(&mut tx, id, amount, day, &reference, None).await.map_err(e)?;
            audit::record(
                &mut tx,
                Actor::SYSTEM,
                "payment.record",
                "funder_payment",
                p.id,
                serde_json::json!({"via": "cli"}),
            )
            .await
            .map_err(e)?;
            tx.commit().await.map_err(e)?;
            println!(
                "Virement de {} enregistré (référence {}, transaction {}).",
                Cents(p.amount_cents).to_french(),
                p.bank_reference,
                p.ledger_transaction
            );
            Ok(())
        }
    }
}

pub async fn prescriber(config: &Config, cmd: PrescriberCommand) -> Result<(), CliError> {
    match cmd {
        PrescriberCommand::Create(args) => create_profile(config, OrgKind::Prescriber, args).await,
        PrescriberCommand::List => {
            let db = connect_and_migrate(config).await?;
            for p in profiles::list(&db, OrgKind::Prescriber).await.map_err(e)? {
                println!("{:>5}  {:<45} {:<18} {}", p.organisation.id, p.organisation.name, p.category, p.territory);
            }
            Ok(())
        }
    }
}

pub async fn order(config: &Config, cmd: OrderCommand) -> Result<(), CliError> {
    let db = connect_and_migrate(config).await?;
    match cmd {
        OrderCommand::Create { file } => {
            let text = std::fs::read_to_string(&file).map_err(|err| e(format!("{} : {err}", file.display())))?;
            let new: NewOrder = serde_json::from_str(&text).map_err(|err| e(format!("{} : {err}", file.display())))?;
            let fees =
                FeeTerms { issuance_fee_bps: config.issuance_fee_bps, redemption_fee_bps: config.redemption_fee_bps };
            let mut tx = db.begin().await.map_err(e)?;
            let o = orders::create(&mut tx, &new, fees, None).await.map_err(e)?;
            audit::record(&mut tx, Actor::SYSTEM, "order.create", "order", o.id, serde_json::json!({"via": "cli"}))
                .await
                .map_err(e)?;
            tx.commit().await.map_err(e)?;
            println!(
                "Commande n°{} créée (brouillon) : {} carnets de {} chèques de {}, soit {}.",
                o.id,
                o.books,
                o.vouchers_per_book,
                Cents(o.face_value_cents).to_french(),
                o.face_total().to_french()
            );
        }
        OrderCommand::List => {
            for o in orders::list(&db, None).await.map_err(e)? {
                println!(
                    "{:>5}  {:<10} {:>7} carnets {:>16}  {}",
                    o.id,
                    o.status.as_str(),
                    o.books,
                    o.face_total().to_french(),
                    o.label
                );
            }
        }
        OrderCommand::Confirm { id } => {
            let mut tx = db.begin().await.map_err(e)?;
            let o = orders::confirm(&mut tx, id).await.map_err(e)?;
            audit::record(&mut tx, Actor::SYSTEM, "order.confirm", "order", id, serde_json::json!({"via": "cli"}))
                .await
                .map_err(e)?;
            tx.commit().await.map_err(e)?;
            println!("Commande n°{} confirmée : {}", o.id, o.label);
        }
        OrderCommand::Issue { id } => {
            let keys = KeyRing::load(&config.key_dir).map_err(e)?;
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
            let s = issuance::issue(&db, &keys, id, &progress).await.map_err(e)?;
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
            let files = crate::commands::print::order_files(&db, config, id, from, to, &out).await?;
            for f in files {
                println!("{}", f.display());
            }
        }
    }
    db.close().await;
    Ok(())
}

pub async fn book(config: &Config, cmd: BookCommand) -> Result<(), CliError> {
    let db = connect_and_migrate(config).await?;
    let mut tx = db.begin().await.map_err(e)?;
    match cmd {
        BookCommand::Assign { order, from, to, prescriber } => {
            let n = books::assign(&mut tx, &BookSelection::Range { order_id: order, from, to }, prescriber)
                .await
                .map_err(e)?;
            audit::record(
                &mut tx,
                Actor::SYSTEM,
                "books.assign",
                "organisation",
                prescriber,
                serde_json::json!({"books": n, "via": "cli"}),
            )
            .await
            .map_err(e)?;
            println!("{n} carnet(s) confié(s) au prescripteur n°{prescriber}.");
        }
        BookCommand::Cancel { serial, reason } => {
            let book = books::by_serial(&mut tx, &serial)
                .await
                .map_err(e)?
                .ok_or_else(|| e(format!("carnet inconnu : {serial}")))?;
            let c = books::cancel(&mut tx, book.id, &reason).await.map_err(e)?;
            audit::record(
                &mut tx,
                Actor::SYSTEM,
                "book.cancel",
                "book",
                &c.book.serial,
                serde_json::json!({"reason": reason, "via": "cli"}),
            )
            .await
            .map_err(e)?;
            println!(
                "Carnet {} annulé : {} chèque(s), {}.",
                c.book.serial,
                c.vouchers_cancelled,
                Cents(c.value_cents).to_french()
            );
        }
    }
    tx.commit().await.map_err(e)?;
    db.close().await;
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
