//! Settlement over HTTP on both engines: prepare, inspect, release, download the SEPA file
//! (checked against the official XSD), confirm and return payouts; the site sees its payouts;
//! the server prepares the run of a closed period on its own.

mod common;

use common::{TestServer, assert_valid_sepa};
use ledger::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Redeems `n` vouchers of a fresh order at site A, performed at `at`.
async fn redeem_at_site_a(s: &TestServer, n: usize, at: &str) {
    let order = s.issued_order(s.who("funder_a_manager").organisation_id, 1, n as u32).await;
    let site = s.who("site_a_member").organisation_id;
    let place: i64 = sqlx::query_scalar("SELECT MIN(id) FROM site_places WHERE site_id = $1")
        .bind(site)
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    let mut conn = s.tdb.db.pool().acquire().await.unwrap();
    let book = issuer::books::by_serial(&mut conn, &issuer::issuance::serial(order.id, 1)).await.unwrap().unwrap();
    let codes = issuer::books::vouchers(&mut conn, book.id).await.unwrap();
    drop(conn);
    for (i, v) in codes.iter().enumerate() {
        let body = json!({
            "place_id": place, "service_code": "DEM-ACCOMP", "vouchers": [v.code],
            "idempotency_key": format!("settle-{}-{i}", order.id), "performed_at": at,
        });
        let r = s.post("site_a_member", &format!("/api/v1/sites/{site}/redemptions"), body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    }
}

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

/// Makes the database refuse (or accept again) the audit entries of `action`, as a full disk or a
/// broken table would.
async fn refuse_audit(s: &TestServer, action: &str, refuse: bool) {
    let statements = match (s.tdb.db.engine(), refuse) {
        (ledger::Engine::Sqlite, true) => vec![format!(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log WHEN NEW.action = '{action}' \
             BEGIN SELECT RAISE(ABORT, 'journal indisponible'); END"
        )],
        (ledger::Engine::Postgres, true) => vec![
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'journal indisponible'; END $$"
                .to_owned(),
            format!(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW \
                 WHEN (NEW.action = '{action}') EXECUTE FUNCTION refuse_audit()"
            ),
        ],
        (ledger::Engine::Sqlite, false) => vec!["DROP TRIGGER refuse_audit".to_owned()],
        (ledger::Engine::Postgres, false) => {
            vec!["DROP TRIGGER refuse_audit ON audit_log".to_owned(), "DROP FUNCTION refuse_audit()".to_owned()]
        }
    };
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(s.tdb.db.pool()).await.unwrap();
    }
}

