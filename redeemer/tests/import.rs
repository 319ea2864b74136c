//! Import of places from the national open-data CSV, on both engines.

use ledger::testing::TestDb;
use redeemer::import::import_csv;

const EXAMPLE: &[u8] = include_bytes!("data/exemple-valide.csv");

async fn seeded(t: &TestDb) {
    let mut tx = t.db.begin().await.unwrap();
    redeemer::sites::seed_catalogue(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
}

async fn the_official_example_imports_once(t: TestDb) {
    seeded(&t).await;
    let first = import_csv(&t.db, EXAMPLE).await.unwrap();
    assert_eq!((first.imported, first.unchanged, first.errors.len()), (1, 0, 0), "{first:?}");
    let site: i64 = sqlx::query_scalar("SELECT id FROM organisations WHERE siret = '43493312300029'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let s = redeemer::sites::get(&t.db, site).await.unwrap().unwrap();
    assert_eq!(s.status, redeemer::sites::Accreditation::Pending);
    assert_eq!(s.places[0].commune_insee, "51454");
    assert!(s.places[0].opening_hours.starts_with("Mo-Fr 09:00-12:00"));
    assert!(s.services.contains(&"OUT-SMARTPHONE".to_owned()), "{:?}", s.services);
    let again = import_csv(&t.db, EXAMPLE).await.unwrap();
    assert_eq!((again.imported, again.unchanged, again.errors.len()), (0, 1, 0));
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sites").fetch_one(t.db.pool()).await.unwrap();
    assert_eq!(count, 1);
}

async fn invalid_rows_are_reported_line_by_line(t: TestDb) {
    seeded(&t).await;
    let csv = "id,pivot,nom,commune,code_postal,code_insee,adresse,services,horaires,date_maj\n\
        a,13002526500013,Espace Pessac,Pessac,33600,,1 avenue Jean-Jaurès,Aide aux démarches administratives,Mo 10:00-12:00,2026-01-01\n\
        b,13002526500014,Mauvais SIRET,Pessac,33600,33318,2 rue X,Aide aux démarches administratives,,2026-01-01\n\
        c,35600000000048,Commune inconnue,Nulle-Part,99999,,3 rue Y,Aide aux démarches administratives,,2026-01-01\n\
        d,21330063500017,Service inconnu,Bordeaux,33000,33063,4 rue Z,Cuisine moléculaire,,2026-01-01\n\
        e,only,three,fields\n";
    let report = import_csv(&t.db, csv.as_bytes()).await.unwrap();
    assert_eq!(report.imported, 1, "{report:?}");
    let seen: Vec<(u64, &str)> = report.errors.iter().map(|e| (e.line, e.field.as_str())).collect();
    assert_eq!(seen, vec![(3, "pivot"), (4, "commune"), (5, "services"), (6, "(ligne)")], "{report:?}");
    assert!(import_csv(&t.db, b"nom,adresse\nX,Y\n").await.is_err(), "missing required columns");
}

ledger::both_engines!(the_official_example_imports_once, invalid_rows_are_reported_line_by_line);
