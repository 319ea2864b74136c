//! Redemption against real databases, on both engines: every refusal reason, the ledger
//! postings, idempotent retries, and exactly one success among 64 simultaneous attempts.

use chrono::{DateTime, NaiveDate, Utc};
use issuer::orders::{self, FeeTerms, NewOrder};
use issuer::organisations::OrgKind;
use issuer::territory::Territory;
use issuer::{issuance, profiles};
use ledger::testing::TestDb;
use ledger::{AccountCode, Cents};
use redeemer::redeem::{RedeemError, RedeemRequest, redeem};
use redeemer::sites::{self, Accreditation};
use std::sync::Arc;

fn siret(prefix13: &str) -> issuer::Siret {
    (0..10).map(|d| format!("{prefix13}{d}")).find_map(|s| s.parse().ok()).unwrap()
}

struct World {
    keys: issuer::keys::KeyRing,
    _dir: tempfile::TempDir,
    site: i64,
    place: i64,
    paris_place: i64,
    pending_site: i64,
    pending_place: i64,
    codes: Vec<String>,
    order: i64,
}

fn at(day: &str) -> DateTime<Utc> {
    day.parse::<NaiveDate>().unwrap().and_hms_opt(10, 0, 0).unwrap().and_utc()
}

async fn world(t: &TestDb, fee_bps: u32) -> World {
    let dir = tempfile::tempdir().unwrap();
    issuer::keys::KeyRing::generate(dir.path()).unwrap();
    let keys = issuer::keys::KeyRing::load(dir.path()).unwrap();
    let mut tx = t.db.begin().await.unwrap();
    sites::seed_catalogue(&mut tx).await.unwrap();
    let funder = profiles::create(
        &mut tx,
        OrgKind::Funder,
        "Département de la Gironde",
        &siret("2233000190001"),
        "departement",
        Territory::new(["33"]).unwrap(),
    )
    .await
    .unwrap()
    .organisation
    .id;
    let new: NewOrder = serde_json::from_value(serde_json::json!({
        "label": "Pass numérique", "funders": [{"funder_id": funder, "share_bps": 10000}], "books": 3, "vouchers_per_book": 10,
        "valid_from": "2025-01-01", "valid_until": "2025-12-31", "grace_days": 31, "territory": ["33"],
        "allowed_categories": ["aide_demarches_administratives", "maitrise_outils_numeriques"],
    }))
    .unwrap();
    let order = orders::create(&mut tx, &new, FeeTerms { issuance_fee_bps: 0, redemption_fee_bps: fee_bps }, None)
        .await
        .unwrap();
    orders::confirm(&mut tx, order.id).await.unwrap();
    let iban = "FR7630006000011234567890189".parse().unwrap();
    let bic = "BNPAFRPP".parse().unwrap();
    let site =
        sites::create(&mut tx, "Médiathèque de Talence", &siret("2133052200006"), &iban, &bic, "Ville de Talence")
            .await
            .unwrap();
    let place =
        sites::add_place(&mut tx, site, "Médiathèque", "1 rue du Professeur Arnozan", "33522", "Mo-Sa 10:00-18:00")
            .await
            .unwrap();
    let paris_place =
        sites::add_place(&mut tx, site, "Antenne parisienne", "1 rue de Rivoli", "75056", "Mo-Fr 09:00-17:00")
            .await
            .unwrap();
    sites::set_services(&mut tx, site, &["DEM-ACCOMP", "DEM-DOSSIER", "LOI-PHOTO"]).await.unwrap();
    sites::decide(
        &mut tx,
        site,
        Accreditation::Accredited,
        Some("2099-12-31".parse().unwrap()),
        None,
        "Dossier complet",
    )
    .await
    .unwrap();
    let pending_site =
        sites::create(&mut tx, "Association en attente", &siret("7843912500007"), &iban, &bic, "Association")
            .await
            .unwrap();
    let pending_place =
        sites::add_place(&mut tx, pending_site, "Local", "2 place de la Victoire", "33063", "Mo 10:00-12:00")
            .await
            .unwrap();
    sites::set_services(&mut tx, pending_site, &["DEM-ACCOMP"]).await.unwrap();
    tx.commit().await.unwrap();
    issuance::issue(&t.db, &keys, order.id, &|_, _| {}).await.unwrap();
    let mut conn = t.db.pool().acquire().await.unwrap();
    let mut codes = Vec::new();
    for n in 1..=3 {
        let book = issuer::books::by_serial(&mut conn, &issuance::serial(order.id, n)).await.unwrap().unwrap();
        codes.extend(issuer::books::vouchers(&mut conn, book.id).await.unwrap().into_iter().map(|v| v.code));
    }
    World { keys, _dir: dir, site, place, paris_place, pending_site, pending_place, codes, order: order.id }
}

