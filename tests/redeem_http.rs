//! Exactly once over real HTTP: 64 simultaneous redemptions of one voucher, through one server
//! on each engine, and through two server processes sharing one PostgreSQL database.

mod common;

use common::TestServer;
use ledger::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// An issued order funded by funder A, and the first voucher of its first book.
async fn voucher(s: &TestServer) -> String {
    let order = s.issued_order(s.who("funder_a_manager").organisation_id, 2, 10).await;
    let mut conn = s.tdb.db.pool().acquire().await.unwrap();
    let book = issuer::books::by_serial(&mut conn, &issuer::issuance::serial(order.id, 1)).await.unwrap().unwrap();
    issuer::books::vouchers(&mut conn, book.id).await.unwrap()[0].code.clone()
}

async fn place(s: &TestServer, site: i64) -> i64 {
    sqlx::query_scalar("SELECT MIN(id) FROM site_places WHERE site_id = $1")
        .bind(site)
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap()
}

/// Fires `n` simultaneous redemptions of `code` with distinct keys at the given base URLs in turn.
async fn race(
    bases: &[String],
    token: &str,
    site: i64,
    place: i64,
    code: &str,
    n: usize,
) -> (usize, usize, Vec<String>) {
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..n {
        let url = format!("{}/api/v1/sites/{site}/redemptions", bases[i % bases.len()]);
        let body = json!({"place_id": place, "service_code": "DEM-ACCOMP", "vouchers": [code], "idempotency_key": format!("race-{i}")});
        let req = client.post(url).bearer_auth(token).json(&body);
        tasks.push(tokio::spawn(async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap())
        }));
    }
    let (mut created, mut refused, mut other) = (0, 0, Vec::new());
    for t in tasks {
        match t.await.unwrap() {
            (StatusCode::CREATED, _) => created += 1,
            (StatusCode::CONFLICT, body) if body["code"] == "already_redeemed" => refused += 1,
            (status, body) => other.push(format!("{status} {body}")),
        }
    }
    (created, refused, other)
}

async fn sixty_four_at_once(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let site = s.who("site_a_member").organisation_id;
    let (code, place) = (voucher(&s).await, place(&s, site).await);
    let token = s.who("site_a_member").token.clone();
    let (created, refused, other) = race(std::slice::from_ref(&s.base), &token, site, place, &code, 64).await;
    assert_eq!((created, refused, other), (1, 63, Vec::<String>::new()));
    // A retry of the winning request answers the same, with no second posting.
    let (winner, _) = sqlx::query_as::<_, (String, i64)>("SELECT idempotency_key, id FROM redemptions")
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    let again = s.post(
        "site_a_member",
        &format!("/api/v1/sites/{site}/redemptions"),
        json!({
            "place_id": place, "service_code": "DEM-ACCOMP", "vouchers": [code], "idempotency_key": winner,
        }),
    );
    let again = again.send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["site_payable_cents"], 1000);
    let report: Value = s.get("operator_manager", "/api/v1/ledger/verify").send().await.unwrap().json().await.unwrap();
    assert_eq!(report["ok"], true, "{report}");
}

