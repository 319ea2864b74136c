//! Statistics over HTTP on both engines: each caller sees its own scope; the dashboard's redeemed
//! value equals the ledger's redemption postings; tables by beneficiary attribute hide counts
//! under 5; CSV for French spreadsheets; the impact report read back with `pdftotext`; the public
//! open-data file; bad periods and unknown tables answered clearly.

mod common;

use common::TestServer;
use ledger::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn ok_json(r: reqwest::RequestBuilder) -> Value {
    let r = r.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Issues an order for `funder` (books × 5 vouchers), hands book 1 over and redeems `n` of its
/// vouchers at `site` through the API.
async fn activity(s: &TestServer, funder: &str, site: &str, n: usize) -> i64 {
    let order = s.issued_order(s.who(funder).organisation_id, 2, 5).await;
    let prescriber = s.who("prescriber_member").organisation_id;
    let assign = json!({"prescriber_id": prescriber, "books": {"order_id": order.id, "from": 1, "to": 1}});
    ok_json(s.post("operator_member", "/api/v1/books/assign", assign)).await;
    let serial = issuer::issuance::serial(order.id, 1);
    let book = ok_json(s.get("prescriber_member", &format!("/api/v1/books/{serial}"))).await;
    let codes: Vec<String> =
        book["vouchers"].as_array().unwrap().iter().map(|v| v["code"].as_str().unwrap().to_owned()).collect();
    let handover = json!({"voucher": codes[0], "profile": {"age_band": "75_et_plus", "commune_insee": "33522", "autonomy": "excluded"}});
    ok_json(s.post("prescriber_member", "/api/v1/distributions", handover)).await;
    let site_id = s.who(site).organisation_id;
    let place: i64 = sqlx::query_scalar("SELECT MIN(id) FROM site_places WHERE site_id = $1")
        .bind(site_id)
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    for (i, code) in codes.iter().take(n).enumerate() {
        let body = json!({"place_id": place, "service_code": "DEM-ACCOMP", "vouchers": [code],
            "idempotency_key": format!("stats-{}-{i}", order.id),
            "outcome": {"result": "skill_acquired", "autonomy_before": 1, "autonomy_after": 3}});
        let r = s.post(site, &format!("/api/v1/sites/{site_id}/redemptions"), body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    }
    order.face_value_cents
}

async fn statistics_over_http(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let face = activity(&s, "funder_a_manager", "site_a_member", 3).await;
    activity(&s, "funder_b_manager", "site_b_manager", 2).await;
    // The statistics fold sealed transactions: wait for the server's sealer (every 50 ms in the
    // tests; sealing here too would race with it), then fold.
    for _ in 0..200 {
        if ledger::verify::verify(&s.tdb.db).await.unwrap().unsealed == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(ledger::verify::verify(&s.tdb.db).await.unwrap().unsealed, 0, "everything sealed");
    statistics::refresh(&s.tdb.db).await.unwrap();

    // Each caller its own scope.
    let funder_a = ok_json(s.get("funder_a_member", "/api/v1/statistics")).await;
    assert_eq!(funder_a["redeemed"]["vouchers"], 3);
    assert_eq!(funder_a["redeemed"]["value"], 3 * face);
    assert_eq!(funder_a["distributed"]["books"], 1);
    assert_eq!(funder_a["outcomes"]["skill_acquired"], 3);
    let site_b = ok_json(s.get("site_b_manager", "/api/v1/statistics")).await;
    assert_eq!(site_b["redeemed"]["vouchers"], 2);
    let all = ok_json(s.get("operator_member", "/api/v1/statistics")).await;
    assert_eq!(all["redeemed"]["vouchers"], 5);
    let one = s.who("funder_b_manager").organisation_id;
    let filtered = ok_json(s.get("operator_member", &format!("/api/v1/statistics?funder={one}"))).await;
    assert_eq!(filtered["redeemed"]["vouchers"], 2);
    // A funder cannot look at another one's figures by asking.
    let asked = ok_json(s.get("funder_a_member", &format!("/api/v1/statistics?funder={one}"))).await;
    assert_eq!(asked["redeemed"]["vouchers"], 3);

    // The dashboard's redeemed value is what the ledger posted to the sites for redemptions.
    let posted: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(value_cents), 0) AS BIGINT) FROM redemptions r \
         JOIN ledger_transactions t ON t.id = r.ledger_transaction",
    )
    .fetch_one(s.tdb.db.pool())
    .await
    .unwrap();
    assert_eq!(all["redeemed"]["value"], posted);

    // By age band (a beneficiary attribute): one person, shown « < 5 ».
    let ages = ok_json(s.get("funder_a_member", "/api/v1/statistics/tables/age_band")).await;
    let rows = ages["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        for cell in row.as_array().unwrap() {
            if cell["kind"] == "people" {
                let shown = cell["value"]["value"].as_i64();
                assert!(shown.is_none_or(|n| n >= 5), "a count under 5 people is never shown: {ages}");
            }
        }
    }
    assert!(ages.to_string().contains("suppressed"), "{ages}");

    // CSV for a French spreadsheet.
    let csv = s.get("funder_a_member", "/api/v1/statistics/tables/month/csv").send().await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let bytes = csv.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with BOM");
    let body = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(body.contains(';') && body.contains("\r\n"), "{body}");
    assert!(
        body.contains(&ledger::Cents(3 * face).to_french().replace(['\u{a0}', '€'], "").trim().replace('\u{202f}', "")),
        "{body}"
    );

    // The impact report, read back.
    let pdf = s.get("funder_a_manager", "/api/v1/statistics/report.pdf").send().await.unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rapport.pdf");
    std::fs::write(&path, pdf.bytes().await.unwrap()).unwrap();
    let out = std::process::Command::new("pdftotext").arg(&path).arg("-").output().expect("pdftotext (poppler-utils)");
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in ["Rapport d'impact", "Chiffres clés", "Par mois", "Méthode", "Organisation funder_a"] {
        assert!(text.contains(expected), "« {expected} » in the report:\n{text}");
    }
    let refused = s.get("site_a_member", "/api/v1/statistics/report.pdf").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // Open data: public.
    let open = s.client.get(s.url("/api/v1/open-data/communes.csv")).send().await.unwrap();
    assert_eq!(open.status(), StatusCode::OK);
    assert!(open.bytes().await.unwrap().starts_with(b"\xEF\xBB\xBF"));

    // Clear answers to bad requests.
    let bad = s.get("funder_a_member", "/api/v1/statistics?from=2026-13").send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("AAAA-MM"));
    let reversed = s.get("funder_a_member", "/api/v1/statistics?from=2026-10&to=2026-09").send().await.unwrap();
    assert_eq!(reversed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = s.get("funder_a_member", "/api/v1/statistics/tables/salaire").send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let prescriber = s.get("prescriber_member", "/api/v1/statistics").send().await.unwrap();
    assert_eq!(prescriber.status(), StatusCode::FORBIDDEN);
}

ledger::both_engines!(statistics_over_http);
