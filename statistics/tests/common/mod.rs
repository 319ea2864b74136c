//! The setup shared by the tests against real databases: a world of funders, a prescriber and two
//! accredited sites in Gironde, and the steps of a book's life (issue, assign, hand over, redeem).
// Each test file uses some of these helpers, not all.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use issuer::books::{Autonomy, BeneficiaryProfile, BookSelection};
use issuer::issuance;
use issuer::orders::{self, FeeTerms, NewOrder};
use issuer::organisations::OrgKind;
use ledger::testing::TestDb;
use redeemer::outcome::Outcome;
use redeemer::redeem::{RedeemRequest, redeem};
use redeemer::sites::{self, Accreditation};
use statistics::{Month, Scope};

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

pub fn month(s: &str) -> Month {
    s.parse().unwrap()
}

pub struct World {
    pub keys: issuer::keys::KeyRing,
    pub _dir: tempfile::TempDir,
    pub funders: [i64; 2],
    pub prescriber: i64,
    /// (site, place)
    pub sites: [(i64, i64); 2],
}

pub async fn world(t: &TestDb) -> World {
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
        let place =
            sites::add_place(&mut tx, site, "Accueil", "1 place de la Mairie", &commune.parse().unwrap(), "24/7")
                .await
                .unwrap();
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
pub async fn order(t: &TestDb, w: &World, spec: serde_json::Value) -> i64 {
    let new: NewOrder = serde_json::from_value(spec).unwrap();
    let mut tx = t.db.begin().await.unwrap();
    let o =
        orders::create(&mut tx, &new, FeeTerms { issuance_fee_bps: 0, redemption_fee_bps: 250 }, None).await.unwrap();
    orders::confirm(&mut tx, o.id).await.unwrap();
    tx.commit().await.unwrap();
    issuance::issue(&t.db, &w.keys, o.id, &|_, _| {}).await.unwrap();
    o.id
}

pub async fn book_id(t: &TestDb, order: i64, n: u32) -> i64 {
    let mut conn = t.db.pool().acquire().await.unwrap();
    issuer::books::by_serial(&mut conn, &issuance::serial(order, n)).await.unwrap().unwrap().id
}

pub async fn codes(t: &TestDb, order: i64, n: u32) -> Vec<String> {
    let mut conn = t.db.pool().acquire().await.unwrap();
    let id = book_id(t, order, n).await;
    issuer::books::vouchers(&mut conn, id).await.unwrap().into_iter().map(|v| v.code).collect()
}

pub async fn assign(t: &TestDb, w: &World, order: i64, from: u32, to: u32) {
    let mut tx = t.db.begin().await.unwrap();
    issuer::books::assign(&mut tx, &BookSelection::Range { order_id: order, from, to }, w.prescriber).await.unwrap();
    tx.commit().await.unwrap();
}

/// Hands book `n` over, and dates the hand-over `when` (the application dates it now).
pub async fn hand_over(t: &TestDb, w: &World, order: i64, n: u32, profile: (&str, &str, Autonomy), when: &str) {
    let id = book_id(t, order, n).await;
    let mut tx = t.db.begin().await.unwrap();
    let p = BeneficiaryProfile {
        age_band: profile.0.into(),
        commune_insee: profile.1.parse().unwrap(),
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
pub async fn redeem_at(
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

pub fn all() -> Scope {
    Scope::Operator { funder: None }
}
