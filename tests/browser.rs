//! The pages in a real browser: Debian's Chromium, headless, driven by playwright-core
//! (browser-tests/run.mjs) against a real server on each engine; every page passes axe-core's
//! WCAG 2.1 AA rules. Missing Chromium or Node.js fails the test (`.ci/run` installs them).

mod common;

use common::TestServer;
use ledger::testing::TestDb;
use std::process::Command;

async fn pages_in_chromium(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/browser-tests");
    assert!(
        std::path::Path::new(dir).join("node_modules/playwright-core").is_dir(),
        "browser-tests/node_modules absent : lancez scripts/test.sh (npm ci) ou `npm ci` dans browser-tests"
    );
    let order = s.issued_order(s.who("funder_a_manager").organisation_id, 1, 1).await;
    let mut conn = s.tdb.db.pool().acquire().await.unwrap();
    let book = issuer::books::by_serial(&mut conn, &issuer::issuance::serial(order.id, 1)).await.unwrap().unwrap();
    let voucher = issuer::books::vouchers(&mut conn, book.id).await.unwrap()[0].code.clone();
    drop(conn);
    let base = s.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .current_dir(dir)
            .args([
                "run.mjs",
                &base,
                "funder_a_manager@test.example",
                "not-used-password",
                "site_a_member@test.example",
                &voucher,
                "prescriber_member@test.example",
            ])
            .output()
            .expect("node (Node.js)")
    })
    .await
    .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    let redeemed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM redemptions").fetch_one(s.tdb.db.pool()).await.unwrap();
    assert_eq!(redeemed, 1, "the passage confirmed in the browser is recorded");
    let redeemed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM redemptions").fetch_one(s.tdb.db.pool()).await.unwrap();
    assert_eq!(redeemed, 1, "the passage confirmed in the browser is recorded");
    for line in [
        "axe connexion : aucune violation",
        "axe accueil : aucune violation",
        "connexion au clavier",
        "déconnexion : session fermée",
        "axe passage vérifié : aucune violation",
        "passage : vérifié, confirmé, reçu affiché",
        "axe remise : choix de la commune : aucune violation",
    ] {
        assert!(text.contains(line), "« {line} » in:\n{text}");
    }
}

ledger::both_engines!(pages_in_chromium);
