//! Accredited mediation sites: an organisation with a payout account, places, the services it
//! offers, and an accreditation `pending → accredited (until a date) → suspended | revoked` with
//! its history.

use crate::bank::{Bic, Iban};
use crate::catalogue;
use issuer::insee::stored;
use issuer::organisations::{self, OrgKind};
use issuer::{InseeCode, IssuerError, Siret, territory};
use ledger::time;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// A service of the catalogue, by code (it lives in [`crate::catalogue`]).
pub use crate::catalogue::service;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Accreditation {
    Pending,
    Accredited,
    Suspended,
    Revoked,
}

impl Accreditation {
    pub fn as_str(self) -> &'static str {
        match self {
            Accreditation::Pending => "pending",
            Accreditation::Accredited => "accredited",
            Accreditation::Suspended => "suspended",
            Accreditation::Revoked => "revoked",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Accredited, Self::Suspended, Self::Revoked].into_iter().find(|a| a.as_str() == s)
    }
}

/// Inserts the default catalogue (services already present are left as they are).
pub async fn seed_catalogue(conn: &mut AnyConnection) -> Result<usize, IssuerError> {
    let services =
        catalogue::default_catalogue().map_err(|e| IssuerError::invalid("invalid_catalogue", e.to_string()))?;
    let mut added = 0;
    for s in &services {
        let done = sqlx::query(
            "INSERT INTO catalogue_services (code, label, category, format, duration_minutes, price_vouchers) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (code) DO NOTHING",
        )
        .bind(&s.code)
        .bind(&s.label)
        .bind(s.category.slug())
        .bind(serde_json::to_value(s.format).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())
        .bind(i64::from(s.duration_minutes))
        .bind(i64::from(s.price_vouchers))
        .execute(&mut *conn)
        .await?;
        added += done.rows_affected() as usize;
    }
    Ok(added)
}

/// Creates a pending site organisation with its payout account.
pub async fn create(
    conn: &mut AnyConnection,
    name: &str,
    siret: &Siret,
    iban: &Iban,
    bic: &Bic,
    holder: &str,
) -> Result<i64, IssuerError> {
    let id = create_pending(conn, name, siret).await?;
    set_bank_account(conn, id, iban, Some(bic), holder).await?;
    Ok(id)
}

/// Sets the account payouts go to; this also ends a review of the bank details (after a
/// returned transfer), so the site's payouts resume.
pub async fn set_bank_account(
    conn: &mut AnyConnection,
    site: i64,
    iban: &Iban,
    bic: Option<&Bic>,
    holder: &str,
) -> Result<(), IssuerError> {
    let holder = holder.trim();
    if holder.is_empty() || holder.chars().count() > 140 {
        return Err(IssuerError::invalid("invalid_holder", "titulaire du compte : de 1 à 140 caractères"));
    }
    let done = sqlx::query(
        "UPDATE sites SET iban = $1, bic = $2, account_holder = $3, bank_review = 0, updated_at = $4 WHERE organisation_id = $5",
    )
    .bind(iban.as_str())
    .bind(bic.map(Bic::as_str))
    .bind(holder)
    .bind(time::to_micros(time::now()))
    .bind(site)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(IssuerError::NotFound);
    }
    Ok(())
}

/// Creates a pending site with no payout account yet (imported from the national open data).
pub async fn create_pending(conn: &mut AnyConnection, name: &str, siret: &Siret) -> Result<i64, IssuerError> {
    let org = organisations::create(conn, OrgKind::Site, name, Some(siret)).await?;
    sqlx::query("INSERT INTO sites (organisation_id, status, updated_at) VALUES ($1, 'pending', $2)")
        .bind(org.id)
        .bind(time::to_micros(time::now()))
        .execute(&mut *conn)
        .await?;
    Ok(org.id)
}

