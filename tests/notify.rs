//! Transactional email through a real SMTP server (aiosmtpd, started by the tests), on both
//! engines: « mot de passe oublié » from the sign-in page to a new password, once; the same
//! answer for an unknown address; expired links refused; the outbox row in the transaction of its
//! change; a delivery refused while the server is down, retried once it is up; `.eml` files
//! when no SMTP server is configured; the operator's page and the metrics; a server killed
//! between the commit and the delivery loses nothing.

mod common;

use common::TestServer;
use common::smtp::{self, SmtpServer};
use ledger::testing::TestDb;
use passerelle::app::{App, Caller};
use passerelle::identity::Role;
use passerelle::notify::{outbox, sender, transport::Transport};
use reqwest::StatusCode;
use reqwest::redirect::Policy;

const EMAIL: &str = "funder_a_manager@test.example";
const NEW_PASSWORD: &str = "un mot de passe tout neuf";

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// The `name=value` pair a response sets for cookie `name`.
fn cookie_of(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().filter(|p| p.starts_with(&format!("{name}="))).map(str::to_owned))
        .unwrap_or_else(|| panic!("no cookie {name}"))
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no field {name} in {html}")) + marker.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// Opens a page with a recovery form: its CSRF value, the cookie, the HTML.
async fn open(s: &TestServer, b: &reqwest::Client, path: &str) -> (String, String, StatusCode, String) {
    open_at(&s.base, b, path).await
}

async fn open_at(base: &str, b: &reqwest::Client, path: &str) -> (String, String, StatusCode, String) {
    let r = b.get(format!("{base}{path}")).send().await.unwrap();
    let status = r.status();
    let cookie = cookie_of(&r, "psl_recovery");
    let html = r.text().await.unwrap();
    let csrf = if html.contains("name=\"csrf\"") { hidden(&html, "csrf") } else { String::new() };
    (csrf, cookie, status, html)
}

/// Asks for a link for `email`: the status and the page's text without its CSRF values.
async fn forgot(s: &TestServer, b: &reqwest::Client, email: &str) -> (StatusCode, String) {
    forgot_at(&s.base, b, email).await
}

