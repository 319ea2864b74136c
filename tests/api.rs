//! The HTTP API over real loopback HTTP: problem documents, organisations and members, the
//! audit trail, the ledger views, health and metrics.

mod common;

use common::TestServer;
use ledger::testing::TestDb;
use ledger::{AccountCode, Cents, NewTransaction};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn problem(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    assert_eq!(resp.headers()["content-type"], "application/problem+json", "status {status}");
    (status, resp.json().await.unwrap())
}

async fn errors_are_problem_documents(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let t = &s.who("operator_manager").token;
    let c = &s.client;
    let (st, p) = problem(
        c.post(s.url("/api/v1/organisations"))
            .bearer_auth(t)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((st, p["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_json")));
    let (st, p) = problem(c.post(s.url("/api/v1/organisations")).bearer_auth(t).body("{}").send().await.unwrap()).await;
    assert_eq!((st, p["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")));
    let (st, p) =
        problem(s.post("operator_manager", "/api/v1/organisations", json!({"kind": "funder"})).send().await.unwrap())
            .await;
    assert_eq!((st, p["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")));
    let (st, p) = problem(
        s.post(
            "operator_manager",
            "/api/v1/organisations",
            json!({"kind": "funder", "name": "X", "siret": "12345678901234"}),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((st, p["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_siret")));
    assert_eq!(p["detail"], "la clé de contrôle du SIRET est fausse");
    let (st, _) = problem(
        s.post("operator_manager", "/api/v1/organisations", json!({"kind": "operator", "name": "Autre"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // Malformed UTF-8 in a JSON body.
    let (st, _) = problem(
        c.post(s.url("/api/v1/tokens"))
            .bearer_auth(t)
            .header("content-type", "application/json")
            .body(vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(st.is_client_error());
    // A NUL character in any text: PostgreSQL cannot store it; refused for every route.
    let (st, p) = problem(
        c.post(s.url("/api/v1/organisations/1/users"))
            .bearer_auth(t)
            .header("content-type", "application/json")
            .body(r#"{"role": "member", "email": "a@b.fr", "display_name": "A\u0000B"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((st, p["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_text")));
    // Oversized body: refused before it is read.
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(100_000));
    let (st, p) = problem(
        reqwest::Client::new()
            .post(s.url("/api/v1/tokens"))
            .bearer_auth(t)
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((st, p["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));
    let (st, p) = problem(s.get("operator_manager", "/api/v1/organisations/abc").send().await.unwrap()).await;
    assert_eq!((st, p["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_path")));
    let (st, p) =
        problem(s.get("operator_manager", "/api/v1/ledger/accounts/nonsense/statement").send().await.unwrap()).await;
    assert_eq!((st, p["code"].as_str()), (StatusCode::BAD_REQUEST, Some("ledger_invalid_account")));
    let (st, p) =
        problem(s.get("operator_manager", "/api/v1/ledger/trial-balance?as_of=hier").send().await.unwrap()).await;
    assert_eq!((st, p["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));
    let (st, p) = problem(c.get(s.url("/nowhere")).send().await.unwrap()).await;
    assert_eq!((st, p["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

async fn organisations_members_and_audit(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let resp = s
        .post(
            "operator_manager",
            "/api/v1/organisations",
            json!({"kind": "site", "name": "Espace numérique de Pessac", "siret": "130 025 265 00013"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let org: Value = resp.json().await.unwrap();
    assert_eq!(org["siret"], "13002526500013");
    // One organisation per SIRET.
    let (st, p) = problem(
        s.post(
            "operator_manager",
            "/api/v1/organisations",
            json!({"kind": "funder", "name": "Doublon", "siret": "13002526500013"}),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((st, p["code"].as_str()), (StatusCode::CONFLICT, Some("siret_taken")));

    let path = format!("/api/v1/organisations/{}/users", org["id"]);
    let created: Value = s
        .post(
            "operator_manager",
            &path,
            json!({"email": "Directrice@Pessac.example", "display_name": "Aïcha Benali", "role": "manager"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["user"]["email"], "directrice@pessac.example");
    let password = created["one_time_password"].as_str().unwrap();
    assert_eq!(password.len(), 19);
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'directrice@pessac.example'")
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(passerelle::identity::password::verify(password, &hash));
    let (st, p) = problem(
        s.post(
            "operator_manager",
            &path,
            json!({"email": "directrice@pessac.example", "display_name": "Bis", "role": "member"}),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((st, p["code"].as_str()), (StatusCode::CONFLICT, Some("email_taken")));

    let entries: Value = s.get("operator_member", "/api/v1/audit").send().await.unwrap().json().await.unwrap();
    let actions: Vec<&str> = entries.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(&actions[..2], &["user.create", "organisation.create"]);
    assert_eq!(entries[1]["actor_user_id"], s.who("operator_manager").user_id);
    // A manager sees only their own organisation's trail.
    let own: Value = s.get("funder_a_manager", "/api/v1/audit").send().await.unwrap().json().await.unwrap();
    assert!(own.as_array().unwrap().iter().all(|e| e["organisation_id"] == s.who("funder_a_manager").organisation_id));
}

async fn ledger_views(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let funder = s.who("funder_a_manager").organisation_id;
    let t = NewTransaction::new("pay-1", "funder_payment", "Virement", ledger::testing::fixed_time())
        .debit(AccountCode::bank(), Cents(250_000))
        .credit(AccountCode::funder(funder), Cents(250_000));
    ledger::post(&s.tdb.db, &t).await.unwrap();
    let tb: Value =
        s.get("operator_member", "/api/v1/ledger/trial-balance").send().await.unwrap().json().await.unwrap();
    assert_eq!(tb["total"], 0);
    assert_eq!(tb["accounts"].as_array().unwrap().len(), 2);
    let st: Value = s
        .get("funder_a_member", &format!("/api/v1/ledger/accounts/funder:{funder}/statement"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st["closing"], -250_000);
    assert_eq!(st["lines"][0]["memo"], "Virement");
    // The background sealer seals new transactions; verify then reports a sealed, sound ledger.
    let mut report = Value::Null;
    for _ in 0..100 {
        report = s.get("operator_manager", "/api/v1/ledger/verify").send().await.unwrap().json().await.unwrap();
        if report["unsealed"] == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!((report["seals"].as_u64(), report["unsealed"].as_u64()), (Some(1), Some(0)));
}

async fn health_metrics_and_keys(tdb: TestDb) {
    let engine = tdb.db.engine().as_str();
    let mut s = TestServer::start(tdb).await;
    let health: Value = s.client.get(s.url("/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health, json!({"status": "ok", "database": engine}));
    s.get("operator_member", "/api/v1/me").send().await.unwrap();
    let metrics = s.client.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"http_requests_total{method="GET",route="/api/v1/me",status="200"}"#), "{metrics}");
    assert!(metrics.contains("http_request_duration_seconds_bucket"));
    assert!(metrics.contains("db_pool_connections{state=\"idle\"}"));
    let keys: Value =
        s.client.get(s.url("/.well-known/passerelle-keys.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(keys["keys"][0]["alg"], "Ed25519");
    assert_eq!(keys["keys"][0]["kid"], "k1");
    // Graceful stop: the server finishes and the port closes.
    s.stop().await;
    assert!(s.client.get(s.url("/healthz")).send().await.is_err());
}

/// Every answer carries the security headers; pages use no inline script or style.
async fn security_headers_everywhere(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let answers = [
        s.client.get(s.url("/healthz")).send().await.unwrap(),
        s.client.get(s.url("/v?code=7KQ2-M9XD-3TWP-A")).send().await.unwrap(),
        s.client.get(s.url("/api/v1/nowhere")).send().await.unwrap(),
        s.get("operator_member", "/api/v1/me").send().await.unwrap(),
        s.client.get(s.url("/api/v1/me")).send().await.unwrap(),
    ];
    for r in &answers {
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-frame-options"], "DENY");
    }
    let page = s.client.get(s.url("/v")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("href=\"/assets/site.css\""), "{page}");
    assert!(!page.contains("<script") && !page.contains("<style") && !page.contains("style="), "{page}");
    let css = s.client.get(s.url("/assets/site.css")).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.text().await.unwrap().contains("font-family"));
}

/// Hostile clients: a huge CSV import and a huge camera frame are refused before being read; a
/// client that sends its body too slowly is answered 408 while others are served meanwhile; the
/// server keeps working afterwards.
async fn huge_and_slow_inputs(tdb: TestDb) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::start_with(tdb, &[("PASSERELLE_REQUEST_TIMEOUT_SECS", "1")]).await;
    let t = &s.who("operator_manager").token;
    let mut csv = String::from("id;nom;adresse\n");
    while csv.len() < 3_000_000 {
        csv.push_str("x;Lieu;1 rue de la Paix\n");
    }
    // Its own client: the server closes a connection whose body it refused to read.
    let (st, p) = problem(
        reqwest::Client::new()
            .post(s.url("/api/v1/sites/import"))
            .bearer_auth(t)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((st, p["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));
    let sites: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sites").fetch_one(s.tdb.db.pool()).await.unwrap();
    assert_eq!(sites, 2, "nothing imported: the fixture's two sites only");

    // A slow client: headers, then one byte of a 1 000-byte body, then nothing.
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/tokens HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {t}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    // Meanwhile others are served.
    let me = s.get("operator_manager", "/api/v1/me").send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server answers a stalled request within its timeout");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let me = s.get("operator_manager", "/api/v1/me").send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK, "the server keeps working");
}

/// A token revoked through the API is refused at once, even just after a request that found it
/// valid; one revoked by another process sharing the database (here, straight in the database)
/// is refused once the server's token cache (`PASSERELLE_TOKEN_CACHE_SECONDS`) has let it go.
async fn revoked_tokens_are_refused(tdb: TestDb) {
    let s = TestServer::start_with(tdb, &[("PASSERELLE_TOKEN_CACHE_SECONDS", "1")]).await;
    let c = reqwest::Client::new();
    let me = |token: &str| c.get(s.url("/api/v1/me")).bearer_auth(token.to_owned()).send();
    let mut made = Vec::new();
    for name in ["révoqué par l'API", "révoqué ailleurs"] {
        let created = s.post("funder_a_manager", "/api/v1/tokens", json!({"name": name})).send().await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let created: Value = created.json().await.unwrap();
        let token = created["token"].as_str().unwrap().to_owned();
        assert_eq!(me(&token).await.unwrap().status(), StatusCode::OK, "the new token works");
        made.push((created["id"].as_i64().unwrap(), token));
    }
    let (id, token) = &made[0];
    let revoked = c.delete(s.url(&format!("/api/v1/tokens/{id}"))).bearer_auth(&s.who("funder_a_manager").token);
    assert_eq!(revoked.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(me(token).await.unwrap().status(), StatusCode::UNAUTHORIZED, "refused at once");

    let (id, token) = &made[1];
    sqlx::query("UPDATE api_tokens SET revoked_at = 1 WHERE id = $1").bind(id).execute(s.tdb.db.pool()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(me(token).await.unwrap().status(), StatusCode::UNAUTHORIZED, "refused after the cache's time");
    assert_eq!(me(&s.who("funder_a_manager").token).await.unwrap().status(), StatusCode::OK);
}

ledger::both_engines!(
    revoked_tokens_are_refused,
    huge_and_slow_inputs,
    errors_are_problem_documents,
    organisations_members_and_audit,
    ledger_views,
    health_metrics_and_keys,
    security_headers_everywhere
);
