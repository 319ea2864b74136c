//! Redemption against real databases, on both engines: every refusal reason, the ledger
//! postings, idempotent retries, and exactly one success among 64 simultaneous attempts.

use chrono::{DateTime, NaiveDate, Utc};
use issuer::issuance;
use issuer::orders::{self, FeeTerms, NewOrder};
use issuer::organisations::OrgKind;
use ledger::testing::TestDb;
use ledger::{AccountCode, Cents};
use redeemer::anomalies::{self, Anomaly};
use redeemer::redeem::{RedeemError, RedeemRequest, redeem};
use redeemer::sites::{self, Accreditation};
use std::sync::Arc;

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

fn insee(code: &str) -> issuer::InseeCode {
    code.parse().unwrap()
}

fn at(day: &str) -> DateTime<Utc> {
    day.parse::<NaiveDate>().unwrap().and_hms_opt(10, 0, 0).unwrap().and_utc()
}

async fn world(t: &TestDb, fee_bps: u32) -> World {
    let (dir, keys) = issuer::testing::key_ring();
    let mut tx = t.db.begin().await.unwrap();
    sites::seed_catalogue(&mut tx).await.unwrap();
    let funder = issuer::testing::gironde_organisation(
        &mut tx,
        OrgKind::Funder,
        "Département de la Gironde",
        "2233000190001",
        "departement",
    )
    .await;
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
    let site = sites::create(
        &mut tx,
        "Médiathèque de Talence",
        &issuer::Siret::completing("2133052200006").unwrap(),
        &iban,
        &bic,
        "Ville de Talence",
    )
    .await
    .unwrap();
    let place = sites::add_place(&mut tx, site, "Médiathèque", "1 rue Arnozan", &insee("33522"), "Mo-Sa 10:00-18:00")
        .await
        .unwrap();
    let paris_place =
        sites::add_place(&mut tx, site, "Antenne parisienne", "1 rue de Rivoli", &insee("75056"), "Mo-Fr 09:00-17:00")
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
    let pending_site = sites::create(
        &mut tx,
        "Association en attente",
        &issuer::Siret::completing("7843912500007").unwrap(),
        &iban,
        &bic,
        "Association",
    )
    .await
    .unwrap();
    let pending_place =
        sites::add_place(&mut tx, pending_site, "Local", "2 place de la Victoire", &insee("33063"), "Mo 10:00-12:00")
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
        outcome: None,
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
        let (_other, ring) = issuer::testing::key_ring();
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
    let verdicts =
        redeemer::redeem::verify(&t.db, &w.keys, w.site, w.place, "DEM-ACCOMP", &inputs, at("2025-06-02"), None)
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
        None,
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

/// Another accredited site in Gironde offering the everyday services; returns (site, place).
async fn extra_site(t: &TestDb, name: &str, siret_prefix: &str, commune: &str) -> (i64, i64) {
    let mut tx = t.db.begin().await.unwrap();
    let iban = "FR7630006000011234567890189".parse().unwrap();
    let bic = "BNPAFRPP".parse().unwrap();
    let site = sites::create(&mut tx, name, &issuer::Siret::completing(siret_prefix).unwrap(), &iban, &bic, name)
        .await
        .unwrap();
    let place =
        sites::add_place(&mut tx, site, "Accueil", "1 place de la Mairie", &insee(commune), "Mo-Su 08:00-20:00")
            .await
            .unwrap();
    sites::set_services(&mut tx, site, &["DEM-ACCOMP"]).await.unwrap();
    sites::decide(&mut tx, site, Accreditation::Accredited, Some("2099-12-31".parse().unwrap()), None, "Agréé")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (site, place)
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn kinds(list: &[Anomaly]) -> Vec<&'static str> {
    list.iter().map(|a| a.kind.as_str()).collect()
}

async fn anomalies_outside_hours_and_one_book_at_many_sites(t: TestDb) {
    let w = world(&t, 0).await;
    let c = &w.codes;
    // Monday 2 June 2025, 12:00 in Paris: open (Mo-Sa 10:00-18:00). Nothing to flag.
    let mut r = req(&w, "open", "DEM-ACCOMP", &[&c[0]], "2025-06-02");
    r.performed_at = Some(utc("2025-06-02T10:00:00Z"));
    redeem(&t.db, &w.keys, &r).await.unwrap();
    assert!(anomalies::list(&t.db, true, 100).await.unwrap().is_empty());
    // Same day at 21:40 in Paris: closed, beyond the 30 minutes of slack.
    let mut late = req(&w, "late", "DEM-ACCOMP", &[&c[1]], "2025-06-02");
    late.performed_at = Some(utc("2025-06-02T19:40:00Z"));
    redeem(&t.db, &w.keys, &late).await.unwrap();
    let flags = anomalies::list(&t.db, true, 100).await.unwrap();
    assert_eq!(kinds(&flags), vec!["outside_opening_hours"]);
    assert_eq!(flags[0].site_id, Some(w.site));
    assert_eq!(flags[0].evidence["performed_at_local"], "2025-06-02 21:40");
    assert_eq!(flags[0].evidence["opening_hours"], "Mo-Sa 10:00-18:00");
    // 18:20 in Paris is within the slack: no flag.
    let mut closing = req(&w, "closing", "DEM-ACCOMP", &[&c[2]], "2025-06-02");
    closing.performed_at = Some(utc("2025-06-02T16:20:00Z"));
    redeem(&t.db, &w.keys, &closing).await.unwrap();
    assert_eq!(anomalies::list(&t.db, true, 100).await.unwrap().len(), 1);

    // Book 1 (vouchers 0–9) already used at the first site on 2 June; two more sites that day.
    let (b, b_place) = extra_site(&t, "Espace numérique de Bègles", "2133303900001", "33039").await;
    let (d, d_place) = extra_site(&t, "Maison France services de Pessac", "2133318000001", "33318").await;
    let mut at_b = req(&w, "b", "DEM-ACCOMP", &[&c[3]], "2025-06-02");
    (at_b.site_id, at_b.place_id) = (b, b_place);
    redeem(&t.db, &w.keys, &at_b).await.unwrap();
    assert_eq!(anomalies::list(&t.db, true, 100).await.unwrap().len(), 1, "two sites are not many");
    let mut at_d = req(&w, "d", "DEM-ACCOMP", &[&c[4]], "2025-06-02");
    (at_d.site_id, at_d.place_id) = (d, d_place);
    redeem(&t.db, &w.keys, &at_d).await.unwrap();
    let flags = anomalies::list(&t.db, true, 100).await.unwrap();
    assert_eq!(kinds(&flags), vec!["book_many_sites", "outside_opening_hours"]);
    let evidence = &flags[0].evidence;
    assert_eq!(evidence["sites"], 3);
    assert_eq!(evidence["day"], "2025-06-02");
    assert_eq!(evidence["uses"].as_array().unwrap().len(), 5);
    assert!(evidence["book"].as_str().unwrap().ends_with("-00001"));
    // A fourth use the same day refreshes the open flag instead of raising a second one.
    let mut again = req(&w, "d2", "DEM-ACCOMP", &[&c[5]], "2025-06-02");
    (again.site_id, again.place_id) = (d, d_place);
    redeem(&t.db, &w.keys, &again).await.unwrap();
    let flags = anomalies::list(&t.db, true, 100).await.unwrap();
    assert_eq!(flags.len(), 2);
    assert_eq!(flags[0].evidence["uses"].as_array().unwrap().len(), 6);
    // Another book used at one site only: nothing new.
    redeem(&t.db, &w.keys, &req(&w, "other-book", "DEM-ACCOMP", &[&c[10]], "2025-06-03")).await.unwrap();
    assert_eq!(anomalies::list(&t.db, true, 100).await.unwrap().len(), 2);
}

async fn anomalies_burst_and_dismissal(t: TestDb) {
    let w = world(&t, 0).await;
    let c = &w.codes;
    let at = |day: &str, i: usize| utc(&format!("{day}T{:02}:{:02}:00Z", 8 + i / 6, (i % 6) * 10));
    // History: one redemption on each of two earlier days.
    for (i, day) in ["2025-06-02", "2025-06-03"].into_iter().enumerate() {
        let mut r = req(&w, &format!("h{i}"), "DEM-ACCOMP", &[&c[i]], day);
        r.performed_at = Some(at(day, 0));
        redeem(&t.db, &w.keys, &r).await.unwrap();
    }
    // A day with 20 redemptions: the 19th raises nothing, the 20th is a burst (max(20, 3 × 1)).
    for i in 0..20 {
        let mut r = req(&w, &format!("burst{i}"), "DEM-ACCOMP", &[&c[2 + i]], "2025-06-04");
        r.performed_at = Some(at("2025-06-04", i));
        redeem(&t.db, &w.keys, &r).await.unwrap();
        let bursts =
            anomalies::list(&t.db, true, 100).await.unwrap().into_iter().filter(|a| a.kind.as_str() == "burst").count();
        assert_eq!(bursts, usize::from(i == 19), "after {} redemptions", i + 1);
    }
    let flags = anomalies::list(&t.db, true, 100).await.unwrap();
    assert_eq!(kinds(&flags), vec!["burst"]);
    let burst = &flags[0];
    assert_eq!(
        (&burst.evidence["redemptions"], &burst.evidence["threshold"], &burst.evidence["active_days_before"]),
        (&serde_json::json!(20), &serde_json::json!(20), &serde_json::json!(2))
    );
    // Dismissal needs a comment, happens once, and a later detection does not reopen it.
    let mut conn = t.db.pool().acquire().await.unwrap();
    assert!(matches!(
        anomalies::dismiss(&mut conn, burst.id, None, "  ").await,
        Err(anomalies::DismissError::MissingComment)
    ));
    let done = anomalies::dismiss(&mut conn, burst.id, None, "Journée portes ouvertes à la médiathèque").await.unwrap();
    assert_eq!(
        (done.status.as_str(), done.comment.as_deref()),
        ("dismissed", Some("Journée portes ouvertes à la médiathèque"))
    );
    assert!(matches!(
        anomalies::dismiss(&mut conn, burst.id, None, "encore").await,
        Err(anomalies::DismissError::AlreadyDismissed)
    ));
    assert!(matches!(anomalies::dismiss(&mut conn, 999_999, None, "x").await, Err(anomalies::DismissError::NotFound)));
    drop(conn);
    let mut r = req(&w, "burst-more", "DEM-ACCOMP", &[&c[22]], "2025-06-04");
    r.performed_at = Some(at("2025-06-04", 21));
    redeem(&t.db, &w.keys, &r).await.unwrap();
    assert!(anomalies::list(&t.db, true, 100).await.unwrap().is_empty());
    let all = anomalies::list(&t.db, false, 100).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].evidence["redemptions"], 20, "a dismissed flag keeps its evidence");
}

