//! The issuing side against real databases, on both engines: funders and prescribers, a
//! co-funded order from draft to issued, payments, distribution, cancellation, the public check.

use chrono::NaiveDate;
use issuer::books::{self, Autonomy, BeneficiaryProfile, BookSelection};
use issuer::orders::{self, FeeTerms, FunderShare, NewOrder, OrderStatus, UnusedPolicy};
use issuer::organisations::OrgKind;
use issuer::territory::Territory;
use issuer::{IssuerError, check, issuance, payments, scan, token};
use ledger::testing::TestDb;
use ledger::{AccountCode, Cents};
use sqlx::Row;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn natural(db: &ledger::Db, a: AccountCode) -> i64 {
    ledger::query::balance(db, &a).await.unwrap().natural.0
}

struct World {
    funders: Vec<i64>,
    prescriber: i64,
    keys: issuer::keys::KeyRing,
    _dir: tempfile::TempDir,
}

async fn world(t: &TestDb) -> World {
    let mut tx = t.db.begin().await.unwrap();
    let mut funders = Vec::new();
    for (i, name) in ["Département de la Gironde", "CAF de la Gironde", "État"].iter().enumerate() {
        funders.push(
            issuer::testing::gironde_organisation(
                &mut tx,
                OrgKind::Funder,
                name,
                &format!("100000000000{i}"),
                "departement",
            )
            .await,
        );
    }
    let prescriber = issuer::testing::gironde_organisation(
        &mut tx,
        OrgKind::Prescriber,
        "CCAS de Bordeaux",
        "2000000000001",
        "ccas",
    )
    .await;
    tx.commit().await.unwrap();
    let (dir, keys) = issuer::testing::key_ring();
    World { funders, prescriber, keys, _dir: dir }
}

fn new_order(w: &World) -> NewOrder {
    NewOrder {
        label: "Pass numérique Gironde 2026".into(),
        funders: vec![
            FunderShare { funder_id: w.funders[0], share_bps: 3334 },
            FunderShare { funder_id: w.funders[1], share_bps: 3333 },
            FunderShare { funder_id: w.funders[2], share_bps: 3333 },
        ],
        books: 7,
        vouchers_per_book: 3,
        face_value_cents: 333,
        valid_from: day("2026-01-01"),
        valid_until: day("2027-12-31"),
        grace_days: 31,
        territory: Territory::new(["33"]).unwrap(),
        allowed_categories: None,
        unused_policy: UnusedPolicy::Refund,
    }
}

async fn co_funded_order_from_draft_to_issued(t: TestDb) {
    let w = world(&t).await;
    let fees = FeeTerms { issuance_fee_bps: 250, redemption_fee_bps: 100 };
    let mut tx = t.db.begin().await.unwrap();
    let order = orders::create(&mut tx, &new_order(&w), fees, None).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(order.status, OrderStatus::Draft);
    assert_eq!(order.face_total(), Cents(7 * 3 * 333));

    // A draft cannot be issued.
    let err = issuance::issue(&t.db, &w.keys, order.id, &|_, _| {}).await.unwrap_err();
    assert_eq!(err.code(), "invalid_order_status");
    let mut tx = t.db.begin().await.unwrap();
    orders::confirm(&mut tx, order.id).await.unwrap();
    tx.commit().await.unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    let summary = issuance::issue(&t.db, &w.keys, order.id, &|done, total| seen.lock().unwrap().push((done, total)))
        .await
        .unwrap();
    assert_eq!((summary.books, summary.vouchers), (7, 21));
    assert_eq!(seen.lock().unwrap().last(), Some(&(21, 21)));
    // Issuing again returns the same result and posts nothing more.
    let again = issuance::issue(&t.db, &w.keys, order.id, &|_, _| {}).await.unwrap();
    assert_eq!(again.ledger_transaction, summary.ledger_transaction);

    // Face 69,93 €, fee 2,5 % of it = 1,74825 € → 1,75 €. Face split 33,34 / 33,33 / 33,33 %:
    // floors 2331 + 2330 + 2330 = 6991, the two cents left go to the largest remainders
    // (0.7969, 0.7969 > 0.4662) → 2331 each. Fee: floors 58 × 3, one cent to the first → 59.
    assert_eq!(natural(&t.db, AccountCode::order_outstanding(order.id)).await, 6993);
    assert_eq!(natural(&t.db, AccountCode::fees()).await, 175);
    let owed: Vec<i64> = futures_owed(&t.db, &w.funders).await;
    assert_eq!(owed.iter().sum::<i64>(), 6993 + 175);
    assert_eq!(owed, vec![2331 + 59, 2331 + 58, 2331 + 58]);

    // Every stored voucher's token verifies with the published key.
    let rows = sqlx::query("SELECT code, key_number, signature, face_value_cents FROM vouchers WHERE order_id = $1")
        .bind(order.id)
        .fetch_all(t.db.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 21);
    for r in rows {
        let code = issuer::code::VoucherCode::from_db(r.get::<i64, _>(0));
        let sig: Vec<u8> = r.get(2);
        let payload = token::Payload {
            key_number: r.get::<i64, _>(1) as u16,
            code,
            face_value_cents: 333,
            expires_on: day("2027-12-31"),
            order_id: order.id as u32,
        };
        let tok = token::encode(&payload, &sig.try_into().unwrap()).unwrap();
        match scan::parse(&token::qr_url("https://passerelle.example", &tok)).unwrap() {
            scan::Scanned::Token(st) => assert_eq!(st.verify(&w.keys).unwrap(), payload),
            other => panic!("{other:?}"),
        }
    }
    let report = ledger::verify::verify(&t.db).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}

