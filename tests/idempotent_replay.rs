//! Idempotency keys of redemptions over real HTTP, on both engines (issue 22): a retry answers
//! the first answer byte for byte even after other redemptions changed the site's balance; the
//! same key with another request is refused with 422 and records nothing; an offline batch synced
//! twice answers its first results.

mod common;

use common::TestServer;
use ledger::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The codes of the vouchers of book `n` of `order`.
async fn book_codes(s: &TestServer, order: i64, n: u32) -> Vec<String> {
    let mut conn = s.tdb.db.pool().acquire().await.unwrap();
    let book = issuer::books::by_serial(&mut conn, &issuer::issuance::serial(order, n)).await.unwrap().unwrap();
    issuer::books::vouchers(&mut conn, book.id).await.unwrap().into_iter().map(|v| v.code).collect()
}

/// Redemptions recorded and vouchers used.
async fn recorded(s: &TestServer) -> (i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM redemptions), (SELECT COUNT(*) FROM vouchers WHERE status = 'redeemed')",
    )
    .fetch_one(s.tdb.db.pool())
    .await
    .unwrap()
}

async fn a_retry_answers_the_first_answer(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let order = s.issued_order(s.who("funder_a_manager").organisation_id, 2, 10).await;
    let site = s.who("site_a_member").organisation_id;
    let place: i64 = sqlx::query_scalar("SELECT MIN(id) FROM site_places WHERE site_id = $1")
        .bind(site)
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    let codes = book_codes(&s, order.id, 1).await;
    let path = format!("/api/v1/sites/{site}/redemptions");
    let passage = |code: &str, key: &str| json!({"place_id": place, "service_code": "DEM-ACCOMP", "vouchers": [code], "idempotency_key": key});

    let first = s.post("site_a_member", &path, passage(&codes[0], "first")).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = first.bytes().await.unwrap();
    let first_json: Value = serde_json::from_slice(&first).unwrap();
    let payable_then = first_json["site_payable_cents"].as_i64().unwrap();
    assert!(payable_then > 0, "{first_json}");

    // Other passages move the site's balance on.
    for (i, code) in codes[1..5].iter().enumerate() {
        let r = s.post("site_a_member", &path, passage(code, &format!("other-{i}"))).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let now = ledger::query::balance(&s.tdb.db, &ledger::AccountCode::site_payable(site)).await.unwrap().natural;
    assert_ne!(now.0, payable_then, "the balance moved on");

    // The retry: 200, the header, and exactly the first bytes.
    let again = s.post("site_a_member", &path, passage(&codes[0], "first")).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    let again = again.bytes().await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&again),
        String::from_utf8_lossy(&first),
        "a retry answers the first answer, byte for byte"
    );

    // The same key with another request: refused, nothing recorded.
    let before = recorded(&s).await;
    let reused = s.post("site_a_member", &path, passage(&codes[9], "first")).send().await.unwrap();
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = reused.json().await.unwrap();
    assert_eq!(problem["code"], "idempotency_conflict", "{problem}");
    assert_eq!(recorded(&s).await, before, "nothing recorded, the voucher of the refused request still unused");

    // An offline batch synced twice: the second sync answers the first results.
    let an_hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let batch = json!({"items": [
        {"place_id": place, "service_code": "DEM-ACCOMP", "vouchers": [codes[6]], "idempotency_key": "offline-1",
         "performed_at": an_hour_ago},
    ]});
    let batch_path = format!("/api/v1/sites/{site}/redemptions/batch");
    let synced: Value = s.post("site_a_member", &batch_path, batch.clone()).send().await.unwrap().json().await.unwrap();
    assert_eq!(synced[0]["replayed"], false, "{synced}");
    let r = s.post("site_a_member", &path, passage(&codes[7], "after-sync")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let resynced: Value = s.post("site_a_member", &batch_path, batch).send().await.unwrap().json().await.unwrap();
    assert_eq!(resynced[0]["replayed"], true, "{resynced}");
    assert_eq!(resynced[0]["redeemed"], synced[0]["redeemed"], "the first result, balance included");

    let report = s.get_json("operator_manager", "/api/v1/ledger/verify").await;
    assert_eq!(report["ok"], true, "{report}");
}

ledger::both_engines!(a_retry_answers_the_first_answer);
