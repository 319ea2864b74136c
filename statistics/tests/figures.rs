//! The figures against real databases, on both engines: after a whole lifecycle (issue, assign,
//! hand over, redeem, cancel, expire), and the redeemed value against the ledger's postings.

mod common;

use chrono::{DateTime, Utc};
use common::*;
use issuer::books::Autonomy;
use ledger::testing::TestDb;
use ledger::{Cents, both_engines};
use redeemer::outcome::{Outcome, OutcomeKind};
use rust_decimal::Decimal;
use statistics::{Cell, Count, Dimension, Period, Rows, Scope};

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

both_engines!(figures_follow_the_lifecycle, redeemed_value_matches_the_ledger);
