//! Refreshes against real databases, on both engines: concurrent refreshers, while vouchers are
//! redeemed, never count anything twice.

mod common;

use common::*;
use issuer::books::Autonomy;
use ledger::testing::TestDb;
use ledger::{Cents, both_engines};
use rust_decimal::Decimal;
use statistics::{Period, Scope};

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

both_engines!(concurrent_refreshes_never_count_twice);
