//! Property-based testing of the API against its own OpenAPI document, with schemathesis (PyPI,
//! installed by `.ci/run`): for every route, as each kind of caller, generated requests never get
//! a 5xx answer nor an answer that breaks the documented schema. Bounded in time per caller, with
//! a fixed seed so that CI is repeatable (`PASSERELLE_SCHEMATHESIS_SEED=… cargo test --test
//! schemathesis` explores other inputs). A missing schemathesis fails the test.

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
                .args(["run", &schema, "--checks", "not_a_server_error,response_schema_conformance"])
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

ledger::both_engines!(the_api_keeps_its_contract);
