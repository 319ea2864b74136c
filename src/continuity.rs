//! Continuity (DESIGN §8): the whole state as open files that another operator can load into
//! an empty deployment, on either engine, and keep honouring every live voucher.
//!
//! One JSON Lines file per table, in primary-key order; each line is `{"h": …, "r": [...]}`: the
//! row's values in the manifest's column order (integers, text, `{"hex": …}` for bytes, `null`)
//! and the first 16 hex digits of the SHA-256 of the row's JSON, which names a damaged line.
//! `manifest.json` lists the tables in load order with their columns, row counts and SHA-256,
//! and the public keys. API tokens and web sessions are
//! not exported (people sign in again), nor the statistics aggregates (`stats_*`, derived data
//! recomputed after an import). The format is
//! documented in docs/export-format.md.

use issuer::keys::{KeyRing, PublicKey};
use ledger::Db;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{Any, AnyConnection, Row};
use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

pub const FORMAT: &str = "passerelle-export";
pub const VERSION: u32 = 1;

/// Tables in load order (every table after those it refers to), with their row order.
pub const TABLES: &[(&str, &str)] = &[
    ("organisations", "id"),
    ("users", "id"),
    ("audit_log", "id"),
    ("ledger_accounts", "id"),
    ("ledger_seals", "id"),
    ("ledger_transactions", "id"),
    ("ledger_postings", "id"),
    ("organisation_profiles", "organisation_id"),
    ("orders", "id"),
    ("order_funders", "order_id, funder_id"),
    ("books", "id"),
    ("vouchers", "id"),
    ("funder_payments", "id"),
    ("catalogue_services", "code"),
    ("sites", "organisation_id"),
    ("site_accreditations", "id"),
    ("site_places", "id"),
    ("site_services", "site_id, service_code"),
    ("redemptions", "id"),
    ("redemption_vouchers", "redemption_id, voucher_id"),
    ("site_daily_redemptions", "site_id, day"),
    ("scan_rejections", "id"),
    ("anomalies", "id"),
    ("settlement_runs", "id"),
    ("payouts", "id"),
    ("funder_accounts", "funder_id"),
    ("invoice_counters", "series"),
    ("invoices", "id"),
];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// `integer`, `text` or `bytes`.
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TableEntry {
    pub name: String,
    pub file: String,
    pub columns: Vec<Column>,
    pub rows: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyEntry {
    pub kid: String,
    pub alg: String,
    pub public_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub tables: Vec<TableEntry>,
    pub public_keys: Vec<KeyEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum ContinuityError {
    #[error("{file}, ligne {line} : {reason}")]
    Line { file: String, line: u64, reason: String },
    #[error("{file} : {reason}")]
    File { file: String, reason: String },
    #[error("la base de destination n'est pas vide ({0}) : l'import ne se fait que dans un déploiement neuf")]
    NotEmpty(String),
    #[error(transparent)]
    Keys(#[from] issuer::keys::KeyError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Statistics(#[from] statistics::StatsError),
}

fn file_error(file: &Path, reason: impl ToString) -> ContinuityError {
    ContinuityError::File { file: file.display().to_string(), reason: reason.to_string() }
}

/// The column names and kinds of a table, read from the database schema.
async fn columns(conn: &mut AnyConnection, db: &Db, table: &str) -> Result<Vec<Column>, sqlx::Error> {
    let rows: Vec<(String, String)> = match db.engine() {
        ledger::Engine::Sqlite => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT name, type FROM pragma_table_info('{table}') ORDER BY cid"
            )))
            .fetch_all(&mut *conn)
            .await?
        }
        ledger::Engine::Postgres => {
            sqlx::query_as(
                "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(|(name, ty)| {
            let ty = ty.to_ascii_lowercase();
            let kind = if ty.contains("int") {
                "integer"
            } else if ty.contains("blob") || ty.contains("bytea") {
                "bytes"
            } else {
                "text"
            };
            Column { name, kind: kind.to_owned() }
        })
        .collect())
}

fn line_hash(row: &str) -> String {
    hex::encode(&Sha256::digest(row.as_bytes())[..8])
}

