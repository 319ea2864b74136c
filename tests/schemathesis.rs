//! The API against its own OpenAPI document. The document passes `openapi-spec-validator` (PyPI,
//! installed by `.ci/run`) with no error. Property-based testing with schemathesis (PyPI): for
//! every route, as each kind of caller, generated requests never get a 5xx answer, an answer that
//! breaks the documented schema, nor a status the operation does not document. Bounded in time
//! per caller, with a fixed seed so that CI is repeatable (`PASSERELLE_SCHEMATHESIS_SEED=… cargo
//! test --test schemathesis` explores other inputs). A missing tool fails the test.

mod common;

use common::TestServer;
use ledger::testing::TestDb;
use std::process::Command;

/// Seconds of generated requests per caller.
const SECONDS_PER_CALLER: &str = "15";

async fn the_api_keeps_its_contract(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    s.issued_order(s.who("funder_a_manager").organisation_id, 2, 2).await;
    let mut report = Vec::new();
    for who in ["operator_manager", "funder_a_manager", "prescriber_member", "site_a_manager"] {
        let (schema, token) = (s.url("/api/v1/openapi.json"), s.who(who).token.clone());
        let seed = std::env::var("PASSERELLE_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261126".into());
        let cache = tempfile::tempdir().unwrap();
        let out = tokio::task::spawn_blocking(move || {
            // Its cache of found failures goes to a temporary directory, not the repository.
            Command::new("schemathesis")
                .current_dir(cache.path())
                .args([
                    "run",
                    &schema,
                    "--checks",
                    "not_a_server_error,response_schema_conformance,status_code_conformance",
                ])
                .args(["--max-time", SECONDS_PER_CALLER, "--max-examples", "5", "--workers", "1", "--seed", &seed])
                .args(["--header", &format!("Authorization: Bearer {token}")])
                .env("NO_COLOR", "1")
                .output()
                .expect("schemathesis (pip install schemathesis==4.32.5; .ci/run installs it)")
        })
        .await
        .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "schemathesis as {who}:\n{text}");
        let generated = text.lines().find(|l| l.contains("generated,")).unwrap_or("").trim().to_owned();
        assert!(generated.contains("passed"), "as {who}: {text}");
        report.push(format!("{who}: {generated}"));
    }
    println!("{}", report.join("\n"));
}

/// The published document is valid OpenAPI 3.1 (unique operation ids included).
async fn the_document_is_valid_openapi(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let doc = s.client.get(s.url("/api/v1/openapi.json")).send().await.unwrap().bytes().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &doc).unwrap();
    let out = Command::new("openapi-spec-validator")
        .arg(&file)
        .output()
        .expect("openapi-spec-validator (pip install openapi-spec-validator==0.7.2; .ci/run installs it)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains(": OK"), "openapi-spec-validator:\n{text}");
}

ledger::both_engines!(the_api_keeps_its_contract, the_document_is_valid_openapi);
