//! Statistics over HTTP on both engines: each caller sees its own scope; the dashboard's redeemed
//! value equals the ledger's redemption postings; tables by beneficiary attribute hide counts
//! under 5; CSV for French spreadsheets; the long tables limited with `top` (the CSV keeps every
//! row); the impact report read back with `pdftotext`; the public open-data file; bad periods,
//! bad `top` values and unknown tables answered clearly.

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

/// Signs in with the sign-in form (CSRF cookie and field) and reads a page.
async fn dashboard(s: &TestServer, email: &str, page: &str) -> String {
    let b = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = b.get(s.url("/connexion")).send().await.unwrap();
    let cookie = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_owned)
            .unwrap()
    };
    let login = cookie(&form, "psl_login");
    let html = form.text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = html[at..].split('"').next().unwrap().to_owned();
    let signed = b
        .post(s.url("/connexion"))
        .header("cookie", login)
        .form(&[("email", email), ("password", "not-used-password"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let session = cookie(&signed, "psl_session");
    let r = b.get(s.url(page)).header("cookie", session).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
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

    // The long tables limited with `top`: site A (3 passages), then « Autres lieux (1) » with
    // site B's 2; the total is the whole table's.
    let sites = ok_json(s.get("operator_member", "/api/v1/statistics/tables/site")).await;
    assert_eq!(sites["rows"].as_array().unwrap().len(), 2);
    assert_eq!(sites["merged_rows"], 0);
    let top = ok_json(s.get("operator_member", "/api/v1/statistics/tables/site?top=1")).await;
    let rows = top["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{top}");
    assert_eq!(rows[0][0]["value"], "Organisation site_a", "{top}");
    assert_eq!(rows[0][1], json!({"kind": "int", "value": 3}));
    assert_eq!(rows[1][0]["value"], "Autres lieux (1)");
    assert_eq!(rows[1][1], json!({"kind": "int", "value": 2}));
    let site_b = sites["rows"].as_array().unwrap().iter().find(|r| r[0]["value"] != "Organisation site_a").unwrap();
    assert_eq!(rows[1].as_array().unwrap()[1..], site_b.as_array().unwrap()[1..], "the merged row is the row left out");
    assert_eq!(top["total"], sites["total"]);
    assert_eq!(top["merged_rows"], 1);
    assert!(top["notes"].to_string().contains("Autres lieux (1)"), "{top}");
    // Bounds and spaces: `top=1000` and `top=` (no limit) are fine; the period still applies.
    let all = ok_json(s.get("operator_member", "/api/v1/statistics/tables/site?top=1000&from=2020-01")).await;
    assert_eq!((all["rows"].as_array().unwrap().len(), &all["merged_rows"]), (2, &json!(0)));
    assert_eq!(ok_json(s.get("operator_member", "/api/v1/statistics/tables/site?top=")).await, sites);
    // Tables that are never long ignore it.
    let months = ok_json(s.get("operator_member", "/api/v1/statistics/tables/month")).await;
    assert_eq!(ok_json(s.get("operator_member", "/api/v1/statistics/tables/month?top=1")).await, months);
    // Two people in one commune: too few to publish, limited or not, and nothing tells how many
    // communes were merged.
    let communes = ok_json(s.get("operator_member", "/api/v1/statistics/tables/commune?top=1")).await;
    assert_eq!(communes["withheld"], true, "{communes}");
    assert_eq!((communes["rows"].as_array().unwrap().len(), &communes["merged_rows"]), (0, &json!(0)));
    assert!(!communes.to_string().contains("Autres communes"), "{communes}");
    assert_eq!(
        communes["total"],
        ok_json(s.get("operator_member", "/api/v1/statistics/tables/commune")).await["total"]
    );
    // The CSV export has every row, `top` or not.
    let csv = s.get("operator_member", "/api/v1/statistics/tables/site/csv?top=1").send().await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    let body = String::from_utf8(csv.bytes().await.unwrap()[3..].to_vec()).unwrap();
    assert!(body.contains("Organisation site_a;") && body.contains("Organisation site_b"), "{body}");
    assert!(!body.contains("Autres lieux"), "{body}");
    // Out of bounds or not a number: 422, in French.
    for bad in ["0", "1001", "-1", "abc", "2.5"] {
        let r = s.get("operator_member", &format!("/api/v1/statistics/tables/commune?top={bad}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "top={bad}");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["code"], "invalid_top", "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("de 1 à 1000"), "{problem}");
    }
    // The parameter is in the OpenAPI document, with its bounds.
    let doc = ok_json(s.client.get(s.url("/api/v1/openapi.json"))).await;
    let params = doc["paths"]["/api/v1/statistics/tables/{dimension}"]["get"]["parameters"].as_array().unwrap();
    let top = params.iter().find(|p| p["name"] == "top").expect("top documented");
    assert_eq!((&top["schema"]["minimum"], &top["schema"]["maximum"]), (&json!(1), &json!(1000)), "{top}");

    // The operator's dashboard asks for the long tables limited, with or without a period.
    for page in ["/tableau-de-bord", "/tableau-de-bord?from=2020-01&funder="] {
        let html = dashboard(&s, "operator_member@test.example", page).await;
        for expected in
            ["Par lieu de médiation", "Organisation site_a", "Organisation site_b", "Par commune de résidence"]
        {
            assert!(html.contains(expected), "« {expected} » on {page}:\n{html}");
        }
        assert!(!html.contains("Autres lieux"), "two sites, both shown: {html}");
    }

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
