//! Continuity: the demo's whole state exported from one engine, imported into an empty
//! deployment on the other, exported again byte for byte; the ledger verifies, balances are
//! identical, every live voucher verifies with the imported public keys and can be redeemed; a
//! tampered file is refused with the file and the line named.

mod common;

use issuer::keys::KeyRing;
use ledger::testing::TestDb;
use passerelle::continuity::{self, ContinuityError};
use std::path::Path;

fn quiet(_: &str, _: u64) {}

fn refused(r: Result<continuity::Manifest, ContinuityError>) -> ContinuityError {
    match r {
        Ok(m) => panic!("import accepted ({} tables)", m.tables.len()),
        Err(e) => e,
    }
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

async fn round_trip(source: TestDb, target: TestDb) {
    let work = tempfile::tempdir().unwrap();
    let (keys_a, keys_b) = (work.path().join("keys-a"), work.path().join("keys-b"));
    let config = common::test_config(&source.url, &keys_a);
    let (db, _) = passerelle::commands::demo::seed(&config).await.unwrap();
    let first = work.path().join("export-1");
    let manifest = continuity::export(&db, &KeyRing::load(&keys_a).unwrap(), &first, &quiet).await.unwrap();
    let vouchers = manifest.tables.iter().find(|t| t.name == "vouchers").unwrap().rows;
    assert!(vouchers >= 2000, "the demo's vouchers are exported: {vouchers}");
    assert!(!manifest.tables.iter().any(|t| t.name == "api_tokens"), "tokens are re-issued, never exported");

    // Every table of the schema is exported, but the API tokens.
    let schema: Vec<String> = match db.engine() {
        ledger::Engine::Sqlite => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
        )
        .fetch_all(db.pool())
        .await
        .unwrap(),
        ledger::Engine::Postgres => sqlx::query_scalar(
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_name NOT LIKE '_sqlx%' ORDER BY table_name",
        )
        .fetch_all(db.pool())
        .await
        .unwrap(),
    };
    // Tokens, sessions, password links and the outbox (whose messages carry such links) are not
    // carried over; statistics are derived and recomputed.
    let mut exported: Vec<String> = manifest
        .tables
        .iter()
        .map(|t| t.name.clone())
        .chain(
            [
                "api_tokens",
                "web_sessions",
                "password_tokens",
                "outbox_messages",
                "stats_book_events",
                "stats_books",
                "stats_cells",
                "stats_first_months",
                "stats_state",
            ]
            .map(String::from),
        )
        .collect();
    exported.sort();
    assert_eq!(exported, schema);

    continuity::import(&target.db, &keys_b, &first, &quiet).await.unwrap();
    let second = work.path().join("export-2");
    continuity::export(&target.db, &KeyRing::load(&keys_b).unwrap(), &second, &quiet).await.unwrap();
    let (a, b) = (files(&first), files(&second));
    assert_eq!(a.iter().map(|f| &f.0).collect::<Vec<_>>(), b.iter().map(|f| &f.0).collect::<Vec<_>>());
    for (x, y) in a.iter().zip(&b) {
        assert!(x.1 == y.1, "{} differs after the round trip", x.0);
    }

    // The ledger verifies and every balance is the same.
    let report = ledger::verify::verify(&target.db).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    let before = ledger::query::trial_balance(&db, None).await.unwrap();
    let after = ledger::query::trial_balance(&target.db, None).await.unwrap();
    assert_eq!(format!("{before:?}"), format!("{after:?}"));

    // Statistics are not exported but recomputed from what was loaded: the same figures.
    statistics::refresh(&db).await.unwrap();
    statistics::refresh(&target.db).await.unwrap();
    let everything = statistics::Scope::Operator { funder: None };
    let source_figures = statistics::figures(&db, everything, statistics::Period::all()).await.unwrap();
    assert!(source_figures.redeemed.vouchers > 0 && source_figures.books.unwrap().distributed > 0);
    assert_eq!(source_figures, statistics::figures(&target.db, everything, statistics::Period::all()).await.unwrap());

    // Every live voucher verifies with the imported public keys (this deployment cannot sign).
    let ring = KeyRing::load(&keys_b).unwrap();
    assert!(ring.is_empty() && ring.public_keys().len() == 1);
    let order = issuer::orders::list(&target.db, None)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.status == issuer::orders::OrderStatus::Issued)
        .unwrap();
    let printed =
        issuer::print_run::books(&target.db, &order, "https://passerelle.example", 1, order.books).await.unwrap();
    let mut live = Vec::new();
    for v in printed.iter().flat_map(|b| &b.vouchers) {
        let scanned = issuer::scan::parse(&v.qr_payload).unwrap();
        let issuer::scan::Scanned::Token(t) = &scanned else { panic!("a token") };
        t.verify(&ring).unwrap();
        live.push(v.clone());
    }
    assert_eq!(live.len() as u64, u64::from(order.books) * u64::from(order.vouchers_per_book));

    // And a live one is redeemed on the new deployment.
    let (site, place): (i64, i64) = sqlx::query_as(
        "SELECT s.organisation_id, MIN(p.id) FROM sites s JOIN site_places p ON p.site_id = s.organisation_id \
         WHERE s.status = 'accredited' GROUP BY s.organisation_id ORDER BY s.organisation_id LIMIT 1",
    )
    .fetch_one(target.db.pool())
    .await
    .unwrap();
    let active: i64 = sqlx::query_scalar("SELECT MIN(code) FROM vouchers WHERE status = 'active' AND order_id = $1")
        .bind(order.id)
        .fetch_one(target.db.pool())
        .await
        .unwrap();
    let display = issuer::code::VoucherCode::from_db(active).display();
    let token = live.iter().find(|v| v.code_display == display).unwrap().qr_payload.clone();
    let req = redeemer::redeem::RedeemRequest {
        site_id: site,
        place_id: place,
        service_code: "DEM-ACCOMP".into(),
        vouchers: vec![token],
        performed_at: None,
        idempotency_key: "after-import".into(),
        scanned_by: None,
        outcome: None,
    };
    redeemer::redeem::redeem(&target.db, &ring, &req).await.unwrap();
    assert!(ledger::verify::verify(&target.db).await.unwrap().is_ok());

    // Tampering: a changed value is named by file and line; a line whose own fingerprint was
    // recomputed is still caught by the file's checksum; nothing is written either way.
    let tampered = work.path().join("tampered");
    std::fs::create_dir_all(&tampered).unwrap();
    for (name, bytes) in &a {
        std::fs::write(tampered.join(name), bytes).unwrap();
    }
    let text = String::from_utf8(a.iter().find(|f| f.0 == "vouchers.jsonl").unwrap().1.clone()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert!(lines[41].contains(",1000,"), "{}", lines[41]);
    lines[41] = lines[41].replacen(",1000,", ",999999,", 1);
    std::fs::write(tampered.join("vouchers.jsonl"), lines.join("\n") + "\n").unwrap();
    let empty = ledger::testing::sqlite().await;
    let err = refused(continuity::import(&empty.db, &work.path().join("keys-c"), &tampered, &quiet).await);
    assert!(matches!(&err, ContinuityError::Line { file, line: 42, .. } if file == "vouchers.jsonl"), "{err}");
    assert_eq!(err.to_string().split(" : ").next(), Some("vouchers.jsonl, ligne 42"));
    let row: serde_json::Value = serde_json::from_str(&lines[41]).unwrap();
    let values = row["r"].to_string();
    let fingerprint = {
        use sha2::Digest;
        hex::encode(&sha2::Sha256::digest(values.as_bytes())[..8])
    };
    lines[41] = format!("{{\"h\":\"{fingerprint}\",\"r\":{values}}}");
    std::fs::write(tampered.join("vouchers.jsonl"), lines.join("\n") + "\n").unwrap();
    let err = refused(continuity::import(&empty.db, &work.path().join("keys-c"), &tampered, &quiet).await);
    assert!(err.to_string().contains("vouchers.jsonl") && err.to_string().contains("SHA-256"), "{err}");
    let organisations: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM organisations").fetch_one(empty.db.pool()).await.unwrap();
    assert_eq!(organisations, 0, "nothing written");
    // A deployment that is not empty is refused.
    let err = refused(continuity::import(&target.db, &keys_b, &first, &quiet).await);
    assert!(matches!(err, ContinuityError::NotEmpty(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_to_postgres_and_back_again() {
    round_trip(ledger::testing::sqlite().await, ledger::testing::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_to_sqlite() {
    round_trip(ledger::testing::postgres().await, ledger::testing::sqlite().await).await;
}
