//! Shared fixtures for end-to-end tests: a real server on a loopback port, on a fresh database
//! of either engine, with one signed-in user per organisation kind and role.
#![allow(dead_code)]

pub mod smtp;

use issuer::profiles;
use issuer::territory::Territory;
use ledger::testing::TestDb;
use passerelle::config::Config;
use passerelle::identity::{OrgKind, Role, organisations, tokens, users};
use std::collections::HashMap;
use tokio::sync::oneshot;

/// A user of the fixture, with a valid API token.
#[derive(Debug, Clone)]
pub struct Who {
    pub name: &'static str,
    pub user_id: i64,
    pub organisation_id: i64,
    pub kind: OrgKind,
    pub role: Role,
    pub token: String,
}

pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub users: HashMap<&'static str, Who>,
    pub tdb: TestDb,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _keys: tempfile::TempDir,
}

/// The organisations and users of the fixture: (name, kind, organisation label, role).
pub const PEOPLE: &[(&str, OrgKind, &str, Role)] = &[
    ("operator_manager", OrgKind::Operator, "operator", Role::Manager),
    ("operator_member", OrgKind::Operator, "operator", Role::Member),
    ("funder_a_manager", OrgKind::Funder, "funder_a", Role::Manager),
    ("funder_a_member", OrgKind::Funder, "funder_a", Role::Member),
    ("funder_b_manager", OrgKind::Funder, "funder_b", Role::Manager),
    ("prescriber_manager", OrgKind::Prescriber, "prescriber", Role::Manager),
    ("prescriber_member", OrgKind::Prescriber, "prescriber", Role::Member),
    ("site_a_manager", OrgKind::Site, "site_a", Role::Manager),
    ("site_a_member", OrgKind::Site, "site_a", Role::Member),
    ("site_b_manager", OrgKind::Site, "site_b", Role::Manager),
];

/// A valid SIRET made from 13 digits by choosing the check digit.
pub fn valid_siret(prefix13: &str) -> issuer::Siret {
    (0..10).map(|d| format!("{prefix13}{d}")).find_map(|s| s.parse().ok()).expect("a check digit fits")
}

pub fn test_config(url: &str, key_dir: &std::path::Path) -> Config {
    test_config_with(url, key_dir, &[])
}

/// The test configuration with some settings overridden.
pub fn test_config_with(url: &str, key_dir: &std::path::Path, extra: &[(&str, &str)]) -> Config {
    let url = url.to_owned();
    // Messages written as files (no SMTP server) stay in the test's temporary folder.
    let mail_dir = key_dir.join("courriels").display().to_string();
    let key_dir = key_dir.display().to_string();
    let extra: Vec<(String, String)> = extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_sources(None, &move |k| match k {
        _ if extra.iter().any(|(e, _)| e == k) => extra.iter().find(|(e, _)| e == k).map(|(_, v)| v.clone()),
        "DATABASE_URL" => Some(url.clone()),
        "PASSERELLE_KEY_DIR" => Some(key_dir.clone()),
        "PASSERELLE_MAIL_DIR" => Some(mail_dir.clone()),
        "PASSERELLE_LISTEN" => Some("127.0.0.1:0".into()),
        "PASSERELLE_BODY_LIMIT_BYTES" => Some("65536".into()),
        "PASSERELLE_SEAL_INTERVAL_MS" => Some("50".into()),
        "PASSERELLE_SETTLEMENT_SCHEDULE" => Some("off".into()),
        "PASSERELLE_OPERATOR_IBAN" => Some("FR76 3000 6000 0112 3456 7890 189".into()),
        "PASSERELLE_OPERATOR_BIC" => Some("CEPAFRPP333".into()),
        _ => None,
    })
    .expect("test configuration")
}

impl TestServer {
    /// Seeds the fixture organisations and users, then serves on 127.0.0.1 with a random port.
    pub async fn start(tdb: TestDb) -> TestServer {
        Self::start_with(tdb, &[]).await
    }

