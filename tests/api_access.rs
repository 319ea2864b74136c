//! The role × route matrix: every `/api/v1` route, called by every kind of user, gets the
//! answer the access rules of DESIGN §2 call for — allowed, 403, or 404 for another
//! organisation's object — and 401 without a valid token.

mod common;

#[path = "access/mod.rs"]
mod access;

use access::calls::{call, targets};
use access::cases::{Expect::*, cases};
use common::{PEOPLE, TestServer};
use ledger::testing::TestDb;
use reqwest::StatusCode;
use serde_json::json;
async fn every_route_every_role(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let t = targets(&s).await;
    let mut counter = 0;
    let mut failures = Vec::new();
    for case in cases() {
        for (who, ..) in PEOPLE {
            counter += 1;
            let status = call(&s, &t, &case, who, counter).await;
            let expected = (case.expect)(who);
            let ok = match expected {
                Ok => status.is_success(),
                Forbidden => status == StatusCode::FORBIDDEN,
                Hidden => status == StatusCode::NOT_FOUND,
            };
            if !ok {
                failures
                    .push(format!("{} {} as {who}: expected {expected:?}, got {status}", case.method, case.template));
            }
        }
    }
    assert!(failures.is_empty(), "access matrix violations:\n{}", failures.join("\n"));

    // Without a token, or with a bad one, every protected route answers 401.
    for case in cases() {
        if passerelle::http::authz::policy_for(&case.method, case.template)
            == Some(passerelle::http::authz::Access::Public)
        {
            continue;
        }
        let path = case
            .template
            .replace("{id}", "1")
            .replace("{code}", "bank")
            .replace("{serial}", "C1-00001")
            .replace("{site}", "1")
            .replace("{run}", "1")
            .replace("{dimension}", "month");
        for auth in [None, Some("Bearer psl_not-a-real-token"), Some("Basic abc")] {
            let mut req = s.client.request(case.method.clone(), s.url(&path));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{} {path} with {auth:?}", case.method);
            assert_eq!(resp.headers()["content-type"], "application/problem+json");
        }
    }
}

async fn the_matrix_covers_every_documented_route(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let doc: serde_json::Value =
        s.client.get(s.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    let tested: Vec<(String, String)> = cases().iter().map(|c| (c.method.to_string(), c.template.to_owned())).collect();
    for route in &documented {
        assert!(tested.contains(route), "route {route:?} is documented but missing from the access matrix");
        assert!(
            passerelle::http::authz::ROUTES.iter().any(|p| p.method == route.0 && p.path == route.1),
            "route {route:?} has no authorization policy"
        );
    }
    for p in passerelle::http::authz::ROUTES {
        if p.path != "/api/v1/openapi.json" {
            assert!(
                documented.contains(&(p.method.to_owned(), p.path.to_owned())),
                "policy for {} {} names no documented route",
                p.method,
                p.path
            );
        }
    }
}

async fn revoked_and_expired_tokens_stop_working(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let created: serde_json::Value = s
        .post("site_a_member", "/api/v1/tokens", json!({"name": "tablette"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let me = s.client.get(s.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    // The token is stored hashed: its clear text is nowhere in the database.
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1")
        .bind(&token)
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 0);
    let del =
        s.client.delete(s.url(&format!("/api/v1/tokens/{}", created["id"]))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(del.status(), StatusCode::NO_CONTENT);
    let after = s.client.get(s.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

    let expired =
        s.post("site_a_member", "/api/v1/tokens", json!({"name": "court", "expires_in_days": 1})).send().await.unwrap();
    let expired: serde_json::Value = expired.json().await.unwrap();
    sqlx::query("UPDATE api_tokens SET expires_at = 1 WHERE id = $1")
        .bind(expired["id"].as_i64().unwrap())
        .execute(s.tdb.db.pool())
        .await
        .unwrap();
    let resp = s.client.get(s.url("/api/v1/me")).bearer_auth(expired["token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

ledger::both_engines!(
    every_route_every_role,
    the_matrix_covers_every_documented_route,
    revoked_and_expired_tokens_stop_working
);