async fn settle_release_download_confirm_return(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let site = s.who("site_a_member").organisation_id;
    // Thursday 15 October 2026, 10:00 in Paris (the place is open Mo-Fr 09:00-18:00).
    redeem_at_site_a(&s, 3, "2026-10-15T08:00:00Z").await;

    let created = s.post("operator_manager", "/api/v1/settlements", json!({"period_end": "2026-10-31"})).send().await;
    let created = created.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let run = json_of(created).await;
    let id = run["id"].as_i64().unwrap();
    assert_eq!(run["status"], "draft");
    assert_eq!(run["total_cents"], 3000);
    assert_eq!(run["payouts"][0]["site_id"], site);
    let early = s.get("operator_member", &format!("/api/v1/settlements/{id}/sepa.xml")).send().await.unwrap();
    assert_eq!(early.status(), StatusCode::CONFLICT);
    let future = s.post("operator_manager", "/api/v1/settlements", json!({"period_end": "2099-01-31"})).send().await;
    assert_eq!(future.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);

    let release = format!("/api/v1/settlements/{id}/release");
    assert_eq!(s.post("operator_member", &release, json!({})).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let released = s.post("operator_manager", &release, json!({})).send().await.unwrap();
    assert_eq!(released.status(), StatusCode::OK);
    assert_eq!(json_of(released).await["payouts"][0]["status"], "sent");
    assert_eq!(s.post("operator_manager", &release, json!({})).send().await.unwrap().status(), StatusCode::CONFLICT);

    let file = s.get("operator_member", &format!("/api/v1/settlements/{id}/sepa.xml")).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert!(file.headers()["content-type"].to_str().unwrap().starts_with("application/xml"));
    let xml = file.text().await.unwrap();
    assert_valid_sepa(&xml);
    assert!(xml.contains("<CtrlSum>30.00</CtrlSum>") && xml.contains("<IBAN>FR7630006000011234567890189</IBAN>"));

    let mine: Value =
        json_of(s.get("site_a_member", &format!("/api/v1/sites/{site}/payouts")).send().await.unwrap()).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["payout"]["amount_cents"], 3000);
    let other = s.get("site_b_manager", &format!("/api/v1/sites/{site}/payouts")).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);

    let statement =
        s.get("site_a_member", &format!("/api/v1/settlements/{id}/statements/{site}")).send().await.unwrap();
    assert_eq!(statement.status(), StatusCode::OK);
    assert_eq!(statement.headers()["content-type"], "application/pdf");
    let text = common::pdf_text(&statement.bytes().await.unwrap());
    assert!(text.contains("3 passage(s)") && text.contains("30,00 €") && text.contains("15/10/2026 10:00"), "{text}");
    let foreign = s.get("site_b_manager", &format!("/api/v1/settlements/{id}/statements/{site}")).send().await.unwrap();
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    let report = s.get("operator_member", &format!("/api/v1/settlements/{id}/report.pdf")).send().await.unwrap();
    assert!(common::pdf_text(&report.bytes().await.unwrap()).contains("1 versement(s)"));

    let payout = mine[0]["payout"]["id"].as_i64().unwrap();
    let confirm = format!("/api/v1/payouts/{payout}/confirm");
    // The change and its audit entry commit together: when the audit entry cannot be written,
    // the confirmation is not recorded either.
    refuse_audit(&s, "payout.confirm", true).await;
    let failed = s.post("operator_manager", &confirm, json!({})).send().await.unwrap();
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let status: String = sqlx::query_scalar("SELECT status FROM payouts WHERE id = $1")
        .bind(payout)
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    assert_eq!(status, "sent", "nothing recorded without its audit entry");
    refuse_audit(&s, "payout.confirm", false).await;
    assert_eq!(s.post("operator_manager", &confirm, json!({})).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let ret = format!("/api/v1/payouts/{payout}/return");
    let bad = s.post("operator_manager", &ret, json!({"reason": ""})).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::CONFLICT);
    let returned = s.post("operator_manager", &ret, json!({"reason": "AC04 compte clôturé"})).send().await.unwrap();
    assert_eq!(returned.status(), StatusCode::NO_CONTENT);
    let mine: Value =
        json_of(s.get("site_a_member", &format!("/api/v1/sites/{site}/payouts")).send().await.unwrap()).await;
    assert_eq!(
        (&mine[0]["payout"]["status"], &mine[0]["payout"]["return_reason"]),
        (&json!("returned"), &json!("AC04 compte clôturé"))
    );
    let payable = ledger::query::balance(&s.tdb.db, &ledger::AccountCode::site_payable(site)).await.unwrap();
    assert_eq!(payable.natural.0, 3000, "the returned amount is owed to the site again");
    let verify = s.get("operator_manager", "/api/v1/ledger/verify").send().await.unwrap();
    assert_eq!(verify.status(), StatusCode::OK, "{}", verify.text().await.unwrap());
    let audit: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'settlement.%' OR action LIKE 'payout.%'")
            .fetch_one(s.tdb.db.pool())
            .await
            .unwrap();
    assert_eq!(audit, 4, "prepare, release, confirm, return");
}

