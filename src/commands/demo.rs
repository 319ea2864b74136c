//! `passerelle demo`: a fresh SQLite deployment seeded with realistic data, then served.

use crate::commands::CliError;
use crate::commands::init::initialise;
use crate::config::Config;
use crate::identity::{OrgKind, Role, organisations, tokens, users};
use issuer::books::{self, Autonomy, BeneficiaryProfile, BookSelection};
use issuer::keys::KeyRing;
use issuer::orders::{self, FeeTerms, NewOrder};
use issuer::territory::Territory;
use issuer::{issuance, payments, profiles};
use ledger::Cents;
use std::net::SocketAddr;
use std::path::Path;

/// Real places of the Gironde for the demo sites: (name, address, INSEE commune).
const DEMO_PLACES: [(&str, &str, &str); 3] = [
    ("Médiathèque Gérard-Philipe", "Rue Camille-Pelletan", "33522"),
    ("Centre social de la Bastide", "Rue de la Benauge", "33063"),
    ("Espace numérique du Libournais", "Place Abel-Surchamp", "33243"),
];

/// Password of every demo account (demo databases only).
pub const DEMO_PASSWORD: &str = "demo-passerelle-2026";

/// A demo login to print.
pub struct DemoLogin {
    pub role: &'static str,
    pub organisation: String,
    pub email: String,
    pub token: String,
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
    let mut prescriber_ids = Vec::new();
    let mut site_ids: Vec<(i64, i64)> = Vec::new();
    let today = ledger::time::now().date_naive();
    for (kind, name, prefix, email, role) in orgs {
        let org = match kind {
            OrgKind::Funder | OrgKind::Prescriber => {
                let category = match (kind, name) {
                    (OrgKind::Funder, n) if n.starts_with("Département") => "departement",
                    (OrgKind::Funder, n) if n.starts_with("Caisse") => "caf",
                    (OrgKind::Funder, _) => "etat",
                    (_, n) if n.starts_with("CCAS") => "ccas",
                    _ => "france_travail",
                };
                let territory = Territory::new(["33"]).map_err(CliError::new)?;
                profiles::create(
                    &mut tx,
                    kind,
                    name,
                    &issuer::Siret::completing(prefix).expect("13 digits"),
                    category,
                    territory,
                )
                .await
                .map_err(CliError::new)?
                .organisation
            }
            OrgKind::Site => {
                let iban = "FR7630006000011234567890189".parse().map_err(CliError::new)?;
                let bic = "CEPAFRPP333".parse().map_err(CliError::new)?;
                let id = redeemer::sites::create(
                    &mut tx,
                    name,
                    &issuer::Siret::completing(prefix).expect("13 digits"),
                    &iban,
                    &bic,
                    name,
                )
                .await
                .map_err(CliError::new)?;
                let (place, address, commune) = DEMO_PLACES[site_ids.len() % DEMO_PLACES.len()];
                let place_id = redeemer::sites::add_place(
                    &mut tx,
                    id,
                    place,
                    address,
                    &commune.parse().map_err(CliError::new)?,
                    "Mo-Fr 09:00-12:00,14:00-18:00; Sa 09:00-12:00",
                )
                .await
                .map_err(CliError::new)?;
                redeemer::sites::set_services(
                    &mut tx,
                    id,
                    &["DEM-ACCOMP", "DEM-DOSSIER", "OUT-SMARTPHONE", "SEC-ARNAQUES", "EMP-CV"],
                )
                .await
                .map_err(CliError::new)?;
                let until = Some(today + chrono::Duration::days(365));
                redeemer::sites::decide(
                    &mut tx,
                    id,
                    redeemer::sites::Accreditation::Accredited,
                    until,
                    None,
                    "Visite de conformité réalisée",
                )
                .await
                .map_err(CliError::new)?;
                site_ids.push((id, place_id));
                organisations::get_in(&mut tx, id).await.map_err(CliError::new)?.ok_or_else(|| CliError::new("lieu"))?
            }
            _ => {
                organisations::create(&mut tx, kind, name, Some(&issuer::Siret::completing(prefix).expect("13 digits")))
                    .await
                    .map_err(CliError::new)?
            }
        };
        match kind {
            OrgKind::Funder => funder_ids.push(org.id),
            OrgKind::Prescriber => prescriber_ids.push(org.id),
            _ => {}
        }
        let user =
            users::create(&mut tx, org.id, email, &format!("Responsable — {name}"), Role::Manager, DEMO_PASSWORD)
                .await
                .map_err(CliError::new)?;
        let (_, token) = tokens::create(&mut tx, user.id, "démo", None).await.map_err(CliError::new)?;
        logins.push(DemoLogin { role, organisation: name.to_owned(), email: user.email, token });
    }
    // Funders have paid the clearing house over the past months.
    for (i, funder) in funder_ids.iter().enumerate() {
        for month in 0..3i64 {
            let amount = Cents(2_000_000 + 500_000 * i as i64 + 100_000 * month);
            let day = today - chrono::Duration::days(90 - 30 * month);
            payments::record(
                &mut tx,
                *funder,
                amount,
                day,
                &format!("VIR-{}-{:03}", 2026, 10 * i as i64 + month),
                None,
            )
            .await
            .map_err(CliError::new)?;
        }
    }
    // A co-funded order (État 50 %, Département 50 %), and a CAF order that stays a draft.
    let fees = FeeTerms { issuance_fee_bps: config.issuance_fee_bps, redemption_fee_bps: config.redemption_fee_bps };
    let co_funded: NewOrder = serde_json::from_value(serde_json::json!({
        "label": "Pass numérique Gironde 2026 — État et Département",
        "funders": [{"funder_id": funder_ids[2], "share_bps": 5000}, {"funder_id": funder_ids[0], "share_bps": 5000}],
        "books": 200, "vouchers_per_book": 10, "face_value_cents": 1000,
        "valid_from": (today - chrono::Duration::days(120)).to_string(),
        "valid_until": (today + chrono::Duration::days(400)).to_string(),
        "territory": ["33"], "unused_policy": "refund",
    }))
    .map_err(CliError::new)?;
    let order = orders::create(&mut tx, &co_funded, fees, None).await.map_err(CliError::new)?;
    orders::confirm(&mut tx, order.id).await.map_err(CliError::new)?;
    let draft: NewOrder = serde_json::from_value(serde_json::json!({
        "label": "Parentalité numérique — CAF 2027",
        "funders": [{"funder_id": funder_ids[1], "share_bps": 10000}],
        "books": 50, "valid_from": (today + chrono::Duration::days(30)).to_string(),
        "valid_until": (today + chrono::Duration::days(395)).to_string(), "territory": ["33"],
        "allowed_categories": ["parentalite_education", "maitrise_outils_numeriques"],
    }))
    .map_err(CliError::new)?;
    orders::create(&mut tx, &draft, fees, None).await.map_err(CliError::new)?;
    tx.commit().await.map_err(CliError::new)?;