async fn futures_owed(db: &ledger::Db, funders: &[i64]) -> Vec<i64> {
    let mut out = Vec::new();
    for f in funders {
        out.push(natural(db, AccountCode::funder(*f)).await);
    }
    out
}

async fn order_validation(t: TestDb) {
    let w = world(&t).await;
    let fees = FeeTerms { issuance_fee_bps: 0, redemption_fee_bps: 0 };
    let mut tx = t.db.begin().await.unwrap();
    let mut bad = new_order(&w);
    bad.funders[0].share_bps = 3000;
    assert_eq!(orders::create(&mut tx, &bad, fees, None).await.unwrap_err().code(), "invalid_shares");
    let mut bad = new_order(&w);
    bad.funders[0].funder_id = w.prescriber;
    assert_eq!(orders::create(&mut tx, &bad, fees, None).await.unwrap_err().code(), "unknown_funder");
    let mut bad = new_order(&w);
    bad.valid_until = day("2025-01-01");
    assert_eq!(orders::create(&mut tx, &bad, fees, None).await.unwrap_err().code(), "invalid_validity");
    let mut bad = new_order(&w);
    bad.books = 0;
    assert_eq!(orders::create(&mut tx, &bad, fees, None).await.unwrap_err().code(), "invalid_quantity");
    assert!(Territory::new(["33", "XX"]).is_err());
    let draft = orders::create(&mut tx, &new_order(&w), fees, None).await.unwrap();
    let cancelled = orders::cancel(&mut tx, draft.id).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(orders::confirm(&mut tx, draft.id).await.unwrap_err().code(), "invalid_order_status");
}

async fn payments_and_positions(t: TestDb) {
    let w = world(&t).await;
    let f = w.funders[0];
    let mut tx = t.db.begin().await.unwrap();
    let p = payments::record(&mut tx, f, Cents(500_000), day("2026-02-01"), "VIR-2026-001", None).await.unwrap();
    let again = payments::record(&mut tx, f, Cents(500_000), day("2026-02-01"), "VIR-2026-001", None).await.unwrap();
    assert_eq!(p.id, again.id);
    let err = payments::record(&mut tx, f, Cents(1), day("2026-02-01"), "VIR-2026-001", None).await.unwrap_err();
    assert_eq!(err.code(), "duplicate_reference");
    tx.commit().await.unwrap();
    let mut tx = t.db.begin().await.unwrap();
    assert!(matches!(
        payments::record(&mut tx, w.prescriber, Cents(1), day("2026-02-01"), "X", None).await,
        Err(IssuerError::NotFound)
    ));
    drop(tx);
    let pos = payments::position(&t.db, f).await.unwrap();
    assert_eq!((pos.balance_cents, pos.paid_cents), (-500_000, 500_000));
    assert_eq!(natural(&t.db, AccountCode::bank()).await, 500_000);
}

