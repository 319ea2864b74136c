//! Settlement runs against real databases on both engines, and every SEPA file checked against
//! the official pain.001.001.09 XSD with xmllint.

use chrono::{DateTime, NaiveDate, Utc};
use issuer::issuance;
use issuer::orders::{self, FeeTerms, NewOrder};
use issuer::organisations::OrgKind;
use ledger::testing::TestDb;
use ledger::{AccountCode, Cents};
use redeemer::redeem::{RedeemRequest, redeem};
use redeemer::sites::{self, Accreditation};
use settlement::runs::{self, Mode, SettlementError};
use settlement::sepa::{CreditTransfer, Party, Transfer};
use std::path::PathBuf;
use std::process::Command;

/// The official schema, fetched from the PyPI package `sepaxml` by scripts/test.sh. A missing
/// schema fails the test: it is never skipped.
fn xsd() -> PathBuf {
    let path = std::env::var_os("PASSERELLE_SEPA_XSD").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/sepa-xsd/pain.001.001.09.xsd"))
    });
    assert!(path.is_file(), "schéma {} absent : lancez scripts/test.sh (qui le télécharge)", path.display());
    path
}

/// Validates a document with xmllint against the XSD; panics with xmllint's words otherwise.
fn assert_valid(xml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("virement.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd())
        .arg(&file)
        .output()
        .expect("xmllint (paquet libxml2-utils)");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        xml.lines().take(40).collect::<Vec<_>>().join("\n")
    );
}

/// The text of a PDF, by pdftotext (poppler-utils), with non-breaking spaces made plain.
fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftotext").arg("-layout").arg(&file).arg("-").output().expect("pdftotext (poppler-utils)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).replace(['\u{a0}', '\u{202f}'], " ")
}

fn party(name: &str, bic: Option<&str>) -> Party {
    Party {
        name: name.into(),
        iban: "FR7630006000011234567890189".parse().unwrap(),
        bic: bic.map(|b| b.parse().unwrap()),
    }
}

#[test]
fn awkward_names_validate_against_the_official_schema() {
    let names = [
        "Médiathèque d'Écouen",
        "Association « Les Amis du Numérique » & Cie",
        "Cœur de Bœuf — Saint-Étienne",
        "Straße, Zürich ; Ålesund",
        "中文名称",
        "",
        "\u{0}\u{7}<script>alert('x')</script>",
        &"Association intercommunale pour l'inclusion numérique des habitants ".repeat(5),
    ];
    let transfers: Vec<Transfer> = names
        .iter()
        .enumerate()
        .map(|(i, name)| Transfer {
            end_to_end_id: format!("PSL-R1-S{i}"),
            amount: Cents(if i == 0 { 1 } else { 123_456 * i as i64 }),
            creditor: party(name, if i % 2 == 0 { Some("AGRIFRPP") } else { None }),
            remittance: format!("Règlement du 01/10/2026 au 31/10/2026 — relevé R1-S{i} — {}", "é".repeat(200)),
        })
        .collect();
    let file = CreditTransfer {
        message_id: "PSL-R1-20261031".into(),
        payment_info_id: "PSL-R1-20261031-P".into(),
        created_at: "2026-11-02T09:30:00Z".parse().unwrap(),
        execution_date: "2026-11-03".parse().unwrap(),
        initiating_party: "Passerelle — chambre de compensation".into(),
        debtor: party("Passerelle — chambre de compensation", Some("CEPAFRPP333")),
        transfers,
    };
    let xml = file.to_xml().unwrap();
    assert_valid(&xml);
    assert!(xml.contains("<Nm>Mediatheque d&apos;Ecouen</Nm>"), "{xml}");
    assert!(xml.contains("<Nm>Coeur de Boeuf"), "{xml}");
    assert!(!xml.contains("script>"), "{xml}");
    for line in xml.lines().filter(|l| l.contains("<Nm>")) {
        let name = line.trim().trim_start_matches("<Cdtr>").trim_start_matches("<Nm>");
        let name = name.split("</Nm>").next().unwrap().replace("&apos;", "'");
        assert!(name.chars().count() <= 70, "{name}");
    }
    // 1 transfer of 0,01 € and the others: the control sum is exact.
    let total: i64 = (1..names.len() as i64).map(|i| 123_456 * i).sum::<i64>() + 1;
    assert!(xml.contains(&format!("<CtrlSum>{}.{:02}</CtrlSum>", total / 100, total % 100)), "{xml}");
}