async fn anomalies_repeated_invalid_codes(t: TestDb) {
    let w = world(&t, 0).await;
    let day = at("2025-06-02");
    // Valid vouchers that cannot be used (already redeemed) are mistakes, not invalid codes.
    redeem(&t.db, &w.keys, &req(&w, "used", "DEM-ACCOMP", &[&w.codes[0]], "2025-06-02")).await.unwrap();
    let used = vec![w.codes[0].clone(); 12];
    redeemer::redeem::verify(&t.db, &w.keys, w.site, w.place, "DEM-ACCOMP", &used, day, None).await.unwrap();
    assert!(anomalies::list(&t.db, true, 100).await.unwrap().is_empty());
    // Nine invalid inputs through verify, then one through redeem: the tenth raises the flag.
    let garbage: Vec<String> = (0..9).map(|i| format!("ABCD-EFGH-JKM{i}")).collect();
    redeemer::redeem::verify(&t.db, &w.keys, w.site, w.place, "DEM-ACCOMP", &garbage, day, None).await.unwrap();
    assert!(anomalies::list(&t.db, true, 100).await.unwrap().is_empty());
    refusal(redeem(&t.db, &w.keys, &req(&w, "bad", "DEM-ACCOMP", &["0000-0000-0000-0"], "2025-06-02")).await);
    let flags = anomalies::list(&t.db, true, 100).await.unwrap();
    assert_eq!(kinds(&flags), vec!["repeated_invalid_codes"]);
    let e = &flags[0].evidence;
    assert_eq!(e["invalid_codes"], 10);
    assert_eq!(e["site_id"], w.site);
    assert_eq!(e["reasons"]["unknown"], 1);
    assert_eq!(e["samples"].as_array().unwrap().len(), 5);
}

