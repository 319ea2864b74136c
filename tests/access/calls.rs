//! Concrete requests for the rows of the access matrix: the objects they name and how each
//! route is called.

use super::cases::Case;
use crate::common::TestServer;
use reqwest::StatusCode;
use serde_json::json;

/// Objects the calls refer to: an issued order funded by funder A whose books are held by the
/// prescriber.
pub struct Targets {
    order: i64,
    next_book: std::sync::atomic::AtomicU32,
    next_redeemed: std::sync::atomic::AtomicU32,
    voucher: String,
}

pub async fn targets(s: &TestServer) -> Targets {
    let order = s.issued_order(s.who("funder_a_manager").organisation_id, 400, 2).await;
    let mut tx = s.tdb.db.begin().await.unwrap();
    let all = issuer::books::BookSelection::Range { order_id: order.id, from: 1, to: 400 };
    issuer::books::assign(&mut tx, &all, s.who("prescriber_manager").organisation_id).await.unwrap();
    let book = issuer::books::by_serial(&mut tx, &issuer::issuance::serial(order.id, 1)).await.unwrap().unwrap();
    let voucher = issuer::books::vouchers(&mut tx, book.id).await.unwrap()[0].code.clone();
    tx.commit().await.unwrap();
    Targets {
        order: order.id,
        next_book: std::sync::atomic::AtomicU32::new(2),
        next_redeemed: std::sync::atomic::AtomicU32::new(300),
        voucher,
    }
}

impl Targets {
    /// An unused voucher, from books that no other call touches.
    async fn fresh_voucher(&self, s: &TestServer) -> String {
        let n = self.next_redeemed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut conn = s.tdb.db.pool().acquire().await.unwrap();
        let book =
            issuer::books::by_serial(&mut conn, &issuer::issuance::serial(self.order, n)).await.unwrap().unwrap();
        issuer::books::vouchers(&mut conn, book.id).await.unwrap()[0].code.clone()
    }
}