async fn scans_are_rate_limited(tdb: TestDb) {
    let s = TestServer::start_with(tdb, &[("PASSERELLE_SCANS_PER_MINUTE_PER_USER", "5")]).await;
    let site = s.who("site_a_member").organisation_id;
    let (code, place) = (voucher(&s).await, place(&s, site).await);
    let path = format!("/api/v1/sites/{site}/verify");
    let body = json!({"place_id": place, "service_code": "DEM-ACCOMP", "vouchers": [code]});
    for _ in 0..5 {
        assert_eq!(s.post("site_a_member", &path, body.clone()).send().await.unwrap().status(), StatusCode::OK);
    }
    let limited = s.post("site_a_member", &path, body.clone()).send().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
    // The limit is per user: a colleague at the same site can still scan.
    assert_eq!(s.post("site_a_manager", &path, body).send().await.unwrap().status(), StatusCode::OK);
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_server(url: &str, keys: &std::path::Path) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("PASSERELLE_KEY_DIR", keys)
        .env("PASSERELLE_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Server(child), format!("http://127.0.0.1:{port}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_server_processes_on_postgres() {
    let s = TestServer::start(ledger::testing::postgres().await).await;
    let site = s.who("site_a_member").organisation_id;
    let (code, place) = (voucher(&s).await, place(&s, site).await);
    let (_a, base_a) = spawn_server(&s.tdb.url, s.keys_dir());
    let (_b, base_b) = spawn_server(&s.tdb.url, s.keys_dir());
    for base in [&base_a, &base_b] {
        let mut up = false;
        for _ in 0..200 {
            if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(up, "server {base} did not start");
    }
    let token = s.who("site_a_member").token.clone();
    let (created, refused, other) = race(&[base_a, base_b], &token, site, place, &code, 64).await;
    assert_eq!((created, refused, other), (1, 63, Vec::<String>::new()));
    let mut report = ledger::verify::verify(&s.tdb.db).await.unwrap();
    issuer::invariants::check(&s.tdb.db, &mut report).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}

/// A redemption with its outcome, an invalid outcome refused, then the operator reviews the flag
/// raised by a service recorded at night and dismisses it.
async fn outcome_and_anomaly_review(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let site = s.who("site_a_member").organisation_id;
    let (code, place) = (voucher(&s).await, place(&s, site).await);
    let url = format!("/api/v1/sites/{site}/redemptions");
    let night = (chrono::Utc::now() - chrono::Duration::days(1)).date_naive().and_hms_opt(1, 30, 0).unwrap().and_utc();
    let mut body = json!({
        "place_id": place, "service_code": "DEM-ACCOMP", "vouchers": [code], "idempotency_key": "night-1",
        "performed_at": night, "outcome": {"result": "skill_acquired", "autonomy_before": 1, "autonomy_after": 5},
    });
    let bad = s.post("site_a_member", &url, body.clone()).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("de 1 à 4"));
    body["outcome"]["autonomy_after"] = json!(3);
    let done = s.post("site_a_member", &url, body).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::CREATED);
    let stored: (Option<String>, Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT outcome, autonomy_before, autonomy_after FROM redemptions WHERE idempotency_key = 'night-1'",
    )
    .fetch_one(s.tdb.db.pool())
    .await
    .unwrap();
    assert_eq!(stored, (Some("skill_acquired".into()), Some(1), Some(3)));

    let list: Value = s.get("operator_member", "/api/v1/anomalies").send().await.unwrap().json().await.unwrap();
    let flags = list.as_array().unwrap();
    assert_eq!(flags.len(), 1, "{list}");
    assert_eq!(flags[0]["kind"], "outside_opening_hours");
    assert_eq!(flags[0]["label"], "Passage en dehors des horaires d'ouverture");
    assert_eq!(flags[0]["site_id"], site);
    let id = flags[0]["id"].as_i64().unwrap();
    let dismiss = format!("/api/v1/anomalies/{id}/dismiss");
    let empty = s.post("operator_member", &dismiss, json!({"comment": ""})).send().await.unwrap();
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let ok = s.post("operator_member", &dismiss, json!({"comment": "Atelier de nuit autorisé"})).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let twice = s.post("operator_member", &dismiss, json!({"comment": "encore"})).send().await.unwrap();
    assert_eq!(twice.status(), StatusCode::CONFLICT);
    let open: Value = s.get("operator_member", "/api/v1/anomalies").send().await.unwrap().json().await.unwrap();
    assert_eq!(open, json!([]));
    let all: Value =
        s.get("operator_member", "/api/v1/anomalies?status=all").send().await.unwrap().json().await.unwrap();
    assert_eq!(all[0]["comment"], "Atelier de nuit autorisé");
    let audit: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'anomaly.dismiss'")
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    assert_eq!(audit, 1);
    let bad_status = s.get("operator_member", "/api/v1/anomalies?status=closed").send().await.unwrap();
    assert_eq!(bad_status.status(), StatusCode::BAD_REQUEST);
}

