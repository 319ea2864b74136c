//! Statistics against real databases, on both engines: the figures after a whole lifecycle
//! (issue, assign, hand over, redeem, cancel, expire), the redeemed value against the ledger's
//! postings, refreshes that never count twice (repeated and concurrent), and statistical secrecy
//! in the tables by beneficiary attribute and the open-data file.

use chrono::{DateTime, Utc};
use issuer::books::{Autonomy, BeneficiaryProfile, BookSelection};
use issuer::issuance;
use issuer::orders::{self, FeeTerms, NewOrder};
use issuer::organisations::OrgKind;
use ledger::testing::TestDb;
use ledger::{Cents, both_engines};
use redeemer::outcome::{Outcome, OutcomeKind};
use redeemer::redeem::{RedeemRequest, redeem};
use redeemer::sites::{self, Accreditation};
use rust_decimal::Decimal;
use statistics::{Cell, Count, Dimension, Month, Period, Rows, Scope, Table};
use std::collections::HashMap;

mod secrecy;
use secrecy::possible_values;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn month(s: &str) -> Month {
    s.parse().unwrap()
}

struct World {
    keys: issuer::keys::KeyRing,
    _dir: tempfile::TempDir,
    funders: [i64; 2],
    prescriber: i64,
    /// (site, place)
    sites: [(i64, i64); 2],
}

async fn world(t: &TestDb) -> World {
    let (dir, keys) = issuer::testing::key_ring();
    let mut tx = t.db.begin().await.unwrap();
    sites::seed_catalogue(&mut tx).await.unwrap();
    let mut funders = [0; 2];
    for (i, (name, prefix)) in
        [("Département de la Gironde", "2233000190001"), ("CAF de la Gironde", "7833000190001")].into_iter().enumerate()
    {
        funders[i] = issuer::testing::gironde_organisation(&mut tx, OrgKind::Funder, name, prefix, "departement").await;
    }
    let prescriber =
        issuer::testing::gironde_organisation(&mut tx, OrgKind::Prescriber, "CCAS de Talence", "2633000150004", "ccas")
            .await;
    let iban = "FR7630006000011234567890189".parse().unwrap();
    let bic = "CEPAFRPP333".parse().unwrap();
    let mut site_ids = [(0, 0); 2];
    for (i, (name, commune)) in
        [("Médiathèque de Talence", "33522"), ("Espace numérique « Bordeaux Nord »", "33063")].into_iter().enumerate()
    {
        let site = sites::create(
            &mut tx,
            name,
            &issuer::Siret::completing(&format!("213300{i}000001")).unwrap(),
            &iban,
            &bic,
            name,
        )
        .await
        .unwrap();
        let place = sites::add_place(&mut tx, site, "Accueil", "1 place de la Mairie", commune, "24/7").await.unwrap();
        sites::set_services(&mut tx, site, &["DEM-ACCOMP", "DEM-DOSSIER"]).await.unwrap();
        sites::decide(&mut tx, site, Accreditation::Accredited, Some("2099-12-31".parse().unwrap()), None, "Agréé")
            .await
            .unwrap();
        site_ids[i] = (site, place);
    }
    tx.commit().await.unwrap();
    World { keys, _dir: dir, funders, prescriber, sites: site_ids }
}

/// Creates, confirms and issues an order; returns its id.
async fn order(t: &TestDb, w: &World, spec: serde_json::Value) -> i64 {
    let new: NewOrder = serde_json::from_value(spec).unwrap();
    let mut tx = t.db.begin().await.unwrap();
    let o =
        orders::create(&mut tx, &new, FeeTerms { issuance_fee_bps: 0, redemption_fee_bps: 250 }, None).await.unwrap();
    orders::confirm(&mut tx, o.id).await.unwrap();
    tx.commit().await.unwrap();
    issuance::issue(&t.db, &w.keys, o.id, &|_, _| {}).await.unwrap();
    o.id
}

async fn book_id(t: &TestDb, order: i64, n: u32) -> i64 {
    let mut conn = t.db.pool().acquire().await.unwrap();
    issuer::books::by_serial(&mut conn, &issuance::serial(order, n)).await.unwrap().unwrap().id
}

async fn codes(t: &TestDb, order: i64, n: u32) -> Vec<String> {
    let mut conn = t.db.pool().acquire().await.unwrap();
    let id = book_id(t, order, n).await;
    issuer::books::vouchers(&mut conn, id).await.unwrap().into_iter().map(|v| v.code).collect()
}

async fn assign(t: &TestDb, w: &World, order: i64, from: u32, to: u32) {
    let mut tx = t.db.begin().await.unwrap();
    issuer::books::assign(&mut tx, &BookSelection::Range { order_id: order, from, to }, w.prescriber).await.unwrap();
    tx.commit().await.unwrap();
}