async fn distribution_cancellation_and_check(t: TestDb) {
    let w = world(&t).await;
    let fees = FeeTerms { issuance_fee_bps: 0, redemption_fee_bps: 0 };
    let mut tx = t.db.begin().await.unwrap();
    let order = orders::create(&mut tx, &new_order(&w), fees, None).await.unwrap();
    orders::confirm(&mut tx, order.id).await.unwrap();
    tx.commit().await.unwrap();
    issuance::issue(&t.db, &w.keys, order.id, &|_, _| {}).await.unwrap();

    let mut tx = t.db.begin().await.unwrap();
    let n = books::assign(&mut tx, &BookSelection::Range { order_id: order.id, from: 1, to: 5 }, w.prescriber)
        .await
        .unwrap();
    assert_eq!(n, 5);
    assert_eq!(
        books::assign(&mut tx, &BookSelection::Range { order_id: order.id, from: 1, to: 5 }, w.funders[0])
            .await
            .unwrap_err()
            .code(),
        "unknown_prescriber"
    );
    let book = books::by_serial(&mut tx, &issuance::serial(order.id, 2)).await.unwrap().unwrap();
    let profile = BeneficiaryProfile {
        age_band: "65_74".into(),
        commune_insee: "33063".parse().unwrap(),
        autonomy: Autonomy::Excluded,
        referral_reason: Some("Retraite".into()),
    };
    let bad = BeneficiaryProfile { commune_insee: "99999".parse().unwrap(), ..profile.clone() };
    assert_eq!(
        books::distribute(&mut tx, book.id, w.prescriber, &bad, None).await.unwrap_err().code(),
        "invalid_commune"
    );
    // Another prescriber cannot touch it.
    assert!(matches!(
        books::distribute(&mut tx, book.id, w.funders[0], &profile, None).await,
        Err(IssuerError::NotFound)
    ));
    let given = books::distribute(&mut tx, book.id, w.prescriber, &profile, None).await.unwrap();
    assert_eq!(given.profile.as_ref().unwrap().autonomy, Autonomy::Excluded);
    assert_eq!(
        books::distribute(&mut tx, book.id, w.prescriber, &profile, None).await.unwrap_err().code(),
        "book_not_distributable"
    );
    tx.commit().await.unwrap();

    let lines = {
        let mut c = t.db.pool().acquire().await.unwrap();
        books::vouchers(&mut c, book.id).await.unwrap()
    };
    let today = day("2026-06-01");
    let ok = check::check(&t.db, &w.keys, &lines[0].code, today).await.unwrap();
    assert!(ok.valid, "{ok:?}");
    assert_eq!((ok.face_value_cents, ok.vouchers_left_in_book, ok.vouchers_in_book), (Some(333), Some(3), Some(3)));
    assert_eq!(ok.territory_label.as_deref(), Some("Gironde (33)"));
    let late = check::check(&t.db, &w.keys, &lines[0].code, day("2028-02-01")).await.unwrap();
    assert_eq!(late.reason.as_deref(), Some("expired"));
    let early = check::check(&t.db, &w.keys, &lines[0].code, day("2025-12-31")).await.unwrap();
    assert_eq!(early.reason.as_deref(), Some("not_yet_valid"));
    let typo = check::check(&t.db, &w.keys, "7KQ2-M9XD-3TWP-0", today).await.unwrap();
    assert!(!typo.valid);

    // Cancel the book: vouchers cancelled, value refunded to the funders by share.
    let before = natural(&t.db, AccountCode::order_outstanding(order.id)).await;
    let mut tx = t.db.begin().await.unwrap();
    let c = books::cancel(&mut tx, book.id, "Carnet perdu").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((c.vouchers_cancelled, c.value_cents), (3, 999));
    assert_eq!(natural(&t.db, AccountCode::order_outstanding(order.id)).await, before - 999);
    let owed = futures_owed(&t.db, &w.funders).await;
    assert_eq!(owed, vec![2331 - 333, 2331 - 333, 2331 - 333]);
    let now = check::check(&t.db, &w.keys, &lines[1].code, today).await.unwrap();
    assert_eq!(now.reason.as_deref(), Some("cancelled"));
    let mut tx = t.db.begin().await.unwrap();
    assert_eq!(books::cancel(&mut tx, book.id, "encore").await.unwrap_err().code(), "book_cancelled");
    drop(tx);
    let mut report = ledger::verify::verify(&t.db).await.unwrap();
    issuer::invariants::check(&t.db, &mut report).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    // A voucher marked used behind the ledger's back breaks the outstanding invariant.
    sqlx::query(
        "UPDATE vouchers SET status = 'redeemed' WHERE id = (SELECT MIN(id) FROM vouchers WHERE status = 'active')",
    )
    .execute(t.db.pool())
    .await
    .unwrap();
    let mut report = ledger::verify::verify(&t.db).await.unwrap();
    issuer::invariants::check(&t.db, &mut report).await.unwrap();
    assert_eq!(report.problems.iter().map(|p| p.code).collect::<Vec<_>>(), vec!["outstanding_mismatch"]);
}