fn req(w: &World, key: &str, service: &str, vouchers: &[&str], day: &str) -> RedeemRequest {
    RedeemRequest {
        site_id: w.site,
        place_id: w.place,
        service_code: service.into(),
        vouchers: vouchers.iter().map(|v| v.to_string()).collect(),
        performed_at: Some(at(day)),
        idempotency_key: key.into(),
        scanned_by: None,
    }
}

fn refusal(r: Result<redeemer::redeem::Redeemed, RedeemError>) -> &'static str {
    match r {
        Err(RedeemError::Refused(f)) => f.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn redeem_post_and_replay(t: TestDb) {
    let w = world(&t, 250).await;
    let r =
        redeem(&t.db, &w.keys, &req(&w, "k1", "DEM-DOSSIER", &[&w.codes[0], &w.codes[1]], "2025-06-01")).await.unwrap();
    // 2 × 10,00 € = 20,00 €; fee 2,5 % = 0,50 €; the site is owed 19,50 €.
    assert_eq!((r.vouchers, r.value_cents, r.fee_cents, r.site_payable_cents, r.replayed), (2, 2000, 50, 1950, false));
    let again =
        redeem(&t.db, &w.keys, &req(&w, "k1", "DEM-DOSSIER", &[&w.codes[1], &w.codes[0]], "2025-06-01")).await.unwrap();
    assert_eq!((again.redemption_id, again.replayed, again.site_payable_cents), (r.redemption_id, true, 1950));
    assert!(matches!(
        redeem(&t.db, &w.keys, &req(&w, "k1", "DEM-ACCOMP", &[&w.codes[2]], "2025-06-01")).await,
        Err(RedeemError::IdempotencyConflict(_))
    ));
    let db = &t.db;
    let bal = |a: AccountCode| async move { ledger::query::balance(db, &a).await.unwrap().natural.0 };
    assert_eq!(bal(AccountCode::site_payable(w.site)).await, 1950);
    assert_eq!(bal(AccountCode::fees()).await, 50);
    assert_eq!(bal(AccountCode::order_outstanding(w.order)).await, 30 * 1000 - 2000);
    // The same voucher again, under another key, at the same site: when and for what.
    let used = redeem(&t.db, &w.keys, &req(&w, "k2", "DEM-ACCOMP", &[&w.codes[0]], "2025-06-02")).await;
    match used {
        Err(RedeemError::Refused(f)) => {
            assert_eq!(f.code, "already_redeemed");
            assert!(
                f.message.contains("01/06/2025") && f.message.contains("Constitution d'un dossier"),
                "{}",
                f.message
            );
        }
        other => panic!("{other:?}"),
    }
    let mut report = ledger::verify::verify(&t.db).await.unwrap();
    issuer::invariants::check(&t.db, &mut report).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}

async fn every_refusal_reason(t: TestDb) {
    let w = world(&t, 0).await;
    let c = &w.codes;
    assert_eq!(
        refusal(redeem(&t.db, &w.keys, &req(&w, "a", "DEM-DOSSIER", &[&c[0]], "2025-06-01")).await),
        "wrong_voucher_count"
    );
    assert_eq!(
        refusal(redeem(&t.db, &w.keys, &req(&w, "b", "OUT-SMARTPHONE", &[&c[0]], "2025-06-01")).await),
        "service_not_offered"
    );
    assert_eq!(
        refusal(redeem(&t.db, &w.keys, &req(&w, "c", "LOI-PHOTO", &[&c[0]], "2025-06-01")).await),
        "category_not_allowed"
    );
    assert_eq!(
        refusal(redeem(&t.db, &w.keys, &req(&w, "d", "DEM-ACCOMP", &[&c[0]], "2024-12-31")).await),
        "not_yet_valid"
    );
    assert_eq!(refusal(redeem(&t.db, &w.keys, &req(&w, "e", "DEM-ACCOMP", &[&c[0]], "2026-03-01")).await), "expired");
    // Within the grace period it is still honoured.
    redeem(&t.db, &w.keys, &req(&w, "f", "DEM-ACCOMP", &[&c[0]], "2026-01-20")).await.unwrap();
    assert_eq!(
        refusal(redeem(&t.db, &w.keys, &req(&w, "g", "DEM-ACCOMP", &["7KQ2-M9XD-3TWP"], "2025-06-01")).await),
        "invalid_length"
    );
    assert_eq!(
        refusal(redeem(&t.db, &w.keys, &req(&w, "h", "DEM-ACCOMP", &["0000-0000-0000-0"], "2025-06-01")).await),
        "unknown"
    );
    let mut paris = req(&w, "i", "DEM-ACCOMP", &[&c[1]], "2025-06-01");
    paris.place_id = w.paris_place;
    assert_eq!(refusal(redeem(&t.db, &w.keys, &paris).await), "outside_territory");
    let mut pending = req(&w, "j", "DEM-ACCOMP", &[&c[1]], "2025-06-01");
    (pending.site_id, pending.place_id) = (w.pending_site, w.pending_place);
    assert_eq!(refusal(redeem(&t.db, &w.keys, &pending).await), "site_not_accredited");
    let mut other_place = req(&w, "k", "DEM-ACCOMP", &[&c[1]], "2025-06-01");
    other_place.place_id = w.pending_place;
    assert_eq!(refusal(redeem(&t.db, &w.keys, &other_place).await), "unknown_place");
    // A forged token: a valid code's payload signed with a key that is not ours.
    let forged = {
        let other = tempfile::tempdir().unwrap();
        issuer::keys::KeyRing::generate(other.path()).unwrap();
        let ring = issuer::keys::KeyRing::load(other.path()).unwrap();
        let p = issuer::token::Payload {
            key_number: 1,
            code: issuer::code::VoucherCode::parse_typed(&c[1]).unwrap(),
            face_value_cents: 1000,
            expires_on: "2025-12-31".parse().unwrap(),
            order_id: w.order as u32,
        };
        let tok = issuer::token::encode(&p, &p.sign(&ring.active().unwrap().signing).unwrap()).unwrap();
        issuer::token::qr_url("https://passerelle.example", &tok)
    };
    assert_eq!(
        refusal(redeem(&t.db, &w.keys, &req(&w, "l", "DEM-ACCOMP", &[&forged], "2025-06-01")).await),
        "bad_signature"
    );
    // A cancelled book; a suspended site.
    let mut tx = t.db.begin().await.unwrap();
    let book = issuer::books::by_voucher(&mut tx, issuer::code::VoucherCode::parse_typed(&c[15]).unwrap())
        .await
        .unwrap()
        .unwrap();
    issuer::books::cancel(&mut tx, book.id, "Carnet volé").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        refusal(redeem(&t.db, &w.keys, &req(&w, "m", "DEM-ACCOMP", &[&c[15]], "2025-06-01")).await),
        "cancelled"
    );
    let mut tx = t.db.begin().await.unwrap();
    sites::decide(&mut tx, w.site, Accreditation::Suspended, None, None, "Contrôle en cours").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        refusal(redeem(&t.db, &w.keys, &req(&w, "n", "DEM-ACCOMP", &[&c[2]], "2025-06-01")).await),
        "site_suspended"
    );
    let mut report = ledger::verify::verify(&t.db).await.unwrap();
    issuer::invariants::check(&t.db, &mut report).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}

