//! `passerelle bench …`: load generators that anyone can rerun (see bench/*.sh).

use crate::cli::BenchCommand;
use crate::commands::CliError;
use crate::commands::connect_and_migrate;
use crate::config::Config;
use ledger::{AccountCode, Cents, NewTransaction};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Runs one `passerelle bench …` subcommand.
pub async fn run(config: &Config, cmd: BenchCommand) -> Result<(), CliError> {
    match cmd {
        BenchCommand::Print { books, out } => print(config, books, out).await,
        BenchCommand::Issue { books, per_book, reference } => issue(config, books, per_book, reference).await,
        BenchCommand::Stats { scale, last_month, rounds, measure_only } => {
            stats(config, &scale, &last_month, rounds, measure_only).await
        }
        BenchCommand::RedeemSetup { sites, books, out } => redeem_setup(config, sites, books, &out).await,
        BenchCommand::Ledger { clients, seconds, orders, sites } => {
            ledger(config, clients, Duration::from_secs(seconds), orders, sites).await
        }
    }
}

/// Result of a timed run.
pub struct Measured {
    pub committed: u64,
    pub elapsed: Duration,
    pub latencies_us: Vec<u64>,
}

impl Measured {
    pub fn rate(&self) -> f64 {
        self.committed as f64 / self.elapsed.as_secs_f64()
    }
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

/// Posts realistic redemption transactions (order outstanding → site payable + fees: three
/// postings, the shared `fees` account in every one) from `clients` concurrent clients for
/// `duration`, with the sealer running beside them as in the server.
pub async fn ledger(
    config: &Config,
    clients: usize,
    duration: Duration,
    orders: i64,
    sites: i64,
) -> Result<(), CliError> {
    if clients == 0 || orders < 1 || sites < 1 {
        return Err(CliError::new("--clients, --orders et --sites doivent être positifs"));
    }
    let db = connect_and_migrate(config).await?;
    // Fund every order so that redemptions never overdraw it.
    let mut tx = db.begin().await.map_err(CliError::new)?;
    let run = ledger::time::now().timestamp_micros();
    for order in 1..=orders {
        let t = NewTransaction::new(format!("bench-{run}-issue-{order}"), "order_issued", "bench", ledger::time::now())
            .debit(AccountCode::funder(order), Cents(1_000_000_000_000))
            .credit(AccountCode::order_outstanding(order), Cents(1_000_000_000_000));
        ledger::post_in(&mut tx, &t).await.map_err(CliError::new)?;
    }
    tx.commit().await.map_err(CliError::new)?;

    let stop = Arc::new(AtomicBool::new(false));
    let sealer = {
        let (db, stop) = (db.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if let Err(e) = ledger::seal::seal_all(&db, 5_000).await {
                    tracing::warn!(error = %e, "scellement différé");
                }
            }
        })
    };
    let start = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (db, stop) = (db.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let n = (client as u64) * 1_000_003 + i;
                let order = 1 + (n % orders as u64) as i64;
                let site = 1 + ((n * 7919) % sites as u64) as i64;
                let t = NewTransaction::new(
                    format!("bench-{run}-{client}-{i}"),
                    "redemption",
                    "bench",
                    ledger::time::now(),
                )
                .debit(AccountCode::order_outstanding(order), Cents(2000))
                .credit(AccountCode::site_payable(site), Cents(1950))
                .credit(AccountCode::fees(), Cents(50));
                let t0 = Instant::now();
                ledger::post(&db, &t).await?;
                latencies.push(t0.elapsed().as_micros() as u64);
            }
            Ok::<_, ledger::LedgerError>(latencies)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await.map_err(CliError::new)?.map_err(CliError::new)?);
    }
    let elapsed = start.elapsed();
    let _ = sealer.await;
    latencies_us.sort_unstable();
    let m = Measured { committed: latencies_us.len() as u64, elapsed, latencies_us };
    let sealed = ledger::seal::seal_all(&db, 5_000).await.map_err(CliError::new)?;
    let report = ledger::verify::verify(&db).await.map_err(CliError::new)?;
    println!(
        "ledger engine={} clients={clients} transactions={} seconds={:.1} tps={:.1} p50_ms={:.2} p99_ms={:.2} verify={}",
        db.engine().as_str(),
        m.committed,
        m.elapsed.as_secs_f64(),
        m.rate(),
        m.percentile_ms(0.50),
        m.percentile_ms(0.99),
        if report.is_ok() { "ok" } else { "FAILED" }
    );
    tracing::debug!(sealed, "sealed after the run");
    db.close().await;
    if report.is_ok() { Ok(()) } else { Err(CliError::new("le grand livre ne vérifie pas après le banc d'essai")) }
}