    let keys = KeyRing::load(&config.key_dir).map_err(CliError::new)?;
    issuance::issue(&db, &keys, order.id, &|_, _| {}).await.map_err(CliError::new)?;

    // Books go to the two prescribers; many are already in beneficiaries' hands.
    let mut tx = db.begin().await.map_err(CliError::new)?;
    books::assign(&mut tx, &BookSelection::Range { order_id: order.id, from: 1, to: 80 }, prescriber_ids[0])
        .await
        .map_err(CliError::new)?;
    books::assign(&mut tx, &BookSelection::Range { order_id: order.id, from: 81, to: 140 }, prescriber_ids[1])
        .await
        .map_err(CliError::new)?;
    let communes =
        ["33063", "33063", "33063", "33281", "33522", "33318", "33243", "33039", "33069", "33119", "33192", "33249"];
    let ages = books::AGE_BANDS;
    let autonomy = [Autonomy::Excluded, Autonomy::Beginner, Autonomy::Beginner, Autonomy::Advanced];
    let reasons = [
        Some("Dossier retraite"),
        Some("Recherche d'emploi"),
        None,
        Some("Démarches CAF"),
        Some("Prise de rendez-vous médical"),
    ];
    for n in 1..=130u32 {
        if (61..=80).contains(&n) {
            continue; // still waiting at the CCAS
        }
        let serial = issuance::serial(order.id, n);
        let book =
            books::by_serial(&mut tx, &serial).await.map_err(CliError::new)?.ok_or_else(|| CliError::new("carnet"))?;
        let i = n as usize;
        let profile = BeneficiaryProfile {
            age_band: ages[(i * 7) % ages.len()].to_owned(),
            commune_insee: communes[(i * 5) % communes.len()].parse().map_err(CliError::new)?,
            autonomy: autonomy[(i * 3) % autonomy.len()],
            referral_reason: reasons[i % reasons.len()].map(str::to_owned),
        };
        let holder = book.prescriber_id.unwrap_or(prescriber_ids[0]);
        books::distribute(&mut tx, book.id, holder, &profile, None).await.map_err(CliError::new)?;
    }
    let lost = books::by_serial(&mut tx, &issuance::serial(order.id, 140))
        .await
        .map_err(CliError::new)?
        .ok_or_else(|| CliError::new("carnet"))?;
    books::cancel(&mut tx, lost.id, "Carnet perdu signalé par l'agence").await.map_err(CliError::new)?;
    tx.commit().await.map_err(CliError::new)?;