/// Writes the whole state into `out` (created if missing); returns the manifest.
pub async fn export(
    db: &Db,
    keys: &KeyRing,
    out: &Path,
    progress: &dyn Fn(&str, u64),
) -> Result<Manifest, ContinuityError> {
    std::fs::create_dir_all(out).map_err(|e| file_error(out, e))?;
    // One snapshot for every table: the files agree with each other.
    let mut tx = db.begin_snapshot().await?;
    let mut tables = Vec::with_capacity(TABLES.len());
    for (table, order) in TABLES {
        let cols = columns(&mut tx, db, table).await?;
        let file = format!("{table}.jsonl");
        let path = out.join(&file);
        let mut w = BufWriter::new(std::fs::File::create(&path).map_err(|e| file_error(&path, e))?);
        let mut sha = Sha256::new();
        let mut rows = 0u64;
        let list = cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ");
        let mut stream =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {list} FROM {table} ORDER BY {order}"))).fetch(&mut *tx);
        use futures_util::TryStreamExt;
        while let Some(r) = stream.try_next().await? {
            let mut values = Vec::with_capacity(cols.len());
            for (i, c) in cols.iter().enumerate() {
                values.push(match c.kind.as_str() {
                    "integer" => r.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, Value::from),
                    "bytes" => r
                        .try_get::<Option<Vec<u8>>, _>(i)?
                        .map_or(Value::Null, |b| serde_json::json!({"hex": hex::encode(b)})),
                    _ => r.try_get::<Option<String>, _>(i)?.map_or(Value::Null, Value::from),
                });
            }
            let row = Value::Array(values).to_string();
            let line = format!("{{\"h\":\"{}\",\"r\":{row}}}\n", line_hash(&row));
            sha.update(line.as_bytes());
            w.write_all(line.as_bytes()).map_err(|e| file_error(&path, e))?;
            rows += 1;
            if rows.is_multiple_of(100_000) {
                progress(table, rows);
            }
        }
        drop(stream);
        w.flush().map_err(|e| file_error(&path, e))?;
        progress(table, rows);
        tables.push(TableEntry {
            name: (*table).to_owned(),
            file,
            columns: cols,
            rows,
            sha256: hex::encode(sha.finalize()),
        });
    }
    drop(tx);
    let public_keys = keys
        .public_keys()
        .into_iter()
        .map(|k| KeyEntry { kid: k.kid, alg: k.alg.to_owned(), public_key: k.public_key })
        .collect();
    let manifest = Manifest { format: FORMAT.into(), version: VERSION, tables, public_keys };
    let path = out.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| file_error(&path, e))? + "\n";
    std::fs::write(&path, text).map_err(|e| file_error(&path, e))?;
    Ok(manifest)
}

fn read_manifest(dir: &Path) -> Result<Manifest, ContinuityError> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| file_error(&path, e))?;
    parse_manifest(&text).map_err(|e| file_error(&path, e))
}

/// Reads and checks a manifest's text: its format and version, the list of tables, the key
/// algorithms. Any text ends in a manifest or a reason.
pub fn parse_manifest(text: &str) -> Result<Manifest, String> {
    let m: Manifest = serde_json::from_str(text).map_err(|e| format!("illisible : {e}"))?;
    if m.format != FORMAT || m.version != VERSION {
        return Err(format!("format {} version {} inconnu", m.format, m.version));
    }
    let names: Vec<&str> = m.tables.iter().map(|t| t.name.as_str()).collect();
    let expected: Vec<&str> = TABLES.iter().map(|t| t.0).collect();
    if names != expected {
        return Err("liste des tables inattendue".into());
    }
    for k in &m.public_keys {
        if k.alg != "Ed25519" {
            return Err(format!("algorithme de clé inconnu : {}", k.alg));
        }
    }
    Ok(m)
}

/// Reads one table file, checking every line and the file's checksum; calls `row` for each.
fn read_table(
    dir: &Path,
    t: &TableEntry,
    mut row: impl FnMut(Vec<Value>) -> Result<(), ContinuityError>,
) -> Result<(), ContinuityError> {
    if t.file.contains('/') || t.file.contains('\\') || t.file.starts_with('.') {
        return Err(ContinuityError::File { file: t.file.clone(), reason: "nom de fichier refusé".into() });
    }
    let path = dir.join(&t.file);
    let file = std::fs::File::open(&path).map_err(|e| file_error(&path, e))?;
    let mut sha = Sha256::new();
    let mut count = 0u64;
    let bad = |line: u64, reason: String| ContinuityError::Line { file: t.file.clone(), line, reason };
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let n = i as u64 + 1;
        let line = line.map_err(|e| bad(n, e.to_string()))?;
        sha.update(line.as_bytes());
        sha.update(b"\n");
        let parsed: Value = serde_json::from_str(&line).map_err(|e| bad(n, format!("JSON illisible : {e}")))?;
        let (Some(h), Some(Value::Array(values))) = (parsed.get("h").and_then(Value::as_str), parsed.get("r")) else {
            return Err(bad(n, "objet {\"h\", \"r\"} attendu".into()));
        };
        if line_hash(&Value::Array(values.clone()).to_string()) != h {
            return Err(bad(n, "empreinte de la ligne invalide : la ligne a été modifiée".into()));
        }
        if values.len() != t.columns.len() {
            return Err(bad(n, format!("{} valeurs pour {} colonnes", values.len(), t.columns.len())));
        }
        for (v, c) in values.iter().zip(&t.columns) {
            let ok = match (c.kind.as_str(), v) {
                (_, Value::Null) => true,
                ("integer", Value::Number(x)) => x.is_i64(),
                ("text", Value::String(_)) => true,
                ("bytes", Value::Object(o)) => {
                    o.get("hex").and_then(Value::as_str).is_some_and(|h| hex::decode(h).is_ok())
                }
                _ => false,
            };
            if !ok {
                return Err(bad(n, format!("valeur invalide pour la colonne {}", c.name)));
            }
        }
        row(values.clone())?;
        count += 1;
    }
    if count != t.rows {
        return Err(file_error(&path, format!("{count} lignes au lieu de {}", t.rows)));
    }
    if hex::encode(sha.finalize()) != t.sha256 {
        return Err(file_error(&path, "somme de contrôle SHA-256 différente du manifeste : le fichier a été modifié"));
    }
    Ok(())
}

