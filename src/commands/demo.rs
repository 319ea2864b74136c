//! `passerelle demo`: a fresh SQLite deployment seeded with realistic data, then served.

use crate::cli::CliError;
use crate::commands::init::initialise;
use crate::config::Config;
use crate::identity::{OrgKind, Role, organisations, tokens, users};
use ledger::{AccountCode, Cents, NewTransaction};
use std::net::SocketAddr;
use std::path::Path;

/// Password of every demo account (demo databases only).
pub const DEMO_PASSWORD: &str = "demo-passerelle-2026";

/// A demo login to print.
pub struct DemoLogin {
    pub role: &'static str,
    pub organisation: String,
    pub email: String,
    pub token: String,
}

/// A valid SIRET made from a 13-digit prefix by choosing the Luhn check digit.
fn siret(prefix13: &str) -> issuer::Siret {
    (0..10).map(|d| format!("{prefix13}{d}")).find_map(|s| s.parse().ok()).expect("one check digit fits")
}

fn remove_sqlite_files(path: &Path) -> Result<(), CliError> {
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(CliError::new(format!("impossible de remplacer {file} : {e}")));
            }
        }
    }
    Ok(())
}

/// Creates the demo deployment and returns its logins.
pub async fn seed(config: &Config) -> Result<(ledger::Db, Vec<DemoLogin>), CliError> {
    let init = initialise(config, "admin@passerelle.demo", "Passerelle — chambre de compensation").await?;
    let db = init.db;
    let mut tx = db.begin().await.map_err(CliError::new)?;
    let mut logins = Vec::new();
    let operator_member = users::create(
        &mut tx,
        init.operator_id,
        "agent@passerelle.demo",
        "Camille Martin",
        Role::Member,
        DEMO_PASSWORD,
    )
    .await
    .map_err(CliError::new)?;
    let admin =
        users::by_email(&db, &init.admin_email).await.map_err(CliError::new)?.ok_or_else(|| CliError::new("admin"))?;
    for (user_id, email, role) in [
        (admin.id, admin.email.clone(), "opérateur (responsable)"),
        (operator_member.id, operator_member.email.clone(), "opérateur (agent)"),
    ] {
        let (_, token) = tokens::create(&mut tx, user_id, "démo", None).await.map_err(CliError::new)?;
        logins.push(DemoLogin { role, organisation: "Passerelle".into(), email, token });
    }
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(crate::identity::password::hash(DEMO_PASSWORD))
        .bind(admin.id)
        .execute(&mut *tx)
        .await
        .map_err(CliError::new)?;

    let orgs: [(OrgKind, &str, &str, &str, &'static str); 8] = [
        (OrgKind::Funder, "Département de la Gironde", "2233000190001", "financeur@gironde.demo", "financeur"),
        (
            OrgKind::Funder,
            "Caisse d'allocations familiales de la Gironde",
            "5344927820002",
            "financeur@caf33.demo",
            "financeur",
        ),
        (OrgKind::Funder, "Préfecture de la Gironde (État)", "1300010110003", "financeur@etat33.demo", "financeur"),
        (OrgKind::Prescriber, "CCAS de Bordeaux", "2633000150004", "prescripteur@ccas-bordeaux.demo", "prescripteur"),
        (
            OrgKind::Prescriber,
            "France Travail — agence de Mérignac",
            "1300035540005",
            "prescripteur@ft-merignac.demo",
            "prescripteur",
        ),
        (
            OrgKind::Site,
            "Médiathèque Gérard-Philipe de Talence",
            "2133052200006",
            "site@talence.demo",
            "lieu de médiation",
        ),
        (
            OrgKind::Site,
            "Centre social et culturel de la Bastide",
            "7843912500007",
            "site@bastide.demo",
            "lieu de médiation",
        ),
        (
            OrgKind::Site,
            "Association Les Connecté·e·s du Libournais",
            "8812345670008",
            "site@libourne.demo",
            "lieu de médiation",
        ),
    ];
    let mut funder_ids = Vec::new();
    for (kind, name, prefix, email, role) in orgs {
        let org = organisations::create(&mut tx, kind, name, Some(&siret(prefix))).await.map_err(CliError::new)?;
        if kind == OrgKind::Funder {
            funder_ids.push(org.id);
        }
        let user =
            users::create(&mut tx, org.id, email, &format!("Responsable — {name}"), Role::Manager, DEMO_PASSWORD)
                .await
                .map_err(CliError::new)?;
        let (_, token) = tokens::create(&mut tx, user.id, "démo", None).await.map_err(CliError::new)?;
        logins.push(DemoLogin { role, organisation: name.to_owned(), email: user.email, token });
    }
    // Funders have paid the clearing house over the past months.
    let now = ledger::time::now();
    for (i, funder) in funder_ids.iter().enumerate() {
        for month in 0..3i64 {
            let amount = Cents(2_000_000 + 500_000 * i as i64 + 100_000 * month);
            let at = now - chrono::Duration::days(90 - 30 * month);
            let t = NewTransaction::new(
                format!("demo-payment-{funder}-{month}"),
                "funder_payment",
                format!("Virement reçu — réf. VIR-{funder}-{month}"),
                at,
            )
            .debit(AccountCode::bank(), amount)
            .credit(AccountCode::funder(*funder), amount);
            ledger::post_in(&mut tx, &t).await.map_err(CliError::new)?;
        }
    }
    tx.commit().await.map_err(CliError::new)?;
    ledger::seal::seal_all(&db, 5_000).await.map_err(CliError::new)?;
    Ok((db, logins))
}

pub async fn run(mut config: Config, listen: SocketAddr, database: &Path, serve: bool) -> Result<(), CliError> {
    remove_sqlite_files(database)?;
    let key_dir = database.with_extension("keys");
    if key_dir.exists() {
        std::fs::remove_dir_all(&key_dir)
            .map_err(|err| CliError::new(format!("impossible de remplacer {} : {err}", key_dir.display())))?;
    }
    config.database_url = format!("sqlite:{}", database.display());
    config.key_dir = key_dir;
    config.listen = listen;
    config.public_url = format!("http://{listen}");
    let (db, logins) = seed(&config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|err| CliError::new(format!("impossible d'écouter sur {listen} : {err}")))?;
    let url = format!("http://{}", listener.local_addr().map_err(CliError::new)?);
    println!("Démo Passerelle prête : {url}");
    println!("Base de démonstration : {} (recréée à chaque lancement)", database.display());
    println!("Mot de passe de tous les comptes de démo : {DEMO_PASSWORD}");
    println!();
    println!("{:<20} {:<34} {:<48} jeton d'API", "rôle", "adresse", "organisation");
    for l in &logins {
        println!("{:<20} {:<34} {:<48} {}", l.role, l.email, l.organisation, l.token);
    }
    println!();
    println!("Essayez : curl -H 'Authorization: Bearer {}' {url}/api/v1/me", logins[0].token);
    if !serve {
        db.close().await;
        return Ok(());
    }
    crate::server::run(config, db, listener).await
}