    // Months of redemptions: most books handed over have been used, some fully.
    let now = ledger::time::now();
    let mut conn = db.pool().acquire().await.map_err(CliError::new)?;
    let mut plan = Vec::new();
    for n in (1..=130u32).filter(|n| !(61..=80).contains(n) && !n.is_multiple_of(6)) {
        let book = books::by_serial(&mut conn, &issuance::serial(order.id, n))
            .await
            .map_err(CliError::new)?
            .ok_or_else(|| CliError::new("carnet"))?;
        let codes: Vec<String> =
            books::vouchers(&mut conn, book.id).await.map_err(CliError::new)?.into_iter().map(|v| v.code).collect();
        let used = 1 + (n as usize * 7) % codes.len();
        plan.push((n, codes.into_iter().take(used).collect::<Vec<_>>()));
    }
    drop(conn);
    // Days before today of each book's first passage.
    let mut first_use = std::collections::BTreeMap::new();
    for (n, codes) in plan {
        let (site, place) = site_ids[(n as usize) % site_ids.len()];
        let mut i = 0;
        while i < codes.len() {
            let pair = i + 1 < codes.len() && (n + i as u32).is_multiple_of(3);
            let (service, vouchers) =
                if pair { ("DEM-DOSSIER", codes[i..i + 2].to_vec()) } else { ("DEM-ACCOMP", vec![codes[i].clone()]) };
            let days_ago = 110 - ((n as i64 * 3 + i as i64 * 9) % 105);
            let first = first_use.entry(n).or_insert(days_ago);
            *first = days_ago.max(*first);
            let req = redeemer::redeem::RedeemRequest {
                site_id: site,
                place_id: place,
                service_code: service.into(),
                vouchers,
                performed_at: Some(demo_time(now, days_ago, n as usize + i)),
                idempotency_key: format!("demo-{n}-{i}"),
                scanned_by: None,
                outcome: Some(demo_outcome(n as usize + i)),
            };
            redeemer::redeem::redeem(&db, &keys, &req).await.map_err(CliError::new)?;
            i += if pair { 2 } else { 1 };
        }
    }
    date_hand_overs(&db, order.id, &first_use, now).await?;
    settle_past_months(&db, config.settlement_minimum).await?;
    crate::server::write_invoices(&db, config).await?;
    // A member invited through the use case: its invitation email is in the outbox, delivered
    // as an .eml file (or by SMTP) once the server runs, and listed on /courriels.
    let app = crate::app::App::new(db.clone(), config.clone(), keys.clone());
    crate::app::organisations::invite(
        &app,
        &crate::app::Caller::system(),
        init.operator_id,
        "nouvel.agent@passerelle.demo",
        "Dominique Petit",
        Role::Member,
    )
    .await
    .map_err(crate::commands::say)?;
    ledger::seal::seal_all(&db, 5_000).await.map_err(CliError::new)?;
    Ok((db, logins))
}

