//! The demo deployment (`passerelle demo`) is realistic: accredited sites at real places of the
//! reference communes, months of redemptions at them, a ledger that verifies, and an invitation
//! email delivered as a file.

mod common;

use chrono::Datelike;
use issuer::local_time;
use ledger::testing::TestDb;
use std::collections::BTreeSet;

async fn the_demo_has_accredited_sites_and_months_of_redemptions(t: TestDb) {
    let keys = tempfile::tempdir().unwrap();
    let config = common::test_config(&t.url, keys.path());
    let (db, _) = passerelle::commands::demo::seed(&config).await.unwrap();

    // Accredited sites, each place in a commune of the reference data.
    let places: Vec<(i64, String)> = sqlx::query_as(
        "SELECT s.organisation_id, p.commune_insee FROM sites s JOIN site_places p ON p.site_id = s.organisation_id \
         WHERE s.status = 'accredited' ORDER BY s.organisation_id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let sites: BTreeSet<i64> = places.iter().map(|p| p.0).collect();
    assert!(sites.len() >= 3, "accredited sites: {places:?}");
    for (site, insee) in &places {
        let commune = issuer::territory::commune(insee);
        assert!(
            commune.is_some_and(|c| c.departement == "33"),
            "site {site}: commune {insee} is not a Gironde commune"
        );
    }

    // Redemptions at those sites over several months.
    let passages: Vec<(i64, i64)> =
        sqlx::query_as("SELECT site_id, performed_at FROM redemptions").fetch_all(db.pool()).await.unwrap();
    assert!(passages.iter().all(|(site, _)| sites.contains(site)), "every passage is at an accredited site");
    let months: BTreeSet<(i32, u32)> = passages
        .iter()
        .map(|(_, at)| local_time::local(ledger::time::from_micros(*at)))
        .map(|at| (at.year(), at.month()))
        .collect();
    assert!(months.len() >= 3, "{} passages over the months {months:?}", passages.len());
    let sites_used: BTreeSet<i64> = passages.iter().map(|p| p.0).collect();
    assert!(sites_used.len() >= 3, "passages at {sites_used:?}");

    let report = ledger::verify::verify(&db).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);

    // The demo's invitation email waits in the outbox; without an SMTP server it is delivered as
    // an .eml file in the mail folder.
    let waiting = passerelle::notify::outbox::list(&db, 10).await.unwrap();
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(
        (waiting[0].kind.as_str(), waiting[0].to.clone()),
        ("invitation", vec!["nouvel.agent@passerelle.demo".into()])
    );
    let transport = passerelle::notify::transport::Transport::from_config(&config).unwrap();
    let report =
        passerelle::notify::sender::deliver_due(&db, &transport, &config.mail_from, ledger::time::now()).await.unwrap();
    assert_eq!(report.sent, 1);
    assert_eq!(common::smtp::eml_files(&config.mail_dir).len(), 1);
}

ledger::both_engines!(the_demo_has_accredited_sites_and_months_of_redemptions);
