//! The database handle shared by every crate: one code path for SQLite and PostgreSQL.
//!
//! Queries go through sqlx's `Any` driver with `$1` placeholders, money as `BIGINT` cents and
//! instants as `BIGINT` microseconds. On SQLite, writers are queued in-process before they
//! take the database's single write lock with `BEGIN IMMEDIATE`, so concurrent writers wait
//! their turn instead of seeing "database is locked".

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Transaction};
use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

static MIGRATIONS_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static MIGRATIONS_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Which database engine a URL points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine named by a database URL, or `None` for an unsupported scheme.
    pub fn from_url(url: &str) -> Option<Engine> {
        if url.starts_with("sqlite:") {
            Some(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Engine::Postgres)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }

    /// The engine of a connection.
    pub fn of(conn: &AnyConnection) -> Engine {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") { Engine::Sqlite } else { Engine::Postgres }
    }

    /// The statement that starts a read-only transaction seeing one consistent snapshot.
    fn begin_snapshot(self) -> &'static str {
        match self {
            Engine::Sqlite => "BEGIN DEFERRED",
            Engine::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        }
    }
}

/// [`Db::begin_snapshot`] on a connection already held.
pub async fn begin_snapshot_on(conn: &mut AnyConnection) -> Result<Transaction<'_, Any>, sqlx::Error> {
    let begin = Engine::of(conn).begin_snapshot();
    Connection::begin_with(conn, begin).await
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings { max_connections: 16, acquire_timeout: Duration::from_secs(30) }
    }
}

/// A connection pool on one engine.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    engine: Engine,
    /// SQLite only: serialises writers inside this process.
    write_queue: Option<Arc<Mutex<()>>>,
    shared: Shared,
}

/// Values shared by every clone of a [`Db`], one per type (see [`Db::shared`]).
#[derive(Clone, Default)]
struct Shared(Arc<std::sync::Mutex<Vec<Arc<dyn std::any::Any + Send + Sync>>>>);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared")
    }
}

/// A write transaction. Dropping it without [`WriteTx::commit`] rolls it back.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

fn install_drivers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(sqlx::any::install_default_drivers);
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported database URL: expected sqlite:… or postgres://…")]
    UnsupportedUrl,
    #[error("cannot create the database file {path}: {source}")]
    CreateFile { path: String, source: std::io::Error },
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] sqlx::Error),
}

/// The file path of a `sqlite:` URL, if it names a file.
pub fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