struct World {
    keys: issuer::keys::KeyRing,
    _dir: tempfile::TempDir,
    /// (site, place)
    sites: Vec<(i64, i64)>,
    codes: Vec<String>,
    funder: i64,
    order: i64,
}

/// A Gironde order (10 books × 10 vouchers of 10 €, 2,5 % redemption fee) and three accredited
/// sites with awkward names.
async fn world(t: &TestDb) -> World {
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
        "label": "Pass numérique", "funders": [{"funder_id": funder, "share_bps": 10000}], "books": 10,
        "vouchers_per_book": 10, "valid_from": "2026-01-01", "valid_until": "2027-12-31", "territory": ["33"],
    }))
    .unwrap();
    let order =
        orders::create(&mut tx, &new, FeeTerms { issuance_fee_bps: 0, redemption_fee_bps: 250 }, None).await.unwrap();
    orders::confirm(&mut tx, order.id).await.unwrap();
    let iban = "FR7630006000011234567890189".parse().unwrap();
    let bic = "CEPAFRPP333".parse().unwrap();
    let mut site_ids = Vec::new();
    for (i, (name, commune)) in [
        ("Médiathèque d'Écouen-sur-Garonne", "33522"),
        ("Association « Cœur numérique » de l'Entre-Deux-Mers et des communes riveraines de la Dordogne", "33063"),
        ("Espace France services", "33243"),
    ]
    .into_iter()
    .enumerate()
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
        let place =
            sites::add_place(&mut tx, site, "Accueil", "1 place de la Mairie", &commune.parse().unwrap(), "24/7")
                .await
                .unwrap();
        sites::set_services(&mut tx, site, &["DEM-ACCOMP"]).await.unwrap();
        sites::decide(&mut tx, site, Accreditation::Accredited, Some("2099-12-31".parse().unwrap()), None, "Agréé")
            .await
            .unwrap();
        site_ids.push((site, place));
    }
    tx.commit().await.unwrap();
    issuance::issue(&t.db, &keys, order.id, &|_, _| {}).await.unwrap();
    let mut conn = t.db.pool().acquire().await.unwrap();
    let mut codes = Vec::new();
    for n in 1..=10 {
        let book = issuer::books::by_serial(&mut conn, &issuance::serial(order.id, n)).await.unwrap().unwrap();
        codes.extend(issuer::books::vouchers(&mut conn, book.id).await.unwrap().into_iter().map(|v| v.code));
    }
    World { keys, _dir: dir, sites: site_ids, codes, funder, order: order.id }
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Redeems `n` vouchers one by one at site `i` at the given instant.
async fn redeem_at(t: &TestDb, w: &World, next: &mut usize, i: usize, n: usize, when: &str) {
    for _ in 0..n {
        let (site, place) = w.sites[i];
        let req = RedeemRequest {
            site_id: site,
            place_id: place,
            service_code: "DEM-ACCOMP".into(),
            vouchers: vec![w.codes[*next].clone()],
            performed_at: Some(at(when)),
            idempotency_key: format!("r-{next}"),
            scanned_by: None,
            outcome: None,
        };
        redeem(&t.db, &w.keys, &req).await.unwrap();
        *next += 1;
    }
}

async fn natural(t: &TestDb, a: AccountCode) -> i64 {
    ledger::query::balance(&t.db, &a).await.unwrap().natural.0
}

async fn verified(t: &TestDb) {
    let mut report = ledger::verify::verify(&t.db).await.unwrap();
    issuer::invariants::check(&t.db, &mut report).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}

