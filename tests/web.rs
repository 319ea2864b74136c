//! Signing in with a browser's requests over real HTTP, on both engines: CSRF on every form,
//! session cookies (HttpOnly, SameSite, a new value at each sign-in), lockout after repeated
//! failures, sign-out, password change ending the other sessions.

mod common;

use common::TestServer;
use ledger::testing::TestDb;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

const EMAIL: &str = "funder_a_manager@test.example";
const PASSWORD: &str = "not-used-password";

/// A client that does not follow redirects and keeps no cookies: the test handles both.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// `name=value` of the named cookie set by a response, and the whole header.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<(String, String)> {
    r.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let pair = v.split(';').next()?.trim();
        pair.starts_with(&format!("{name}=")).then(|| (pair.to_owned(), v.to_owned()))
    })
}

fn hidden_csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

/// Opens the sign-in form: its CSRF value and the matching cookie.
async fn login_form(s: &TestServer, b: &reqwest::Client) -> (String, String) {
    let r = b.get(s.url("/connexion")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (cookie, header) = set_cookie(&r, "psl_login").unwrap();
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Strict"), "{header}");
    let html = r.text().await.unwrap();
    assert!(html.contains("<html lang=\"fr\">") && html.contains("<label for=\"email\">"), "{html}");
    (hidden_csrf(&html), cookie)
}

async fn sign_in(s: &TestServer, b: &reqwest::Client, password: &str) -> reqwest::Response {
    sign_in_as(s, b, EMAIL, password).await
}

async fn sign_in_as(s: &TestServer, b: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
    let (csrf, cookie) = login_form(s, b).await;
    b.post(s.url("/connexion"))
        .header("cookie", cookie)
        .form(&[("email", email), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap()
}

async fn sign_in_out_and_csrf(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let b = browser();
    // Not signed in: the home page sends to the sign-in form.
    let home = b.get(s.url("/")).send().await.unwrap();
    assert_eq!((home.status(), home.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/connexion"));
    // A form posted without its CSRF cookie is refused.
    let (csrf, _) = login_form(&s, &b).await;
    let forged =
        b.post(s.url("/connexion")).form(&[("email", EMAIL), ("password", PASSWORD), ("csrf", &csrf)]).send().await;
    assert_eq!(forged.unwrap().status(), StatusCode::FORBIDDEN);

    let ok = sign_in(&s, &b, PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let (session, header) = set_cookie(&ok, "psl_session").unwrap();
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Lax") && header.contains("Path=/"), "{header}");
    assert!(!header.contains("Secure"), "plain http on loopback");
    // A second sign-in gives another value: a session cannot be fixed in advance.
    let (again, _) = set_cookie(&sign_in(&s, &b, PASSWORD).await, "psl_session").unwrap();
    assert_ne!(again, session);

    let page = b.get(s.url("/")).header("cookie", &session).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Bonjour funder_a_manager") && html.contains("Financeur"), "{html}");
    assert!(!html.contains("<script") && !html.contains("style="), "{html}");
    let session_csrf = hidden_csrf(&html);

    // Sign-out needs the session's CSRF token; afterwards the cookie opens nothing.
    let bad = b.post(s.url("/deconnexion")).header("cookie", &session).form(&[("csrf", "nope")]).send().await;
    assert_eq!(bad.unwrap().status(), StatusCode::FORBIDDEN);
    let out = b.post(s.url("/deconnexion")).header("cookie", &session).form(&[("csrf", &session_csrf)]).send().await;
    let out = out.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie(&out, "psl_session").unwrap().1.contains("Max-Age=0"));
    let after = b.get(s.url("/")).header("cookie", &session).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER, "a revoked session is not reused");
    // The other session is still open.
    assert_eq!(b.get(s.url("/")).header("cookie", &again).send().await.unwrap().status(), StatusCode::OK);
}

async fn lockout_after_five_failures(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let b = browser();
    for _ in 0..4 {
        let r = sign_in(&s, &b, "wrong password").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.text().await.unwrap().contains("Adresse ou mot de passe incorrect."));
    }
    let fifth = sign_in(&s, &b, "wrong password").await;
    assert!(fifth.text().await.unwrap().contains("Compte verrouillé"));
    // Locked: even the right password is refused for now.
    let right = sign_in(&s, &b, PASSWORD).await;
    assert_eq!(right.status(), StatusCode::UNAUTHORIZED);
    assert!(right.text().await.unwrap().contains("Compte verrouillé"));
    // An unknown account answers like a wrong password.
    let (csrf, cookie) = login_form(&s, &b).await;
    let unknown = b
        .post(s.url("/connexion"))
        .header("cookie", cookie)
        .form(&[("email", "personne@test.example"), ("password", PASSWORD), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert!(unknown.text().await.unwrap().contains("Adresse ou mot de passe incorrect."));
}

async fn changing_the_password_ends_other_sessions(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let b = browser();
    let (here, _) = set_cookie(&sign_in(&s, &b, PASSWORD).await, "psl_session").unwrap();
    let (elsewhere, _) = set_cookie(&sign_in(&s, &b, PASSWORD).await, "psl_session").unwrap();
    let form = b.get(s.url("/mot-de-passe")).header("cookie", &here).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_csrf(&form);
    let post = |fields: [(&'static str, &'static str); 3]| {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", &csrf));
        b.post(s.url("/mot-de-passe")).header("cookie", &here).form(&all).send()
    };
    let short = post([("current", PASSWORD), ("new", "court"), ("confirm", "court")]).await.unwrap();
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text().await.unwrap().contains("12 caractères"));
    let wrong =
        post([("current", "pas le bon"), ("new", "un nouveau mot de passe"), ("confirm", "un nouveau mot de passe")]);
    assert!(wrong.await.unwrap().text().await.unwrap().contains("Mot de passe actuel incorrect."));
    let done =
        post([("current", PASSWORD), ("new", "un nouveau mot de passe"), ("confirm", "un nouveau mot de passe")]);
    assert_eq!(done.await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(b.get(s.url("/")).header("cookie", &here).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(b.get(s.url("/")).header("cookie", &elsewhere).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(sign_in(&s, &b, PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(&s, &b, "un nouveau mot de passe").await.status(), StatusCode::SEE_OTHER);
}

/// The operator resets a locked-out user's password: a one-time password, the lock lifted, the
/// old password and the old sessions gone.
async fn the_operator_resets_a_password(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let b = browser();
    let (session, _) = set_cookie(&sign_in(&s, &b, PASSWORD).await, "psl_session").unwrap();
    for _ in 0..5 {
        sign_in(&s, &b, "wrong password").await;
    }
    let user = s.who("funder_a_manager").user_id;
    let refused = s.post("funder_a_manager", &format!("/api/v1/users/{user}/password-reset"), serde_json::json!({}));
    assert_eq!(refused.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let reset: serde_json::Value = s
        .post("operator_manager", &format!("/api/v1/users/{user}/password-reset"), serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let one_time = reset["one_time_password"].as_str().unwrap().to_owned();
    assert_eq!(b.get(s.url("/")).header("cookie", &session).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(sign_in(&s, &b, PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(&s, &b, &one_time).await.status(), StatusCode::SEE_OTHER, "unlocked, new password");
}

/// A site's member records a passage in the browser: each voucher checked (green or red with its
/// reason), then confirmed once, with a receipt; the same confirmation sent twice records once.
async fn a_passage_through_the_site_page(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let b = browser();
    let (funder, _) = set_cookie(&sign_in(&s, &b, PASSWORD).await, "psl_session").unwrap();
    assert_eq!(
        b.get(s.url("/passage")).header("cookie", &funder).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let signed = sign_in_as(&s, &b, "site_a_member@test.example", PASSWORD).await;
    let (cookie, _) = set_cookie(&signed, "psl_session").unwrap();
    let home = b.get(s.url("/")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("href=\"/passage\""), "{home}");
    let page = b.get(s.url("/passage")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Accompagnement à une démarche en ligne — 1 chèque(s)"), "{page}");
    let csrf = hidden_csrf(&page);
    let place: i64 = sqlx::query_scalar("SELECT MIN(id) FROM site_places WHERE site_id = $1")
        .bind(s.who("site_a_member").organisation_id)
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    let order = s.issued_order(s.who("funder_a_manager").organisation_id, 1, 2).await;
    let mut conn = s.tdb.db.pool().acquire().await.unwrap();
    let book = issuer::books::by_serial(&mut conn, &issuer::issuance::serial(order.id, 1)).await.unwrap().unwrap();
    let code = issuer::books::vouchers(&mut conn, book.id).await.unwrap()[0].code.clone();
    drop(conn);
    let place = place.to_string();
    let verify = |codes: String| {
        b.post(s.url("/passage/verifier"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("place", &place), ("service", "DEM-ACCOMP"), ("codes", &codes)])
            .send()
    };
    let bad = verify("ABCD-EFGH-JKMN-P".into()).await.unwrap().text().await.unwrap();
    assert!(bad.contains("class=\"ko\"") && !bad.contains("Confirmer le passage"), "{bad}");
    let good = verify(format!("{}\n", code.to_lowercase())).await.unwrap().text().await.unwrap();
    assert!(good.contains("valable (10,00") && good.contains("Confirmer le passage"), "{good}");
    let key_at = good.find("name=\"key\" value=\"").unwrap() + 18;
    let key = good[key_at..].split('"').next().unwrap().to_owned();
    let confirm = || {
        b.post(s.url("/passage/confirmer"))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("place", &place),
                ("service", "DEM-ACCOMP"),
                ("codes", &code),
                ("key", &key),
                ("result", "skill_acquired"),
                ("autonomy_before", "1"),
                ("autonomy_after", "3"),
            ])
            .send()
    };
    let wrong = b
        .post(s.url("/passage/confirmer"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("place", &place),
            ("service", "DEM-ACCOMP"),
            ("codes", &code),
            ("key", "another-key"),
            ("result", "referred"),
            ("autonomy_before", "9"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text().await.unwrap().contains("de 1 à 4"));
    let receipt = confirm().await.unwrap().text().await.unwrap();
    assert!(receipt.contains("Passage enregistré") && receipt.contains("1 chèque(s), 10,00"), "{receipt}");
    let again = confirm().await.unwrap().text().await.unwrap();
    assert!(again.contains("Passage enregistré"), "a retried confirmation answers the same: {again}");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM redemptions").fetch_one(s.tdb.db.pool()).await.unwrap();
    assert_eq!(n, 1);
    let outcome: (String, i64, i64) =
        sqlx::query_as("SELECT outcome, autonomy_before, autonomy_after FROM redemptions")
            .fetch_one(s.tdb.db.pool())
            .await
            .unwrap();
    assert_eq!(outcome, ("skill_acquired".to_owned(), 1, 3), "the outcome given on the page is recorded");
    let forged = b
        .post(s.url("/passage/confirmer"))
        .header("cookie", &cookie)
        .form(&[("csrf", "x"), ("place", &place), ("service", "DEM-ACCOMP"), ("codes", &code), ("key", "k")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

/// A prescriber hands a book over: the first voucher, an age band, the commune found by name or
/// postcode (a list when several match), the autonomy level; nothing that identifies the person.
async fn a_book_handed_over_by_a_prescriber(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let b = browser();
    let prescriber = s.who("prescriber_member").organisation_id;
    let order = s.issued_order(s.who("funder_a_manager").organisation_id, 2, 3).await;
    let mut tx = s.tdb.db.begin().await.unwrap();
    let all = issuer::books::BookSelection::Range { order_id: order.id, from: 1, to: 1 };
    issuer::books::assign(&mut tx, &all, prescriber).await.unwrap();
    tx.commit().await.unwrap();
    let mut conn = s.tdb.db.pool().acquire().await.unwrap();
    let first = |n: u32| {
        let serial = issuer::issuance::serial(order.id, n);
        async move { serial }
    };
    let mine = issuer::books::by_serial(&mut conn, &first(1).await).await.unwrap().unwrap();
    let other = issuer::books::by_serial(&mut conn, &first(2).await).await.unwrap().unwrap();
    let code = issuer::books::vouchers(&mut conn, mine.id).await.unwrap()[0].code.clone();
    let not_mine = issuer::books::vouchers(&mut conn, other.id).await.unwrap()[0].code.clone();
    drop(conn);

    let (cookie, _) =
        set_cookie(&sign_in_as(&s, &b, "prescriber_member@test.example", PASSWORD).await, "psl_session").unwrap();
    let home = b.get(s.url("/")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("href=\"/remise\""), "{home}");
    let page = b.get(s.url("/remise")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_csrf(&page);
    let post = |voucher: String, commune: &'static str| {
        b.post(s.url("/remise"))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("voucher", voucher.as_str()),
                ("age_band", "75_et_plus"),
                ("commune", commune),
                ("autonomy", "excluded"),
            ])
            .send()
    };
    let several = post(code.clone(), "Saint-Médard").await.unwrap().text().await.unwrap();
    assert!(
        several.contains("Plusieurs communes correspondent") && several.contains("<select id=\"commune\""),
        "{several}"
    );
    let none = post(code.clone(), "Zzzyx").await.unwrap();
    assert_eq!(none.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let foreign = post(not_mine, "33400").await.unwrap().text().await.unwrap();
    assert!(foreign.contains("ne fait pas partie de ceux que vous avez reçus"), "{foreign}");
    let done = post(code.clone(), "33400").await.unwrap().text().await.unwrap();
    assert!(done.contains(&format!("Carnet {} remis (Talence)", mine.serial)), "{done}");
    let (status, commune, age): (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT status, commune_insee, age_band FROM books WHERE id = $1")
            .bind(mine.id)
            .fetch_one(s.tdb.db.pool())
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), commune.as_deref(), age.as_deref()),
        ("distributed", Some("33522"), Some("75_et_plus"))
    );
    let twice = post(code, "33400").await.unwrap();
    assert_eq!(twice.status(), StatusCode::UNPROCESSABLE_ENTITY, "a book is handed over once");
    let (funder, _) = set_cookie(&sign_in(&s, &b, PASSWORD).await, "psl_session").unwrap();
    assert_eq!(b.get(s.url("/remise")).header("cookie", &funder).send().await.unwrap().status(), StatusCode::FORBIDDEN);
}

/// The operator's home says what waits: sites to accredit, anomalies, orders to issue,
/// settlements to release.
async fn the_operator_home_lists_what_waits(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let b = browser();
    let (cookie, _) =
        set_cookie(&sign_in_as(&s, &b, "operator_manager@test.example", PASSWORD).await, "psl_session").unwrap();
    let home = || async { b.get(s.url("/")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap() };
    let before = home().await;
    assert!(before.contains("À traiter"), "{before}");
    let waiting_sites: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sites WHERE status = 'pending'")
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    assert_eq!(before.contains("Rien n'attend."), waiting_sites == 0, "{before}");
    let mut tx = s.tdb.db.begin().await.unwrap();
    redeemer::sites::create_pending(&mut tx, "Association en attente", &common::valid_siret("7843912500001"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    s.confirmed_order(s.who("funder_a_manager").organisation_id, 1, 1).await;
    sqlx::query("INSERT INTO anomalies (kind, dedup_key, site_id, detected_at, evidence) VALUES ('burst', 'web-1', NULL, 0, '{}')")
        .execute(s.tdb.db.pool())
        .await
        .unwrap();
    sqlx::query("INSERT INTO settlement_runs (period_end, status, minimum_cents, created_at) VALUES ('2026-10-31', 'draft', 1000, 0)")
        .execute(s.tdb.db.pool())
        .await
        .unwrap();
    let after = home().await;
    for item in [
        format!("{} lieu(x) en attente d&#39;agrément", waiting_sites + 1),
        "1 anomalie(s) à examiner".to_owned(),
        "1 commande(s) confirmée(s) à émettre".to_owned(),
        "1 règlement(s) à valider".to_owned(),
    ] {
        assert!(after.contains(&item), "« {item} » in {after}");
    }
    let (funder, _) = set_cookie(&sign_in(&s, &b, PASSWORD).await, "psl_session").unwrap();
    let funder_home = b.get(s.url("/")).header("cookie", &funder).send().await.unwrap().text().await.unwrap();
    assert!(!funder_home.contains("À traiter"), "{funder_home}");
}

/// A funder's home: its orders, those ending soon, its invoices, downloadable by its own users.
async fn the_funder_home_shows_orders_and_invoices(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let b = browser();
    let order = s.issued_order(s.who("funder_a_manager").organisation_id, 2, 5).await;
    let soon = (chrono::Utc::now() + chrono::Duration::days(10)).date_naive();
    sqlx::query("UPDATE orders SET valid_until = $1 WHERE id = $2")
        .bind(soon.to_string())
        .bind(order.id)
        .execute(s.tdb.db.pool())
        .await
        .unwrap();
    let (cookie, _) = set_cookie(&sign_in(&s, &b, PASSWORD).await, "psl_session").unwrap();
    let home = b.get(s.url("/")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(home.contains(&format!("n°{} — Commande de test — émise — 10 chèque(s)", order.id)), "{home}");
    assert!(home.contains("Échéances dans les 30 jours") && home.contains("10 chèque(s) encore actifs"), "{home}");
    let at = home.find("href=\"/factures/").expect("an invoice link") + 16;
    let id = home[at..].split('"').next().unwrap().to_owned();
    assert!(home.contains("Facture F"), "{home}");
    let pdf = b.get(s.url(&format!("/factures/{id}"))).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(common::pdf_text(&pdf.bytes().await.unwrap()).contains("Facture F"));
    let (other, _) =
        set_cookie(&sign_in_as(&s, &b, "funder_b_manager@test.example", PASSWORD).await, "psl_session").unwrap();
    let refused = b.get(s.url(&format!("/factures/{id}"))).header("cookie", &other).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let anonymous = b.get(s.url(&format!("/factures/{id}"))).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
}

/// The working pages ask the API as the signed-in person: a form needs the session's CSRF token,
/// a person gets exactly what their API policy gives (a funder cannot create an order through a
/// page), pages of other organisations are not shown, and the scan page's scripts need the token
/// in a header.
async fn working_pages_keep_the_api_rules(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let b = browser();
    let (session, _) = set_cookie(&sign_in(&s, &b, PASSWORD).await, "psl_session").unwrap();
    let page = b.get(s.url("/commandes")).header("cookie", &session).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<h1>Commandes</h1>") && !html.contains("Créer la commande"),
        "a funder sees no creation form"
    );
    let csrf = hidden_csrf(&b.get(s.url("/")).header("cookie", &session).send().await.unwrap().text().await.unwrap());
    let order = [
        ("act", "order.create"),
        ("back", "/commandes"),
        ("label", "Commande forcée"),
        ("funder_id", "1"),
        ("books", "1"),
        ("face_value", "10,00"),
        ("valid_from", "2027-01-01"),
        ("valid_until", "2027-12-31"),
    ];
    // Without the CSRF token: refused before anything.
    let r = b.post(s.url("/action")).header("cookie", &session).form(&order).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // With it: the use case's policy answers (operator managers only).
    let mut with_token = order.to_vec();
    with_token.push(("csrf", &csrf));
    let r = b.post(s.url("/action")).header("cookie", &session).form(&with_token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("role=\"alert\""));
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(s.tdb.db.pool()).await.unwrap();
    assert_eq!(orders, 0, "nothing created");
    // Only known actions.
    for value in ["order.delete", "../connexion", ""] {
        let mut form = with_token.clone();
        form.retain(|(k, _)| *k != "act");
        form.push(("act", value));
        let r = b.post(s.url("/action")).header("cookie", &session).form(&form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "act={value}");
    }
    // Another site's page is not shown; an unknown page is not a page.
    let site_b = s.who("site_b_manager").organisation_id;
    let r = b.get(s.url(&format!("/lieux/{site_b}"))).header("cookie", &session).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Documents only from the API, only as the signed-in person.
    for path in ["/telecharger?chemin=/connexion", "/telecharger?chemin=/api/v1/organisations"] {
        let r = b.get(s.url(path)).header("cookie", &session).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    // A site's scripts: the CSRF token goes in a header.
    let (site_session, _) =
        set_cookie(&sign_in_as(&s, &b, "site_a_member@test.example", PASSWORD).await, "psl_session").unwrap();
    let site_csrf =
        hidden_csrf(&b.get(s.url("/")).header("cookie", &site_session).send().await.unwrap().text().await.unwrap());
    let r = b.post(s.url("/passage/decoder")).header("cookie", &site_session).body("x").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = b
        .post(s.url("/passage/decoder"))
        .header("cookie", &site_session)
        .header("x-csrf-token", &site_csrf)
        .body("pas une image")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("illisible"));
    let r = b
        .post(s.url("/passage/synchroniser"))
        .header("cookie", &site_session)
        .header("x-csrf-token", &site_csrf)
        .json(&serde_json::json!({"items": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "an empty batch is refused by the API");
    // The funder's session is not a site's.
    let r = b
        .post(s.url("/passage/synchroniser"))
        .header("cookie", &session)
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"items": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

/// The public check page of a valid voucher lists where to use it: the accredited places of its
/// territory, with address, commune, opening hours in French and services; a suspended site is
/// not listed.
async fn the_check_page_lists_where_to_go(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let order = s.issued_order(s.who("funder_a_manager").organisation_id, 1, 1).await;
    let printed = issuer::print_run::books(&s.tdb.db, &order, &s.base, 1, 1).await.unwrap();
    let site_b = s.who("site_b_manager").organisation_id;
    let mut tx = s.tdb.db.begin().await.unwrap();
    redeemer::sites::decide(&mut tx, site_b, redeemer::sites::Accreditation::Suspended, None, None, "contrôle")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let token = printed[0].vouchers[0].qr_payload.rsplit('/').next().unwrap().to_owned();
    let html = browser().get(s.url(&format!("/V/{token}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Où l&#39;utiliser") || html.contains("Où l'utiliser"), "{html}");
    assert!(html.contains("<strong>Organisation site_a</strong>"), "{html}");
    assert!(!html.contains("<strong>Organisation site_b</strong>"), "a suspended site is not listed: {html}");
    assert!(html.contains("1 place de la Mairie, Talence"), "{html}");
    assert!(html.contains("Ouvert : du lundi au vendredi 09:00-18:00"), "{html}");
    assert!(html.contains("À utiliser au plus tard le"), "{html}");
}

ledger::both_engines!(
    the_check_page_lists_where_to_go,
    working_pages_keep_the_api_rules,
    the_funder_home_shows_orders_and_invoices,
    the_operator_home_lists_what_waits,
    a_book_handed_over_by_a_prescriber,
    a_passage_through_the_site_page,
    sign_in_out_and_csrf,
    lockout_after_five_failures,
    changing_the_password_ends_other_sessions,
    the_operator_resets_a_password
);
