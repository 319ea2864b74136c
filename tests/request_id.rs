//! The request id, end to end: every answer carries an `x-request-id` header — the client's own
//! when it is a sane token, a generated one otherwise — and every problem document names the same
//! id in `request_id`.

mod common;

use common::TestServer;
use ledger::testing::TestDb;
use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HEADER: &str = "x-request-id";

fn id_of(answer: &reqwest::Response) -> String {
    let value = answer.headers().get(HEADER).unwrap_or_else(|| panic!("no {HEADER} on {}", answer.url()));
    value.to_str().unwrap().to_owned()
}

fn generated(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A problem document and the id in the header of its answer.
async fn problem(answer: reqwest::Response, status: StatusCode) -> (serde_json::Value, String) {
    assert_eq!(answer.status(), status, "{}", answer.url());
    let id = id_of(&answer);
    let media = answer.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().to_owned();
    assert_eq!(media, "application/problem+json");
    (answer.json().await.unwrap(), id)
}

async fn a_generated_id_on_every_answer(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let mut seen = std::collections::HashSet::new();
    let answers = [
        s.get("operator_manager", "/api/v1/me").send().await.unwrap(),
        s.get("site_a_manager", "/api/v1/me").send().await.unwrap(),
        s.client.get(s.url("/healthz")).send().await.unwrap(),
        s.client.get(s.url("/connexion")).send().await.unwrap(),
        s.client.get(s.url("/api/v1/openapi.json")).send().await.unwrap(),
        s.client.get(s.url("/assets/site.css")).send().await.unwrap(),
    ];
    for answer in answers {
        assert!(answer.status().is_success(), "{}: {}", answer.url(), answer.status());
        let id = id_of(&answer);
        assert!(generated(&id), "{}: {id}", answer.url());
        assert!(seen.insert(id), "each request has its own id");
    }
}

async fn a_given_id_is_echoed(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let longest = "a".repeat(64);
    for given in ["abc-123_X.y", "0", "Req.2026-11-26_client-42", longest.as_str()] {
        let answer = s.get("funder_a_manager", "/api/v1/me").header(HEADER, given).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(id_of(&answer), given);
        let page = s.client.get(s.url("/connexion")).header(HEADER, given).send().await.unwrap();
        assert_eq!(id_of(&page), given);
    }
}

async fn problem_documents_name_the_id(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    // 404 of the fallback, 404 of a route, 401 without a token, 401 with a bad token, 403, 422:
    // generated ids.
    let bad_body = s.post("operator_manager", "/api/v1/settlements", serde_json::json!({"period_end": "hier"}));
    let answers = [
        (s.get("operator_manager", "/api/v1/nulle-part").send().await.unwrap(), StatusCode::NOT_FOUND),
        (s.get("operator_manager", "/api/v1/settlements/999999").send().await.unwrap(), StatusCode::NOT_FOUND),
        (s.client.get(s.url("/api/v1/me")).send().await.unwrap(), StatusCode::UNAUTHORIZED),
        (s.client.get(s.url("/api/v1/me")).bearer_auth("faux").send().await.unwrap(), StatusCode::UNAUTHORIZED),
        (s.get("site_a_member", "/api/v1/settlements").send().await.unwrap(), StatusCode::FORBIDDEN),
        (bad_body.send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (answer, status) in answers {
        let (doc, id) = problem(answer, status).await;
        assert!(generated(&id), "{doc}");
        assert_eq!(doc["request_id"], id.as_str(), "{doc}");
        assert_eq!(doc["status"], status.as_u16(), "{doc}");
    }
    // The client's own id, in the header and the document.
    let answer = s.client.get(s.url("/api/v1/me")).header(HEADER, "appel-42").send().await.unwrap();
    let (doc, id) = problem(answer, StatusCode::UNAUTHORIZED).await;
    assert_eq!((id.as_str(), doc["request_id"].as_str()), ("appel-42", Some("appel-42")));
    let answer = s.get("operator_manager", "/api/v1/nulle-part").header(HEADER, "appel-43").send().await.unwrap();
    let (doc, id) = problem(answer, StatusCode::NOT_FOUND).await;
    assert_eq!((id.as_str(), doc["request_id"].as_str()), ("appel-43", Some("appel-43")));
}

async fn a_hostile_id_is_replaced(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let too_long = "a".repeat(65);
    let hostile: Vec<HeaderValue> = [
        too_long.as_bytes(),
        b"abc def",
        b"abc\tdef",
        b" ",
        b"abc;def",
        b"<script>alert(1)</script>",
        b"../../etc/passwd",
        b"caf\xc3\xa9",
        b"\xff\xfe",
        b"abc\\nINFO faux message",
    ]
    .into_iter()
    .map(|bytes| HeaderValue::from_bytes(bytes).unwrap())
    .collect();
    for value in hostile {
        for (answer, status) in [
            (
                s.get("operator_manager", "/api/v1/me").header(HEADER, value.clone()).send().await.unwrap(),
                StatusCode::OK,
            ),
            (
                s.client.get(s.url("/api/v1/me")).header(HEADER, value.clone()).send().await.unwrap(),
                StatusCode::UNAUTHORIZED,
            ),
        ] {
            assert_eq!(answer.status(), status, "{value:?}");
            let id = id_of(&answer);
            assert!(generated(&id), "{value:?} gave {id}");
            if status != StatusCode::OK {
                let doc: serde_json::Value = answer.json().await.unwrap();
                assert_eq!(doc["request_id"], id.as_str());
            }
        }
    }
    // Line breaks cannot even reach the application: written on the wire, a CR inside the value
    // makes the request malformed, and a bare LF ends the header (what follows is another
    // header); either way the id sent back, if any, holds no part of the forged line.
    let address = s.base.trim_start_matches("http://").to_owned();
    for forged in ["X-Request-Id: abc\rINFO faux\r\n", "X-Request-Id: abc def\nX-Faux: 1\r\n"] {
        let mut tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
        let request = format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n{forged}Connection: close\r\n\r\n");
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8_lossy(&raw).to_lowercase();
        assert!(!text.contains("faux"), "{forged:?}: {text}");
        if let Some(line) = text.lines().find(|l| l.starts_with("x-request-id:")) {
            assert!(generated(line.trim_start_matches("x-request-id:").trim()), "{forged:?}: {line}");
        }
    }
}

ledger::both_engines!(
    a_generated_id_on_every_answer,
    a_given_id_is_echoed,
    problem_documents_name_the_id,
    a_hostile_id_is_replaced,
);