async fn a_custody_cycle(t: TestDb) {
    let w = world(&t).await;
    let [(a, _), (b, _), (c, _)] = w.sites[..] else { unreachable!() };
    // The first book goes to a prescriber, who hands it to a beneficiary.
    let mut tx = t.db.begin().await.unwrap();
    let ccas =
        issuer::testing::gironde_organisation(&mut tx, OrgKind::Prescriber, "CCAS de Talence", "2633000150004", "ccas")
            .await;
    let first = issuance::serial(w.order, 1);
    issuer::books::assign(&mut tx, &issuer::books::BookSelection::Serials { serials: vec![first.clone()] }, ccas)
        .await
        .unwrap();
    let book = issuer::books::by_serial(&mut tx, &first).await.unwrap().unwrap();
    let profile = issuer::books::BeneficiaryProfile {
        age_band: "65_74".into(),
        commune_insee: "33522".parse().unwrap(),
        autonomy: issuer::books::Autonomy::Excluded,
        referral_reason: Some("Retraite".into()),
    };
    issuer::books::distribute(&mut tx, book.id, ccas, &profile, None).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(natural(&t, AccountCode::order_outstanding(w.order)).await, 100_000, "distribution moves no money");
    let mut next = 0;
    // September: A 3 vouchers, B 2, C 1 (below the 15 € minimum). 10 € each, 2,5 % fee: 9,75 € owed.
    redeem_at(&t, &w, &mut next, 0, 3, "2026-09-10T08:00:00Z").await;
    redeem_at(&t, &w, &mut next, 1, 2, "2026-09-30T21:59:00Z").await; // 23:59 in Paris: September
    redeem_at(&t, &w, &mut next, 2, 1, "2026-09-15T08:00:00Z").await;
    // 1 October 00:30 in Paris: the next period.
    redeem_at(&t, &w, &mut next, 1, 1, "2026-09-30T22:30:00Z").await;
    assert_eq!(natural(&t, AccountCode::site_payable(b)).await, 2925);

    // Not before the period is over; a non-positive minimum is refused.
    assert!(matches!(
        runs::prepare(&t.db, day("2099-01-31"), Cents(1500), Mode::Custody, None).await,
        Err(SettlementError::PeriodNotOver(_))
    ));
    assert!(matches!(
        runs::prepare(&t.db, day("2026-09-30"), Cents(0), Mode::Custody, None).await,
        Err(SettlementError::BadMinimum)
    ));

    let run = runs::prepare(&t.db, day("2026-09-30"), Cents(1500), Mode::Custody, None).await.unwrap();
    assert_eq!(run.status, runs::RunStatus::Draft);
    let paid: Vec<(i64, i64)> = run.payouts.iter().map(|p| (p.site_id, p.amount_cents)).collect();
    assert_eq!(paid, vec![(a, 2925), (b, 1950)], "C is under the minimum; B's October voucher waits");
    assert_eq!(run.total_cents, 4875);
    // A draft moves nothing; asking again for the period returns the same run.
    assert_eq!(natural(&t, AccountCode::site_payable(a)).await, 2925);
    assert_eq!(runs::prepare(&t.db, day("2026-09-30"), Cents(1500), Mode::Custody, None).await.unwrap().id, run.id);
    assert!(matches!(
        runs::prepare(&t.db, day("2026-10-31"), Cents(1500), Mode::Custody, None).await,
        Err(SettlementError::PreviousOpen(_))
    ));
    assert!(matches!(
        runs::sepa_file(&t.db, run.id, &party("Passerelle", None), None).await,
        Err(SettlementError::State(_))
    ));

    let released = runs::release(&t.db, run.id, None).await.unwrap();
    assert_eq!(released.status, runs::RunStatus::Released);
    assert!(released.payouts.iter().all(|p| p.status == runs::PayoutStatus::Sent));
    assert!(matches!(runs::release(&t.db, run.id, None).await, Err(SettlementError::State(_))));
    assert_eq!(natural(&t, AccountCode::site_payable(a)).await, 0);
    assert_eq!(natural(&t, AccountCode::site_payable(b)).await, 975);
    assert_eq!(natural(&t, AccountCode::site_payable(c)).await, 975);
    assert_eq!(natural(&t, AccountCode::payouts_in_transit()).await, -4875, "asset: debit-positive");

    let xml = runs::sepa_file(&t.db, run.id, &party("Passerelle — chambre de compensation", Some("CEPAFRPP333")), None)
        .await
        .unwrap();
    assert_valid(&xml);
    assert!(xml.contains("<NbOfTxs>2</NbOfTxs>") && xml.contains("<CtrlSum>48.75</CtrlSum>"), "{xml}");
    assert!(xml.contains(&format!("<EndToEndId>PSL-R{}-S{a}</EndToEndId>", run.id)), "{xml}");
    assert!(xml.contains("<Nm>Mediatheque d&apos;Ecouen-sur-Garonne</Nm>"), "{xml}");
    assert!(
        xml.contains(&format!("<Ustrd>Passerelle reglement au 30/09/2026 releve R{}-S{a}</Ustrd>", run.id)),
        "{xml}"
    );
    verified(&t).await;

    // A's statement lists its 3 vouchers of September, masked, with totals; read back by pdftotext.
    let st = settlement::statement::statement(&t.db, run.id, a).await.unwrap();
    assert_eq!(st.lines.len(), 3);
    let text = pdftotext(&settlement::statement::statement_pdf(&st).unwrap());
    for code in &w.codes[0..3] {
        let end: String = code.chars().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect();
        assert!(text.contains(&format!("••••-••••-{end}")), "{end} in {text}");
        assert!(!text.contains(code.as_str()), "codes are masked");
    }
    for needle in [
        "Relevé de passages — Médiathèque d'Écouen-sur-Garonne",
        "passages jusqu'au 30/09/2026",
        "10/09/2026 10:00",
        "Accompagnement à une démarche",
        "3 passage(s)",
        "Montant des chèques",
        "30,00 €",
        "0,75 €",
        "29,25 €",
        "envoyé à la banque",
    ] {
        assert!(text.contains(needle), "« {needle} » in:\n{text}");
    }
    // C was under the minimum: its statement says why nothing was paid.
    let c_statement = settlement::statement::statement(&t.db, run.id, c).await.unwrap();
    let c_text = pdftotext(&settlement::statement::statement_pdf(&c_statement).unwrap());
    assert!(c_text.contains("Pas de versement dans ce règlement"), "{c_text}");
    let report = pdftotext(&settlement::statement::report_pdf(&released).unwrap());
    for needle in ["Rapport de règlement", "2 versement(s)", "48,75 €", "Association « Cœur numérique »"] {
        assert!(report.contains(needle), "« {needle} » in:\n{report}");
    }

    // The bank confirms A's payout; B's is returned before confirmation.
    let (pa, pb) = (released.payouts[0].id, released.payouts[1].id);
    runs::confirm(&t.db, pa, at("2026-10-02T10:00:00Z")).await.unwrap();
    assert!(matches!(runs::confirm(&t.db, pa, at("2026-10-02T10:00:00Z")).await, Err(SettlementError::State(_))));
    assert_eq!(natural(&t, AccountCode::payouts_in_transit()).await, -1950);
    assert_eq!(natural(&t, AccountCode::bank()).await, -2925, "nothing received from the funder in this test");
    assert!(matches!(
        runs::record_return(&t.db, pb, " ", at("2026-10-05T10:00:00Z")).await,
        Err(SettlementError::State(_))
    ));
    runs::record_return(&t.db, pb, "AC04 compte clôturé", at("2026-10-05T10:00:00Z")).await.unwrap();
    assert_eq!(natural(&t, AccountCode::site_payable(b)).await, 2925, "back on B's payable balance");
    assert_eq!(natural(&t, AccountCode::payouts_in_transit()).await, 0);
    let review: i64 = sqlx::query_scalar("SELECT bank_review FROM sites WHERE organisation_id = $1")
        .bind(b)
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(review, 1);

    // October: B is held for review; C now reaches the minimum (9,75 + 2 × 9,75).
    redeem_at(&t, &w, &mut next, 2, 2, "2026-10-20T08:00:00Z").await;
    let october = runs::prepare(&t.db, day("2026-10-31"), Cents(1500), Mode::Custody, None).await.unwrap();
    assert_eq!(october.period_start, Some(day("2026-10-01")));
    let paid: Vec<(i64, i64)> = october.payouts.iter().map(|p| (p.site_id, p.amount_cents)).collect();
    assert_eq!(paid, vec![(c, 2925)]);
    let october = runs::release(&t.db, october.id, None).await.unwrap();
    assert_valid(&runs::sepa_file(&t.db, october.id, &party("Passerelle", None), None).await.unwrap());
    // A confirmed transfer that comes back: the money is in the bank again, owed to C.
    let pc = october.payouts[0].id;
    runs::confirm(&t.db, pc, at("2026-11-03T10:00:00Z")).await.unwrap();
    runs::record_return(&t.db, pc, "MD07 titulaire décédé", at("2026-11-04T10:00:00Z")).await.unwrap();
    assert_eq!(natural(&t, AccountCode::site_payable(c)).await, 2925);
    assert_eq!(natural(&t, AccountCode::bank()).await, -2925);
    assert!(matches!(
        runs::record_return(&t.db, pc, "encore", at("2026-11-04T10:00:00Z")).await,
        Err(SettlementError::State(_))
    ));
    assert_eq!(runs::list(&t.db).await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), vec![october.id, run.id]);
    verified(&t).await;

    // The end of the cycle: after its validity and grace period, the order's 91 unused vouchers
    // expire and their value goes back to the funder.
    let funder = AccountCode::funder(w.funder);
    let owed_before = natural(&t, funder.clone()).await;
    let expired = issuer::expiry::expire(&t.db, day("2028-02-01")).await.unwrap();
    assert_eq!(expired.iter().map(|e| (e.vouchers, e.value_cents)).collect::<Vec<_>>(), vec![(91, 91_000)]);
    assert_eq!(natural(&t, AccountCode::order_outstanding(w.order)).await, 0);
    assert_eq!(owed_before - natural(&t, funder).await, 91_000);
    // What sites are owed is untouched by expiry: B 29,25 € (held), C 29,25 € (returned).
    assert_eq!(natural(&t, AccountCode::site_payable(b)).await, 2925);
    assert_eq!(natural(&t, AccountCode::site_payable(c)).await, 2925);
    assert_eq!(natural(&t, AccountCode::fees()).await, 9 * 25);
    verified(&t).await;
}

