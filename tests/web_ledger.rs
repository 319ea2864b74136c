//! The ledger, audit trail and anomaly pages over real HTTP, on both engines: they read the use
//! cases as the signed-in person (the check of the ledger only for the operator's managers, a
//! funder only its own account, a manager only its own organisation's trail), and their forms
//! post `act=…` — the funder's bank account, the dismissal of an anomaly — with the session's
//! CSRF token, refused by the policy table when the person may not, nothing written then.

mod common;

use common::TestServer;
use ledger::testing::TestDb;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

const PASSWORD: &str = "not-used-password";
const IBAN: &str = "FR76 3000 6000 0112 3456 7890 189";

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

fn cookie(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().map(str::trim).filter(|p| p.starts_with(&format!("{name}="))))
        .expect("the cookie")
        .to_owned()
}

fn hidden_csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

/// A signed-in person: their session cookie and CSRF token.
struct Person {
    session: String,
    csrf: String,
}

async fn sign_in(s: &TestServer, b: &reqwest::Client, name: &str) -> Person {
    let form = b.get(s.url("/connexion")).send().await.unwrap();
    let login = cookie(&form, "psl_login");
    let csrf = hidden_csrf(&form.text().await.unwrap());
    let email = format!("{name}@test.example");
    let r = b
        .post(s.url("/connexion"))
        .header("cookie", login)
        .form(&[("email", email.as_str()), ("password", PASSWORD), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{name} signs in");
    let session = cookie(&r, "psl_session");
    let home = b.get(s.url("/")).header("cookie", &session).send().await.unwrap().text().await.unwrap();
    Person { csrf: hidden_csrf(&home), session }
}

async fn page(s: &TestServer, b: &reqwest::Client, p: &Person, path: &str) -> (StatusCode, String) {
    let r = b.get(s.url(path)).header("cookie", &p.session).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Posts a page action with the person's CSRF token, coming back to `back`: the status and the
/// page that comes back.
async fn act(
    s: &TestServer,
    b: &reqwest::Client,
    p: &Person,
    (name, back): (&str, &str),
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut form = vec![("csrf", p.csrf.as_str()), ("act", name), ("back", back)];
    form.extend_from_slice(fields);
    let r = b.post(s.url("/action")).header("cookie", &p.session).form(&form).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn count(s: &TestServer, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(s.tdb.db.pool()).await.unwrap()
}

async fn the_ledger_pages_follow_the_policy(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    s.issued_order(s.who("funder_a_manager").organisation_id, 1, 2).await;
    let b = browser();
    let manager = sign_in(&s, &b, "operator_manager").await;
    let (status, html) = page(&s, &b, &manager, "/grand-livre").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Balance des comptes") && html.contains("(toujours nul)"), "{html}");
    assert!(html.contains("Contrôler le grand livre"), "{html}");
    let (_, html) = page(&s, &b, &manager, "/grand-livre?verifier=1").await;
    assert!(html.contains("Aucune anomalie :"), "{html}");
    // The check is for the operator's managers only.
    let member = sign_in(&s, &b, "operator_member").await;
    let (status, html) = page(&s, &b, &member, "/grand-livre").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Balance des comptes") && !html.contains("Contrôler le grand livre"), "{html}");

    // A funder reads its own account, not another's; its managers get the bank account form.
    let funder_a = s.who("funder_a_manager").organisation_id;
    let funder_b = s.who("funder_b_manager").organisation_id;
    let funder = sign_in(&s, &b, "funder_a_manager").await;
    let (status, html) = page(&s, &b, &funder, "/releve").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("Relevé du compte funder:{funder_a}")) && html.contains("ouverture"), "{html}");
    assert!(html.contains("value=\"funder.bank_account\"") && html.contains("Compte à débiter"), "{html}");
    let (status, html) = page(&s, &b, &funder, &format!("/releve?compte=funder:{funder_b}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("n&#39;existe pas") || html.contains("n'existe pas"), "{html}");
    let (status, _) = page(&s, &b, &funder, "/grand-livre").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the trial balance is the operator's");
    let funder_member = sign_in(&s, &b, "funder_a_member").await;
    let (status, html) = page(&s, &b, &funder_member, "/releve").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("funder.bank_account"), "a member gets no bank account form");
}

async fn a_funder_sets_its_bank_account_on_the_page(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let b = browser();
    let funder_a = s.who("funder_a_manager").organisation_id.to_string();
    let account = [("funder", funder_a.as_str()), ("iban", IBAN), ("account_holder", "Département de test")];
    let accounts = "SELECT COUNT(*) FROM funder_accounts";
    let audited = "SELECT COUNT(*) FROM audit_log WHERE action = 'funder.bank_account'";

    // Without the CSRF token: refused before anything.
    let manager = sign_in(&s, &b, "funder_a_manager").await;
    let mut forged = vec![("act", "funder.bank_account"), ("back", "/releve")];
    forged.extend_from_slice(&account);
    let r = b.post(s.url("/action")).header("cookie", &manager.session).form(&forged).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A member, another funder's manager: refused by the policy, nothing written.
    let member = sign_in(&s, &b, "funder_a_member").await;
    let (status, html) = act(&s, &b, &member, ("funder.bank_account", "/releve"), &account).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Votre rôle ne permet pas cette action."), "{html}");
    let other = sign_in(&s, &b, "funder_b_manager").await;
    let (status, _) = act(&s, &b, &other, ("funder.bank_account", "/releve"), &account).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!((count(&s, accounts).await, count(&s, audited).await), (0, 0), "nothing written");
    // A wrong IBAN is said in French.
    let mut wrong = account.to_vec();
    wrong[1] = ("iban", "FR76 3000 6000 0112 3456 7890 188");
    let (status, html) = act(&s, &b, &manager, ("funder.bank_account", "/releve"), &wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("IBAN : la clé de contrôle est fausse."), "{html}");
    // The funder's manager: done, with the audit entry (IBAN masked).
    let (status, html) = act(&s, &b, &manager, ("funder.bank_account", "/releve"), &account).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("C&#39;est fait") || html.contains("C'est fait"), "{html}");
    assert_eq!((count(&s, accounts).await, count(&s, audited).await), (1, 1));
    let iban: String = sqlx::query_scalar("SELECT iban FROM funder_accounts").fetch_one(s.tdb.db.pool()).await.unwrap();
    assert_eq!(iban, IBAN.replace(' ', ""));
    let details: String = sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'funder.bank_account'")
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    assert!(!details.contains("3456"), "the IBAN is masked in the trail: {details}");
}

async fn the_operator_dismisses_an_anomaly_on_the_page(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let b = browser();
    let mut ids = Vec::new();
    for key in ["page-1", "page-2"] {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO anomalies (kind, dedup_key, site_id, detected_at, evidence) \
             VALUES ('burst', $1, NULL, 0, '{\"passages\": 40}') RETURNING id",
        )
        .bind(key)
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
        ids.push(id.to_string());
    }
    let operator = sign_in(&s, &b, "operator_member").await;
    let (status, html) = page(&s, &b, &operator, "/anomalies").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Pic d&#39;activité inhabituel") || html.contains("Pic d'activité inhabituel"), "{html}");
    assert!(html.contains("value=\"anomaly.dismiss\"") && html.contains("Commentaire"), "{html}");
    let open = "SELECT COUNT(*) FROM anomalies WHERE status = 'open'";
    let audited = "SELECT COUNT(*) FROM audit_log WHERE action = 'anomaly.dismiss'";

    // Someone else than the operator: refused, nothing written.
    let funder = sign_in(&s, &b, "funder_a_manager").await;
    let (status, html) = act(&s, &b, &funder, ("anomaly.dismiss", "/"), &[("id", &ids[0]), ("comment", "Vu")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the refusal on an error page (no page to come back to)");
    assert!(html.contains("Votre rôle ne permet pas cette action."), "{html}");
    let (status, _) = page(&s, &b, &funder, "/anomalies").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A comment is required.
    let (status, html) =
        act(&s, &b, &operator, ("anomaly.dismiss", "/anomalies"), &[("id", &ids[0]), ("comment", " ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("un commentaire est obligatoire"), "{html}");
    assert_eq!((count(&s, open).await, count(&s, audited).await), (2, 0), "nothing written");
    // Dismissed by the operator's member, with the comment in the trail.
    let (status, html) = act(
        &s,
        &b,
        &operator,
        ("anomaly.dismiss", "/anomalies"),
        &[("id", &ids[0]), ("comment", "Vérifié avec le lieu")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("est fait : anomalie n°{} classée.", ids[0])), "{html}");
    assert_eq!((count(&s, open).await, count(&s, audited).await), (1, 1));
    let by: Option<i64> = sqlx::query_scalar("SELECT dismissed_by FROM anomalies WHERE status = 'dismissed'")
        .fetch_one(s.tdb.db.pool())
        .await
        .unwrap();
    assert_eq!(by, Some(s.who("operator_member").user_id));
    let (status, _) =
        act(&s, &b, &operator, ("anomaly.dismiss", "/anomalies"), &[("id", &ids[0]), ("comment", "Encore")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "already dismissed");
}

async fn the_audit_trail_page_is_scoped_and_paged(tdb: TestDb) {
    let s = TestServer::start(tdb).await;
    let b = browser();
    let funder_a = s.who("funder_a_manager");
    let funder_b = s.who("funder_b_manager");
    let mut tx = s.tdb.db.begin().await.unwrap();
    for (i, who) in (0..105).map(|i| (i, if i % 2 == 0 { funder_a } else { funder_b })) {
        let actor = passerelle::audit::Actor { user_id: Some(who.user_id), organisation_id: Some(who.organisation_id) };
        let details = serde_json::json!({"n": i});
        passerelle::audit::record(&mut tx, actor, "test.entry", "thing", format!("t{i}"), details).await.unwrap();
    }
    tx.commit().await.unwrap();
    let operator = sign_in(&s, &b, "operator_member").await;
    let (status, html) = page(&s, &b, &operator, "/journal").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("thing t104") && html.contains("Entrées plus anciennes"), "{html}");
    let at = html.find("/journal?avant=").expect("the link to older entries") + 15;
    let before = html[at..].split('"').next().unwrap().to_owned();
    let (_, older) = page(&s, &b, &operator, &format!("/journal?avant={before}")).await;
    assert!(older.contains("thing t0") && !older.contains("thing t104"), "{older}");
    // A funder's manager sees its own organisation's entries only.
    let manager = sign_in(&s, &b, "funder_a_manager").await;
    let (status, html) = page(&s, &b, &manager, "/journal").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("thing t104") && !html.contains("thing t103"), "{html}");
    assert!(!html.contains("Entrées plus anciennes"), "53 entries fit on one page");
    let member = sign_in(&s, &b, "funder_a_member").await;
    let (status, _) = page(&s, &b, &member, "/journal").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

ledger::both_engines!(
    the_ledger_pages_follow_the_policy,
    a_funder_sets_its_bank_account_on_the_page,
    the_operator_dismisses_an_anomaly_on_the_page,
    the_audit_trail_page_is_scoped_and_paged
);