/// The operator adds, edits and retires a service through the API; a site offers it and redeems
/// for it; once retired it can no longer be redeemed for, and the site's history still shows it.
async fn the_catalogue_through_the_api(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let site = s.who("site_a_manager").organisation_id;
    let place = place(&s, site).await;
    let order = s.issued_order(s.who("funder_a_manager").organisation_id, 1, 2).await;
    let mut conn = s.tdb.db.pool().acquire().await.unwrap();
    let book = issuer::books::by_serial(&mut conn, &issuer::issuance::serial(order.id, 1)).await.unwrap().unwrap();
    let codes: Vec<String> =
        issuer::books::vouchers(&mut conn, book.id).await.unwrap().into_iter().map(|v| v.code).collect();
    drop(conn);
    let mut service = json!({
        "code": "ATELIER-IA", "label": "Atelier : découvrir l'IA", "category": "maitrise_outils_numeriques",
        "format": "collective", "duration_minutes": 90, "price_vouchers": 1,
    });
    let mut bad = service.clone();
    bad["price_vouchers"] = json!(0);
    let refused = s.post("operator_manager", "/api/v1/catalogue", bad).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "a service costs at least one voucher");
    let added = s.post("operator_manager", "/api/v1/catalogue", service.clone()).send().await.unwrap();
    assert_eq!(added.status(), StatusCode::CREATED);
    service["label"] = json!("Atelier : l'intelligence artificielle au quotidien");
    let edited = s.post("operator_manager", "/api/v1/catalogue", service.clone()).send().await.unwrap();
    assert_eq!(edited.status(), StatusCode::CREATED);
    let listed = |catalogue: &Value| catalogue.as_array().unwrap().iter().find(|c| c["code"] == "ATELIER-IA").cloned();
    let catalogue = s.get_json("site_a_member", "/api/v1/catalogue").await;
    let shown = listed(&catalogue).expect("the new service is listed");
    assert_eq!((&shown["label"], &shown["retired"]), (&service["label"], &json!(false)));

    let services = format!("/api/v1/sites/{site}/services");
    let offered = s.put("site_a_manager", &services, json!({"services": ["DEM-ACCOMP", "ATELIER-IA"]}));
    assert_eq!(offered.send().await.unwrap().status(), StatusCode::OK);
    let redeem = |code: &str, key: &str| {
        s.post(
            "site_a_member",
            &format!("/api/v1/sites/{site}/redemptions"),
            json!({"place_id": place, "service_code": "ATELIER-IA", "vouchers": [code], "idempotency_key": key}),
        )
    };
    assert_eq!(redeem(&codes[0], "atelier-1").send().await.unwrap().status(), StatusCode::CREATED);

    let retire = "/api/v1/catalogue/ATELIER-IA/retire";
    assert_eq!(s.post("operator_manager", retire, json!({})).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let unknown = s.post("operator_manager", "/api/v1/catalogue/NULLE-PART/retire", json!({})).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let catalogue = s.get_json("site_a_member", "/api/v1/catalogue").await;
    assert_eq!(listed(&catalogue).expect("a retired service stays listed")["retired"], true);
    let after = redeem(&codes[1], "atelier-2").send().await.unwrap();
    assert_eq!(after.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(after.json::<Value>().await.unwrap()["code"], "service_not_offered");
    // The passage recorded before keeps its service in the site's history.
    let history = s.get_json("site_a_member", &format!("/api/v1/sites/{site}/redemptions")).await;
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
    assert_eq!((&history[0]["service_code"], &history[0]["service"]), (&json!("ATELIER-IA"), &service["label"]));
    let report = s.get_json("operator_manager", "/api/v1/ledger/verify").await;
    assert_eq!(report["ok"], true, "{report}");
}

ledger::both_engines!(
    sixty_four_at_once,
    scans_are_rate_limited,
    outcome_and_anomaly_review,
    the_catalogue_through_the_api
);