async fn exactly_once_under_concurrency(t: TestDb) {
    let w = Arc::new(world(&t, 0).await);
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (db, w) = (t.db.clone(), w.clone());
        tasks.push(tokio::spawn(async move {
            let r = req(&w, &format!("race-{i}"), "DEM-ACCOMP", &[&w.codes[5]], "2025-06-01");
            redeem(&db, &w.keys, &r).await
        }));
    }
    let (mut won, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(r) => {
                assert!(!r.replayed);
                won += 1
            }
            Err(RedeemError::Refused(f)) if f.code == "already_redeemed" => refused += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((won, refused), (1, 63));
    assert_eq!(ledger::query::balance(&t.db, &AccountCode::site_payable(w.site)).await.unwrap().natural, Cents(1000));
    // The same key from many clients at once: one redemption, the same answer for all.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (db, w) = (t.db.clone(), w.clone());
        tasks.push(tokio::spawn(async move {
            redeem(&db, &w.keys, &req(&w, "same-key", "DEM-ACCOMP", &[&w.codes[6]], "2025-06-01")).await
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap().redemption_id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    let mut report = ledger::verify::verify(&t.db).await.unwrap();
    issuer::invariants::check(&t.db, &mut report).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}

async fn verify_changes_nothing(t: TestDb) {
    let w = world(&t, 0).await;
    redeem(&t.db, &w.keys, &req(&w, "first", "DEM-ACCOMP", &[&w.codes[0]], "2025-06-01")).await.unwrap();
    let inputs = vec![w.codes[1].to_lowercase(), w.codes[0].clone(), "n'importe quoi".to_owned()];
    let verdicts = redeemer::redeem::verify(&t.db, &w.keys, w.site, w.place, "DEM-ACCOMP", &inputs, at("2025-06-02"))
        .await
        .unwrap();
    let codes: Vec<Option<&str>> = verdicts.iter().map(|v| v.refusal.as_ref().map(|r| r.code)).collect();
    assert_eq!(codes, vec![None, Some("already_redeemed"), Some("invalid_character")]);
    assert_eq!(verdicts[0].face_value_cents, Some(1000));
    let err = redeemer::redeem::verify(
        &t.db,
        &w.keys,
        w.pending_site,
        w.pending_place,
        "DEM-ACCOMP",
        &inputs,
        at("2025-06-02"),
    )
    .await;
    assert!(matches!(err, Err(RedeemError::Refused(ref r)) if r.code == "site_not_accredited"));
    // Nothing moved: only the first redemption is in the ledger.
    assert_eq!(ledger::query::balance(&t.db, &AccountCode::site_payable(w.site)).await.unwrap().natural, Cents(1000));
}

async fn offline_batch(t: TestDb) {
    let w = world(&t, 0).await;
    let c = &w.codes;
    let mut future = req(&w, "b-future", "DEM-ACCOMP", &[&c[3]], "2025-06-01");
    future.performed_at = Some(Utc::now() + chrono::Duration::days(2));
    let mut no_time = req(&w, "b-none", "DEM-ACCOMP", &[&c[4]], "2025-06-01");
    no_time.performed_at = None;
    let items = vec![
        req(&w, "b-1", "DEM-ACCOMP", &[&c[0]], "2025-06-01"),
        req(&w, "b-2", "DEM-DOSSIER", &[&c[1], &c[2]], "2025-06-03"),
        req(&w, "b-old", "DEM-ACCOMP", &[&c[5]], "2024-06-01"),
        future,
        no_time,
        req(&w, "b-again", "DEM-ACCOMP", &[&c[0]], "2025-06-04"),
    ];
    let max_age = chrono::Duration::days(600);
    let results = redeemer::redeem::redeem_batch(&t.db, &w.keys, &items, max_age).await.unwrap();
    let codes: Vec<Option<&str>> = results.iter().map(|r| r.refusal.as_ref().map(|f| f.code)).collect();
    assert_eq!(
        codes,
        vec![
            None,
            None,
            Some("performed_too_long_ago"),
            Some("performed_in_future"),
            Some("missing_performed_at"),
            Some("already_redeemed")
        ]
    );
    // Syncing the same items again changes nothing and answers the same.
    let again = redeemer::redeem::redeem_batch(&t.db, &w.keys, &items[..2], max_age).await.unwrap();
    assert!(again.iter().all(|r| r.redeemed.as_ref().is_some_and(|d| d.replayed)));
    assert_eq!(ledger::query::balance(&t.db, &AccountCode::site_payable(w.site)).await.unwrap().natural, Cents(3000));
}

ledger::both_engines!(
    redeem_post_and_replay,
    every_refusal_reason,
    exactly_once_under_concurrency,
    verify_changes_nothing,
    offline_batch
);