/// Writes national-scale statistics aggregates (unless `measure_only`), then times every
/// dashboard request `rounds` times; prints one line per kind of request and the overall p95.
/// The CSV exports of the long tables are timed too, on lines of their own, and left out of the
/// overall figures.
pub async fn stats(
    config: &Config,
    scale: &str,
    last_month: &str,
    rounds: usize,
    measure_only: bool,
) -> Result<(), CliError> {
    let scale = match scale {
        "national" => statistics::bench::Scale::national(),
        "regional" => statistics::bench::Scale::regional(),
        other => return Err(CliError::new(format!("échelle inconnue : « {other} » (national ou regional)"))),
    };
    let last: statistics::Month = last_month.parse().map_err(CliError::new)?;
    let db = connect_and_migrate(config).await?;
    if !measure_only {
        let bar = indicatif::ProgressBar::new(u64::from(scale.orders));
        let generated = statistics::bench::generate(&db, scale, last, &|done, _| bar.set_position(u64::from(done)))
            .await
            .map_err(CliError::new)?;
        bar.finish_and_clear();
        println!(
            "generate engine={} vouchers={} redemptions={} cells={} seconds={:.1}",
            db.engine().as_str(),
            generated.vouchers,
            generated.redemptions,
            generated.cells,
            generated.seconds
        );
    }
    let rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM stats_cells").fetch_one(db.pool()).await.map_err(CliError::new)?;
    println!("aggregate rows={rows}");
    let timings = statistics::bench::measure(&db, last, rounds).await.map_err(CliError::new)?;
    for t in &timings {
        println!(
            "{:<78} n={:<4} p50={:>7.1} ms p95={:>7.1} ms max={:>7.1} ms",
            t.request, t.count, t.p50_ms, t.p95_ms, t.max_ms
        );
    }
    // Dashboard requests and CSV exports apart: the goal (p95 < 100 ms) is the dashboard's.
    let worst = |export: bool| timings.iter().filter(|t| t.export == export).map(|t| t.p95_ms).fold(0.0, f64::max);
    if let Some(all) = timings.last() {
        println!(
            "stats engine={} requests={} p50_ms={:.1} p95_ms={:.1} worst_request_p95_ms={:.1} worst_export_p95_ms={:.1}",
            db.engine().as_str(),
            all.count,
            all.p50_ms,
            all.p95_ms,
            worst(false),
            worst(true)
        );
    }
    db.close().await;
    Ok(())
}