impl Db {
    /// Connects to `url` (`sqlite:path.db` or `postgres://…`). A missing SQLite file is created
    /// with owner-only permissions.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Db, ConnectError> {
        install_drivers();
        let engine = Engine::from_url(url).ok_or(ConnectError::UnsupportedUrl)?;
        if engine == Engine::Sqlite
            && let Some(path) = sqlite_path(url)
        {
            create_private_file(path).map_err(|source| ConnectError::CreateFile { path: path.to_owned(), source })?;
        }
        let options = AnyConnectOptions::from_str(url)?;
        // A pooled PostgreSQL connection is pinged before it is lent (the server may have cut it
        // while it sat idle: tests/crash.rs); a SQLite connection is a file in this process and
        // cannot be cut, so its ping would only be a round trip to sqlx's worker thread.
        let mut pool = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .test_before_acquire(engine == Engine::Postgres);
        if engine == Engine::Sqlite {
            pool = pool.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; PRAGMA cache_size = -65536;",
                    )
                    .await?;
                    Ok(())
                })
            });
        }
        if engine == Engine::Postgres {
            // Statements are prepared once per connection and are all short key lookups and
            // writes: planning them anew at every execution (PostgreSQL's custom plans) cost more
            // than running them (measured in bench/redeem.sh).
            pool = pool.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("SET plan_cache_mode = force_generic_plan").await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect_with(options).await?;
        Ok(Db {
            pool,
            engine,
            write_queue: (engine == Engine::Sqlite).then(|| Arc::new(Mutex::new(()))),
            shared: Shared::default(),
        })
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The underlying pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Runs the migrations of this engine.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self.engine {
            Engine::Sqlite => MIGRATIONS_SQLITE.run(&self.pool).await,
            Engine::Postgres => MIGRATIONS_POSTGRES.run(&self.pool).await,
        }
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<WriteTx, sqlx::Error> {
        match &self.write_queue {
            Some(queue) => {
                let turn = queue.clone().lock_owned().await;
                let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(WriteTx { tx, _turn: Some(turn) })
            }
            None => Ok(WriteTx { tx: self.pool.begin().await?, _turn: None }),
        }
    }

    /// SQLite: copies the write-ahead log's committed pages into the database file, without
    /// waiting for anyone (a passive checkpoint, outside the writers' queue). Called often by
    /// the server, it keeps the log short, so that the writer that crosses SQLite's automatic
    /// checkpoint threshold — in the middle of a redemption batch — rarely has any copying to
    /// do. Nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), sqlx::Error> {
        if self.engine == Engine::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Starts a read-only transaction that sees one consistent snapshot.
    pub async fn begin_snapshot(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        self.pool.begin_with(self.engine.begin_snapshot()).await
    }

    /// The value of type `T` that lives as long as this handle and is shared by all its clones
    /// (e.g. a group-commit queue), made with `T::default()` on first use.
    pub fn shared<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let mut all = self.shared.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(found) = all.iter().find_map(|v| v.clone().downcast::<T>().ok()) {
            return found;
        }
        let made = Arc::new(T::default());
        all.push(made.clone());
        made
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(unix)]
fn create_private_file(path: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_private_file(path: &str) -> std::io::Result<()> {
    match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// `rows` groups of `columns` numbered placeholders from `$1`, for the VALUES of a multi-row
/// statement: `placeholder_rows(2, 2)` is `($1, $2), ($3, $4)`.
pub fn placeholder_rows(rows: usize, columns: usize) -> String {
    let row = |r: usize| {
        let marks: Vec<String> = (1..=columns).map(|c| format!("${}", r * columns + c)).collect();
        format!("({})", marks.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

/// True when the error is a unique-constraint violation.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error().is_some_and(|e| e.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_placeholders() {
        assert_eq!(placeholder_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholder_rows(1, 1), "($1)");
        assert_eq!(placeholder_rows(0, 4), "");
    }

    #[test]
    fn engines_from_urls() {
        assert_eq!(Engine::from_url("sqlite:./x.db"), Some(Engine::Sqlite));
        assert_eq!(Engine::from_url("postgres://u@h/db"), Some(Engine::Postgres));
        assert_eq!(Engine::from_url("mysql://u@h/db"), None);
        assert_eq!(sqlite_path("sqlite://./x.db?mode=rwc"), Some("./x.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_database_file_is_the_owner_s_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passerelle.db");
        let db = Db::connect(&format!("sqlite:{}", path.display()), &PoolSettings::default()).await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)").execute(db.pool()).await.unwrap();
        db.close().await;
        for file in std::fs::read_dir(dir.path()).unwrap() {
            let file = file.unwrap();
            let mode = file.metadata().unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{} is readable by others: {mode:o}", file.path().display());
        }
    }

    #[tokio::test]
    async fn a_checkpoint_moves_committed_pages_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passerelle.db");
        let db = Db::connect(&format!("sqlite:{}", path.display()), &PoolSettings::default()).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        sqlx::query("CREATE TABLE t (x TEXT)").execute(&mut *tx).await.unwrap();
        for _ in 0..50 {
            sqlx::query("INSERT INTO t VALUES (hex(randomblob(1000)))").execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
        // Below SQLite's automatic threshold (1 000 pages), the new pages are only in the log.
        let before = std::fs::metadata(&path).unwrap().len();
        db.checkpoint().await.unwrap();
        let after = std::fs::metadata(&path).unwrap().len();
        assert!(after >= before + 50 * 1000, "database file {before} → {after} bytes");
        // Nothing is left to copy.
        let (busy, log, copied): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(db.pool()).await.unwrap();
        assert_eq!((busy, log), (0, copied));
    }
}