/// Hands book `n` over, and dates the hand-over `when` (the application dates it now).
async fn hand_over(t: &TestDb, w: &World, order: i64, n: u32, profile: (&str, &str, Autonomy), when: &str) {
    let id = book_id(t, order, n).await;
    let mut tx = t.db.begin().await.unwrap();
    let p = BeneficiaryProfile {
        age_band: profile.0.into(),
        commune_insee: profile.1.into(),
        autonomy: profile.2,
        referral_reason: None,
    };
    issuer::books::distribute(&mut tx, id, w.prescriber, &p, None).await.unwrap();
    sqlx::query("UPDATE books SET distributed_at = $1 WHERE id = $2")
        .bind(ledger::time::to_micros(at(when)))
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[allow(clippy::too_many_arguments)]
async fn redeem_at(
    t: &TestDb,
    w: &World,
    site: usize,
    service: &str,
    vouchers: &[String],
    when: &str,
    outcome: Option<Outcome>,
) {
    let (site_id, place_id) = w.sites[site];
    let req = RedeemRequest {
        site_id,
        place_id,
        service_code: service.into(),
        vouchers: vouchers.to_vec(),
        performed_at: Some(at(when)),
        idempotency_key: format!("k-{}", vouchers.join("-")),
        scanned_by: None,
        outcome,
    };
    redeem(&t.db, &w.keys, &req).await.unwrap();
}

fn all() -> Scope {
    Scope::Operator { funder: None }
}

/// Sum of the ledger's redemption postings on orders' outstanding accounts over [from, to).
async fn ledger_redeemed(t: &TestDb, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    sqlx::query_scalar(
        "SELECT COALESCE(CAST(SUM(ABS(p.amount)) AS BIGINT), 0) FROM ledger_postings p \
         JOIN ledger_transactions x ON x.id = p.transaction_id JOIN ledger_accounts a ON a.id = p.account_id \
         WHERE x.kind = 'redemption' AND a.code LIKE 'order:%:outstanding' AND x.at >= $1 AND x.at < $2",
    )
    .bind(ledger::time::to_micros(from))
    .bind(ledger::time::to_micros(to))
    .fetch_one(t.db.pool())
    .await
    .unwrap()
}

/// The lifecycle of the module documentation; returns (order A, order B).
async fn lifecycle(t: &TestDb, w: &World) -> (i64, i64) {
    // A: Gironde alone, 12 books of 4 vouchers of 10 €. B: co-funded, 3 books of 2 vouchers of
    // 5 €, valid until the end of June 2026 without grace.
    let a = order(
        t,
        w,
        serde_json::json!({
            "label": "Pass numérique 2026", "funders": [{"funder_id": w.funders[0], "share_bps": 10000}], "books": 12,
            "vouchers_per_book": 4, "valid_from": "2026-01-01", "valid_until": "2027-12-31", "territory": ["33"],
        }),
    )
    .await;
    let b = order(
        t,
        w,
        serde_json::json!({
            "label": "Pass printemps", "funders": [{"funder_id": w.funders[0], "share_bps": 5000},
            {"funder_id": w.funders[1], "share_bps": 5000}], "books": 3, "vouchers_per_book": 2, "face_value_cents": 500,
            "valid_from": "2026-01-01", "valid_until": "2026-06-30", "grace_days": 0, "territory": ["33"],
        }),
    )
    .await;
    assign(t, w, a, 1, 10).await;
    assign(t, w, b, 1, 3).await;
    let profiles = [
        ("65_74", "33522", Autonomy::Excluded),
        ("75_et_plus", "33522", Autonomy::Beginner),
        ("25_39", "33063", Autonomy::Advanced),
        ("65_74", "33063", Autonomy::Excluded),
        ("40_54", "33063", Autonomy::Beginner),
        ("55_64", "33281", Autonomy::Beginner),
        ("65_74", "33318", Autonomy::Excluded),
        ("moins_de_25", "33063", Autonomy::Advanced),
    ];
    for (i, p) in profiles.into_iter().enumerate() {
        hand_over(t, w, a, i as u32 + 1, p, "2026-09-01T10:00:00Z").await;
    }
    hand_over(t, w, b, 1, ("65_74", "33522", Autonomy::Excluded), "2026-02-01T10:00:00Z").await;

    // B's first book: one voucher in March, at Talence.
    let b1 = codes(t, b, 1).await;
    redeem_at(t, w, 0, "DEM-ACCOMP", &b1[..1], "2026-03-10T10:00:00Z", None).await;
    // Then B expires (last day 30 June): 5 vouchers of 5 €.
    let expired = issuer::expiry::expire(&t.db, "2026-08-01".parse().unwrap()).await.unwrap();
    assert_eq!(expired.iter().map(|e| e.vouchers).sum::<u64>(), 5);

    // A's first book, used up at Talence, 2 to 34 days after the hand-over.
    let a1 = codes(t, a, 1).await;
    let learnt = Outcome {
        result: OutcomeKind::SkillAcquired,
        autonomy_before: Some(1.try_into().unwrap()),
        autonomy_after: Some(3.try_into().unwrap()),
    };
    redeem_at(t, w, 0, "DEM-ACCOMP", &a1[0..1], "2026-09-03T10:00:00Z", Some(learnt)).await;
    redeem_at(t, w, 0, "DEM-ACCOMP", &a1[1..2], "2026-09-10T10:00:00Z", None).await;
    redeem_at(t, w, 0, "DEM-ACCOMP", &a1[2..3], "2026-09-20T10:00:00Z", None).await;
    redeem_at(t, w, 0, "DEM-ACCOMP", &a1[3..4], "2026-10-05T10:00:00Z", None).await;
    // A's second book: a two-voucher service in Bordeaux at 23:59 in Paris on 30 September.
    let a2 = codes(t, a, 2).await;
    let done = Outcome { result: OutcomeKind::ProcedureCompleted, autonomy_before: None, autonomy_after: None };
    redeem_at(t, w, 1, "DEM-DOSSIER", &a2[0..2], "2026-09-30T21:59:00Z", Some(done)).await;
    // A's third: 00:30 on 1 October in Paris.
    let a3 = codes(t, a, 3).await;
    redeem_at(t, w, 1, "DEM-ACCOMP", &a3[0..1], "2026-09-30T22:30:00Z", None).await;

    // Book 10 (held by the prescriber) is lost; book 2 (half used) is stolen.
    let mut tx = t.db.begin().await.unwrap();
    issuer::books::cancel(&mut tx, book_id(t, a, 10).await, "Perdu").await.unwrap();
    issuer::books::cancel(&mut tx, book_id(t, a, 2).await, "Volé").await.unwrap();
    tx.commit().await.unwrap();
    (a, b)
}

fn flow(books: Option<i64>, vouchers: i64, value: i64) -> statistics::Flow {
    statistics::Flow { books, vouchers, value: Cents(value) }
}

async fn figures_follow_the_lifecycle(t: TestDb) {
    let w = world(&t).await;
    lifecycle(&t, &w).await;
    let before = statistics::figures(&t.db, all(), Period::all()).await.unwrap();
    assert_eq!(before.redeemed.vouchers, 0, "nothing is counted before a refresh");
    let r = statistics::refresh(&t.db).await.unwrap();
    assert!(r.ledger_transactions >= 10 && r.book_events >= 13 + 9 + 2, "{r:?}");

    let f = statistics::figures(&t.db, all(), Period::all()).await.unwrap();
    assert_eq!(f.issued, Some(flow(Some(15), 54, 51_000)));
    assert_eq!(f.assigned, Some(flow(Some(13), 46, 43_000)));
    assert_eq!(f.distributed, Some(flow(Some(9), 34, 33_000)));
    assert_eq!(f.redeemed, flow(None, 8, 7_500));
    assert_eq!(f.passages, 7);
    assert_eq!(f.expired, Some(flow(None, 5, 2_500)));
    assert_eq!(f.cancelled, Some(flow(Some(2), 6, 6_000)));
    assert_eq!(f.hours, Decimal::new(80, 1), "4 × 1 h + 2 h + 1 h + 1 h");
    let b = f.books.unwrap();
    assert_eq!((b.distributed, b.started, b.finished, b.unused), (9, 4, 1, 5));
    assert_eq!(f.people_reached, 4);
    assert_eq!(f.redemption_rate, Some(Decimal::new(235, 1)), "8 / 34 = 23,53 %");
    assert_eq!(f.first_use.median_days, Some(29), "2, 29, 29, 37 days");
    assert_eq!(f.first_use.buckets.iter().map(|b| b.books).collect::<Vec<_>>(), vec![1, 2, 1, 0, 0]);
    let o = f.outcomes;
    assert_eq!((o.skill_acquired, o.procedure_completed, o.referred, o.not_completed, o.not_recorded), (1, 1, 0, 0, 5));
    assert_eq!((o.autonomy_pairs, o.autonomy_improved), (1, 1));
    assert_eq!((o.autonomy_before, o.autonomy_after), (Some(Decimal::new(100, 2)), Some(Decimal::new(300, 2))));

    // The figures agree with the raw tables.
    let redeemed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vouchers WHERE status = 'redeemed'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(redeemed, f.redeemed.vouchers);

    // A second refresh finds nothing and changes nothing.
    let again = statistics::refresh(&t.db).await.unwrap();
    assert_eq!((again.ledger_transactions, again.book_events), (0, 0));
    assert_eq!(statistics::figures(&t.db, all(), Period::all()).await.unwrap(), f);

    // The CAF co-funds order B only.
    for scope in [Scope::Funder { id: w.funders[1] }, Scope::Operator { funder: Some(w.funders[1]) }] {
        let caf = statistics::figures(&t.db, scope, Period::all()).await.unwrap();
        assert_eq!(caf.issued, Some(flow(Some(3), 6, 3_000)));
        assert_eq!(caf.distributed, Some(flow(Some(1), 2, 1_000)));
        assert_eq!(caf.redeemed, flow(None, 1, 500));
        assert_eq!(caf.expired, Some(flow(None, 5, 2_500)));
        assert_eq!(caf.cancelled, Some(flow(Some(0), 0, 0)));
        assert_eq!(caf.people_reached, 1);
        assert_eq!(caf.redemption_rate, Some(Decimal::new(500, 1)));
    }
    // Talence: its own passages, and the people whose first use was there (A1 and B1).
    let talence = statistics::figures(&t.db, Scope::Site { id: w.sites[0].0 }, Period::all()).await.unwrap();
    assert_eq!((talence.issued, talence.distributed, talence.books), (None, None, None));
    assert_eq!((talence.passages, talence.redeemed), (5, flow(None, 5, 4_500)));
    assert_eq!(talence.people_reached, 2);
    assert_eq!(talence.hours, Decimal::new(50, 1));

    // By month, in Paris time: the 23:59 service is September's, the 00:30 one October's.
    let sept = statistics::figures(&t.db, all(), Period::month(month("2026-09"))).await.unwrap();
    assert_eq!((sept.passages, sept.redeemed), (4, flow(None, 5, 5_000)));
    assert_eq!(sept.distributed, Some(flow(Some(8), 32, 32_000)), "handed over in September");
    let oct = statistics::figures(&t.db, all(), Period::month(month("2026-10"))).await.unwrap();
    assert_eq!((oct.passages, oct.redeemed), (2, flow(None, 2, 2_000)));
    let autumn =
        statistics::figures(&t.db, all(), Period::months(month("2026-09"), month("2026-10")).unwrap()).await.unwrap();
    assert_eq!(autumn.redeemed.value, Cents(7_000));
    assert_eq!(autumn.expired, Some(flow(None, 0, 0)), "B expired in July");

    // Breakdowns add up to the headline figures.
    let by_month = statistics::breakdown(&t.db, all(), Period::all(), Dimension::Month, Rows::All).await.unwrap();
    let labels: Vec<String> = by_month.rows.iter().map(|r| r[0].to_french()).collect();
    assert_eq!(labels, ["février 2026", "mars 2026", "septembre 2026", "octobre 2026"]);
    assert_eq!(by_month.total.as_ref().unwrap()[5], Cell::Money(Cents(7_500)));
    let by_site = statistics::breakdown(&t.db, all(), Period::all(), Dimension::Site, Rows::All).await.unwrap();
    assert_eq!(by_site.rows.len(), 2);
    assert_eq!(by_site.rows[0][0], Cell::Text("Espace numérique « Bordeaux Nord »".into()));
    assert_eq!(by_site.rows[0][3], Cell::Money(Cents(3_000)));
    // The CAF's orders were used at Talence only; Talence's own table has itself alone.
    let caf_sites =
        statistics::breakdown(&t.db, Scope::Funder { id: w.funders[1] }, Period::all(), Dimension::Site, Rows::All)
            .await
            .unwrap();
    assert_eq!(caf_sites.rows.len(), 1);
    assert_eq!(
        caf_sites.rows[0][..4],
        [Cell::Text("Médiathèque de Talence".into()), Cell::Int(1), Cell::Int(1), Cell::Money(Cents(500))]
    );
    let talence_services =
        statistics::breakdown(&t.db, Scope::Site { id: w.sites[0].0 }, Period::all(), Dimension::Service, Rows::All)
            .await
            .unwrap();
    assert_eq!(talence_services.rows.len(), 1);
    assert_eq!(talence_services.rows[0][3], Cell::Int(5));
    let talence_sites =
        statistics::breakdown(&t.db, Scope::Site { id: w.sites[0].0 }, Period::all(), Dimension::Site, Rows::All)
            .await
            .unwrap();
    assert_eq!(talence_sites.rows.len(), 1);
    let by_service = statistics::breakdown(&t.db, all(), Period::all(), Dimension::Service, Rows::All).await.unwrap();
    assert_eq!(by_service.rows.len(), 2);
    assert_eq!(by_service.rows[1][0], Cell::Text("DEM-DOSSIER".into()));
    assert_eq!(by_service.rows[1][6], Cell::Decimal(Decimal::new(20, 1)), "one 2-hour service");
    let by_category = statistics::breakdown(&t.db, all(), Period::all(), Dimension::Category, Rows::All).await.unwrap();
    assert_eq!(by_category.rows.len(), 1);
    assert_eq!(by_category.rows[0][0], Cell::Text("Aide aux démarches administratives".into()));
    let by_prescriber =
        statistics::breakdown(&t.db, all(), Period::all(), Dimension::Prescriber, Rows::All).await.unwrap();
    assert_eq!(by_prescriber.rows[0][0], Cell::Text("CCAS de Talence".into()));
    assert_eq!(by_prescriber.rows[0][1..3], [Cell::Int(9), Cell::Int(4)]);
    let delays = statistics::breakdown(&t.db, all(), Period::all(), Dimension::FirstUseDelay, Rows::All).await.unwrap();
    assert_eq!(delays.total.as_ref().unwrap()[1], Cell::Int(4));
    assert!(delays.notes.iter().any(|n| n.contains("médian : 29 jour")), "{:?}", delays.notes);
    // 9 people in all: every attribute cell is under 5, so the tables hide them.
    let ages = statistics::breakdown(&t.db, all(), Period::all(), Dimension::AgeBand, Rows::All).await.unwrap();
    assert_eq!(ages.total.as_ref().unwrap()[1], Cell::People(Count::Shown(9)));
    assert!(ages.rows.iter().all(|r| r[1] == Cell::People(Count::Suppressed)), "{:?}", ages.rows);
    let csv = String::from_utf8(ages.to_csv()).unwrap();
    assert!(
        csv.starts_with('\u{feff}') && csv.contains("\r\n65 à 74 ans;< 5;secret;< 5;secret;secret;secret\r\n"),
        "{csv}"
    );
    assert!(csv.contains("\r\nTotal;9;34;4;8;75,00;23,5\r\n"), "{csv}");
}

async fn redeemed_value_matches_the_ledger(t: TestDb) {
    let w = world(&t).await;
    lifecycle(&t, &w).await;
    statistics::refresh(&t.db).await.unwrap();
    let mut seen = 0;
    for m in ["2026-01", "2026-02", "2026-03", "2026-07", "2026-09", "2026-10", "2026-11"] {
        let m = month(m);
        let (from, to) = m.bounds();
        let f = statistics::figures(&t.db, all(), Period::month(m)).await.unwrap();
        assert_eq!(f.redeemed.value.0, ledger_redeemed(&t, from, to).await, "{m}");
        seen += f.redeemed.value.0;
    }
    let whole = statistics::figures(&t.db, all(), Period::all()).await.unwrap();
    assert_eq!(whole.redeemed.value.0, seen);
    assert_eq!(seen, ledger_redeemed(&t, at("2000-01-01T00:00:00Z"), at("2100-01-01T00:00:00Z")).await);
    assert_eq!(seen, 7_500);
    // Over a range of months too.
    let range = Period::months(month("2026-03"), month("2026-09")).unwrap();
    let f = statistics::figures(&t.db, all(), range).await.unwrap();
    assert_eq!(f.redeemed.value.0, ledger_redeemed(&t, month("2026-03").bounds().0, month("2026-10").bounds().0).await);
}

async fn concurrent_refreshes_never_count_twice(t: TestDb) {
    let w = world(&t).await;
    let a = order(
        &t,
        &w,
        serde_json::json!({
            "label": "Pass", "funders": [{"funder_id": w.funders[0], "share_bps": 10000}], "books": 12,
            "vouchers_per_book": 3, "valid_from": "2026-01-01", "valid_until": "2027-12-31", "territory": ["33"],
        }),
    )
    .await;
    assign(&t, &w, a, 1, 12).await;
    let mut all_codes = Vec::new();
    for n in 1..=12 {
        hand_over(&t, &w, a, n, ("65_74", "33063", Autonomy::Beginner), "2026-09-01T10:00:00Z").await;
        all_codes.extend(codes(&t, a, n).await);
    }
    let t = std::sync::Arc::new(t);
    let w = std::sync::Arc::new(w);
    // Redemptions on one side, four refreshers looping on the other.
    let writer = {
        let (t, w, codes) = (t.clone(), w.clone(), all_codes.clone());
        tokio::spawn(async move {
            for (i, c) in codes.iter().enumerate() {
                let when = format!("2026-10-{:02}T10:00:00Z", 1 + i % 28);
                redeem_at(&t, &w, i % 2, "DEM-ACCOMP", std::slice::from_ref(c), &when, None).await;
                if i % 5 == 0 {
                    ledger::seal::seal_all(&t.db, 1000).await.ok();
                }
            }
        })
    };
    let refreshers: Vec<_> = (0..4)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move {
                for _ in 0..15 {
                    statistics::refresh(&t.db).await.unwrap();
                }
            })
        })
        .collect();
    writer.await.unwrap();
    for r in refreshers {
        r.await.unwrap();
    }
    statistics::refresh(&t.db).await.unwrap();
    let f = statistics::figures(&t.db, all(), Period::all()).await.unwrap();
    assert_eq!((f.passages, f.redeemed.vouchers, f.redeemed.value), (36, 36, Cents(36_000)));
    let b = f.books.unwrap();
    assert_eq!((b.distributed, b.started, b.finished), (12, 12, 12));
    assert_eq!(f.redemption_rate, Some(Decimal::new(1000, 1)));
    let talence = statistics::figures(&t.db, Scope::Site { id: w.sites[0].0 }, Period::all()).await.unwrap();
    let bordeaux = statistics::figures(&t.db, Scope::Site { id: w.sites[1].0 }, Period::all()).await.unwrap();
    assert_eq!(talence.passages + bordeaux.passages, 36);
    assert_eq!(talence.people_reached + bordeaux.people_reached, 12, "each book's first site, once");
}

