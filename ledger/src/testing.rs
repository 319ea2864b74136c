//! Test harness: every database-touching test runs on a fresh SQLite file and on a fresh
//! PostgreSQL schema, so tests run in parallel without seeing each other.
//!
//! PostgreSQL is found through `PASSERELLE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). An unreachable server fails the test: it is never
//! skipped.

use crate::db::{Db, PoolSettings};
use std::sync::atomic::{AtomicU64, Ordering};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A migrated database that is removed when dropped.
pub struct TestDb {
    pub db: Db,
    /// The URL to reach this same database from another process (the binary under test).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, schema: String },
}

fn settings() -> PoolSettings {
    PoolSettings { max_connections: 24, ..PoolSettings::default() }
}

/// The PostgreSQL server used by tests.
pub fn postgres_url() -> String {
    std::env::var("PASSERELLE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("t_{}_{}_{:08x}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), rand::random::<u32>())
}

/// A fresh, migrated SQLite database in a temporary directory.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite:{}", dir.path().join("test.db").display());
    let db = Db::connect(&url, &settings()).await.expect("open SQLite test database");
    db.migrate().await.expect("migrate SQLite test database");
    TestDb { db, url, cleanup: Cleanup::Sqlite(dir) }
}

/// A fresh, migrated schema on the test PostgreSQL server. Panics if the server is unreachable.
pub async fn postgres() -> TestDb {
    let admin_url = postgres_url();
    let schema = unique_name();
    let admin = Db::connect(&admin_url, &PoolSettings { max_connections: 1, ..PoolSettings::default() })
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL test server unreachable at {admin_url}: {e}. Start it or set PASSERELLE_TEST_POSTGRES_URL."
            )
        });
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(admin.pool())
        .await
        .expect("create test schema");
    admin.close().await;
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
    let db = Db::connect(&url, &settings()).await.expect("connect to test schema");
    db.migrate().await.expect("migrate PostgreSQL test schema");
    TestDb { db, url, cleanup: Cleanup::Postgres { admin_url, schema } }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, schema } = &self.cleanup {
            let (admin_url, schema) = (admin_url.clone(), schema.clone());
            // Drop the schema from a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(admin) =
                        Db::connect(&admin_url, &PoolSettings { max_connections: 1, ..PoolSettings::default() }).await
                    {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")))
                            .execute(admin.pool())
                            .await;
                        admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Declares, for each `async fn name(db: TestDb)` given, a module `name` with two tests,
/// `sqlite` and `postgres`, that run it on a fresh database of each engine.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name($crate::testing::sqlite().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name($crate::testing::postgres().await).await
            }
        }
    )*};
}

/// A fixed instant for tests whose transactions must be byte-identical when repeated.
pub fn fixed_time() -> chrono::DateTime<chrono::Utc> {
    crate::time::from_micros(1_790_000_000_000_000)
}
