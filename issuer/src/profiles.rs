//! Funders and prescribers: an organisation with a category and a territory (département codes).

use crate::Siret;
use crate::error::{IssuerError, Result};
use crate::organisations::{self, OrgKind, Organisation, OrganisationError};
use crate::territory::Territory;
use ledger::time;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// Kinds of funder.
pub const FUNDER_CATEGORIES: &[&str] =
    &["etat", "region", "departement", "intercommunalite", "commune", "caf", "entreprise", "association", "autre"];
/// Kinds of prescriber.
pub const PRESCRIBER_CATEGORIES: &[&str] =
    &["ccas", "mairie", "france_travail", "caf", "france_services", "departement", "association", "autre"];

/// A funder or a prescriber.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub organisation: Organisation,
    pub category: String,
    pub territory: Territory,
}

fn categories(kind: OrgKind) -> Result<&'static [&'static str]> {
    match kind {
        OrgKind::Funder => Ok(FUNDER_CATEGORIES),
        OrgKind::Prescriber => Ok(PRESCRIBER_CATEGORIES),
        _ => Err(IssuerError::invalid("invalid_kind", "seuls les financeurs et les prescripteurs ont un profil")),
    }
}

fn check_category(kind: OrgKind, category: &str) -> Result<()> {
    let allowed = categories(kind)?;
    if allowed.contains(&category) {
        Ok(())
    } else {
        Err(IssuerError::invalid(
            "invalid_category",
            format!("catégorie « {category} » inconnue ; possibles : {}", allowed.join(", ")),
        ))
    }
}

impl From<OrganisationError> for IssuerError {
    fn from(e: OrganisationError) -> Self {
        match e {
            OrganisationError::SiretTaken(_) => IssuerError::conflict("siret_taken", e.to_string()),
            OrganisationError::BadName => IssuerError::invalid("invalid_name", e.to_string()),
            OrganisationError::Db(db) => IssuerError::Db(db),
        }
    }
}

/// Creates a funder or prescriber organisation with its profile. The SIRET is mandatory.
pub async fn create(
    conn: &mut AnyConnection,
    kind: OrgKind,
    name: &str,
    siret: &Siret,
    category: &str,
    territory: Territory,
) -> Result<Profile> {
    check_category(kind, category)?;
    let organisation = organisations::create(conn, kind, name, Some(siret)).await?;
    sqlx::query(
        "INSERT INTO organisation_profiles (organisation_id, category, territory, updated_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(organisation.id)
    .bind(category)
    .bind(territory.to_db())
    .bind(time::to_micros(time::now()))
    .execute(&mut *conn)
    .await?;
    Ok(Profile { organisation, category: category.to_owned(), territory })
}

/// Changes the name, category or territory of a funder or prescriber.
pub async fn update(
    conn: &mut AnyConnection,
    id: i64,
    name: Option<&str>,
    category: Option<&str>,
    territory: Option<Territory>,
) -> Result<Profile> {
    let current = get_in(conn, id).await?.ok_or(IssuerError::NotFound)?;
    let kind = current.organisation.kind;
    if let Some(c) = category {
        check_category(kind, c)?;
    }
    if let Some(n) = name {
        let n = n.trim();
        if n.is_empty() || n.chars().count() > 200 {
            return Err(IssuerError::invalid("invalid_name", "le nom doit compter de 1 à 200 caractères"));
        }
        sqlx::query("UPDATE organisations SET name = $1 WHERE id = $2").bind(n).bind(id).execute(&mut *conn).await?;
    }
    sqlx::query(
        "UPDATE organisation_profiles SET category = $1, territory = $2, updated_at = $3 WHERE organisation_id = $4",
    )
    .bind(category.unwrap_or(&current.category))
    .bind(territory.as_ref().unwrap_or(&current.territory).to_db())
    .bind(time::to_micros(time::now()))
    .bind(id)
    .execute(&mut *conn)
    .await?;
    get_in(conn, id).await?.ok_or(IssuerError::NotFound)
}

const SELECT: &str = "SELECT o.id, o.kind, o.name, o.siret, o.created_at, p.category, p.territory \
                      FROM organisations o JOIN organisation_profiles p ON p.organisation_id = o.id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Profile> {
    let kind: String = r.try_get(1)?;
    let siret: Option<String> = r.try_get(3)?;
    let territory: String = r.try_get(6)?;
    Ok(Profile {
        organisation: Organisation {
            id: r.try_get(0)?,
            kind: OrgKind::parse(&kind).ok_or(IssuerError::NotFound)?,
            name: r.try_get(2)?,
            siret: siret.and_then(|s| s.parse().ok()),
            created_at: time::from_micros(r.try_get(4)?),
        },
        category: r.try_get(5)?,
        territory: Territory::from_db(&territory),
    })
}

pub async fn get_in(conn: &mut AnyConnection, id: i64) -> Result<Option<Profile>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE o.id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get(db: &ledger::Db, id: i64) -> Result<Option<Profile>> {
    let mut conn = db.pool().acquire().await?;
    get_in(&mut conn, id).await
}

pub async fn list(db: &ledger::Db, kind: OrgKind) -> Result<Vec<Profile>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE o.kind = $1 ORDER BY o.name")))
        .bind(kind.as_str())
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}