fn people(table: &Table, column: usize) -> (Vec<Count>, i64) {
    let cells = table
        .rows
        .iter()
        .map(|r| match &r[column] {
            Cell::People(c) => *c,
            other => panic!("not a count of people: {other:?}"),
        })
        .collect();
    let total = match &table.total.as_ref().unwrap()[column] {
        Cell::People(Count::Shown(n)) => *n,
        other => panic!("total: {other:?}"),
    };
    (cells, total)
}

/// Asserts that no hidden count of `truth` (by row label) can be recovered from the table. In a
/// limited table, the last row « Autres … (k) » counts the truth of every row not listed, and a
/// reader knows it counts at least k people when rows are `listed` (each counts someone).
/// `hidden_with`: how many cells after the column must be hidden with a hidden count (what these
/// people did).
fn assert_unrecoverable(
    table: &Table,
    column: usize,
    label_column: usize,
    truth: &HashMap<String, i64>,
    listed: bool,
    hidden_with: usize,
) {
    assert!(!table.withheld);
    let (cells, total) = people(table, column);
    assert_eq!(total, truth.values().sum::<i64>());
    let merged_row = (table.merged_rows > 0).then(|| table.rows.len() - 1);
    let lower: Vec<i64> = (0..cells.len())
        .map(|i| match (listed, Some(i) == merged_row) {
            (false, _) => 0,
            (true, true) => table.merged_rows as i64,
            (true, false) => 1,
        })
        .collect();
    let listed_labels: Vec<String> = table.rows.iter().map(|r| r[label_column].to_french()).collect();
    let possible = possible_values(&cells, &lower, total);
    let mut k = 0;
    for (i, (row, cell)) in table.rows.iter().zip(&cells).enumerate() {
        let label = row[label_column].to_french();
        let value = if Some(i) == merged_row {
            truth.iter().filter(|(l, _)| !listed_labels.contains(l)).map(|(_, v)| v).sum()
        } else {
            truth.get(&label).copied().unwrap_or(0)
        };
        match cell {
            Count::Shown(n) => {
                assert_eq!(*n, value, "{label}");
                assert!(*n >= 5, "{label}: {n} shown");
            }
            _ => {
                assert!(possible[k].contains(&value), "{label}: the truth must remain possible");
                if value > 0 && value < 5 {
                    assert!(possible[k].len() >= 2, "{label} = {value} recoverable: {:?}", possible[k]);
                }
                if value < 5 {
                    assert_eq!(*cell, Count::Suppressed, "{label}");
                }
                // What this row's people did is hidden with them.
                assert!(
                    row[column + 1..=column + hidden_with].iter().all(|c| !matches!(c, Cell::Int(_) | Cell::Money(_))),
                    "{row:?}"
                );
                k += 1;
            }
        }
    }
}