async fn a_draft_can_be_cancelled_and_prepared_again(t: TestDb) {
    let w = world(&t).await;
    let mut next = 0;
    redeem_at(&t, &w, &mut next, 0, 2, "2026-09-10T08:00:00Z").await;
    let run = runs::prepare(&t.db, day("2026-09-30"), Cents(100), Mode::Custody, None).await.unwrap();
    runs::cancel(&t.db, run.id).await.unwrap();
    assert!(runs::get(&t.db, run.id).await.unwrap().is_none());
    let again = runs::prepare(&t.db, day("2026-09-30"), Cents(100), Mode::Custody, None).await.unwrap();
    assert_eq!(again.total_cents, 1950);
    runs::release(&t.db, again.id, None).await.unwrap();
    assert!(matches!(runs::cancel(&t.db, again.id).await, Err(SettlementError::State(_))));
    // An older period than the last one is refused.
    assert!(matches!(
        runs::prepare(&t.db, day("2026-08-31"), Cents(100), Mode::Custody, None).await,
        Err(SettlementError::LaterPeriodExists(_))
    ));
    verified(&t).await;
}

/// Direct mode: each funder pays the sites its share, from its own account, with its own file.
async fn a_direct_cycle(t: TestDb) {
    let w = world(&t).await;
    let (a, a_place) = w.sites[0];
    // A second funder co-funds a second order at 60 / 40 with the first.
    let mut tx = t.db.begin().await.unwrap();
    let caf = issuer::testing::gironde_organisation(
        &mut tx,
        OrgKind::Funder,
        "Caisse d'allocations familiales de la Gironde",
        "5340000010001",
        "caf",
    )
    .await;
    let new: NewOrder = serde_json::from_value(serde_json::json!({
        "label": "Pass numérique co-financé", "funders": [{"funder_id": w.funder, "share_bps": 6000}, {"funder_id": caf, "share_bps": 4000}],
        "books": 1, "vouchers_per_book": 10, "valid_from": "2026-01-01", "valid_until": "2027-12-31", "territory": ["33"],
    }))
    .unwrap();
    let co =
        orders::create(&mut tx, &new, FeeTerms { issuance_fee_bps: 0, redemption_fee_bps: 250 }, None).await.unwrap();
    orders::confirm(&mut tx, co.id).await.unwrap();
    tx.commit().await.unwrap();
    issuance::issue(&t.db, &w.keys, co.id, &|_, _| {}).await.unwrap();
    let mut conn = t.db.pool().acquire().await.unwrap();
    let book = issuer::books::by_serial(&mut conn, &issuance::serial(co.id, 1)).await.unwrap().unwrap();
    let co_codes: Vec<String> =
        issuer::books::vouchers(&mut conn, book.id).await.unwrap().into_iter().map(|v| v.code).collect();
    drop(conn);
    // Site A: 2 vouchers of the first order (100 % the département), 3 of the co-funded one.
    let codes: Vec<&String> = w.codes[0..2].iter().chain(&co_codes[0..3]).collect();
    for (i, code) in codes.iter().enumerate() {
        let req = RedeemRequest {
            site_id: a,
            place_id: a_place,
            service_code: "DEM-ACCOMP".into(),
            vouchers: vec![(*code).clone()],
            performed_at: Some(at("2026-09-10T08:00:00Z")),
            idempotency_key: format!("direct-{i}"),
            scanned_by: None,
            outcome: None,
        };
        redeem(&t.db, &w.keys, &req).await.unwrap();
    }
    let mut tx = t.db.begin().await.unwrap();
    for (f, name) in [(w.funder, "Département de la Gironde"), (caf, "CAF de la Gironde")] {
        runs::set_funder_account(&mut tx, f, &"FR7610107001011234567890129".parse().unwrap(), None, name)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let owed_before = (natural(&t, AccountCode::funder(w.funder)).await, natural(&t, AccountCode::funder(caf)).await);

    let run = runs::prepare(&t.db, day("2026-09-30"), Cents(100), Mode::Direct, None).await.unwrap();
    assert_eq!(run.mode, Mode::Direct);
    // Net 9,75 € a voucher: the département 2 × 9,75 + 3 × 5,85 = 37,05 €; the CAF 3 × 3,90 = 11,70 €.
    let parts: Vec<(Option<i64>, i64, String)> =
        run.payouts.iter().map(|p| (p.funder_id, p.amount_cents, p.end_to_end_id.clone())).collect();
    assert_eq!(
        parts,
        vec![
            (Some(w.funder), 3705, format!("PSL-R{}-S{a}-F{}", run.id, w.funder)),
            (Some(caf), 1170, format!("PSL-R{}-S{a}-F{caf}", run.id)),
        ]
    );
    let run = runs::release(&t.db, run.id, None).await.unwrap();
    assert_eq!(natural(&t, AccountCode::site_payable(a)).await, 0);
    assert_eq!(natural(&t, AccountCode::payouts_in_transit()).await, 0, "no money passes through the operator");
    assert_eq!(natural(&t, AccountCode::funder(w.funder)).await, owed_before.0 - 3705);
    assert_eq!(natural(&t, AccountCode::funder(caf)).await, owed_before.1 - 1170);
    assert!(matches!(
        runs::sepa_file(&t.db, run.id, &party("Passerelle", None), None).await,
        Err(SettlementError::State(_))
    ));
    let debtor = runs::funder_account(&t.db, w.funder).await.unwrap().unwrap();
    let xml = runs::sepa_file(&t.db, run.id, &debtor, Some(w.funder)).await.unwrap();
    assert_valid(&xml);
    assert!(xml.contains("<CtrlSum>37.05</CtrlSum>") && xml.contains("<Nm>Departement de la Gironde</Nm>"), "{xml}");
    assert!(xml.contains("<IBAN>FR7610107001011234567890129</IBAN>"), "{xml}");
    assert_valid(
        &runs::sepa_file(&t.db, run.id, &runs::funder_account(&t.db, caf).await.unwrap().unwrap(), Some(caf))
            .await
            .unwrap(),
    );

    // The département's bank confirms (nothing moves here); the CAF's transfer comes back.
    let bank_before = natural(&t, AccountCode::bank()).await;
    runs::confirm(&t.db, run.payouts[0].id, at("2026-10-03T10:00:00Z")).await.unwrap();
    assert_eq!(natural(&t, AccountCode::bank()).await, bank_before);
    runs::record_return(&t.db, run.payouts[1].id, "AC01 IBAN erroné", at("2026-10-05T10:00:00Z")).await.unwrap();
    assert_eq!(natural(&t, AccountCode::site_payable(a)).await, 1170);
    assert_eq!(natural(&t, AccountCode::funder(caf)).await, owed_before.1, "the CAF owes it again");
    // A site whose transfer came back waits for new bank details, then the CAF pays it.
    let october = runs::prepare(&t.db, day("2026-10-31"), Cents(100), Mode::Direct, None).await.unwrap();
    assert!(october.payouts.is_empty());
    runs::release(&t.db, october.id, None).await.unwrap();
    let mut tx = t.db.begin().await.unwrap();
    sites::set_bank_account(&mut tx, a, &"FR7630006000011234567890189".parse().unwrap(), None, "Médiathèque")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let november = runs::prepare(&t.db, day("2026-11-01"), Cents(100), Mode::Direct, None).await.unwrap();
    let parts: Vec<(Option<i64>, i64)> = november.payouts.iter().map(|p| (p.funder_id, p.amount_cents)).collect();
    assert_eq!(parts, vec![(Some(caf), 1170)]);
    verified(&t).await;
}

ledger::both_engines!(a_custody_cycle, a_direct_cycle, a_draft_can_be_cancelled_and_prepared_again);