async fn expiry_refund_and_breakage(t: TestDb) {
    let w = world(&t).await;
    let fees = FeeTerms { issuance_fee_bps: 0, redemption_fee_bps: 0 };
    let mut tx = t.db.begin().await.unwrap();
    let refund = orders::create(&mut tx, &new_order(&w), fees, None).await.unwrap();
    orders::confirm(&mut tx, refund.id).await.unwrap();
    let kept =
        orders::create(&mut tx, &NewOrder { unused_policy: UnusedPolicy::Breakage, ..new_order(&w) }, fees, None)
            .await
            .unwrap();
    orders::confirm(&mut tx, kept.id).await.unwrap();
    tx.commit().await.unwrap();
    issuance::issue(&t.db, &w.keys, refund.id, &|_, _| {}).await.unwrap();
    issuance::issue(&t.db, &w.keys, kept.id, &|_, _| {}).await.unwrap();
    let before = futures_owed(&t.db, &w.funders).await;

    // Books 1-5 go to the prescriber, book 2 to a beneficiary, who uses one voucher.
    let mut tx = t.db.begin().await.unwrap();
    books::assign(&mut tx, &BookSelection::Range { order_id: refund.id, from: 1, to: 5 }, w.prescriber).await.unwrap();
    let book = books::by_serial(&mut tx, &issuance::serial(refund.id, 2)).await.unwrap().unwrap();
    let profile = BeneficiaryProfile {
        age_band: "75_et_plus".into(),
        commune_insee: "33063".parse().unwrap(),
        autonomy: Autonomy::Beginner,
        referral_reason: None,
    };
    books::distribute(&mut tx, book.id, w.prescriber, &profile, None).await.unwrap();
    let used: i64 = sqlx::query_scalar("SELECT MIN(id) FROM vouchers WHERE book_id = $1")
        .bind(book.id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE vouchers SET status = 'redeemed' WHERE id = $1").bind(used).execute(&mut *tx).await.unwrap();
    let t_used = ledger::NewTransaction::new("used-1", "redemption", "test", ledger::testing::fixed_time())
        .debit(AccountCode::order_outstanding(refund.id), Cents(333))
        .credit(AccountCode::site_payable(999), Cents(333));
    ledger::post_in(&mut tx, &t_used).await.unwrap();
    tx.commit().await.unwrap();

    // J-30: 21 days before valid_until the funder sees what is left; 61 days before, nothing yet.
    assert!(issuer::expiry::expiring(&t.db, w.funders[0], day("2027-11-01")).await.unwrap().is_empty());
    let soon = issuer::expiry::expiring(&t.db, w.funders[0], day("2027-12-10")).await.unwrap();
    assert_eq!(soon.len(), 2);
    let s = &soon[0];
    assert_eq!(s.order_id, refund.id);
    assert_eq!(
        (s.books_issued, s.books_assigned, s.books_distributed, s.books_started, s.books_untouched),
        (7, 4, 1, 1, 0)
    );
    assert_eq!((s.active_vouchers, s.active_value_cents, s.last_day), (20, 20 * 333, day("2028-01-31")));

    // The funder blocks the books nobody received: 6 books, 18 vouchers refunded by share.
    let mut tx = t.db.begin().await.unwrap();
    let (blocked, value) = issuer::expiry::block_undistributed(&mut tx, refund.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((blocked, value), (6, Cents(18 * 333)));

    // Not during the grace period; the day after it, the last 2 vouchers expire and are refunded.
    assert!(issuer::expiry::expire(&t.db, day("2028-01-31")).await.unwrap().is_empty());
    let done = issuer::expiry::expire(&t.db, day("2028-02-01")).await.unwrap();
    let summary: Vec<(i64, u64, i64)> = done.iter().map(|e| (e.order_id, e.vouchers, e.value_cents)).collect();
    assert_eq!(summary, vec![(refund.id, 2, 666), (kept.id, 21, 21 * 333)]);
    assert_eq!(natural(&t.db, AccountCode::order_outstanding(refund.id)).await, 0);
    assert_eq!(natural(&t.db, AccountCode::order_outstanding(kept.id)).await, 0);
    assert_eq!(natural(&t.db, AccountCode::breakage()).await, 21 * 333);
    // Refunded: 20 vouchers of 3,33 € = 66,60 €, split 3334/3333/3333 bps (largest remainder).
    let after = futures_owed(&t.db, &w.funders).await;
    let refunded: Vec<i64> = before.iter().zip(&after).map(|(b, a)| b - a).collect();
    assert_eq!(refunded.iter().sum::<i64>(), 20 * 333);
    assert!(expiry_counts_ok(&t).await);
    assert!(issuer::expiry::expire(&t.db, day("2028-03-01")).await.unwrap().is_empty(), "nothing left to expire");
    let mut report = ledger::verify::verify(&t.db).await.unwrap();
    issuer::invariants::check(&t.db, &mut report).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}

/// No active voucher is left on either order.
async fn expiry_counts_ok(t: &TestDb) -> bool {
    let active: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vouchers WHERE status = 'active'")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    active == 0
}

ledger::both_engines!(
    expiry_refund_and_breakage,
    co_funded_order_from_draft_to_issued,
    order_validation,
    payments_and_positions,
    distribution_cancellation_and_check
);