/// Loads an export into an empty deployment: every file is checked first, then everything is
/// written in one transaction; the public keys join the key ring (verification only).
pub async fn import(
    db: &Db,
    key_dir: &Path,
    dir: &Path,
    progress: &dyn Fn(&str, u64),
) -> Result<Manifest, ContinuityError> {
    let manifest = read_manifest(dir)?;
    for t in &manifest.tables {
        read_table(dir, t, |_| Ok(()))?;
    }
    for table in ["organisations", "ledger_transactions"] {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(db.pool())
            .await?;
        if n > 0 {
            return Err(ContinuityError::NotEmpty(format!("{n} ligne(s) dans {table}")));
        }
    }
    let mut tx = db.begin().await?;
    // `passerelle init` may have seeded the catalogue: the export's catalogue replaces it.
    sqlx::query("DELETE FROM catalogue_services").execute(&mut *tx).await?;
    for t in &manifest.tables {
        // Every line was checked above; read again, in batches.
        let path = dir.join(&t.file);
        let file = std::fs::File::open(&path).map_err(|e| file_error(&path, e))?;
        let per_statement = (2000 / t.columns.len().max(1)).max(1);
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(per_statement);
        let mut loaded = 0u64;
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|e| file_error(&path, e))?;
            let mut parsed: Value = serde_json::from_str(&line).map_err(|e| file_error(&path, e))?;
            let Some(Value::Array(values)) = parsed.get_mut("r").map(Value::take) else {
                return Err(file_error(&path, "ligne sans valeurs"));
            };
            batch.push(values);
            if batch.len() == per_statement {
                insert(&mut tx, t, &batch).await?;
                loaded += batch.len() as u64;
                batch.clear();
                if loaded.is_multiple_of(100_000) {
                    progress(&t.name, loaded);
                }
            }
        }
        if !batch.is_empty() {
            insert(&mut tx, t, &batch).await?;
            loaded += batch.len() as u64;
        }
        progress(&t.name, loaded);
        if db.engine() == ledger::Engine::Postgres
            && t.columns.iter().any(|c| c.name == "id")
            && t.name != "ledger_seals"
        {
            // Identity columns continue after the imported ids.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{0}', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {0}",
                t.name
            )))
            .execute(&mut *tx)
            .await?;
        }
    }
    // Statistics are derived, not exported: the next refresh recomputes them from what was loaded.
    statistics::rebuild_in(&mut tx).await?;
    tx.commit().await?;
    let public: Vec<PublicKey> = manifest
        .public_keys
        .iter()
        .map(|k| PublicKey { kid: k.kid.clone(), alg: "Ed25519", public_key: k.public_key.clone() })
        .collect();
    KeyRing::import_public(key_dir, &public)?;
    Ok(manifest)
}

async fn insert(conn: &mut AnyConnection, t: &TableEntry, rows: &[Vec<Value>]) -> Result<(), sqlx::Error> {
    let n = t.columns.len();
    let names = t.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ");
    let tuples: Vec<String> = (0..rows.len())
        .map(|r| format!("({})", (1..=n).map(|c| format!("${}", r * n + c)).collect::<Vec<_>>().join(", ")))
        .collect();
    let sql = format!("INSERT INTO {} ({names}) VALUES {}", t.name, tuples.join(", "));
    let mut q = sqlx::query::<Any>(sqlx::AssertSqlSafe(sql)).persistent(false);
    for row in rows {
        for (v, c) in row.iter().zip(&t.columns) {
            q = match (c.kind.as_str(), v) {
                ("integer", Value::Null) => q.bind(None::<i64>),
                ("bytes", Value::Null) => q.bind(None::<Vec<u8>>),
                (_, Value::Null) => q.bind(None::<String>),
                ("integer", v) => q.bind(v.as_i64()),
                ("bytes", v) => q.bind(v.get("hex").and_then(Value::as_str).and_then(|h| hex::decode(h).ok())),
                (_, v) => q.bind(v.as_str().map(str::to_owned)),
            };
        }
    }
    q.execute(&mut *conn).await?;
    Ok(())
}