    /// Starts with some settings overridden, e.g. `[("PASSERELLE_SCANS_PER_MINUTE_PER_USER", "5")]`.
    pub async fn start_with(tdb: TestDb, settings: &[(&str, &str)]) -> TestServer {
        let keys = tempfile::tempdir().unwrap();
        issuer::keys::KeyRing::generate(keys.path()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // Links in messages point at this server, unless the test says otherwise.
        let mut settings = settings.to_vec();
        if !settings.iter().any(|(k, _)| *k == "PASSERELLE_PUBLIC_URL") {
            settings.push(("PASSERELLE_PUBLIC_URL", &base));
        }
        let config = test_config_with(&tdb.url, keys.path(), &settings);
        let mut org_ids: HashMap<&str, i64> = HashMap::new();
        let mut people = HashMap::new();
        let mut tx = tdb.db.begin().await.unwrap();
        redeemer::sites::seed_catalogue(&mut tx).await.unwrap();
        for (name, kind, org, role) in PEOPLE {
            let org_id = match org_ids.get(org) {
                Some(id) => *id,
                None => {
                    let name = format!("Organisation {org}");
                    let id = match kind {
                        OrgKind::Funder | OrgKind::Prescriber => {
                            let siret = valid_siret(&format!("{:013}", 4_400_000_000_000u64 + org_ids.len() as u64));
                            let category = if *kind == OrgKind::Funder { "departement" } else { "ccas" };
                            profiles::create(&mut tx, *kind, &name, &siret, category, Territory::new(["33"]).unwrap())
                                .await
                                .unwrap()
                                .organisation
                                .id
                        }
                        OrgKind::Site => {
                            let siret = valid_siret(&format!("{:013}", 6_600_000_000_000u64 + org_ids.len() as u64));
                            let iban = "FR7630006000011234567890189".parse().unwrap();
                            let bic = "BNPAFRPP".parse().unwrap();
                            let id = redeemer::sites::create(&mut tx, &name, &siret, &iban, &bic, "Titulaire")
                                .await
                                .unwrap();
                            redeemer::sites::add_place(
                                &mut tx,
                                id,
                                "Accueil",
                                "1 place de la Mairie",
                                &"33522".parse().unwrap(),
                                "Mo-Fr 09:00-18:00",
                            )
                            .await
                            .unwrap();
                            redeemer::sites::set_services(&mut tx, id, &["DEM-ACCOMP", "DEM-DOSSIER"]).await.unwrap();
                            let until = "2099-12-31".parse().ok();
                            redeemer::sites::decide(
                                &mut tx,
                                id,
                                redeemer::sites::Accreditation::Accredited,
                                until,
                                None,
                                "test",
                            )
                            .await
                            .unwrap();
                            id
                        }
                        _ => organisations::create(&mut tx, *kind, &name, None).await.unwrap().id,
                    };
                    org_ids.insert(org, id);
                    id
                }
            };
            // A cheap password: these accounts sign in with tokens only.
            let user =
                users::create(&mut tx, org_id, &format!("{name}@test.example"), name, *role, "not-used-password")
                    .await
                    .unwrap();
            let (_, token) = tokens::create(&mut tx, user.id, "test", None).await.unwrap();
            people.insert(
                *name,
                Who { name, user_id: user.id, organisation_id: org_id, kind: *kind, role: *role, token },
            );
        }
        tx.commit().await.unwrap();

        let (stop, stopped) = oneshot::channel::<()>();
        let db = tdb.db.clone();
        let task = tokio::spawn(async move {
            passerelle::server::serve_until(config, db, listener, async move {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        TestServer {
            base,
            client: reqwest::Client::new(),
            users: people,
            tdb,
            stop: Some(stop),
            task: Some(task),
            _keys: keys,
        }
    }

    pub fn keys_dir(&self) -> &std::path::Path {
        self._keys.path()
    }

    pub fn keys(&self) -> issuer::keys::KeyRing {
        issuer::keys::KeyRing::load(self._keys.path()).unwrap()
    }

    /// Creates, confirms and issues an order funded by `funder` (all books of `books`×`per_book`).
    pub async fn issued_order(&self, funder: i64, books: u32, per_book: u32) -> issuer::orders::Order {
        let order = self.confirmed_order(funder, books, per_book).await;
        issuer::issuance::issue(&self.tdb.db, &self.keys(), order.id, &|_, _| {}).await.unwrap();
        issuer::orders::get(&self.tdb.db, order.id).await.unwrap().unwrap()
    }

    pub async fn draft_order(&self, funder: i64, books: u32, per_book: u32) -> issuer::orders::Order {
        let new: issuer::orders::NewOrder = serde_json::from_value(serde_json::json!({
            "label": "Commande de test",
            "funders": [{"funder_id": funder, "share_bps": 10000}],
            "books": books,
            "vouchers_per_book": per_book,
            "valid_from": "2026-01-01",
            "valid_until": "2030-12-31",
            "territory": ["33"],
        }))
        .unwrap();
        let fees = issuer::orders::FeeTerms { issuance_fee_bps: 0, redemption_fee_bps: 0 };
        let mut tx = self.tdb.db.begin().await.unwrap();
        let order = issuer::orders::create(&mut tx, &new, fees, None).await.unwrap();
        tx.commit().await.unwrap();
        order
    }

    pub async fn confirmed_order(&self, funder: i64, books: u32, per_book: u32) -> issuer::orders::Order {
        let order = self.draft_order(funder, books, per_book).await;
        let mut tx = self.tdb.db.begin().await.unwrap();
        let order = issuer::orders::confirm(&mut tx, order.id).await.unwrap();
        tx.commit().await.unwrap();
        order
    }

    pub fn who(&self, name: &str) -> &Who {
        &self.users[name]
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, who: &str, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(&self.who(who).token)
    }

    /// The JSON answer of a `GET` that must succeed.
    pub async fn get_json(&self, who: &str, path: &str) -> serde_json::Value {
        let answer = self.get(who, path).send().await.unwrap();
        assert!(answer.status().is_success(), "GET {path}: {}", answer.status());
        answer.json().await.unwrap()
    }

    pub fn post(&self, who: &str, path: &str, body: serde_json::Value) -> reqwest::RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(&self.who(who).token).json(&body)
    }

    pub fn put(&self, who: &str, path: &str, body: serde_json::Value) -> reqwest::RequestBuilder {
        self.client.put(self.url(path)).bearer_auth(&self.who(who).token).json(&body)
    }

    /// Stops the server gracefully and waits for it to finish.
    pub async fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Validates a SEPA credit transfer file with xmllint against the official pain.001.001.09 XSD
/// (fetched by scripts/test.sh; a missing schema fails, never skips).
pub fn assert_valid_sepa(xml: &str) {
    let xsd = std::env::var_os("PASSERELLE_SEPA_XSD")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/target/sepa-xsd/pain.001.001.09.xsd").into());
    assert!(xsd.is_file(), "schéma {} absent : lancez scripts/test.sh (qui le télécharge)", xsd.display());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("virements.xml");
    std::fs::write(&file, xml).unwrap();
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&file)
        .output()
        .expect("xmllint (paquet libxml2-utils)");
    assert!(out.status.success(), "{}\n{xml}", String::from_utf8_lossy(&out.stderr));
}

/// The text of a PDF, read by pdftotext (poppler-utils), non-breaking spaces made plain.
pub fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).replace(['\u{a0}', '\u{202f}'], " ")
}