async fn small_counts_are_secret(t: TestDb) {
    let w = world(&t).await;
    let c = order(
        &t,
        &w,
        serde_json::json!({
            "label": "Pass", "funders": [{"funder_id": w.funders[0], "share_bps": 10000}], "books": 29,
            "vouchers_per_book": 1, "valid_from": "2026-01-01", "valid_until": "2027-12-31", "territory": ["33"],
        }),
    )
    .await;
    assign(&t, &w, c, 1, 29).await;
    // Communes with 12, 7, 4, 3, 2 and 1 people; age bands 15, 6, 4, 3, 1 (none under 25);
    // autonomy 17, 9, 3.
    let communes = [("33063", 12), ("33522", 7), ("33243", 4), ("33318", 3), ("33281", 2), ("33119", 1)];
    let ages = [("65_74", 15), ("75_et_plus", 6), ("55_64", 4), ("40_54", 3), ("25_39", 1)];
    let autonomies = [(Autonomy::Excluded, 17), (Autonomy::Beginner, 9), (Autonomy::Advanced, 3)];
    let expand =
        |list: Vec<(String, usize)>| list.into_iter().flat_map(|(v, n)| std::iter::repeat_n(v, n)).collect::<Vec<_>>();
    let commune_of = expand(communes.iter().map(|(c, n)| (c.to_string(), *n)).collect());
    let age_of = expand(ages.iter().map(|(a, n)| (a.to_string(), *n)).collect());
    let autonomy_of: Vec<Autonomy> = autonomies.iter().flat_map(|(a, n)| std::iter::repeat_n(*a, *n)).collect();
    for i in 0..29 {
        let month = if i % 2 == 0 { "2026-09-01T10:00:00Z" } else { "2026-10-01T10:00:00Z" };
        hand_over(&t, &w, c, i as u32 + 1, (&age_of[i], &commune_of[i], autonomy_of[i]), month).await;
    }
    // A few of them use their voucher.
    for n in [1u32, 2, 13, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29] {
        let code = codes(&t, c, n).await;
        redeem_at(&t, &w, 0, "DEM-ACCOMP", &code, "2026-10-20T10:00:00Z", None).await;
    }
    statistics::refresh(&t.db).await.unwrap();

    let names: HashMap<&str, &str> = [
        ("33063", "Bordeaux"),
        ("33522", "Talence"),
        ("33243", "Libourne"),
        ("33318", "Pessac"),
        ("33281", "Mérignac"),
        ("33119", "Cenon"),
    ]
    .into_iter()
    .collect();
    let by_commune = statistics::breakdown(&t.db, all(), Period::all(), Dimension::Commune, Rows::All).await.unwrap();
    let truth: HashMap<String, i64> = communes.iter().map(|(c, n)| (c.to_string(), *n as i64)).collect();
    assert_unrecoverable(&by_commune, 2, 0, &truth, true, 4);
    assert_eq!(by_commune.rows.len(), 6);
    for row in &by_commune.rows {
        assert_eq!(row[1].to_french(), names[row[0].to_french().as_str()]);
    }
    // Bordeaux: 12 people, 12 vouchers handed over for 267 991 inhabitants.
    let bordeaux = by_commune.rows.iter().find(|r| r[0].to_french() == "33063").unwrap();
    assert_eq!(bordeaux[2], Cell::People(Count::Shown(12)));
    assert_eq!(bordeaux[8], Cell::Int(267_991));
    assert_eq!(bordeaux[9], Cell::Decimal(Decimal::new(0, 1)), "12 × 1000 / 267 991 = 0,04 → 0,0");
    // Used vouchers by commune: those who used theirs.
    let used: Vec<Count> = people(&by_commune, 4).0;
    assert!(used.iter().all(|c| c.shown().is_none_or(|n| n >= 5)), "{used:?}");

    let by_age = statistics::breakdown(&t.db, all(), Period::all(), Dimension::AgeBand, Rows::All).await.unwrap();
    let truth: HashMap<String, i64> =
        [("65 à 74 ans", 15), ("75 ans et plus", 6), ("55 à 64 ans", 4), ("40 à 54 ans", 3), ("25 à 39 ans", 1)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
    assert_eq!(by_age.rows.len(), 6, "every band, « Moins de 25 ans » with nobody");
    assert_unrecoverable(&by_age, 1, 0, &truth, false, 4);
    let by_autonomy = statistics::breakdown(&t.db, all(), Period::all(), Dimension::Autonomy, Rows::All).await.unwrap();
    let truth: HashMap<String, i64> =
        [("N'utilise pas le numérique", 17), ("Débute, a besoin d'aide", 9), ("Se débrouille, veut progresser", 3)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
    assert_unrecoverable(&by_autonomy, 1, 0, &truth, false, 4);
    // 3 is hidden, so 9 goes with it: 29 − 17 would give 12 = 9 + 3 otherwise.
    assert_eq!(people(&by_autonomy, 1).0, vec![Count::Shown(17), Count::Secret, Count::Suppressed]);
    let by_dept = statistics::breakdown(&t.db, all(), Period::all(), Dimension::Departement, Rows::All).await.unwrap();
    assert_eq!(by_dept.rows.len(), 1);
    assert_eq!(by_dept.rows[0][2], Cell::People(Count::Shown(29)));
    assert_eq!(by_dept.rows[0][1], Cell::Text("Gironde".into()));

    // The open-data file: no count of people under 5 in it.
    let open = statistics::open_data(&t.db, Period::all()).await.unwrap();
    assert!(!open.rows.is_empty());
    for row in &open.rows {
        match &row[4] {
            Cell::People(Count::Shown(n)) => assert!(*n >= 5, "{row:?}"),
            Cell::People(_) => assert!(row[5..].iter().all(|c| *c == Cell::Hidden), "{row:?}"),
            other => panic!("{other:?}"),
        }
    }
    // Each month's cells: the month total is public, nothing hidden can be recovered from it.
    let month_totals = statistics::breakdown(&t.db, all(), Period::all(), Dimension::Month, Rows::All).await.unwrap();
    for (label, m) in [("septembre 2026", "2026-09"), ("octobre 2026", "2026-10")] {
        let total = match month_totals.rows.iter().find(|r| r[0].to_french() == label).unwrap()[1] {
            Cell::Int(n) => n,
            _ => unreachable!(),
        };
        let cells: Vec<Count> = open
            .rows
            .iter()
            .filter(|r| r[0].to_french() == m)
            .map(|r| match r[4] {
                Cell::People(c) => c,
                _ => unreachable!(),
            })
            .collect();
        // Left-out rows are unknown to the reader: one more hidden cell, from 0 up.
        let listed: i64 = cells.iter().filter_map(|c| c.shown()).sum();
        let hidden = cells.iter().filter(|c| c.shown().is_none()).count();
        assert!(hidden == 0 && listed == total || hidden >= 2 || listed < total, "{m}: {cells:?} of {total}");
    }
    let csv = String::from_utf8(open.to_csv()).unwrap();
    assert!(csv.starts_with("\u{feff}mois;code_insee;commune;departement;personnes;"), "{csv}");
}

/// The long tables limited to their largest rows: the database keeps the largest, one row merges
/// the others, the total is that of the whole table, and secrecy holds as in the whole table.
async fn limited_tables_keep_the_total_and_the_secret(t: TestDb) {
    let w = world(&t).await;
    // People by commune, and how many of them used their voucher.
    let communes = [
        ("33063", 14, 8),
        ("33522", 9, 3),
        ("33243", 7, 6),
        ("33318", 6, 2),
        ("33281", 5, 4),
        ("33119", 2, 1),
        ("33039", 1, 0),
    ];
    let books: u32 = communes.iter().map(|c| c.1).sum();
    let c = order(
        &t,
        &w,
        serde_json::json!({
            "label": "Pass", "funders": [{"funder_id": w.funders[0], "share_bps": 10000}], "books": books,
            "vouchers_per_book": 1, "valid_from": "2026-01-01", "valid_until": "2027-12-31", "territory": ["33"],
        }),
    )
    .await;
    assign(&t, &w, c, 1, books).await;
    let mut n = 0;
    let mut passages = 0;
    for (commune, people, started) in communes {
        for i in 0..people {
            n += 1;
            hand_over(&t, &w, c, n, ("65_74", commune, Autonomy::Beginner), "2026-09-01T10:00:00Z").await;
            if i < started {
                // Two passages at Talence for one at Bordeaux.
                let site = usize::from(passages % 3 == 2);
                redeem_at(&t, &w, site, "DEM-ACCOMP", &codes(&t, c, n).await, "2026-10-20T10:00:00Z", None).await;
                passages += 1;
            }
        }
    }
    statistics::refresh(&t.db).await.unwrap();
    let table = |d: Dimension, rows: Rows| statistics::breakdown(&t.db, all(), Period::all(), d, rows);
    let text = |cell: &Cell| cell.to_french();

    // By commune: the whole table, then the 3 largest and « Autres communes (4) ».
    let full = table(Dimension::Commune, Rows::All).await.unwrap();
    assert_eq!((full.rows.len(), full.merged_rows), (7, 0));
    let top3 = table(Dimension::Commune, Rows::Top(3)).await.unwrap();
    let labels: Vec<String> = top3.rows.iter().map(|r| text(&r[0])).collect();
    assert_eq!(labels, ["33063", "33522", "33243", "Autres communes (4)"], "largest first");
    assert_eq!(top3.rows[0][1], Cell::Text("Bordeaux".into()));
    assert_eq!(top3.merged_rows, 4);
    assert_eq!(top3.total, full.total, "the total of the whole table");
    assert_eq!(top3.columns, full.columns);
    let others = &top3.rows[3];
    // 6 + 5 + 2 + 1 people with one voucher each, 2 + 4 + 1 + 0 of them used it.
    assert_eq!(
        others[2..6],
        [Cell::People(Count::Shown(14)), Cell::Int(14), Cell::People(Count::Shown(7)), Cell::Int(7)]
    );
    assert_eq!(others[8..], [Cell::Empty, Cell::Empty, Cell::Empty], "no population for merged communes");
    // Each kept row is the whole table's (what secrecy hides may differ: other rows around).
    for row in &top3.rows[..3] {
        assert!(full.rows.iter().any(|r| r[..4] == row[..4]), "{row:?}");
    }
    assert!(top3.notes.iter().any(|n| n.contains("3 ligne(s) détaillée(s)") && n.contains("Autres communes (4)")));

    // Secrecy: the people who used a voucher are hidden where fewer than 5, in the limited table
    // as in the whole one, and nothing hidden can be recovered.
    let people_truth: HashMap<String, i64> = communes.iter().map(|c| (c.0.to_owned(), i64::from(c.1))).collect();
    let started_truth: HashMap<String, i64> = communes.iter().map(|c| (c.0.to_owned(), i64::from(c.2))).collect();
    for limited in [&full, &top3] {
        assert_unrecoverable(limited, 2, 0, &people_truth, true, 4);
        assert_unrecoverable(limited, 4, 0, &started_truth, false, 2);
    }
    assert!(people(&top3, 4).0.iter().any(|c| c.shown().is_none()), "something to protect: {:?}", top3.rows);

    // With room for 10 rows: only rows of 5 people or more are kept, and the smallest of them
    // goes with the others, which would count fewer than 5 people (2 + 1).
    let top10 = table(Dimension::Commune, Rows::Top(10)).await.unwrap();
    let labels: Vec<String> = top10.rows.iter().map(|r| text(&r[0])).collect();
    assert_eq!(labels, ["33063", "33522", "33243", "33318", "Autres communes (3)"]);
    assert_eq!(top10.rows[4][2], Cell::People(Count::Shown(8)));
    assert_eq!(top10.total, full.total);
    assert_unrecoverable(&top10, 2, 0, &people_truth, true, 4);
    assert_unrecoverable(&top10, 4, 0, &started_truth, false, 2);
    // Every row of 5 people or more: nothing left out, no merged row.
    let departements = table(Dimension::Departement, Rows::Top(10)).await.unwrap();
    assert_eq!(departements, table(Dimension::Departement, Rows::All).await.unwrap());
    // Other tables are always whole.
    assert_eq!(
        table(Dimension::AgeBand, Rows::Top(1)).await.unwrap(),
        table(Dimension::AgeBand, Rows::All).await.unwrap()
    );
    assert_eq!(table(Dimension::Month, Rows::Top(1)).await.unwrap(), table(Dimension::Month, Rows::All).await.unwrap());

    // By site (no secrecy): the merged row is the row left out, cell for cell.
    let sites = table(Dimension::Site, Rows::All).await.unwrap();
    assert_eq!(sites.rows.len(), 2);
    let top1 = table(Dimension::Site, Rows::Top(1)).await.unwrap();
    assert_eq!(top1.rows.len(), 2);
    assert_eq!(top1.rows[0][0], Cell::Text("Médiathèque de Talence".into()), "16 passages out of 24");
    assert_eq!(top1.rows[0][1], Cell::Int(16));
    assert_eq!(top1.rows[1][0], Cell::Text("Autres lieux (1)".into()));
    let bordeaux = sites.rows.iter().find(|r| r[0] != top1.rows[0][0]).unwrap();
    assert_eq!(top1.rows[1][1..], bordeaux[1..]);
    assert_eq!(top1.total, sites.total);
    assert_eq!(top1.merged_rows, 1);
    // Nothing kept: one row, the total.
    let none = table(Dimension::Site, Rows::Top(0)).await.unwrap();
    assert_eq!(none.rows.len(), 1);
    assert_eq!(none.rows[0][0], Cell::Text("Autres lieux (2)".into()));
    assert_eq!(none.rows[0][1..], none.total.as_ref().unwrap()[1..]);
    // A funder's limited table reads its own orders only: the CAF funds nothing here.
    let caf =
        statistics::breakdown(&t.db, Scope::Funder { id: w.funders[1] }, Period::all(), Dimension::Site, Rows::Top(1))
            .await
            .unwrap();
    assert!(caf.rows.is_empty() && caf.merged_rows == 0, "{caf:?}");
    let gironde = statistics::breakdown(
        &t.db,
        Scope::Funder { id: w.funders[0] },
        Period::all(),
        Dimension::Commune,
        Rows::Top(3),
    )
    .await
    .unwrap();
    assert_eq!(gironde.rows, top3.rows);
}

/// The national-scale generator, at a tiny scale: the figures add up to what it generated, and
/// every dashboard request is timed.
async fn the_bench_generates_consistent_aggregates(t: TestDb) {
    let scale = statistics::bench::Scale {
        orders: 4,
        books_per_order: 30,
        vouchers_per_book: 10,
        redemptions: 400,
        sites: 300,
        funders: 3,
        months: 24,
    };
    let last = month("2026-10");
    let g = statistics::bench::generate(&t.db, scale, last, &|_, _| {}).await.unwrap();
    assert_eq!(g.vouchers, 1200);
    assert!(g.redemptions > 300 && g.redemptions <= 400, "{g:?}");
    let f = statistics::figures(&t.db, all(), Period::all()).await.unwrap();
    assert_eq!(f.issued.unwrap().vouchers, 1200);
    assert_eq!(f.passages as u64, g.redemptions);
    assert_eq!(f.books.unwrap().distributed, 4 * 24);
    let by_funder: i64 = {
        let mut total = 0;
        for id in 1_000_000..1_000_003 {
            total += statistics::figures(&t.db, Scope::Funder { id }, Period::all())
                .await
                .unwrap()
                .issued
                .unwrap()
                .books
                .unwrap();
        }
        total
    };
    assert!(by_funder >= 120, "co-funded orders count for each of their funders");
    let timings = statistics::bench::measure(&t.db, last, 1).await.unwrap();
    // The dashboard requests (the exports apart): headline figures and 10 tables, for 1 + 3 + 5
    // scopes; the export of each long table, by kind of caller.
    assert_eq!(timings.last().unwrap().count, (1 + 3 + 5) * 11);
    assert!(!timings.last().unwrap().export);
    let exports: Vec<&str> = timings.iter().filter(|t| t.export).map(|t| t.request.as_str()).collect();
    assert_eq!(exports.len(), 3 * 3, "{exports:?}");
    assert!(exports.iter().all(|r| r.contains("export CSV")), "{exports:?}");
    assert!(timings.iter().any(|t| t.request == "opérateur : par commune de résidence (50 premières lignes)"));
}

both_engines!(
    the_bench_generates_consistent_aggregates,
    figures_follow_the_lifecycle,
    redeemed_value_matches_the_ledger,
    concurrent_refreshes_never_count_twice,
    small_counts_are_secret,
    limited_tables_keep_the_total_and_the_secret
);