/// Builds a concrete request for `case` as `who`. Objects named in paths belong to funder A.
pub async fn call(s: &TestServer, t: &Targets, case: &Case, who: &str, counter: usize) -> StatusCode {
    let funder_a = s.who("funder_a_manager").organisation_id;
    let prescriber = s.who("prescriber_manager").organisation_id;
    let site_a = s.who("site_a_manager").organisation_id;
    let place_a: i64 = sqlx::query_scalar("SELECT MIN(id) FROM site_places WHERE site_id = $1")
        .bind(site_a)
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    let fresh_book =
        || issuer::issuance::serial(t.order, t.next_book.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let path = match case.template {
        "/api/v1/funders/{id}" => format!("/api/v1/funders/{funder_a}"),
        "/api/v1/funders/{id}/payments" => format!("/api/v1/funders/{funder_a}/payments"),
        "/api/v1/funders/{id}/position" => format!("/api/v1/funders/{funder_a}/position"),
        "/api/v1/funders/{id}/expiring" => format!("/api/v1/funders/{funder_a}/expiring"),
        "/api/v1/orders/{id}/block" => {
            let order = s.issued_order(funder_a, 1, 1).await;
            format!("/api/v1/orders/{}/block", order.id)
        }
        "/api/v1/prescribers/{id}" => format!("/api/v1/prescribers/{prescriber}"),
        "/api/v1/orders/{id}" => format!("/api/v1/orders/{}", t.order),
        "/api/v1/orders/{id}/books.pdf" => format!("/api/v1/orders/{}/books.pdf?from=1&to=2", t.order),
        "/api/v1/orders/{id}/confirm" | "/api/v1/orders/{id}/cancel" => {
            let draft = s.draft_order(funder_a, 1, 1).await;
            case.template.replace("{id}", &draft.id.to_string())
        }
        "/api/v1/orders/{id}/issue" => {
            let confirmed = s.confirmed_order(funder_a, 1, 1).await;
            format!("/api/v1/orders/{}/issue", confirmed.id)
        }
        "/api/v1/books" => format!("/api/v1/books?order_id={}", t.order),
        "/api/v1/books/{serial}" => format!("/api/v1/books/{}", issuer::issuance::serial(t.order, 1)),
        "/api/v1/books/{serial}/cancel" => format!("/api/v1/books/{}/cancel", fresh_book()),
        "/api/v1/vouchers/{code}" => format!("/api/v1/vouchers/{}", t.voucher),
        "/api/v1/statistics/tables/{dimension}" | "/api/v1/statistics/tables/{dimension}/csv" => {
            case.template.replace("{dimension}", "age_band")
        }
        "/api/v1/catalogue/{code}/retire" => {
            let code = format!("TEST-{counter}");
            let service: redeemer::catalogue::Service = serde_json::from_value(json!({
                "code": code, "label": "Service de test", "category": "maitrise_outils_numeriques",
                "format": "individual", "duration_minutes": 30, "price_vouchers": 1,
            }))
            .unwrap();
            let mut tx = s.tdb.db.begin().await.unwrap();
            redeemer::catalogue::upsert(&mut tx, &service).await.unwrap();
            tx.commit().await.unwrap();
            format!("/api/v1/catalogue/{code}/retire")
        }
        "/api/v1/sites/{id}"
        | "/api/v1/sites/{id}/places"
        | "/api/v1/sites/{id}/services"
        | "/api/v1/sites/{id}/bank-account"
        | "/api/v1/sites/{id}/accreditation"
        | "/api/v1/sites/{id}/verify"
        | "/api/v1/sites/{id}/redemptions"
        | "/api/v1/sites/{id}/redemptions/batch" => case.template.replace("{id}", &site_a.to_string()),
        "/api/v1/invoices/{id}/pdf" => {
            passerelle::server::write_invoices(
                &s.tdb.db,
                &crate::common::test_config(&s.tdb.url, std::path::Path::new(".")),
            )
            .await
            .unwrap();
            let id: i64 = sqlx::query_scalar("SELECT MIN(id) FROM invoices WHERE funder_id = $1")
                .bind(funder_a)
                .fetch_one(s.tdb.db.pool())
                .await
                .unwrap();
            format!("/api/v1/invoices/{id}/pdf")
        }
        "/api/v1/funders/{id}/settlements/{run}/sepa.xml" => {
            // A released direct-mode run with a part paid by funder A from its account.
            let run = direct_run(s, counter, "released").await;
            sqlx::query("UPDATE settlement_runs SET mode = 'direct' WHERE id = $1")
                .bind(run)
                .execute(s.tdb.db.pool())
                .await
                .unwrap();
            let payout = direct_payout(s, run, site_a, "sent").await;
            sqlx::query("UPDATE payouts SET funder_id = $1 WHERE id = $2")
                .bind(funder_a)
                .bind(payout)
                .execute(s.tdb.db.pool())
                .await
                .unwrap();
            let mut tx = s.tdb.db.begin().await.unwrap();
            let iban = "FR7610107001011234567890129".parse().unwrap();
            settlement::runs::set_funder_account(&mut tx, funder_a, &iban, None, "Financeur A").await.unwrap();
            tx.commit().await.unwrap();
            format!("/api/v1/funders/{funder_a}/settlements/{run}/sepa.xml")
        }
        "/api/v1/funders/{id}/bank-account" => format!("/api/v1/funders/{funder_a}/bank-account"),
        "/api/v1/users/{id}/password-reset" => {
            format!("/api/v1/users/{}/password-reset", s.who("funder_a_member").user_id)
        }
        "/api/v1/settlements/{id}/statements/{site}" => {
            let run = direct_run(s, counter, "released").await;
            format!("/api/v1/settlements/{run}/statements/{site_a}")
        }
        "/api/v1/settlements/{id}" | "/api/v1/settlements/{id}/sepa.xml" | "/api/v1/settlements/{id}/report.pdf" => {
            let run = direct_run(s, counter, "released").await;
            direct_payout(s, run, site_a, "sent").await;
            case.template.replace("{id}", &run.to_string())
        }
        "/api/v1/settlements/{id}/release" | "/api/v1/settlements/{id}/cancel" => {
            case.template.replace("{id}", &direct_run(s, counter, "draft").await.to_string())
        }
        "/api/v1/payouts/{id}/confirm" | "/api/v1/payouts/{id}/return" => {
            let run = direct_run(s, counter, "released").await;
            let status = if case.template.ends_with("confirm") { "sent" } else { "confirmed" };
            case.template.replace("{id}", &direct_payout(s, run, site_a, status).await.to_string())
        }
        "/api/v1/sites/{id}/payouts" => case.template.replace("{id}", &site_a.to_string()),
        "/api/v1/anomalies/{id}/dismiss" => {
            // A fresh open flag for each attempt.
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO anomalies (kind, dedup_key, site_id, detected_at, evidence) VALUES ('burst', $1, $2, 0, '{}') RETURNING id",
            )
            .bind(format!("matrix-{counter}"))
            .bind(site_a)
            .fetch_one(s.tdb.db.pool())
            .await
            .unwrap();
            format!("/api/v1/anomalies/{id}/dismiss")
        }
        "/api/v1/organisations/{id}" => format!("/api/v1/organisations/{funder_a}"),
        "/api/v1/organisations/{id}/users" => format!("/api/v1/organisations/{funder_a}/users"),
        "/api/v1/ledger/accounts/{code}/statement" => {
            format!("/api/v1/ledger/accounts/funder:{funder_a}/statement")
        }
        "/api/v1/tokens/{id}" => {
            // A fresh token of funder_a_manager for each attempt.
            let created: serde_json::Value = s
                .post("funder_a_manager", "/api/v1/tokens", json!({"name": format!("spare {counter}")}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            format!("/api/v1/tokens/{}", created["id"])
        }
        other => other.to_owned(),
    };
    let body = match case.template {
        "/api/v1/organisations" => Some(json!({"kind": "funder", "name": format!("Financeur {counter}")})),
        "/api/v1/organisations/{id}/users" => Some(
            json!({"email": format!("new{counter}@test.example"), "display_name": "Nouvelle personne", "role": "member"}),
        ),
        "/api/v1/tokens" => Some(json!({"name": format!("jeton {counter}")})),
        "/api/v1/funders" | "/api/v1/prescribers" => Some(json!({
            "name": format!("Organisation {counter}"),
            "siret": crate::common::valid_siret(&format!("{:013}", 5_500_000_000_000u64 + counter as u64)).as_str(),
            "category": if case.template == "/api/v1/funders" { "commune" } else { "mairie" },
            "territory": ["33"],
        })),
        "/api/v1/funders/{id}" | "/api/v1/prescribers/{id}" => Some(json!({"name": format!("Nom {counter}")})),
        "/api/v1/funders/{id}/payments" => {
            Some(json!({"amount_cents": 1000, "received_on": "2026-03-01", "bank_reference": format!("REF-{counter}")}))
        }
        "/api/v1/orders" => Some(json!({
            "label": "Commande", "funders": [{"funder_id": funder_a, "share_bps": 10000}], "books": 1,
            "valid_from": "2026-01-01", "valid_until": "2027-12-31",
        })),
        "/api/v1/books/assign" => {
            Some(json!({"prescriber_id": prescriber, "books": {"serials": [issuer::issuance::serial(t.order, 1)]}}))
        }
        "/api/v1/books/{serial}/cancel" => Some(json!({"reason": "Carnet perdu"})),
        "/api/v1/anomalies/{id}/dismiss" => Some(json!({"comment": "Vérifié avec le lieu"})),
        "/api/v1/settlements" => {
            Some(json!({"period_end": (chrono::Utc::now() - chrono::Duration::days(2)).date_naive()}))
        }
        "/api/v1/payouts/{id}/confirm" => Some(json!({})),
        "/api/v1/funders/{id}/bank-account" => {
            Some(json!({"iban": "FR76 1010 7001 0112 3456 7890 129", "account_holder": "Département"}))
        }
        "/api/v1/payouts/{id}/return" => Some(json!({"reason": "AC04 compte clôturé"})),
        "/api/v1/catalogue" => Some(json!({
            "code": format!("NEW-{counter}"), "label": "Nouveau service", "category": "utilisation_securisee",
            "format": "collective", "duration_minutes": 60, "price_vouchers": 1,
        })),
        "/api/v1/sites" => Some(json!({
            "name": format!("Lieu {counter}"), "siret": crate::common::valid_siret(&format!("{:013}", 7_700_000_000_000u64 + counter as u64)).as_str(),
            "iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "BNPAFRPP", "account_holder": "Association",
        })),
        "/api/v1/sites/{id}/places" => Some(
            json!({"name": "Annexe", "address": "3 rue Victor-Hugo", "commune_insee": "33522", "opening_hours": "Sa 10:00-12:00"}),
        ),
        "/api/v1/sites/{id}/services" => Some(json!({"services": ["DEM-ACCOMP", "DEM-DOSSIER"]})),
        "/api/v1/sites/{id}/bank-account" => Some(
            json!({"iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "CEPAFRPP333", "account_holder": "Association A"}),
        ),
        "/api/v1/sites/{id}/accreditation" => {
            Some(json!({"status": "accredited", "until": "2099-12-31", "comment": "Renouvellement"}))
        }
        "/api/v1/sites/{id}/verify" => {
            Some(json!({"place_id": place_a, "service_code": "DEM-ACCOMP", "vouchers": [t.voucher]}))
        }
        "/api/v1/sites/{id}/redemptions" => Some(json!({
            "place_id": place_a, "service_code": "DEM-ACCOMP", "vouchers": [t.fresh_voucher(s).await], "idempotency_key": format!("matrix-{counter}"),
        })),
        "/api/v1/sites/{id}/redemptions/batch" => Some(json!({"items": [{
            "place_id": place_a, "service_code": "DEM-ACCOMP", "vouchers": [t.fresh_voucher(s).await],
            "idempotency_key": format!("batch-{counter}"), "performed_at": "2026-06-01T10:00:00Z",
        }]})),
        "/api/v1/distributions" => Some(json!({
            "serial": fresh_book(),
            "profile": {"age_band": "65_74", "commune_insee": "33063", "autonomy": "beginner"},
        })),
        _ => None,
    };
    let mut req = s.client.request(case.method.clone(), s.url(&path)).bearer_auth(&s.who(who).token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    if case.template == "/api/v1/sites/import" {
        req = req
            .header("content-type", "text/csv")
            .body(include_bytes!("../../redeemer/tests/data/exemple-valide.csv").to_vec());
    }
    req.send().await.unwrap().status()
}

/// A settlement run written directly (periods far in the past, one per call), so that each call
/// finds the state it needs.
async fn direct_run(s: &TestServer, counter: usize, status: &str) -> i64 {
    let day = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Duration::days(counter as i64);
    sqlx::query_scalar(
        "INSERT INTO settlement_runs (period_end, status, minimum_cents, created_at, released_at) VALUES ($1, $2, 100, 0, 0) RETURNING id",
    )
    .bind(day.to_string())
    .bind(status)
    .fetch_one(s.tdb.db.pool())
    .await
    .unwrap()
}

async fn direct_payout(s: &TestServer, run: i64, site: i64, status: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO payouts (run_id, site_id, amount_cents, iban, bic, account_holder, end_to_end_id, status) \
         VALUES ($1, $2, 1000, 'FR7630006000011234567890189', 'CEPAFRPP333', 'Lieu A', $3, $4) RETURNING id",
    )
    .bind(run)
    .bind(site)
    .bind(format!("PSL-R{run}-S{site}"))
    .bind(status)
    .fetch_one(s.tdb.db.pool())
    .await
    .unwrap()
}
