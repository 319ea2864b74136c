//! The catalogue of services: what a site can deliver for vouchers. A default catalogue of our
//! own wording ships as `data/catalogue.json`, in the nine categories of the national standard.
//! The stored catalogue (table `catalogue_services`) is read here too, for the listing, the
//! sites and the redemption (`SERVICE_COLUMNS`, `service_from_row`).

use issuer::IssuerError;
use issuer::category::Category;
use serde::{Deserialize, Serialize};
use sqlx::Row;

const DEFAULT: &str = include_str!("../../data/catalogue.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Individual,
    Collective,
    Remote,
}

/// One service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Stable code, e.g. `DEM-ACCOMP`.
    pub code: String,
    /// French label.
    pub label: String,
    pub category: Category,
    pub format: Format,
    /// Typical duration.
    pub duration_minutes: u32,
    /// Number of vouchers a site scans for it.
    pub price_vouchers: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue illisible : {0}")]
    Unreadable(String),
    #[error("service {code} : {reason}")]
    Invalid { code: String, reason: &'static str },
}

impl Service {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        let bad = |reason| Err(CatalogueError::Invalid { code: self.code.clone(), reason });
        let code_ok = !self.code.is_empty()
            && self.code.len() <= 32
            && self.code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if !code_ok {
            return bad("code de 1 à 32 majuscules, chiffres ou tirets");
        }
        if self.label.trim().is_empty() || self.label.chars().count() > 200 {
            return bad("libellé de 1 à 200 caractères");
        }
        if !(1..=20).contains(&self.price_vouchers) {
            return bad("prix de 1 à 20 chèques");
        }
        if !(5..=24 * 60).contains(&self.duration_minutes) {
            return bad("durée de 5 minutes à 24 heures");
        }
        Ok(())
    }
}

/// The catalogue that ships with Passerelle.
pub fn default_catalogue() -> Result<Vec<Service>, CatalogueError> {
    let services: Vec<Service> =
        serde_json::from_str(DEFAULT).map_err(|e| CatalogueError::Unreadable(e.to_string()))?;
    let mut seen = std::collections::HashSet::new();
    for s in &services {
        s.validate()?;
        if !seen.insert(s.code.clone()) {
            return Err(CatalogueError::Invalid { code: s.code.clone(), reason: "code en double" });
        }
    }
    Ok(services)
}

/// A service of the catalogue, by code.
pub async fn service(conn: &mut sqlx::AnyConnection, code: &str) -> Result<Option<(Service, bool)>, IssuerError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SERVICE_COLUMNS} FROM catalogue_services c WHERE c.code = $1"
    )))
    .bind(code)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| service_from_row(&r, 0)).transpose()
}

/// The catalogue columns [`service_from_row`] reads, in order, for a table aliased `c`.
pub(crate) const SERVICE_COLUMNS: &str =
    "c.code, c.label, c.category, c.format, c.duration_minutes, c.price_vouchers, c.retired_at";

/// A service and whether it is retired, from [`SERVICE_COLUMNS`] starting at column `at`.
pub(crate) fn service_from_row(r: &sqlx::any::AnyRow, at: usize) -> Result<(Service, bool), IssuerError> {
    let category: String = r.try_get(at + 2)?;
    let format: String = r.try_get(at + 3)?;
    let service = Service {
        code: r.try_get(at)?,
        label: r.try_get(at + 1)?,
        category: Category::from_slug(&category).ok_or(IssuerError::NotFound)?,
        format: serde_json::from_value(serde_json::Value::String(format)).map_err(|_| IssuerError::NotFound)?,
        duration_minutes: u32::try_from(r.try_get::<i64, _>(at + 4)?).unwrap_or(0),
        price_vouchers: u32::try_from(r.try_get::<i64, _>(at + 5)?).unwrap_or(0),
    };
    let retired = r.try_get::<Option<i64>, _>(at + 6)?.is_some();
    Ok((service, retired))
}

/// A service as stored, with its retirement date if retired (it stays valid in history).
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub service: Service,
    pub retired: bool,
}

/// The catalogue, active services first.
pub async fn list(db: &ledger::Db) -> Result<Vec<Listed>, issuer::IssuerError> {
    let codes: Vec<String> =
        sqlx::query_scalar("SELECT code FROM catalogue_services ORDER BY retired_at IS NOT NULL, category, code")
            .fetch_all(db.pool())
            .await?;
    let mut conn = db.pool().acquire().await?;
    let mut out = Vec::with_capacity(codes.len());
    for code in codes {
        if let Some((service, retired)) = service(&mut conn, &code).await? {
            out.push(Listed { service, retired });
        }
    }
    Ok(out)
}

/// Adds a service, or replaces the label, category, format, duration and price of an existing
/// one (past redemptions keep what they were charged).
pub async fn upsert(conn: &mut sqlx::AnyConnection, s: &Service) -> Result<(), issuer::IssuerError> {
    s.validate().map_err(|e| issuer::IssuerError::invalid("invalid_service", e.to_string()))?;
    let format = match s.format {
        Format::Individual => "individual",
        Format::Collective => "collective",
        Format::Remote => "remote",
    };
    sqlx::query(
        "INSERT INTO catalogue_services (code, label, category, format, duration_minutes, price_vouchers) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (code) DO UPDATE SET label = excluded.label, category = excluded.category, format = excluded.format, \
         duration_minutes = excluded.duration_minutes, price_vouchers = excluded.price_vouchers",
    )
    .bind(&s.code)
    .bind(s.label.trim())
    .bind(s.category.slug())
    .bind(format)
    .bind(i64::from(s.duration_minutes))
    .bind(i64::from(s.price_vouchers))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Retires a service: sites can no longer redeem vouchers for it; history keeps it.
pub async fn retire(conn: &mut sqlx::AnyConnection, code: &str) -> Result<(), issuer::IssuerError> {
    let done = sqlx::query("UPDATE catalogue_services SET retired_at = $1 WHERE code = $2 AND retired_at IS NULL")
        .bind(ledger::time::to_micros(ledger::time::now()))
        .bind(code)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(issuer::IssuerError::NotFound);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_catalogue_covers_the_nine_categories() {
        let services = default_catalogue().unwrap();
        assert!((25..=40).contains(&services.len()), "about thirty services");
        for c in Category::ALL {
            assert!(services.iter().any(|s| s.category == c), "no service in {}", c.label());
        }
        let accomp = services.iter().find(|s| s.code == "DEM-ACCOMP").unwrap();
        assert_eq!((accomp.price_vouchers, accomp.format), (1, Format::Individual));
    }

    #[test]
    fn invalid_services_are_refused() {
        let mut s = default_catalogue().unwrap().remove(0);
        s.price_vouchers = 0;
        assert!(s.validate().is_err());
        s.price_vouchers = 1;
        s.code = "bad code".into();
        assert!(s.validate().is_err());
    }
}
