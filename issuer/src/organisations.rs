//! Organisations: the operator, funders, prescribers and sites.

use crate::Siret;
use ledger::time;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// What an organisation is to Passerelle (DESIGN §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Operator,
    Funder,
    Prescriber,
    Site,
}

impl OrgKind {
    pub const ALL: [OrgKind; 4] = [OrgKind::Operator, OrgKind::Funder, OrgKind::Prescriber, OrgKind::Site];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Operator => "operator",
            OrgKind::Funder => "funder",
            OrgKind::Prescriber => "prescriber",
            OrgKind::Site => "site",
        }
    }

    pub fn parse(s: &str) -> Option<OrgKind> {
        OrgKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Organisation {
    pub id: i64,
    pub kind: OrgKind,
    pub name: String,
    pub siret: Option<Siret>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum OrganisationError {
    #[error("une organisation porte déjà le SIRET {0}")]
    SiretTaken(Siret),
    #[error("le nom doit compter de 1 à 200 caractères")]
    BadName,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

const COLUMNS: &str = "SELECT id, kind, name, siret, created_at FROM organisations";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Organisation, sqlx::Error> {
    let kind: String = r.try_get(1)?;
    let siret: Option<String> = r.try_get(3)?;
    Ok(Organisation {
        id: r.try_get(0)?,
        kind: OrgKind::parse(&kind)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown organisation kind {kind}").into()))?,
        name: r.try_get(2)?,
        siret: siret.and_then(|s| s.parse().ok()),
        created_at: time::from_micros(r.try_get(4)?),
    })
}

pub async fn create(
    conn: &mut AnyConnection,
    kind: OrgKind,
    name: &str,
    siret: Option<&Siret>,
) -> Result<Organisation, OrganisationError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(OrganisationError::BadName);
    }
    let now = time::now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO organisations (kind, name, siret, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(name)
    .bind(siret.map(Siret::as_str))
    .bind(time::to_micros(now))
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match (siret, ledger::db::is_unique_violation(&e)) {
        (Some(s), true) => OrganisationError::SiretTaken(s.clone()),
        _ => OrganisationError::Db(e),
    })?;
    Ok(Organisation { id, kind, name: name.to_owned(), siret: siret.cloned(), created_at: now })
}

pub async fn get_in(conn: &mut AnyConnection, id: i64) -> Result<Option<Organisation>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get(db: &ledger::Db, id: i64) -> Result<Option<Organisation>, sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    get_in(&mut conn, id).await
}

pub async fn list(db: &ledger::Db, kind: Option<OrgKind>) -> Result<Vec<Organisation>, sqlx::Error> {
    let rows = match kind {
        Some(k) => {
            sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE kind = $1 ORDER BY id")))
                .bind(k.as_str())
                .fetch_all(db.pool())
                .await?
        }
        None => sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} ORDER BY id"))).fetch_all(db.pool()).await?,
    };
    rows.iter().map(from_row).collect()
}

/// The operator organisation, if `init` has run.
pub async fn operator(db: &ledger::Db) -> Result<Option<Organisation>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE kind = 'operator' ORDER BY id LIMIT 1")))
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}