/// Many redemptions at once are written together (group commit): each still gets its own
/// answer, running balance and rank in the day, and a voucher asked for twice in one batch is
/// redeemed once.
async fn group_commit_keeps_every_answer(t: TestDb) {
    let w = Arc::new(world(&t, 250).await);
    let wave = |requests: Vec<(String, usize)>| {
        let (db, w) = (t.db.clone(), w.clone());
        async move {
            let mut tasks = Vec::new();
            for (key, code) in requests {
                let (db, w) = (db.clone(), w.clone());
                tasks.push(tokio::spawn(async move {
                    let mut r = req(&w, &key, "DEM-ACCOMP", &[&w.codes[code]], "2025-06-04");
                    r.performed_at = Some(utc("2025-06-04T10:00:00Z"));
                    (code, redeem(&db, &w.keys, &r).await)
                }));
            }
            let (mut done, mut taken) = (Vec::new(), Vec::new());
            for task in tasks {
                match task.await.unwrap() {
                    (_, Ok(r)) => {
                        assert_eq!((r.value_cents, r.fee_cents, r.replayed), (1000, 25, false));
                        done.push((r.site_payable_cents, r.redemption_id));
                    }
                    (code, Err(RedeemError::Refused(f))) if f.code == "already_redeemed" => taken.push(code),
                    (_, Err(e)) => panic!("unexpected {e:?}"),
                }
            }
            taken.sort();
            (done, taken)
        }
    };
    // Twenty distinct vouchers at once: all recorded, some of them together.
    let (mut done, taken) = wave((0..20).map(|i| (format!("first-{i}"), i)).collect()).await;
    assert!(taken.is_empty());
    let (written, at_once): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT recorded_at) FROM redemptions")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(written, 20);
    assert!(at_once < written, "some redemptions were written together ({at_once} writes for {written})");
    // Then new vouchers mixed with used ones, and one fresh voucher asked for twice: a batch
    // that cannot be written as it stands gives each request the answer it would have alone.
    let mut second: Vec<(String, usize)> = (20..25).map(|i| (format!("second-{i}"), i)).collect();
    second.extend([0, 1, 2, 25, 25].iter().enumerate().map(|(n, &i)| (format!("again-{n}"), i)));
    let (more, taken) = wave(second).await;
    assert_eq!(taken, vec![0, 1, 2, 25], "used vouchers refused, the fresh one redeemed once");
    done.extend(more);
    let mut balances: Vec<i64> = done.iter().map(|d| d.0).collect();
    balances.sort();
    assert_eq!(balances, (1..=26).map(|k| k * 975).collect::<Vec<_>>(), "one running balance after each");
    let mut ids: Vec<i64> = done.iter().map(|d| d.1).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 26);
    // Ranks in the day 1 to 26, one each: the burst rule (20 a day) fires once, at the 20th.
    let day: i64 =
        sqlx::query_scalar("SELECT redemptions FROM site_daily_redemptions WHERE site_id = $1 AND day = '2025-06-04'")
            .bind(w.site)
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(day, 26);
    let bursts: Vec<Anomaly> =
        anomalies::list(&t.db, true, 100).await.unwrap().into_iter().filter(|a| a.kind.as_str() == "burst").collect();
    assert_eq!(bursts.len(), 1);
    assert_eq!(bursts[0].evidence["redemptions"], 20);
    assert_eq!(
        ledger::query::balance(&t.db, &AccountCode::site_payable(w.site)).await.unwrap().natural,
        Cents(26 * 975)
    );
    let mut report = ledger::verify::verify(&t.db).await.unwrap();
    issuer::invariants::check(&t.db, &mut report).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}

ledger::both_engines!(
    group_commit_keeps_every_answer,
    anomalies_outside_hours_and_one_book_at_many_sites,
    anomalies_burst_and_dismissal,
    anomalies_repeated_invalid_codes,
    redeem_post_and_replay,
    every_refusal_reason,
    exactly_once_under_concurrency,
    verify_changes_nothing,
    offline_batch
);
