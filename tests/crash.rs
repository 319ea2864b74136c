//! Crash test (short form, both engines): clients redeem 200 vouchers through the real server
//! process (half of them performed yesterday) while the operator prepares, releases and confirms
//! the settlement of yesterday; the server is killed with SIGKILL at a random moment 20 times and
//! restarted; clients retry everything not acknowledged with the same idempotency keys (and the
//! operator its settlement steps). On PostgreSQL the server's database connections are also cut
//! under load 5 times (`pg_terminate_backend`, what a database restart does to them): clients see
//! errors, then the server recovers by itself: a probe client, with a voucher kept for it, must
//! see its passage recorded within 5 s of each cut. At the end every voucher is redeemed exactly once,
//! every acknowledged redemption exists once, yesterday has exactly one settlement, released and
//! paid, nothing is half-written and the ledger verifies.

mod common;

use common::TestServer;
use ledger::testing::TestDb;
use rand::Rng;
use serde_json::json;
use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ROUNDS: usize = 20;
const CLIENTS: usize = 8;
/// PostgreSQL only: rounds where the server's database connections are cut under load.
const DATABASE_CUTS: usize = 5;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start(url: &str, keys: &std::path::Path) -> (Server, String) {
    start_named(url, keys, None).await
}

/// Starts `passerelle serve`; on PostgreSQL its connections carry `application_name` if given.
async fn start_named(url: &str, keys: &std::path::Path, application: Option<&str>) -> (Server, String) {
    let url = match application {
        Some(name) => format!("{url}{}application_name={name}", if url.contains('?') { '&' } else { '?' }),
        None => url.to_owned(),
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("PASSERELLE_KEY_DIR", keys)
        .env("PASSERELLE_LISTEN", format!("127.0.0.1:{port}"))
        .env("PASSERELLE_SETTLEMENT_SCHEDULE", "off")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Owned at once: killed and waited for on every path.
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..400 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
            return (server, base);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the server did not start");
}

/// Clients take vouchers from `pending` and redeem them until the server goes away; a voucher
/// whose answer did not arrive goes back to `pending`.
/// What the clients saw: answers 201, replays (200: recorded before, answer lost), cut requests.
#[derive(Default)]
struct Seen {
    created: u64,
    replayed: u64,
    cut: u64,
    /// Answers 5xx (the database went away under the server): retried.
    errors: u64,
}

/// Where the passages are recorded, and the time given to those that took place yesterday.
#[derive(Clone, Copy)]
struct Passages {
    site: i64,
    place: i64,
    yesterday: chrono::DateTime<chrono::Utc>,
}

/// One redemption request for `code`, with the key its retries share.
async fn redeem(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    Passages { site, place, yesterday }: Passages,
    code: &str,
) -> reqwest::Result<reqwest::Response> {
    // Half of the passages took place yesterday: they go into yesterday's settlement.
    let performed_at = code
        .ends_with(['0', '2', '4', '6', '8', 'A', 'C', 'E', 'G', 'J', 'M', 'P', 'R', 'T', 'W', 'Y'])
        .then_some(yesterday);
    let body = json!({
        "place_id": place, "service_code": "DEM-ACCOMP", "vouchers": [code],
        "idempotency_key": format!("crash-{code}"), "performed_at": performed_at,
    });
    http.post(format!("{base}/api/v1/sites/{site}/redemptions")).bearer_auth(token).json(&body).send().await
}

/// Counts an acknowledgement (201 recorded now, 200 recorded before and its answer lost);
/// false for any other answer.
fn acknowledged(status: reqwest::StatusCode, code: &str, acked: &Mutex<BTreeSet<String>>, seen: &Mutex<Seen>) -> bool {
    let mut seen = seen.lock().unwrap();
    match status.as_u16() {
        201 => seen.created += 1,
        200 => seen.replayed += 1,
        _ => return false,
    }
    acked.lock().unwrap().insert(code.to_owned());
    true
}

async fn drive(
    base: &str,
    token: &str,
    passages: Passages,
    pending: &Arc<Mutex<Vec<String>>>,
    acked: &Arc<Mutex<BTreeSet<String>>>,
    seen: &Arc<Mutex<Seen>>,
) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (http, base, token, pending, acked, seen) =
            (http.clone(), base.to_owned(), token.to_owned(), pending.clone(), acked.clone(), seen.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(code) = pending.lock().unwrap().pop() else { return };
                match redeem(&http, &base, &token, passages, &code).await {
                    Ok(r) if acknowledged(r.status(), &code, &acked, &seen) => {}
                    Ok(r) if r.status().is_server_error() => {
                        // The database went away under the server: retry with the same key.
                        seen.lock().unwrap().errors += 1;
                        pending.lock().unwrap().push(code);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Ok(r) => {
                        panic!("unexpected answer {} for {code}: {}", r.status(), r.text().await.unwrap_or_default())
                    }
                    Err(_) => {
                        // The server died: the voucher will be retried with the same key.
                        seen.lock().unwrap().cut += 1;
                        pending.lock().unwrap().push(code);
                        return;
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// After a cut of the server's database connections: redeems `code` until the server records
/// it, every 50 ms for at most 5 s. Returns how long that took, or None (the voucher then goes
/// back to `pending`). Independent of how much work the other clients have left.
async fn probe_recovery(
    base: &str,
    token: &str,
    passages: Passages,
    code: String,
    pending: &Mutex<Vec<String>>,
    acked: &Mutex<BTreeSet<String>>,
    seen: &Mutex<Seen>,
) -> Option<Duration> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        match redeem(&http, base, token, passages, &code).await {
            Ok(r) if acknowledged(r.status(), &code, acked, seen) => return Some(started.elapsed()),
            Ok(r) if r.status().is_server_error() => seen.lock().unwrap().errors += 1,
            Ok(r) => panic!("unexpected answer {} for {code}: {}", r.status(), r.text().await.unwrap_or_default()),
            Err(_) => seen.lock().unwrap().cut += 1,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pending.lock().unwrap().push(code);
    None
}

/// The operator's settlement of the period ending `day`: prepare (the same period again returns
/// the same run), release, confirm every payout. Each step is retried after a cut; a step already
/// done answers 409. Returns true once everything is done.
async fn settle(base: &str, token: &str, day: chrono::NaiveDate) -> bool {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let post = |path: String, body: serde_json::Value| {
        http.post(format!("{base}{path}")).bearer_auth(token).json(&body).send()
    };
    let Ok(r) = post("/api/v1/settlements".into(), json!({"period_end": day})).await else { return false };
    if !r.status().is_success() {
        return false;
    }
    let Ok(run) = r.json::<serde_json::Value>().await else { return false };
    let id = run["id"].as_i64().unwrap();
    if run["status"] == "draft" {
        match post(format!("/api/v1/settlements/{id}/release"), json!({})).await {
            Ok(r) if r.status().is_success() || r.status() == 409 => {}
            _ => return false,
        }
    }
    let Ok(r) = http.get(format!("{base}/api/v1/settlements/{id}")).bearer_auth(token).send().await else {
        return false;
    };
    let Ok(run) = r.json::<serde_json::Value>().await else { return false };
    let mut done = run["status"] == "released";
    for p in run["payouts"].as_array().into_iter().flatten() {
        if p["status"] == "sent" {
            match post(format!("/api/v1/payouts/{}/confirm", p["id"]), json!({})).await {
                Ok(r) if r.status().is_success() || r.status() == 409 => {}
                _ => done = false,
            }
        }
    }
    done
}

async fn killed_twenty_times(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let site = s.who("site_a_member").organisation_id;
    let token = s.who("site_a_member").token.clone();
    let place: i64 = sqlx::query_scalar("SELECT MIN(id) FROM site_places WHERE site_id = $1")
        .bind(site)
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    let order = s.issued_order(s.who("funder_a_manager").organisation_id, 20, 10).await;
    let mut codes = Vec::new();
    let mut conn = s.tdb.db.pool().acquire().await.unwrap();
    for n in 1..=20 {
        let book = issuer::books::by_serial(&mut conn, &issuer::issuance::serial(order.id, n)).await.unwrap().unwrap();
        codes.extend(issuer::books::vouchers(&mut conn, book.id).await.unwrap().into_iter().map(|v| v.code));
    }
    drop(conn);
    let all: BTreeSet<String> = codes.iter().cloned().collect();
    // One voucher kept aside for each cut of the database connections, to probe the recovery.
    let mut probes = codes.split_off(codes.len() - DATABASE_CUTS);
    let pending = Arc::new(Mutex::new(codes));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let today = issuer::local_time::day(ledger::time::now());
    let day = today.pred_opt().unwrap();
    let passages = Passages { site, place, yesterday: issuer::local_time::at(day, 12, 0) };
    let operator = s.who("operator_manager").token.clone();
    let settled = Arc::new(Mutex::new(false));
    let postgres = s.tdb.url.starts_with("postgres");
    let application = format!("crash{}", std::process::id());
    let mut kills = 0;
    let mut recovered = Vec::new();
    let rounds = ROUNDS;
    for round in 0..rounds {
        // On PostgreSQL, in 5 of the rounds the database connections are cut before the kill.
        let cut_database = postgres && round % (ROUNDS / DATABASE_CUTS) == 1;
        let (mut server, base) = start_named(&s.tdb.url, s.keys_dir(), postgres.then_some(application.as_str())).await;
        let driving = {
            let (base, token, pending, acked, seen) =
                (base.clone(), token.clone(), pending.clone(), acked.clone(), seen.clone());
            tokio::spawn(async move { drive(&base, &token, passages, &pending, &acked, &seen).await })
        };
        let settling = {
            let (base, operator, settled, acked) = (base.clone(), operator.clone(), settled.clone(), acked.clone());
            tokio::spawn(async move {
                // Once a third of the passages are recorded, the operator settles yesterday while
                // the others keep coming (those of yesterday recorded later go to the next run).
                let started = acked.lock().unwrap().len() >= 70;
                if started && !*settled.lock().unwrap() && settle(&base, &operator, day).await {
                    *settled.lock().unwrap() = true;
                }
            })
        };
        let wait = rand::rng().random_range(40..250);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        if cut_database {
            // What a database restart does to the server: every connection cut under load.
            sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
                .bind(&application)
                .execute(s.tdb.db.pool())
                .await
                .unwrap();
            // The server reconnects by itself: a passage is recorded again within seconds.
            let code = probes.pop().unwrap();
            recovered.push(probe_recovery(&base, &token, passages, code, &pending, &acked, &seen).await);
        }
        server.0.kill().unwrap(); // SIGKILL
        server.0.wait().unwrap();
        kills += 1;
        driving.await.unwrap();
        settling.await.unwrap();
    }
    // A last run lets the clients finish what is left (with the probes not used on SQLite), and
    // the operator its settlement.
    pending.lock().unwrap().append(&mut probes);
    let (_server, base) = start(&s.tdb.url, s.keys_dir()).await;
    while !pending.lock().unwrap().is_empty() {
        drive(&base, &token, passages, &pending, &acked, &seen).await;
    }
    while !*settled.lock().unwrap() {
        *settled.lock().unwrap() = settle(&base, &operator, day).await;
    }
    assert_eq!(kills, rounds);
    assert_eq!(recovered.len(), if postgres { DATABASE_CUTS } else { 0 });
    assert!(
        recovered.iter().all(Option::is_some),
        "after each cut of its database connections the server recovers by itself: {recovered:?}"
    );
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    println!(
        "kills {kills}, database cuts {}, created {}, replayed {}, requests cut {}, 5xx answers retried {}, time to the first passage recorded after each database cut {recovered:?}",
        recovered.len(),
        seen.created,
        seen.replayed,
        seen.cut,
        seen.errors
    );
    assert!(seen.cut >= ROUNDS as u64 / 2, "the kills must cut requests in flight ({} cut)", seen.cut);
    assert_eq!(seen.created + seen.replayed, 200, "one acknowledgement per voucher");
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked, all, "every voucher acknowledged in the end");

    // Exactly once: one redemption per key, one per voucher, every voucher redeemed, nothing else.
    let keys: Vec<String> = sqlx::query_scalar("SELECT idempotency_key FROM redemptions ORDER BY idempotency_key")
        .fetch_all(s.tdb.db.pool())
        .await
        .unwrap();
    let expected: Vec<String> = all.iter().map(|c| format!("crash-{c}")).collect();
    assert_eq!(keys, expected);
    let (redeemed, lines): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM vouchers WHERE order_id = $1 AND status = 'redeemed'), (SELECT COUNT(*) FROM redemption_vouchers)",
    )
    .bind(order.id)
    .fetch_one(s.tdb.db.pool())
    .await
    .unwrap();
    assert_eq!((redeemed, lines), (200, 200));
    let transactions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'redemption'")
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    assert_eq!(transactions, 200, "no redemption posted twice or without its row");
    let mut report = ledger::verify::verify(&s.tdb.db).await.unwrap();
    issuer::invariants::check(&s.tdb.db, &mut report).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    // Yesterday has exactly one settlement, released, every payout confirmed; what it paid left
    // the site's payable account, through the payouts in transit, to the bank.
    let runs: Vec<(i64, String)> = sqlx::query_as("SELECT id, status FROM settlement_runs WHERE period_end = $1")
        .bind(day.format("%Y-%m-%d").to_string())
        .fetch_all(s.tdb.db.pool())
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "one settlement for the period: {runs:?}");
    assert_eq!(runs[0].1, "released");
    let (paid, unconfirmed): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT),          CAST(COALESCE(SUM(CASE WHEN status <> 'confirmed' THEN 1 ELSE 0 END), 0) AS BIGINT) FROM payouts WHERE run_id = $1",
    )
    .bind(runs[0].0)
    .fetch_one(s.tdb.db.pool())
    .await
    .unwrap();
    assert_eq!(unconfirmed, 0);
    assert!(paid > 0, "the settlement paid yesterday's passages");
    let payable = ledger::query::balance(&s.tdb.db, &ledger::AccountCode::site_payable(site)).await.unwrap();
    assert_eq!(payable.natural.0, 200 * 1000 - paid);
    let transit = ledger::query::balance(&s.tdb.db, &"payouts:in_transit".parse().unwrap()).await.unwrap();
    assert_eq!(transit.natural.0, 0, "every payout confirmed by the bank");
}

ledger::both_engines!(killed_twenty_times);
