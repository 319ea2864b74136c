//! The national-scale generator of `statistics::bench` against real databases, on both engines.

mod common;

use common::*;
use ledger::both_engines;
use ledger::testing::TestDb;
use statistics::{Period, Scope};

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

both_engines!(the_bench_generates_consistent_aggregates);
