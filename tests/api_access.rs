//! The role × route matrix: every `/api/v1` route, called by every kind of user, gets the
//! answer the access rules of DESIGN §2 call for — allowed, 403, or 404 for another
//! organisation's object — and 401 without a valid token.

mod common;

use common::{PEOPLE, TestServer};
use ledger::testing::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Ok,
    Forbidden,
    Hidden,
}
use Expect::*;

/// One row: a route template, how to call it, and the expected answer for each person.
struct Case {
    method: Method,
    template: &'static str,
    expect: fn(&str) -> Expect,
}

fn is_op(who: &str) -> bool {
    who.starts_with("operator")
}
fn is_manager(who: &str) -> bool {
    who.ends_with("manager")
}

fn cases() -> Vec<Case> {
    vec![
        Case { method: Method::GET, template: "/api/v1/me", expect: |_| Ok },
        Case {
            method: Method::GET,
            template: "/api/v1/organisations",
            expect: |w| if is_op(w) { Ok } else { Forbidden },
        },
        Case {
            method: Method::POST,
            template: "/api/v1/organisations",
            expect: |w| {
                if w == "operator_manager" { Ok } else { Forbidden }
            },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/organisations/{id}",
            expect: |w| {
                if is_op(w) || w.starts_with("funder_a") { Ok } else { Hidden }
            },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/organisations/{id}/users",
            expect: |w| match w {
                _ if is_op(w) => Ok,
                "funder_a_manager" => Ok,
                _ if is_manager(w) => Hidden,
                _ => Forbidden,
            },
        },
        Case {
            method: Method::POST,
            template: "/api/v1/organisations/{id}/users",
            expect: |w| match w {
                "operator_manager" | "funder_a_manager" => Ok,
                _ if is_manager(w) && !is_op(w) => Hidden,
                _ => Forbidden,
            },
        },
        Case { method: Method::GET, template: "/api/v1/tokens", expect: |_| Ok },
        Case { method: Method::POST, template: "/api/v1/tokens", expect: |_| Ok },
        // The token belongs to funder_a_manager: nobody else can even see it.
        Case {
            method: Method::DELETE,
            template: "/api/v1/tokens/{id}",
            expect: |w| if w == "funder_a_manager" { Ok } else { Hidden },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/ledger/trial-balance",
            expect: |w| if is_op(w) { Ok } else { Forbidden },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/ledger/verify",
            expect: |w| {
                if w == "operator_manager" { Ok } else { Forbidden }
            },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/ledger/accounts/{code}/statement",
            expect: |w| match w {
                _ if is_op(w) || w.starts_with("funder_a") => Ok,
                _ if w.starts_with("prescriber") => Forbidden,
                _ => Hidden,
            },
        },
        Case {
            method: Method::GET,
            template: "/api/v1/audit",
            expect: |w| {
                if is_op(w) || is_manager(w) { Ok } else { Forbidden }
            },
        },
    ]
}

/// Builds a concrete request for `case` as `who`. Objects named in paths belong to funder A.
async fn call(s: &TestServer, case: &Case, who: &str, counter: usize) -> StatusCode {
    let funder_a = s.who("funder_a_manager").organisation_id;
    let path = match case.template {
        "/api/v1/organisations/{id}" => format!("/api/v1/organisations/{funder_a}"),
        "/api/v1/organisations/{id}/users" => format!("/api/v1/organisations/{funder_a}/users"),
        "/api/v1/ledger/accounts/{code}/statement" => {
            format!("/api/v1/ledger/accounts/funder:{funder_a}/statement")
        }
        "/api/v1/tokens/{id}" => {
            // A fresh token of funder_a_manager for each attempt.
            let created: serde_json::Value = s
                .post("funder_a_manager", "/api/v1/tokens", json!({"name": format!("spare {counter}")}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            format!("/api/v1/tokens/{}", created["id"])
        }
        other => other.to_owned(),
    };
    let body = match case.template {
        "/api/v1/organisations" => Some(json!({"kind": "funder", "name": format!("Financeur {counter}")})),
        "/api/v1/organisations/{id}/users" => Some(
            json!({"email": format!("new{counter}@test.example"), "display_name": "Nouvelle personne", "role": "member"}),
        ),
        "/api/v1/tokens" => Some(json!({"name": format!("jeton {counter}")})),
        _ => None,
    };
    let mut req = s.client.request(case.method.clone(), s.url(&path)).bearer_auth(&s.who(who).token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap().status()
}

async fn every_route_every_role(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let mut counter = 0;
    let mut failures = Vec::new();
    for case in cases() {
        for (who, ..) in PEOPLE {
            counter += 1;
            let status = call(&s, &case, who, counter).await;
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
        let path = case.template.replace("{id}", "1").replace("{code}", "bank");
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
            passerelle::http::authz::POLICIES.iter().any(|p| p.method == route.0 && p.path == route.1),
            "route {route:?} has no authorization policy"
        );
    }
    for p in passerelle::http::authz::POLICIES {
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