async fn the_server_prepares_the_closed_period(tdb: TestDb) {
    let last_month = redeemer::local_time::day(chrono::Utc::now()) - chrono::Duration::days(35);
    let s = TestServer::start_with(tdb, &[("PASSERELLE_SETTLEMENT_SCHEDULE", "monthly")]).await;
    redeem_at_site_a(&s, 2, &format!("{last_month}T10:00:00Z")).await;
    let expected = settlement::runs::Period::Monthly.last_closed_end(redeemer::local_time::day(chrono::Utc::now()));
    let mut runs = Value::Null;
    for _ in 0..100 {
        runs = json_of(s.get("operator_member", "/api/v1/settlements").send().await.unwrap()).await;
        if runs.as_array().is_some_and(|r| !r.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");
    assert_eq!(runs[0]["status"], "draft");
    assert_eq!(runs[0]["period_end"], expected.to_string());
}

/// Direct mode over HTTP: the funder gives its account and downloads the file it sends to its
/// bank; no money passes through the operator.
async fn direct_mode_end_to_end(tdb: TestDb) {
    let s = TestServer::start_with(tdb, &[("PASSERELLE_SETTLEMENT_MODE", "direct")]).await;
    let (site, funder) = (s.who("site_a_member").organisation_id, s.who("funder_a_manager").organisation_id);
    redeem_at_site_a(&s, 2, "2026-10-15T08:00:00Z").await;
    let account = json!({"iban": "FR76 1010 7001 0112 3456 7890 129", "account_holder": "Département de la Gironde"});
    let set = s.put("funder_a_member", &format!("/api/v1/funders/{funder}/bank-account"), account.clone()).send().await;
    assert_eq!(set.unwrap().status(), StatusCode::FORBIDDEN, "managers only");
    let set = s.put("funder_a_manager", &format!("/api/v1/funders/{funder}/bank-account"), account).send().await;
    assert_eq!(set.unwrap().status(), StatusCode::NO_CONTENT);
    let run = json_of(
        s.post("operator_manager", "/api/v1/settlements", json!({"period_end": "2026-10-31"})).send().await.unwrap(),
    )
    .await;
    let id = run["id"].as_i64().unwrap();
    assert_eq!(
        (&run["mode"], &run["payouts"][0]["funder_id"], &run["payouts"][0]["amount_cents"]),
        (&json!("direct"), &json!(funder), &json!(2000))
    );
    s.post("operator_manager", &format!("/api/v1/settlements/{id}/release"), json!({})).send().await.unwrap();
    let operator_file = s.get("operator_member", &format!("/api/v1/settlements/{id}/sepa.xml")).send().await.unwrap();
    assert_eq!(operator_file.status(), StatusCode::CONFLICT, "no operator file in direct mode");
    let file =
        s.get("funder_a_member", &format!("/api/v1/funders/{funder}/settlements/{id}/sepa.xml")).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    let xml = file.text().await.unwrap();
    assert_valid_sepa(&xml);
    assert!(
        xml.contains("<Dbtr><Nm>Departement de la Gironde</Nm></Dbtr>") && xml.contains("<CtrlSum>20.00</CtrlSum>"),
        "{xml}"
    );
    let other =
        s.get("funder_b_manager", &format!("/api/v1/funders/{funder}/settlements/{id}/sepa.xml")).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let in_transit = ledger::query::balance(&s.tdb.db, &ledger::AccountCode::payouts_in_transit()).await.unwrap();
    assert_eq!(in_transit.natural.0, 0);
    let payable = ledger::query::balance(&s.tdb.db, &ledger::AccountCode::site_payable(site)).await.unwrap();
    assert_eq!(payable.natural.0, 0);
}

/// Signs in with the sign-in form: a client and its session cookie.
async fn signed_in(s: &TestServer, email: &str) -> (reqwest::Client, String) {
    let b = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = b.get(s.url("/connexion")).send().await.unwrap();
    let cookie = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_owned)
            .unwrap()
    };
    let login = cookie(&form, "psl_login");
    let csrf = csrf_of(&form.text().await.unwrap());
    let signed = b
        .post(s.url("/connexion"))
        .header("cookie", login)
        .form(&[("email", email), ("password", "not-used-password"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let session = cookie(&signed, "psl_session");
    (b, session)
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

/// A working page as the signed-in person: its status and HTML.
async fn page(s: &TestServer, (b, session): &(reqwest::Client, String), path: &str) -> (StatusCode, String) {
    let r = b.get(s.url(path)).header("cookie", session).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Posts a page action (`act`) with its fields, as the signed-in person: the page shown after.
async fn act(
    s: &TestServer,
    who: &(reqwest::Client, String),
    back: &str,
    act: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let (_, home) = page(s, who, "/").await;
    let csrf = csrf_of(&home);
    let mut form = vec![("csrf", csrf.as_str()), ("act", act), ("back", back)];
    form.extend_from_slice(fields);
    let r = who.0.post(s.url("/action")).header("cookie", &who.1).form(&form).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The settlement pages call the use cases: the operator's managers prepare, release and
/// confirm with `act=` forms, its members only read; the site reads its payouts and passages.
async fn settlement_pages(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let site = s.who("site_a_member").organisation_id;
    redeem_at_site_a(&s, 3, "2026-10-15T08:00:00Z").await;
    let manager = signed_in(&s, "operator_manager@test.example").await;
    let member = signed_in(&s, "operator_member@test.example").await;

    let (status, html) = page(&s, &member, "/reglements").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Aucun règlement préparé.") && !html.contains("Préparer un règlement"), "{html}");
    let (status, html) = act(&s, &member, "/reglements", "settlement.prepare", &[("period_end", "2026-10-31")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Votre rôle ne permet pas cette action."), "{html}");

    let (status, html) =
        act(&s, &manager, "/reglements", "settlement.prepare", &[("period_end", "2026-10-31"), ("minimum", "5,00")])
            .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("C&#39;est fait : règlement n°1 préparé, 1 versement(s)"), "{html}");
    assert!(html.contains("brouillon") && html.contains("Valider"), "{html}");
    let id: i64 = sqlx::query_scalar("SELECT MAX(id) FROM settlement_runs").fetch_one(s.tdb.db.pool()).await.unwrap();
    let (_, html) = act(&s, &member, "/reglements", "settlement.release", &[("id", &id.to_string())]).await;
    assert!(html.contains("Votre rôle ne permet pas cette action."), "{html}");
    let (status, html) = act(&s, &manager, "/reglements", "settlement.release", &[("id", &id.to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("validé"), "{html}");

    let (status, html) = page(&s, &manager, &format!("/reglements/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Organisation site_a") && html.contains("Confirmer le virement"), "{html}");
    assert!(html.contains("Fichier de virements SEPA") && html.contains("statements"), "{html}");
    let (_, html) = page(&s, &member, &format!("/reglements/{id}")).await;
    assert!(!html.contains("Confirmer le virement"), "members only read: {html}");
    let payout: i64 = sqlx::query_scalar("SELECT id FROM payouts WHERE run_id = $1")
        .bind(id)
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    let back = format!("/reglements/{id}");
    let (status, html) = act(&s, &manager, &back, "payout.confirm", &[("id", &payout.to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("virement confirmé"), "{html}");
    let (status, html) = act(&s, &manager, &back, "payout.return", &[("id", &payout.to_string())]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a reason is needed: {html}");
    let audit: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT action, actor_user_id FROM audit_log WHERE action LIKE 'settlement.%' OR action LIKE 'payout.%' \
         ORDER BY id",
    )
    .fetch_all(s.tdb.db.pool())
    .await
    .unwrap();
    let manager_id = Some(s.who("operator_manager").user_id);
    assert_eq!(
        audit,
        vec![
            ("settlement.prepare".to_owned(), manager_id),
            ("settlement.release".to_owned(), manager_id),
            ("payout.confirm".to_owned(), manager_id)
        ]
    );

    let site_member = signed_in(&s, "site_a_member@test.example").await;
    let (status, html) = page(&s, &site_member, "/versements").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("30,00") && html.contains(&format!("statements%2F{site}")), "{html}");
    let (status, html) = page(&s, &site_member, "/passages").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("10,00").count(), 3, "{html}");
    // Another site's payouts are not shown (`lieu` is the operator's), the operator's are.
    let other = signed_in(&s, "site_b_manager@test.example").await;
    let (_, html) = page(&s, &other, &format!("/versements?lieu={site}")).await;
    assert!(html.contains("Aucun versement pour l&#39;instant."), "{html}");
    let (_, html) = page(&s, &member, &format!("/versements?lieu={site}")).await;
    assert!(html.contains("30,00"), "{html}");
}

ledger::both_engines!(
    settle_release_download_confirm_return,
    the_server_prepares_the_closed_period,
    direct_mode_end_to_end,
    settlement_pages
);