/// Times the issuance of one order of `books` × `per_book` vouchers on a fresh database. With
/// `reference`, bulk-inserts the same rows (unsigned, same statements and chunk sizes) instead.
pub async fn issue(config: &Config, books: u32, per_book: u32, reference: bool) -> Result<(), CliError> {
    let (db, keys, dir, order) = confirmed_order(config, books, per_book).await?;
    let start = Instant::now();
    if reference {
        issuer::issuance::bulk_insert_reference(&db, &order).await.map_err(CliError::new)?;
    } else {
        issuer::issuance::issue(&db, &keys, order.id, &|_, _| {}).await.map_err(CliError::new)?;
    }
    let elapsed = start.elapsed();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vouchers WHERE order_id = $1")
        .bind(order.id)
        .fetch_one(db.pool())
        .await
        .map_err(CliError::new)?;
    println!(
        "{} engine={} vouchers={stored} seconds={:.2} rate={:.0}",
        if reference { "reference" } else { "issue" },
        db.engine().as_str(),
        elapsed.as_secs_f64(),
        stored as f64 / elapsed.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
    db.close().await;
    Ok(())
}

/// Issues an order of `books` × 10 vouchers, then times printing every book.
pub async fn print(config: &Config, books: u32, out: Option<std::path::PathBuf>) -> Result<(), CliError> {
    let (db, keys, dir, order) = confirmed_order(config, books, 10).await?;
    issuer::issuance::issue(&db, &keys, order.id, &|_, _| {}).await.map_err(CliError::new)?;
    let target = out.clone().unwrap_or_else(|| dir.join("pdf"));
    let start = Instant::now();
    let files = issuer::print_run::write_files(&db, order.id, &config.public_url, None, None, &target, &|_, _| {})
        .await
        .map_err(CliError::new)?;
    let elapsed = start.elapsed();
    let bytes: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    println!(
        "print engine={} books={books} vouchers={} files={} megabytes={:.1} seconds={:.2}",
        db.engine().as_str(),
        u64::from(books) * 10,
        files.len(),
        bytes as f64 / 1_048_576.0,
        elapsed.as_secs_f64()
    );
    if out.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    db.close().await;
    Ok(())
}

/// A fresh signing key and a confirmed order of `books` × `per_book` vouchers.
async fn confirmed_order(
    config: &Config,
    books: u32,
    per_book: u32,
) -> Result<(ledger::Db, issuer::keys::KeyRing, std::path::PathBuf, issuer::orders::Order), CliError> {
    let db = connect_and_migrate(config).await?;
    let dir = tempfile_dir()?;
    issuer::keys::KeyRing::generate(&dir).map_err(CliError::new)?;
    let keys = issuer::keys::KeyRing::load(&dir).map_err(CliError::new)?;
    let order = bench_order(&db, books, per_book).await?;
    Ok((db, keys, dir, order))
}

/// A confirmed order of `books` × `per_book` vouchers valid everywhere, for a bench funder.
async fn bench_order(db: &ledger::Db, books: u32, per_book: u32) -> Result<issuer::orders::Order, CliError> {
    use issuer::orders::{self, FeeTerms, NewOrder};
    let mut tx = db.begin().await.map_err(CliError::new)?;
    let run = ledger::time::now().timestamp_micros() % 1_000_000_000;
    let siret = bench_siret(9_000_000_000_000 + run)?;
    let funder = issuer::profiles::create(
        &mut tx,
        issuer::organisations::OrgKind::Funder,
        "Banc d'essai",
        &siret,
        "etat",
        Default::default(),
    )
    .await
    .map_err(CliError::new)?;
    let new: NewOrder = serde_json::from_value(serde_json::json!({
        "label": "Banc d'essai", "funders": [{"funder_id": funder.organisation.id, "share_bps": 10000}],
        "books": books, "vouchers_per_book": per_book, "valid_from": "2026-01-01", "valid_until": "2027-12-31",
    }))
    .map_err(CliError::new)?;
    let order = orders::create(&mut tx, &new, FeeTerms { issuance_fee_bps: 0, redemption_fee_bps: 0 }, None)
        .await
        .map_err(CliError::new)?;
    let order = orders::confirm(&mut tx, order.id).await.map_err(CliError::new)?;
    tx.commit().await.map_err(CliError::new)?;
    Ok(order)
}

/// A valid SIRET from a 13-digit prefix.
fn bench_siret(prefix: i64) -> Result<issuer::Siret, CliError> {
    issuer::Siret::completing(&format!("{prefix:013}")).map_err(CliError::new)
}

/// What `passerelle loadtest` needs: per client, a site, its place, a member's token and the
/// vouchers of its own books (a book's vouchers are all used at one site, as in real life).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct RedeemPlan {
    pub clients: Vec<PlanClient>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct PlanClient {
    pub site: i64,
    pub place: i64,
    pub token: String,
    pub vouchers: Vec<String>,
}

/// Prepares a redemption load test on the configured database and signing keys: issues
/// `books` × 10 vouchers and accredits `sites` sites open 24/7, each with a member and a token.
pub async fn redeem_setup(config: &Config, sites: usize, books: u32, out: &std::path::Path) -> Result<(), CliError> {
    use crate::identity::{Role, tokens, users};
    if sites == 0 || books == 0 {
        return Err(CliError::new("--sites et --books doivent être positifs"));
    }
    let db = connect_and_migrate(config).await?;
    let keys = issuer::keys::KeyRing::load(&config.key_dir).map_err(CliError::new)?;
    let order = bench_order(&db, books, 10).await?;
    let start = Instant::now();
    issuer::issuance::issue(&db, &keys, order.id, &|_, _| {}).await.map_err(CliError::new)?;
    eprintln!("{} chèques émis en {:.1} s", u64::from(books) * 10, start.elapsed().as_secs_f64());
    let mut tx = db.begin().await.map_err(CliError::new)?;
    let run = ledger::time::now().timestamp_micros() % 100_000_000;
    let iban: redeemer::bank::Iban = "FR7630006000011234567890189".parse().map_err(CliError::new)?;
    let bic: redeemer::bank::Bic = "CEPAFRPP333".parse().map_err(CliError::new)?;
    let bordeaux: issuer::InseeCode = "33063".parse().map_err(CliError::new)?;
    let mut clients = Vec::with_capacity(sites);
    for i in 0..sites {
        let name = format!("Lieu d'essai {i}");
        let siret = bench_siret(8_000_000_000_000 + run * 1000 + i as i64)?;
        let site = redeemer::sites::create(&mut tx, &name, &siret, &iban, &bic, &name).await.map_err(CliError::new)?;
        let place = redeemer::sites::add_place(&mut tx, site, "Accueil", "1 cours de l'Intendance", &bordeaux, "24/7")
            .await
            .map_err(CliError::new)?;
        redeemer::sites::set_services(&mut tx, site, &["DEM-ACCOMP"]).await.map_err(CliError::new)?;
        redeemer::sites::decide(
            &mut tx,
            site,
            redeemer::sites::Accreditation::Accredited,
            Some(ledger::time::now().date_naive() + chrono::Duration::days(365)),
            None,
            "Banc d'essai",
        )
        .await
        .map_err(CliError::new)?;
        let email = format!("essai-{run}-{i}@passerelle.invalid");
        let password = crate::identity::password::generate();
        let user = users::create(&mut tx, site, &email, "Médiateur d'essai", Role::Member, &password)
            .await
            .map_err(CliError::new)?;
        let (_, token) = tokens::create(&mut tx, user.id, "loadtest", None).await.map_err(CliError::new)?;
        clients.push(PlanClient { site, place, token, vouchers: Vec::new() });
    }
    tx.commit().await.map_err(CliError::new)?;
    let mut conn = db.pool().acquire().await.map_err(CliError::new)?;
    for n in 1..=books {
        let serial = issuer::issuance::serial(order.id, n);
        let book = issuer::books::by_serial(&mut conn, &serial)
            .await
            .map_err(CliError::new)?
            .ok_or_else(|| CliError::new(format!("carnet {serial} introuvable")))?;
        let codes = issuer::books::vouchers(&mut conn, book.id).await.map_err(CliError::new)?;
        clients[(n as usize - 1) % sites].vouchers.extend(codes.into_iter().map(|v| v.code));
    }
    drop(conn);
    let json = serde_json::to_vec(&RedeemPlan { clients }).map_err(CliError::new)?;
    std::fs::write(out, json).map_err(|e| CliError::new(format!("{} : {e}", out.display())))?;
    eprintln!("plan écrit : {} ({sites} lieux)", out.display());
    db.close().await;
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf, CliError> {
    let dir = std::env::temp_dir().join(format!("passerelle-bench-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(dir)
}