/// Dates the demo's hand-overs as they would have happened, so that its dashboards show months
/// of them and a delay to first use: the prescribers received their books seven months ago; each
/// book used went to its holder 3 to 70 days before its first passage (which may have moved back
/// to the previous Friday), each book not used yet in the last four months.
async fn date_hand_overs(
    db: &ledger::Db,
    order_id: i64,
    first_use: &std::collections::BTreeMap<u32, i64>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), CliError> {
    const DELAYS: [i64; 7] = [3, 5, 9, 16, 25, 45, 70];
    let ago = |days: i64| ledger::time::to_micros(now - chrono::Duration::days(days));
    let mut tx = db.begin().await.map_err(CliError::new)?;
    sqlx::query("UPDATE books SET assigned_at = $1 WHERE order_id = $2 AND assigned_at IS NOT NULL")
        .bind(ago(210))
        .bind(order_id)
        .execute(&mut *tx)
        .await
        .map_err(CliError::new)?;
    let handed: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, number FROM books WHERE order_id = $1 AND distributed_at IS NOT NULL")
            .bind(order_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(CliError::new)?;
    for (id, number) in handed {
        let days = match first_use.get(&u32::try_from(number).unwrap_or(0)) {
            Some(first) => first + 2 + DELAYS[number as usize % DELAYS.len()],
            None => 1 + number * 13 % 120,
        };
        sqlx::query("UPDATE books SET distributed_at = $1 WHERE id = $2")
            .bind(ago(days))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(CliError::new)?;
    }
    tx.commit().await.map_err(CliError::new)
}

/// A weekday, during the demo places' opening hours — except one evening, which the operator
/// finds among the anomalies.
fn demo_time(now: chrono::DateTime<chrono::Utc>, days_ago: i64, k: usize) -> chrono::DateTime<chrono::Utc> {
    use chrono::Datelike;
    let mut day = redeemer::local_time::day(now) - chrono::Duration::days(days_ago);
    while day.weekday().number_from_monday() > 5 {
        day = day.pred_opt().unwrap_or(day);
    }
    let (hour, minute) =
        if k == 8 { (20, 15) } else { [(9, 30), (10, 15), (11, 0), (14, 30), (15, 45), (16, 30)][k % 6] };
    redeemer::local_time::at(day, hour, minute)
}

fn demo_outcome(k: usize) -> redeemer::outcome::Outcome {
    use redeemer::outcome::{Autonomy, Outcome, OutcomeKind};
    let result = [
        OutcomeKind::ProcedureCompleted,
        OutcomeKind::SkillAcquired,
        OutcomeKind::ProcedureCompleted,
        OutcomeKind::Referred,
        OutcomeKind::NotCompleted,
    ][k % 5];
    let before = 1 + (k % 2) as i64;
    Outcome {
        result,
        autonomy_before: Autonomy::try_from(before).ok(),
        autonomy_after: Autonomy::try_from(before + (k % 3) as i64).ok(),
    }
}

/// Past settlements: every closed month since the first redemption is settled and its payouts
/// confirmed by the bank, except the last month, released and waiting for the bank — and the
/// server prepares the next one on its own.
async fn settle_past_months(db: &ledger::Db, minimum: ledger::Cents) -> Result<(), CliError> {
    use settlement::runs::{self, Period};
    let today = redeemer::local_time::day(ledger::time::now());
    let last = Period::Monthly.last_closed_end(today);
    let mut ends = vec![last];
    for _ in 0..2 {
        let previous = Period::Monthly.last_closed_end(*ends.last().unwrap_or(&last));
        ends.push(previous);
    }
    ends.reverse();
    for (i, end) in ends.iter().enumerate() {
        let run = runs::prepare(db, *end, minimum, runs::Mode::Custody, None).await.map_err(CliError::new)?;
        let run = runs::release(db, run.id, None).await.map_err(CliError::new)?;
        if i + 1 < ends.len() {
            let paid_on = (*end + chrono::Duration::days(3)).and_hms_opt(9, 0, 0).unwrap_or_default().and_utc();
            for p in &run.payouts {
                runs::confirm(db, p.id, paid_on).await.map_err(CliError::new)?;
            }
        }
    }
    Ok(())
}

pub async fn run(mut config: Config, listen: SocketAddr, database: &Path, serve: bool) -> Result<(), CliError> {
    remove_sqlite_files(database)?;
    let key_dir = database.with_extension("keys");
    if key_dir.exists() {
        std::fs::remove_dir_all(&key_dir)
            .map_err(|err| CliError::new(format!("impossible de remplacer {} : {err}", key_dir.display())))?;
    }
    // The demo's messages (no SMTP server configured) are files beside its database, made anew.
    let mail_dir = database.with_extension("courriels");
    if config.smtp_url.is_none() && mail_dir.exists() {
        std::fs::remove_dir_all(&mail_dir)
            .map_err(|err| CliError::new(format!("impossible de remplacer {} : {err}", mail_dir.display())))?;
    }
    config.mail_dir = mail_dir;
    config.database_url = format!("sqlite:{}", database.display());
    config.key_dir = key_dir;
    config.listen = listen;
    config.public_url = format!("http://{listen}");
    if config.operator_account.is_none() {
        // A demonstration account, so that the SEPA files can be downloaded.
        let iban = "FR7610107001011234567890129".parse().map_err(CliError::new)?;
        config.operator_account = Some((iban, Some("BREDFRPP".parse().map_err(CliError::new)?)));
    }
    if config.operator_address.starts_with("Adresse à configurer") {
        config.operator_address = "Passerelle — démonstration\n1 place de la Bourse\n33000 Bordeaux".into();
    }
    let (db, logins) = seed(&config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|err| CliError::new(format!("impossible d'écouter sur {listen} : {err}")))?;
    let url = format!("http://{}", listener.local_addr().map_err(CliError::new)?);
    println!("Démo Passerelle prête : {url}");
    println!("Base de démonstration : {} (recréée à chaque lancement)", database.display());
    println!("Mot de passe de tous les comptes de démo : {DEMO_PASSWORD}");
    if config.smtp_url.is_none() {
        println!("Courriels (fichiers .eml, listés sur /courriels) : {}", config.mail_dir.display());
    }
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
