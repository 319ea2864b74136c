//! The issuing side through the HTTP API: funders, a co-funded order from draft to issued,
//! payments, assignment, hand-over by scanning a voucher, the public check and its rate limit,
//! cancellation of a lost book.

mod common;

use common::{TestServer, valid_siret};
use ledger::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn json_ok(resp: reqwest::Response, expected: StatusCode) -> Value {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, expected, "{body}");
    body
}

async fn order_to_check_to_cancel(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let op = "operator_manager";
    let mut funders = Vec::new();
    for (i, name) in ["Département de la Gironde", "Caisse d'allocations familiales", "État"].iter().enumerate() {
        let body = json!({"name": name, "siret": valid_siret(&format!("777000000000{i}")).as_str(), "category": "departement", "territory": ["33", "40"]});
        let f = json_ok(s.post(op, "/api/v1/funders", body).send().await.unwrap(), StatusCode::CREATED).await;
        assert_eq!(f["territory_label"], "Gironde (33), Landes (40)");
        funders.push(f["id"].as_i64().unwrap());
    }
    let bad = s.post(op, "/api/v1/funders", json!({"name": "X", "siret": valid_siret("7770000000009").as_str(), "category": "departement", "territory": ["999"]}));
    assert_eq!(json_ok(bad.send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await["code"], "invalid_territory");

    let order = json!({
        "label": "Pass numérique Gironde-Landes",
        "funders": [{"funder_id": funders[0], "share_bps": 5000}, {"funder_id": funders[1], "share_bps": 2500}, {"funder_id": funders[2], "share_bps": 2500}],
        "books": 4, "vouchers_per_book": 5, "face_value_cents": 1000,
        "valid_from": "2026-01-01", "valid_until": "2030-12-31", "territory": ["33"],
        "allowed_categories": ["aide_demarches_administratives"], "unused_policy": "breakage",
    });
    let created = json_ok(s.post(op, "/api/v1/orders", order).send().await.unwrap(), StatusCode::CREATED).await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!((created["status"].as_str(), created["face_total_cents"].as_i64()), (Some("draft"), Some(20_000)));
    let early = s.post(op, &format!("/api/v1/orders/{id}/issue"), json!({})).send().await.unwrap();
    assert_eq!(early.status(), StatusCode::CONFLICT);
    json_ok(s.post(op, &format!("/api/v1/orders/{id}/confirm"), json!({})).send().await.unwrap(), StatusCode::OK).await;
    json_ok(s.post(op, &format!("/api/v1/orders/{id}/issue"), json!({})).send().await.unwrap(), StatusCode::ACCEPTED)
        .await;
    let mut status = String::new();
    for _ in 0..200 {
        let o = json_ok(s.get(op, &format!("/api/v1/orders/{id}")).send().await.unwrap(), StatusCode::OK).await;
        status = o["status"].as_str().unwrap().to_owned();
        if status == "issued" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(status, "issued");
    let pos =
        json_ok(s.get(op, &format!("/api/v1/funders/{}/position", funders[0])).send().await.unwrap(), StatusCode::OK)
            .await;
    assert_eq!(pos["balance_cents"], 10_000, "half of 200,00 € owed by the département");
    let paid = s.post(
        op,
        &format!("/api/v1/funders/{}/payments", funders[0]),
        json!({"amount_cents": 10_000, "received_on": "2026-02-01", "bank_reference": "VIR-1"}),
    );
    json_ok(paid.send().await.unwrap(), StatusCode::CREATED).await;
    let pos =
        json_ok(s.get(op, &format!("/api/v1/funders/{}/position", funders[0])).send().await.unwrap(), StatusCode::OK)
            .await;
    assert_eq!((pos["balance_cents"].as_i64(), pos["paid_cents"].as_i64()), (Some(0), Some(10_000)));

    // The print file of book 1, read back by real tools: every QR code is a genuine voucher.
    let pdf = s.get("funder_a_manager", &format!("/api/v1/orders/{id}/books.pdf?from=1&to=1")).send().await.unwrap();
    assert_eq!(pdf.status(), StatusCode::NOT_FOUND, "funder A does not fund this order");
    let pdf = s.get(op, &format!("/api/v1/orders/{id}/books.pdf?from=1&to=1")).send().await.unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let decoded = decode_qr_codes(&pdf.bytes().await.unwrap());
    assert_eq!(decoded.len(), 5);
    let keys = s.keys();
    for qr in &decoded {
        assert!(qr.starts_with("HTTP://127.0.0.1:"), "{qr}");
        match issuer::scan::parse(qr).unwrap() {
            issuer::scan::Scanned::Token(t) => assert_eq!(t.verify(&keys).unwrap().order_id as i64, id),
            other => panic!("{other:?}"),
        }
    }
    let too_many = s.get(op, &format!("/api/v1/orders/{id}/books.pdf?from=1&to=4&extra=1")).send().await.unwrap();
    assert_eq!(too_many.status(), StatusCode::OK, "unknown query parameters are ignored");
    let bad = s.get(op, &format!("/api/v1/orders/{id}/books.pdf?from=3&to=9")).send().await.unwrap();
    assert_eq!(json_ok(bad, StatusCode::UNPROCESSABLE_ENTITY).await["code"], "invalid_range");

    // Assign books 1–3 to the prescriber, who hands book 2 over by scanning one of its vouchers.
    let prescriber = s.who("prescriber_member").organisation_id;
    let assigned = s.post(
        "operator_member",
        "/api/v1/books/assign",
        json!({"prescriber_id": prescriber, "books": {"order_id": id, "from": 1, "to": 3}}),
    );
    assert_eq!(json_ok(assigned.send().await.unwrap(), StatusCode::OK).await["assigned"], 3);
    let serial = issuer::issuance::serial(id, 2);
    let book =
        json_ok(s.get("prescriber_member", &format!("/api/v1/books/{serial}")).send().await.unwrap(), StatusCode::OK)
            .await;
    let first = book["vouchers"][0]["code"].as_str().unwrap().to_owned();
    let handover = json!({"voucher": first.to_lowercase().replace('-', " "), "profile": {"age_band": "75_et_plus", "commune_insee": "33522", "autonomy": "excluded", "referral_reason": "Dossier retraite"}});
    let given =
        json_ok(s.post("prescriber_member", "/api/v1/distributions", handover).send().await.unwrap(), StatusCode::OK)
            .await;
    assert_eq!(
        (given["status"].as_str(), given["profile"]["commune_insee"].as_str()),
        (Some("distributed"), Some("33522"))
    );
    // The funder sees the book but not the beneficiary's profile.
    let seen = json_ok(
        s.get("funder_a_member", &format!("/api/v1/books?order_id={id}")).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(seen["code"], "not_found", "funder A does not fund this order");

    // The public check, with no login: valid, value, what is left; nothing about the person.
    let check =
        json_ok(s.client.get(s.url(&format!("/api/v1/vouchers/{first}"))).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(
        (check["valid"].as_bool(), check["face_value_cents"].as_i64(), check["vouchers_left_in_book"].as_i64()),
        (Some(true), Some(1000), Some(5))
    );
    let text = check.to_string();
    assert!(!text.contains("33522") && !text.contains("retraite") && !text.contains("excluded"), "{text}");
    // The page the QR code opens, in plain French.
    let qr_url = decoded.iter().find(|u| u.contains("/V/")).unwrap();
    let page = s.client.get(s.url(&qr_url[qr_url.find("/V/").unwrap()..])).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("lang=\"fr\"") && html.contains("Ce chèque est valable jusqu&#39;au 31/12/2030"), "{html}");
    let typed = s
        .client
        .get(s.url(&format!("/v?code={}", first.replace('-', "+"))))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(typed.contains("Valeur : 10,00"), "{typed}");
    let wrong =
        json_ok(s.client.get(s.url("/api/v1/vouchers/AAAA-BBBB-CCCC-D")).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(wrong["valid"], false);

    // Cancel book 3 (lost): its five vouchers go to breakage.
    let serial3 = issuer::issuance::serial(id, 3);
    let c = s.post("prescriber_manager", &format!("/api/v1/books/{serial3}/cancel"), json!({"reason": "Carnet perdu"}));
    let c = json_ok(c.send().await.unwrap(), StatusCode::OK).await;
    assert_eq!((c["vouchers_cancelled"].as_i64(), c["value_cents"].as_i64()), (Some(5), Some(5000)));
    let tb = json_ok(s.get(op, "/api/v1/ledger/trial-balance").send().await.unwrap(), StatusCode::OK).await;
    let balance = |code: &str| {
        tb["accounts"].as_array().unwrap().iter().find(|a| a["account"] == code).map(|a| a["natural"].as_i64().unwrap())
    };
    assert_eq!(balance("breakage"), Some(5000));
    assert_eq!(balance(&format!("order:{id}:outstanding")), Some(15_000));
    let report = json_ok(s.get(op, "/api/v1/ledger/verify").send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(report["ok"], true, "{report}");
}

/// Renders a PDF with `pdftoppm` at a printer's resolution (at 150 dpi `zbarimg` misses a code
/// now and then: issuer/tests/pdf.rs) and decodes its QR codes with `zbarimg`.
fn decode_qr_codes(pdf: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftoppm")
        .args(["-r", "300", "-png"])
        .arg(&file)
        .arg(dir.path().join("p"))
        .output()
        .expect("pdftoppm (poppler-utils) is required");
    assert!(out.status.success());
    let mut decoded = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "png") {
            let out = std::process::Command::new("zbarimg")
                .args(["--raw", "-q"])
                .arg(&path)
                .output()
                .expect("zbarimg (zbar-tools) is required");
            decoded.extend(String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.is_empty()).map(str::to_owned));
        }
    }
    decoded
}

async fn public_check_is_rate_limited(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let mut limited = None;
    for i in 0..70 {
        let resp = s.client.get(s.url(&format!("/api/v1/vouchers/AAAA-BBBB-CCCC-{i}"))).send().await.unwrap();
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((
                i,
                resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()),
            ));
            break;
        }
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let (at, retry_after) = limited.expect("the 61st check in a minute is refused");
    assert_eq!(at, 60);
    assert!(retry_after.is_some_and(|s| (1..=60).contains(&s)));
}

/// J-30: the funder sees an order ending soon with what is left, and blocks its undistributed
/// books; the value comes back to it.
async fn expiring_orders_and_blocking(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let funder = s.who("funder_a_manager").organisation_id;
    let order = s.issued_order(funder, 3, 2).await;
    let soon = redeemer::local_time::day(chrono::Utc::now()) + chrono::Duration::days(10);
    sqlx::query("UPDATE orders SET valid_until = $1 WHERE id = $2")
        .bind(soon.to_string())
        .bind(order.id)
        .execute(s.tdb.db.pool())
        .await
        .unwrap();
    let list: Value = s
        .get("funder_a_member", &format!("/api/v1/funders/{funder}/expiring"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!((&list[0]["books_issued"], &list[0]["active_vouchers"]), (&json!(3), &json!(6)));
    let block = format!("/api/v1/orders/{}/block", order.id);
    assert_eq!(s.post("funder_a_member", &block, json!({})).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(s.post("funder_b_manager", &block, json!({})).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let before = ledger::query::balance(&s.tdb.db, &ledger::AccountCode::funder(funder)).await.unwrap().natural.0;
    let done: Value = s.post("funder_a_manager", &block, json!({})).send().await.unwrap().json().await.unwrap();
    assert_eq!(done, json!({"books_blocked": 3, "value_cents": 6000}));
    let after = ledger::query::balance(&s.tdb.db, &ledger::AccountCode::funder(funder)).await.unwrap().natural.0;
    assert_eq!(before - after, 6000, "refunded to the funder");
    let list: Value = s
        .get("funder_a_member", &format!("/api/v1/funders/{funder}/expiring"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["active_vouchers"], 0);
}

ledger::both_engines!(order_to_check_to_cancel, public_check_is_rate_limited, expiring_orders_and_blocking);