async fn forgot_at(base: &str, b: &reqwest::Client, email: &str) -> (StatusCode, String) {
    let (csrf, cookie, _, _) = open_at(base, b, "/mot-de-passe-oublie").await;
    let r = b
        .post(format!("{base}/mot-de-passe-oublie"))
        .header("cookie", cookie)
        .form(&[("email", email), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

/// Chooses a password with a link (its path and query). A link that no longer works shows no
/// form: the post is made anyway, with a CSRF value from another page.
async fn choose(s: &TestServer, b: &reqwest::Client, link_path: &str, password: &str) -> (StatusCode, String) {
    let token = link_path.split("jeton=").nth(1).unwrap();
    let (csrf, _, _, html) = open(s, b, link_path).await;
    let csrf = if csrf.is_empty() {
        open(s, b, "/mot-de-passe-oublie").await.0
    } else {
        assert_eq!(hidden(&html, "jeton"), token);
        csrf
    };
    let r = b
        .post(s.url("/nouveau-mot-de-passe"))
        .header("cookie", format!("psl_recovery={csrf}"))
        .form(&[("csrf", csrf.as_str()), ("jeton", token), ("new", password), ("confirm", password)])
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

async fn sign_in(s: &TestServer, b: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
    let r = b.get(s.url("/connexion")).send().await.unwrap();
    let cookie = cookie_of(&r, "psl_login");
    let html = r.text().await.unwrap();
    assert!(html.contains("href=\"/mot-de-passe-oublie\""), "the sign-in page links to « mot de passe oublié »");
    let csrf = hidden(&html, "csrf");
    b.post(s.url("/connexion"))
        .header("cookie", cookie)
        .form(&[("email", email), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap()
}

/// The page's words, without the values that change at every answer (CSRF).
fn words(html: &str) -> String {
    html.lines().filter(|l| !l.contains("name=\"csrf\"")).collect::<Vec<_>>().join("\n")
}

async fn outbox_rows(db: &ledger::Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox_messages").fetch_one(db.pool()).await.unwrap()
}

async fn forgot_password_end_to_end(tdb: TestDb) {
    let mail = SmtpServer::start().await;
    let mut s = TestServer::start_with(tdb, &[("PASSERELLE_SMTP_URL", &mail.url())]).await;
    let b = browser();

    // An unknown address and a known one get the same page; only the known one gets a message.
    let (unknown_status, unknown_page) = forgot(&s, &b, "personne@nulle-part.example").await;
    let (known_status, known_page) = forgot(&s, &b, EMAIL).await;
    assert_eq!((unknown_status, known_status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(words(&unknown_page), words(&known_page));
    assert!(known_page.contains("Si un compte existe pour cette adresse"), "{known_page}");
    let received = mail.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(mail.files().len(), 1, "no message for the unknown address");
    assert_eq!(outbox_rows(&s.tdb.db).await, 1);

    let m = &received[0];
    assert!(m.defects.is_empty(), "{:?}", m.defects);
    assert_eq!(m.subject, "Passerelle : choisir un nouveau mot de passe");
    assert_eq!((m.to.as_str(), m.envelope_to.as_str()), (EMAIL, EMAIL));
    assert_eq!(m.content_type, "multipart/alternative");
    let stored = outbox::list(&s.tdb.db, 10).await.unwrap().remove(0);
    assert_eq!(m.message_id, format!("<{}@localhost>", stored.message_id), "Message-ID is the stored id");
    assert_eq!(stored.state(), outbox::State::Sent);
    assert_eq!(stored.attempts, 1);
    let text = m.text.as_deref().unwrap();
    let html = m.html.as_deref().unwrap();
    assert!(text.contains("Vous recevez ce message parce qu") && text.contains("Mot de passe oublié"), "{text}");
    assert!(html.contains("<html lang=\"fr\">"), "{html}");
    let link = smtp::link_in(text, &format!("{}/nouveau-mot-de-passe?jeton=", s.base));
    assert_eq!(smtp::link_in(html, &format!("{}/nouveau-mot-de-passe?jeton=", s.base)), link);
    let token = link.split("jeton=").nth(1).unwrap().to_owned();

    // Only the SHA-256 of the token is stored.
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT token_hash FROM password_tokens").fetch_all(s.tdb.db.pool()).await.unwrap();
    assert_eq!(hashes, vec![passerelle::identity::tokens::digest(&token)]);
    let audit: String =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'user.password_reset_requested'")
            .fetch_one(s.tdb.db.pool())
            .await
            .unwrap();
    assert!(!audit.contains(&token));

    // The link opens the form and sets the password, once.
    let path = link.strip_prefix(&s.base).unwrap().to_owned();
    let (_, _, status, page) = open(&s, &b, &path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, page) = choose(&s, &b, &path, "court").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a weak password is refused: {page}");
    let (status, page) = choose(&s, &b, &path, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("votre mot de passe est enregistré"), "{page}");
    assert_eq!(sign_in(&s, &b, EMAIL, NEW_PASSWORD).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(sign_in(&s, &b, EMAIL, "not-used-password").await.status(), StatusCode::UNAUTHORIZED);
    // A second use is refused, and the page says why.
    let (status, page) = choose(&s, &b, &path, "encore un autre mot de passe").await;
    assert_eq!(status, StatusCode::GONE, "{page}");
    assert!(page.contains("n'est plus valable"), "{page}");
    let (_, _, status, _) = open(&s, &b, &path).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(sign_in(&s, &b, EMAIL, NEW_PASSWORD).await.status(), StatusCode::SEE_OTHER);

    // An expired link is refused.
    assert_eq!(forgot(&s, &b, EMAIL).await.0, StatusCode::OK);
    let second = mail.wait_for(2).await.remove(1);
    let link = smtp::link_in(second.text.as_deref().unwrap(), &format!("{}/nouveau-mot-de-passe?jeton=", s.base));
    let path = link.strip_prefix(&s.base).unwrap().to_owned();
    let mut tx = s.tdb.db.begin().await.unwrap();
    sqlx::query("UPDATE password_tokens SET expires_at = created_at - 1 WHERE used_at IS NULL")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(open(&s, &b, &path).await.2, StatusCode::GONE);
    assert_eq!(choose(&s, &b, &path, "expiré mais essayé quand même").await.0, StatusCode::GONE);
    assert_eq!(sign_in(&s, &b, EMAIL, NEW_PASSWORD).await.status(), StatusCode::SEE_OTHER);

    // The operator sees the messages and their delivery; /metrics counts them.
    let r = sign_in(&s, &b, "operator_member@test.example", "not-used-password").await;
    let session = cookie_of(&r, "psl_session");
    let page = b.get(s.url("/courriels")).header("cookie", &session).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("Passerelle : choisir un nouveau mot de passe") && page.contains("remis"), "{page}");
    assert!(!page.contains(&token), "the operator's page never shows a link");
    let r = sign_in(&s, &b, "funder_a_member@test.example", "not-used-password").await;
    let funder = cookie_of(&r, "psl_session");
    let refused = b.get(s.url("/courriels")).header("cookie", &funder).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND, "only the operator reads the outbox");
    assert!(refused.text().await.unwrap().contains("Votre rôle ne permet pas cette action"));
    let metrics = b.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("outbox_messages{state=\"sent\"}"), "{metrics}");
    assert!(metrics.contains("mail_delivered_total"), "{metrics}");

    // Rate limited per client address: a burst of 5 requests, then one more every 12 s; beyond, 429.
    let mut statuses = Vec::new();
    while statuses.len() < 10 && statuses.last() != Some(&StatusCode::TOO_MANY_REQUESTS) {
        statuses.push(forgot(&s, &b, "personne@nulle-part.example").await.0);
    }
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    assert!(statuses[..statuses.len() - 1].iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    s.stop().await;
}

/// The message is written by the transaction of its change: rolled back, nothing is left.
async fn the_outbox_row_is_in_the_transaction(tdb: TestDb) {
    let message = passerelle::notify::messages::password_reset("a@b.example", "A", "http://x/l?jeton=t", 60);
    let mut tx = tdb.db.begin().await.unwrap();
    outbox::enqueue(&mut tx, &message).await.unwrap();
    passerelle::audit::record(
        &mut tx,
        passerelle::audit::Actor::SYSTEM,
        "test.change",
        "test",
        1,
        serde_json::json!({}),
    )
    .await
    .unwrap();
    drop(tx); // never committed: rolled back
    assert_eq!(outbox_rows(&tdb.db).await, 0, "rolled back: no message");

    // Through a use case: an invitation that fails (the address is taken) leaves no message.
    let keys = tempfile::tempdir().unwrap();
    issuer::keys::KeyRing::generate(keys.path()).unwrap();
    let config = common::test_config(&tdb.url, keys.path());
    let app = App::new(tdb.db.clone(), config, issuer::keys::KeyRing::load(keys.path()).unwrap());
    let org = {
        let mut tx = tdb.db.begin().await.unwrap();
        let o =
            passerelle::identity::organisations::create(&mut tx, passerelle::identity::OrgKind::Operator, "Op", None)
                .await
                .unwrap();
        tx.commit().await.unwrap();
        o.id
    };
    let system = Caller::system();
    passerelle::app::organisations::invite(&app, &system, org, "nouvelle@test.example", "Nouvelle", Role::Member)
        .await
        .unwrap();
    assert_eq!(outbox_rows(&tdb.db).await, 1, "committed: one message");
    let again =
        passerelle::app::organisations::invite(&app, &system, org, "nouvelle@test.example", "Autre", Role::Member)
            .await;
    assert!(again.is_err());
    assert_eq!(outbox_rows(&tdb.db).await, 1, "refused: no second message");
}

/// The SMTP server is down at the first attempt: the error is kept, the message waits (backoff)
/// and is delivered once the server is up — once.
async fn retried_until_the_server_answers(tdb: TestDb) {
    let port = smtp::free_port();
    let transport = Transport::smtp(&format!("smtp://127.0.0.1:{port}")).unwrap();
    let from: lettre::message::Mailbox = "Passerelle <passerelle@operateur.example>".parse().unwrap();
    let message = passerelle::notify::messages::password_reset("marie@test.example", "Marie", "http://x/l?jeton=t", 60);
    let mut tx = tdb.db.begin().await.unwrap();
    let id = outbox::enqueue(&mut tx, &message).await.unwrap();
    tx.commit().await.unwrap();

    let now = ledger::time::now();
    let report = sender::deliver_due(&tdb.db, &transport, &from, now).await.unwrap();
    assert_eq!(report, sender::Report { sent: 0, failed: 1 });
    let row = outbox::list(&tdb.db, 1).await.unwrap().remove(0);
    assert_eq!((row.state(), row.attempts), (outbox::State::Failing, 1));
    assert!(row.last_error.as_deref().is_some_and(|e| !e.is_empty()), "{row:?}");
    assert_eq!(row.next_attempt_at, now + sender::backoff(1));
    // Not due again before its backoff.
    let report = sender::deliver_due(&tdb.db, &transport, &from, now).await.unwrap();
    assert_eq!(report, sender::Report::default());

    let mail = SmtpServer::start_on(port).await;
    let later = now + sender::backoff(1) + chrono::Duration::seconds(1);
    let report = sender::deliver_due(&tdb.db, &transport, &from, later).await.unwrap();
    assert_eq!(report, sender::Report { sent: 1, failed: 0 });
    let received = mail.wait_for(1).await;
    assert_eq!(received[0].message_id, format!("<{id}@operateur.example>"));
    assert_eq!(received[0].from, "Passerelle <passerelle@operateur.example>");
    let row = outbox::list(&tdb.db, 1).await.unwrap().remove(0);
    assert_eq!((row.state(), row.attempts, row.last_error), (outbox::State::Sent, 2, None));
    // Sent messages are never sent again.
    let much_later = later + chrono::Duration::hours(5);
    assert_eq!(sender::deliver_due(&tdb.db, &transport, &from, much_later).await.unwrap(), sender::Report::default());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(mail.files().len(), 1);
}

/// Without an SMTP server, messages are `.eml` files named by their id, which a standard parser
/// reads; the invitation's link chooses the password, once.
async fn files_when_no_smtp_server(tdb: TestDb) {
    let keys = tempfile::tempdir().unwrap();
    issuer::keys::KeyRing::generate(keys.path()).unwrap();
    let mail_dir = tempfile::tempdir().unwrap();
    let dir = mail_dir.path().join("courriels");
    let config = common::test_config_with(
        &tdb.url,
        keys.path(),
        &[
            ("PASSERELLE_MAIL_DIR", &dir.display().to_string()),
            ("PASSERELLE_MAIL_FROM", "Opérateur <ne-pas-repondre@operateur.example>"),
        ],
    );
    let app = App::new(tdb.db.clone(), config, issuer::keys::KeyRing::load(keys.path()).unwrap());
    let org = {
        let mut tx = tdb.db.begin().await.unwrap();
        let o = passerelle::identity::organisations::create(
            &mut tx,
            passerelle::identity::OrgKind::Operator,
            "Opérateur",
            None,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        o.id
    };
    let created = passerelle::app::organisations::invite(
        &app,
        &Caller::system(),
        org,
        "lea@test.example",
        "Léa Martin",
        Role::Manager,
    )
    .await
    .unwrap();
    assert!(!created.one_time_password.is_empty(), "the one-time password is still given");

    let transport = Transport::from_config(&app.config).unwrap();
    assert!(transport.describe().contains("courriels"), "{}", transport.describe());
    let report = sender::deliver_due(&tdb.db, &transport, &app.config.mail_from, ledger::time::now()).await.unwrap();
    assert_eq!(report, sender::Report { sent: 1, failed: 0 });
    let stored = outbox::list(&tdb.db, 1).await.unwrap().remove(0);
    let files = smtp::eml_files(&dir);
    assert_eq!(files, vec![dir.join(format!("{}.eml", stored.message_id))]);
    let m = smtp::parse(&files[0]);
    assert!(m.defects.is_empty(), "{:?}", m.defects);
    assert_eq!(m.subject, "Passerelle : votre compte pour Opérateur");
    assert_eq!(m.to, "lea@test.example");
    assert_eq!(m.from, "Opérateur <ne-pas-repondre@operateur.example>");
    let text = m.text.unwrap();
    assert!(text.contains("Bonjour Léa Martin") && text.contains("72 heures"), "{text}");
    assert!(m.html.unwrap().contains("Choisir mon mot de passe"));
    let link = smtp::link_in(&text, &format!("{}/nouveau-mot-de-passe?jeton=", app.config.public_url));
    let token = link.split("jeton=").nth(1).unwrap();

    let anonymous = Caller::anonymous();
    assert!(passerelle::app::passwords::link_is_valid(&app, &anonymous, token).await.unwrap());
    // Another link of the same person stops working once a password is chosen.
    let mut tx = tdb.db.begin().await.unwrap();
    let other = passerelle::identity::password_tokens::create(
        &mut tx,
        created.user.id,
        passerelle::identity::password_tokens::Purpose::Reset,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    passerelle::app::passwords::choose(&app, &anonymous, token, NEW_PASSWORD).await.unwrap();
    assert!(!passerelle::app::passwords::link_is_valid(&app, &anonymous, &other).await.unwrap());
    assert!(!passerelle::app::passwords::link_is_valid(&app, &anonymous, token).await.unwrap());
    assert!(passerelle::app::passwords::choose(&app, &anonymous, token, NEW_PASSWORD).await.is_err());
    assert!(passerelle::identity::sessions::sign_in(&tdb.db, "lea@test.example", NEW_PASSWORD).await.is_ok());
    // Nothing is due any more; a second pass writes nothing.
    let report = sender::deliver_due(&tdb.db, &transport, &app.config.mail_from, ledger::time::now()).await.unwrap();
    assert_eq!(report, sender::Report::default());
    assert_eq!(smtp::eml_files(&dir).len(), 1);
}

/// The server process is killed (SIGKILL) after the change committed and before its message
/// could be delivered (the SMTP server is down): nothing is lost. Once the SMTP server is up,
/// `passerelle mail send` delivers it, once.
async fn killed_before_delivery_loses_nothing(tdb: TestDb) {
    let keys = tempfile::tempdir().unwrap();
    issuer::keys::KeyRing::generate(keys.path()).unwrap();
    {
        let mut tx = tdb.db.begin().await.unwrap();
        let org =
            passerelle::identity::organisations::create(&mut tx, passerelle::identity::OrgKind::Operator, "Op", None)
                .await
                .unwrap();
        passerelle::identity::users::create(&mut tx, org.id, EMAIL, "Marie", Role::Manager, "un ancien mot de passe")
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let smtp_port = smtp::free_port();
    let port = smtp::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let env = |c: &mut std::process::Command| {
        c.env("DATABASE_URL", &tdb.url)
            .env("PASSERELLE_KEY_DIR", keys.path())
            .env("PASSERELLE_LISTEN", format!("127.0.0.1:{port}"))
            .env("PASSERELLE_PUBLIC_URL", &base)
            .env("PASSERELLE_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"))
            .env("PASSERELLE_SETTLEMENT_SCHEDULE", "off")
            .env("RUST_LOG", "error")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
    };
    let mut serve = std::process::Command::new(env!("CARGO_BIN_EXE_passerelle"));
    serve.arg("serve");
    env(&mut serve);
    let mut server = serve.spawn().unwrap();
    let mut up = false;
    for _ in 0..400 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    if !up {
        let _ = server.kill();
        panic!("the server did not start");
    }
    let b = browser();
    assert_eq!(forgot_at(&base, &b, EMAIL).await.0, StatusCode::OK);
    // The server tries, the SMTP server is down: the attempt fails and is recorded.
    let mut tried = None;
    for _ in 0..200 {
        let row = outbox::list(&tdb.db, 1).await.unwrap().pop();
        if row.as_ref().is_some_and(|r| r.attempts >= 1) {
            tried = row;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let row = tried.expect("the server tried to deliver");
    assert_eq!(row.state(), outbox::State::Failing);

    let mail = SmtpServer::start_on(smtp_port).await;
    // As if the backoff had elapsed.
    let mut tx = tdb.db.begin().await.unwrap();
    sqlx::query("UPDATE outbox_messages SET next_attempt_at = $1")
        .bind(ledger::time::to_micros(ledger::time::now()))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    for expected in ["1 courriel(s) remis, 0 en échec", "0 courriel(s) remis, 0 en échec"] {
        let mut send = std::process::Command::new(env!("CARGO_BIN_EXE_passerelle"));
        send.args(["mail", "send"]);
        env(&mut send);
        let out = send.output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && said.contains(expected), "{said}{}", String::from_utf8_lossy(&out.stderr));
    }
    let received = mail.wait_for(1).await;
    assert_eq!(received.len(), 1, "delivered once");
    assert_eq!(received[0].message_id, format!("<{}@localhost>", row.message_id));
    assert!(received[0].text.as_deref().unwrap().contains(&format!("{base}/nouveau-mot-de-passe?jeton=")));
}

ledger::both_engines!(
    killed_before_delivery_loses_nothing,
    forgot_password_end_to_end,
    the_outbox_row_is_in_the_transaction,
    retried_until_the_server_answers,
    files_when_no_smtp_server
);
