//! Crash test (short form, both engines): clients redeem 200 vouchers through the real server
//! process, which is killed with SIGKILL at a random moment 20 times and restarted; clients
//! retry everything not acknowledged with the same idempotency keys. At the end every voucher
//! is redeemed exactly once, every acknowledged redemption exists once, nothing is half-written
//! and the ledger verifies.

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

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start(url: &str, keys: &std::path::Path) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .arg("serve")
        .env("DATABASE_URL", url)
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
}

async fn drive(
    base: &str,
    token: &str,
    site: i64,
    place: i64,
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
                let body = json!({
                    "place_id": place, "service_code": "DEM-ACCOMP", "vouchers": [code],
                    "idempotency_key": format!("crash-{code}"),
                });
                let answer = http
                    .post(format!("{base}/api/v1/sites/{site}/redemptions"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status() == 201 || r.status() == 200 => {
                        let mut seen = seen.lock().unwrap();
                        if r.status() == 201 {
                            seen.created += 1
                        } else {
                            seen.replayed += 1
                        }
                        acked.lock().unwrap().insert(code);
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
    let pending = Arc::new(Mutex::new(codes));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut kills = 0;
    for _ in 0..ROUNDS {
        let (mut server, base) = start(&s.tdb.url, s.keys_dir()).await;
        let driving = {
            let (base, token, pending, acked, seen) =
                (base.clone(), token.clone(), pending.clone(), acked.clone(), seen.clone());
            tokio::spawn(async move { drive(&base, &token, site, place, &pending, &acked, &seen).await })
        };
        let wait = rand::rng().random_range(40..250);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.0.kill().unwrap(); // SIGKILL
        server.0.wait().unwrap();
        kills += 1;
        driving.await.unwrap();
    }
    // A last run lets the clients finish what is left.
    let (_server, base) = start(&s.tdb.url, s.keys_dir()).await;
    while !pending.lock().unwrap().is_empty() {
        drive(&base, &token, site, place, &pending, &acked, &seen).await;
    }
    assert_eq!(kills, ROUNDS);
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    println!("kills {kills}, created {}, replayed {}, requests cut {}", seen.created, seen.replayed, seen.cut);
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
    let payable = ledger::query::balance(&s.tdb.db, &ledger::AccountCode::site_payable(site)).await.unwrap();
    assert_eq!(payable.natural.0, 200 * 1000);
}

ledger::both_engines!(killed_twenty_times);