/// Adds a place where the site works. Opening hours use the OpenStreetMap syntax.
pub async fn add_place(
    conn: &mut AnyConnection,
    site: i64,
    name: &str,
    address: &str,
    commune_insee: &InseeCode,
    opening_hours: &str,
) -> Result<i64, IssuerError> {
    if territory::commune(commune_insee.as_str()).is_none() {
        return Err(IssuerError::invalid(
            "invalid_commune",
            format!("code INSEE de commune inconnu : « {commune_insee} »"),
        ));
    }
    if name.trim().is_empty() || address.trim().is_empty() {
        return Err(IssuerError::invalid("invalid_place", "le nom et l'adresse du lieu sont obligatoires"));
    }
    if !opening_hours.trim().is_empty() {
        crate::anomalies::check_opening_hours(opening_hours)
            .map_err(|e| IssuerError::invalid("invalid_opening_hours", e))?;
    }
    let id: i64 = sqlx::query_scalar("INSERT INTO site_places (site_id, name, address, commune_insee, opening_hours) VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .bind(site)
        .bind(name.trim())
        .bind(address.trim())
        .bind(commune_insee.as_str())
        .bind(opening_hours.trim())
        .fetch_one(&mut *conn)
        .await?;
    Ok(id)
}

/// Replaces the services a site offers.
pub async fn set_services(conn: &mut AnyConnection, site: i64, codes: &[&str]) -> Result<(), IssuerError> {
    sqlx::query("DELETE FROM site_services WHERE site_id = $1").bind(site).execute(&mut *conn).await?;
    for code in codes {
        let known: Option<String> =
            sqlx::query_scalar("SELECT code FROM catalogue_services WHERE code = $1 AND retired_at IS NULL")
                .bind(code)
                .fetch_optional(&mut *conn)
                .await?;
        if known.is_none() {
            return Err(IssuerError::invalid("unknown_service", format!("service inconnu ou retiré : {code}")));
        }
        sqlx::query("INSERT INTO site_services (site_id, service_code) VALUES ($1, $2)")
            .bind(site)
            .bind(code)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Records an accreditation decision and its history entry.
pub async fn decide(
    conn: &mut AnyConnection,
    site: i64,
    status: Accreditation,
    until: Option<chrono::NaiveDate>,
    by: Option<i64>,
    comment: &str,
) -> Result<(), IssuerError> {
    if status == Accreditation::Accredited && until.is_none() {
        return Err(IssuerError::invalid("missing_until", "une accréditation a une date de fin"));
    }
    let current: Option<String> = sqlx::query_scalar("SELECT status FROM sites WHERE organisation_id = $1")
        .bind(site)
        .fetch_optional(&mut *conn)
        .await?;
    let current = current.as_deref().and_then(Accreditation::parse).ok_or(IssuerError::NotFound)?;
    if current == Accreditation::Revoked {
        return Err(IssuerError::conflict("site_revoked", "un lieu révoqué ne peut plus changer de statut"));
    }
    let now = time::to_micros(time::now());
    let until = until.map(|d| d.to_string());
    sqlx::query("UPDATE sites SET status = $1, accredited_until = $2, updated_at = $3 WHERE organisation_id = $4")
        .bind(status.as_str())
        .bind(&until)
        .bind(now)
        .bind(site)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO site_accreditations (site_id, status, accredited_until, decided_by, decided_at, comment) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(site)
        .bind(status.as_str())
        .bind(&until)
        .bind(by)
        .bind(now)
        .bind(comment.trim())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A site as its members and the operator see it.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    pub id: i64,
    pub name: String,
    pub siret: Option<String>,
    pub status: Accreditation,
    pub accredited_until: Option<String>,
    /// Only the first and last characters.
    pub iban_masked: Option<String>,
    pub bank_review: bool,
    pub places: Vec<Place>,
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Place {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub commune_insee: InseeCode,
    pub opening_hours: String,
}

pub async fn get(db: &ledger::Db, id: i64) -> Result<Option<Site>, IssuerError> {
    let row = sqlx::query(
        "SELECT o.id, o.name, o.siret, s.status, s.accredited_until, s.iban, s.bank_review FROM sites s          JOIN organisations o ON o.id = s.organisation_id WHERE s.organisation_id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let places = sqlx::query(
        "SELECT id, name, address, commune_insee, opening_hours FROM site_places WHERE site_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|p| {
        Ok(Place {
            id: p.try_get(0)?,
            name: p.try_get(1)?,
            address: p.try_get(2)?,
            commune_insee: p.try_get::<String, _>(3)?.parse().map_err(stored)?,
            opening_hours: p.try_get(4)?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let services: Vec<String> =
        sqlx::query_scalar("SELECT service_code FROM site_services WHERE site_id = $1 ORDER BY service_code")
            .bind(id)
            .fetch_all(db.pool())
            .await?;
    let iban: Option<String> = r.try_get(5)?;
    Ok(Some(Site {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        siret: r.try_get(2)?,
        status: Accreditation::parse(&r.try_get::<String, _>(3)?).unwrap_or(Accreditation::Pending),
        accredited_until: r.try_get(4)?,
        iban_masked: iban.and_then(|i| i.parse::<Iban>().ok()).map(|i| i.masked()),
        bank_review: r.try_get::<i64, _>(6)? != 0,
        places,
        services,
    }))
}

/// Site ids, in name order.
pub async fn list_ids(db: &ledger::Db) -> Result<Vec<i64>, IssuerError> {
    Ok(sqlx::query_scalar(
        "SELECT s.organisation_id FROM sites s JOIN organisations o ON o.id = s.organisation_id ORDER BY o.name",
    )
    .fetch_all(db.pool())
    .await?)
}
