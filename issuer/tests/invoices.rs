//! Invoices and credit notes on both engines: amounts equal to the ledger's, numbers without
//! gaps under concurrency, the mandatory mentions read back from the PDF with pdftotext.

use chrono::NaiveDate;
use issuer::books;
use issuer::invoices::{self, Seller};
use issuer::issuance;
use issuer::orders::{self, FeeTerms, FunderShare, NewOrder, UnusedPolicy};
use issuer::organisations::OrgKind;
use issuer::territory::Territory;
use ledger::AccountCode;
use ledger::testing::TestDb;
use std::collections::BTreeSet;
use std::process::Command;

fn seller(vat_rate_bps: u32) -> Seller {
    Seller {
        name: "Passerelle — chambre de compensation".into(),
        siret: Some("13002526500013".into()),
        address: "12 rue de la Paix\n33000 Bordeaux".into(),
        vat_number: Some("FR12130025265".into()),
        vat_rate_bps,
        payment_days: 30,
    }
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftotext").arg("-layout").arg(&file).arg("-").output().expect("pdftotext (poppler-utils)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).replace(['\u{a0}', '\u{202f}'], " ")
}

/// A co-funded order (2/3, 1/3) of 3 books × 10 vouchers of 10 €, 3 % issuance fee, issued.
async fn issued(t: &TestDb) -> (orders::Order, Vec<i64>, issuer::keys::KeyRing, tempfile::TempDir) {
    let mut tx = t.db.begin().await.unwrap();
    let mut funders = Vec::new();
    for (i, name) in ["Département de la Gironde", "Caisse d'allocations familiales"].iter().enumerate() {
        funders.push(
            issuer::testing::gironde_organisation(
                &mut tx,
                OrgKind::Funder,
                name,
                &format!("22330001{i}0001"),
                "departement",
            )
            .await,
        );
    }
    let new = NewOrder {
        label: "Pass numérique 2026".into(),
        funders: vec![
            FunderShare { funder_id: funders[0], share_bps: 6667 },
            FunderShare { funder_id: funders[1], share_bps: 3333 },
        ],
        books: 3,
        vouchers_per_book: 10,
        face_value_cents: 1000,
        valid_from: "2026-01-01".parse().unwrap(),
        valid_until: "2026-12-31".parse().unwrap(),
        grace_days: 31,
        territory: Territory::new(["33"]).unwrap(),
        allowed_categories: None,
        unused_policy: UnusedPolicy::Refund,
    };
    let order =
        orders::create(&mut tx, &new, FeeTerms { issuance_fee_bps: 300, redemption_fee_bps: 0 }, None).await.unwrap();
    orders::confirm(&mut tx, order.id).await.unwrap();
    tx.commit().await.unwrap();
    let (dir, keys) = issuer::testing::key_ring();
    issuance::issue(&t.db, &keys, order.id, &|_, _| {}).await.unwrap();
    (orders::get(&t.db, order.id).await.unwrap().unwrap(), funders, keys, dir)
}

