//! Shared fixtures for end-to-end tests: a real server on a loopback port, on a fresh database
//! of either engine, with one signed-in user per organisation kind and role.
#![allow(dead_code)]

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

pub fn test_config(url: &str, key_dir: &std::path::Path) -> Config {
    let url = url.to_owned();
    let key_dir = key_dir.display().to_string();
    Config::from_sources(None, &move |k| match k {
        "DATABASE_URL" => Some(url.clone()),
        "PASSERELLE_KEY_DIR" => Some(key_dir.clone()),
        "PASSERELLE_LISTEN" => Some("127.0.0.1:0".into()),
        "PASSERELLE_BODY_LIMIT_BYTES" => Some("65536".into()),
        "PASSERELLE_SEAL_INTERVAL_MS" => Some("50".into()),
        _ => None,
    })
    .expect("test configuration")
}

impl TestServer {
    /// Seeds the fixture organisations and users, then serves on 127.0.0.1 with a random port.
    pub async fn start(tdb: TestDb) -> TestServer {
        let keys = tempfile::tempdir().unwrap();
        issuer::keys::KeyRing::generate(keys.path()).unwrap();
        let config = test_config(&tdb.url, keys.path());
        let mut org_ids: HashMap<&str, i64> = HashMap::new();
        let mut people = HashMap::new();
        let mut tx = tdb.db.begin().await.unwrap();
        for (name, kind, org, role) in PEOPLE {
            let org_id = match org_ids.get(org) {
                Some(id) => *id,
                None => {
                    let o = organisations::create(&mut tx, *kind, &format!("Organisation {org}"), None).await.unwrap();
                    org_ids.insert(org, o.id);
                    o.id
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

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
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

    pub fn who(&self, name: &str) -> &Who {
        &self.users[name]
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, who: &str, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(&self.who(who).token)
    }

    pub fn post(&self, who: &str, path: &str, body: serde_json::Value) -> reqwest::RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(&self.who(who).token).json(&body)
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