async fn invoices_follow_the_ledger(t: TestDb) {
    let (order, funders, _keys, _dir) = issued(&t).await;
    let before: Vec<i64> = {
        let mut v = Vec::new();
        for f in &funders {
            v.push(ledger::query::balance(&t.db, &AccountCode::funder(*f)).await.unwrap().natural.0);
        }
        v
    };
    let written = invoices::write_pending(&t.db, &seller(2000)).await.unwrap();
    assert_eq!(written.len(), 2);
    assert!(invoices::write_pending(&t.db, &seller(2000)).await.unwrap().is_empty(), "written once");
    // Face 300 € split 2/3 – 1/3 (largest remainder), fee 3 % = 9 € split the same way, VAT 20 %
    // included in the fee. Each total equals what the ledger charged the funder.
    for (doc, owed) in written.iter().zip(&before) {
        assert_eq!(doc.total_cents, *owed);
        assert_eq!(doc.face_cents + doc.fee_net_cents + doc.vat_cents, doc.total_cents);
    }
    assert_eq!((written[0].face_cents, written[1].face_cents), (20001, 9999));
    assert_eq!((written[0].total_cents, written[1].total_cents), (20601, 10299));
    assert_eq!((written[0].fee_net_cents, written[0].vat_cents), (500, 100));
    let refs: Vec<&str> = written.iter().map(|d| d.reference.as_str()).collect();
    assert_eq!(refs, vec!["F2026-00001", "F2026-00002"]);
    assert_eq!(written[0].due_on, Some(written[0].issued_on + chrono::Duration::days(30)));

    let text = pdftotext(&invoices::pdf(&written[0]).unwrap());
    for needle in [
        "Facture F2026-00001",
        "Passerelle — chambre de compensation",
        "SIRET 13002526500013",
        "N° de TVA intracommunautaire : FR12130025265",
        "Département de la Gironde",
        "Client",
        "Échéance",
        "Commande n°",
        "valeur faciale de 30",
        "200,01 €",
        "TVA sur les frais (20,00 %)",
        "Total à payer",
        "206,01 €",
        "article 256 ter du CGI",
        "Paiement à 30 jours",
        "indemnité forfaitaire",
        "40 €",
    ] {
        assert!(text.contains(needle), "« {needle} » in:\n{text}");
    }

    // A cancelled book is refunded by share: credit notes in their own series.
    let mut tx = t.db.begin().await.unwrap();
    let book = books::by_serial(&mut tx, &issuance::serial(order.id, 1)).await.unwrap().unwrap();
    books::cancel(&mut tx, book.id, "Carnet perdu").await.unwrap();
    tx.commit().await.unwrap();
    let notes = invoices::write_pending(&t.db, &seller(0)).await.unwrap();
    let summary: Vec<(&str, &str, i64)> =
        notes.iter().map(|d| (d.kind.as_str(), d.reference.as_str(), d.total_cents)).collect();
    assert_eq!(summary, vec![("credit_note", "AV2026-00001", 6667), ("credit_note", "AV2026-00002", 3333)]);
    let text = pdftotext(&invoices::pdf(&notes[0]).unwrap());
    assert!(
        text.contains("Avoir AV2026-00001") && text.contains("Total remboursé") && text.contains("66,67 €"),
        "{text}"
    );
    assert!(!text.contains("Paiement à 30 jours"), "no payment terms on a credit note");

    // Expiry refunds the rest (20 vouchers): two more credit notes.
    issuer::expiry::expire(&t.db, NaiveDate::from_ymd_opt(2027, 2, 1).unwrap()).await.unwrap();
    let notes = invoices::write_pending(&t.db, &seller(0)).await.unwrap();
    assert_eq!(notes.iter().map(|d| d.total_cents).sum::<i64>(), 20_000);
    assert_eq!(invoices::list(&t.db, Some(funders[1])).await.unwrap().len(), 3);
}

/// 32 writers at once take numbers; every third rolls back. The committed numbers are exactly
/// 1..=n: no gap, no duplicate.
async fn numbers_have_no_gaps_under_concurrency(t: TestDb) {
    let mut tasks = Vec::new();
    for i in 0..32 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            let n = invoices::next_number(&mut tx, "F2099").await.unwrap();
            if i % 3 == 0 {
                drop(tx);
                None
            } else {
                tx.commit().await.unwrap();
                Some(n)
            }
        }));
    }
    let mut kept = BTreeSet::new();
    for task in tasks {
        if let Some(n) = task.await.unwrap() {
            assert!(kept.insert(n), "number {n} given twice");
        }
    }
    assert_eq!(kept.len(), 21);
    assert_eq!(kept.into_iter().collect::<Vec<_>>(), (1..=21).collect::<Vec<i64>>());
}

/// Eight writers (the server's timer and the readers of the invoice list) run at once: each
/// succeeds, and the order's two invoices exist once, numbered 1 and 2.
async fn concurrent_writers_write_each_document_once(t: TestDb) {
    let (_order, _funders, _keys, _dir) = issued(&t).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move { invoices::write_pending(&db, &seller(2000)).await }));
    }
    let mut written = Vec::new();
    for task in tasks {
        written.extend(task.await.unwrap().expect("a concurrent writer succeeds"));
    }
    let mut refs: Vec<String> = written.into_iter().map(|d| d.reference).collect();
    refs.sort();
    assert_eq!(refs, vec!["F2026-00001", "F2026-00002"], "each document written by exactly one writer");
    let mut listed: Vec<String> = invoices::list(&t.db, None).await.unwrap().into_iter().map(|d| d.reference).collect();
    listed.sort();
    assert_eq!(listed, refs);
}

ledger::both_engines!(
    invoices_follow_the_ledger,
    numbers_have_no_gaps_under_concurrency,
    concurrent_writers_write_each_document_once
);
