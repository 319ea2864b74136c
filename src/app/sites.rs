//! Mediation sites: the operator creates, imports and accredits them; a site's managers (and the
//! operator's) keep its places, services and payout account.

use crate::app::{Act, App, AppError, AppResult, Caller};
use crate::audit;
use chrono::NaiveDate;
use redeemer::bank::{BankError, Bic, Iban};
#[cfg(test)]
use redeemer::sites::Place;
use redeemer::sites::{self, Accreditation, Site};
use serde::Serialize;
use utoipa::ToSchema;

/// A site as its members and the operator see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SiteView {
    pub id: i64,
    pub name: String,
    pub siret: Option<String>,
    /// pending, accredited, suspended or revoked
    pub status: String,
    /// Last day of the accreditation (YYYY-MM-DD).
    pub accredited_until: Option<String>,
    /// Only the first and last characters of the payout IBAN.
    pub iban_masked: Option<String>,
    /// A transfer came back: payouts wait for new bank details.
    pub bank_review: bool,
    pub places: Vec<PlaceView>,
    /// Codes of the services it offers.
    pub services: Vec<String>,
}

/// A place where a site receives people.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaceView {
    pub id: i64,
    pub name: String,
    pub address: String,
    /// INSEE code of the commune.
    #[schema(value_type = String, example = "33063")]
    pub commune_insee: issuer::InseeCode,
    /// OpenStreetMap opening_hours syntax.
    pub opening_hours: String,
}

impl From<Site> for SiteView {
    fn from(s: Site) -> Self {
        SiteView {
            id: s.id,
            name: s.name,
            siret: s.siret,
            status: s.status.as_str().to_owned(),
            accredited_until: s.accredited_until,
            iban_masked: s.iban_masked,
            bank_review: s.bank_review,
            places: s
                .places
                .into_iter()
                .map(|p| PlaceView {
                    id: p.id,
                    name: p.name,
                    address: p.address,
                    commune_insee: p.commune_insee,
                    opening_hours: p.opening_hours,
                })
                .collect(),
            services: s.services,
        }
    }
}

/// What an import of the national open-data file did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReportView {
    pub imported: usize,
    /// Places already known with the same details.
    pub unchanged: usize,
    pub errors: Vec<RowErrorView>,
}

/// A refused row of an imported file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowErrorView {
    /// Line in the file (the header is line 1).
    pub line: u64,
    pub field: String,
    pub reason: String,
}

impl From<redeemer::import::ImportReport> for ImportReportView {
    fn from(r: redeemer::import::ImportReport) -> Self {
        ImportReportView {
            imported: r.imported,
            unchanged: r.unchanged,
            errors: r
                .errors
                .into_iter()
                .map(|e| RowErrorView { line: e.line, field: e.field, reason: e.reason })
                .collect(),
        }
    }
}

/// A new site's payout account.
pub struct NewSite<'a> {
    pub name: &'a str,
    pub siret: &'a str,
    pub iban: &'a str,
    pub bic: &'a str,
    pub account_holder: &'a str,
}

/// A new place of a site.
pub struct NewPlace<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub commune_insee: &'a issuer::InseeCode,
    pub opening_hours: &'a str,
}

/// The site as it is now.
async fn current(app: &App, id: i64) -> AppResult<SiteView> {
    Ok(sites::get(&app.db, id).await?.ok_or(AppError::NotFound)?.into())
}

/// Every site.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn list(app: &App, caller: &Caller) -> AppResult<Vec<SiteView>> {
    caller.require(Act::ListSites)?;
    let mut out = Vec::new();
    for id in sites::list_ids(&app.db).await? {
        if let Some(s) = sites::get(&app.db, id).await? {
            out.push(s.into());
        }
    }
    Ok(out)
}

/// One site (the operator, or its own members).
#[tracing::instrument(skip_all, fields(user = caller.user_id, site = id))]
pub async fn get(app: &App, caller: &Caller, id: i64) -> AppResult<SiteView> {
    caller.require(Act::ReadSite)?;
    caller.require_org(id)?;
    current(app, id).await
}

/// Creates a pending site with its payout account.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn create(app: &App, caller: &Caller, new: NewSite<'_>) -> AppResult<SiteView> {
    caller.require(Act::CreateSite)?;
    let siret: issuer::Siret =
        new.siret.parse().map_err(|e: issuer::siret::SiretError| AppError::invalid("invalid_siret", e.to_string()))?;
    let iban: Iban = new.iban.parse().map_err(|e: BankError| AppError::invalid("invalid_iban", e.to_string()))?;
    let bic: Bic = new.bic.parse().map_err(|e: BankError| AppError::invalid("invalid_bic", e.to_string()))?;
    let mut tx = app.db.begin().await?;
    let id = sites::create(&mut tx, new.name, &siret, &iban, &bic, new.account_holder).await?;
    audit::record(&mut tx, caller.actor(), "site.create", "organisation", id, serde_json::json!({"name": new.name}))
        .await?;
    tx.commit().await?;
    current(app, id).await
}

/// Imports places from a file of the national open-data standard: valid rows become pending
/// sites, invalid rows are reported by line; importing the same file again changes nothing.
#[tracing::instrument(skip_all, fields(user = caller.user_id, bytes = csv.len()))]
pub async fn import(app: &App, caller: &Caller, csv: &[u8]) -> AppResult<ImportReportView> {
    caller.require(Act::ImportSites)?;
    let mut tx = app.db.begin().await?;
    let report = redeemer::import::import_csv_in(&mut tx, csv).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "sites.import",
        "file",
        csv.len(),
        serde_json::json!({"imported": report.imported, "errors": report.errors.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(report.into())
}

/// Adds a place to a site.
#[tracing::instrument(skip_all, fields(user = caller.user_id, site = id))]
pub async fn add_place(app: &App, caller: &Caller, id: i64, place: NewPlace<'_>) -> AppResult<SiteView> {
    caller.require(Act::AddPlace)?;
    caller.require_org(id)?;
    current(app, id).await?;
    let mut tx = app.db.begin().await?;
    let place =
        sites::add_place(&mut tx, id, place.name, place.address, place.commune_insee, place.opening_hours).await?;
    audit::record(&mut tx, caller.actor(), "site.place.add", "site_place", place, serde_json::json!({"site_id": id}))
        .await?;
    tx.commit().await?;
    current(app, id).await
}

/// Sets the services a site offers (codes of the catalogue).
#[tracing::instrument(skip_all, fields(user = caller.user_id, site = id))]
pub async fn set_services(app: &App, caller: &Caller, id: i64, services: &[String]) -> AppResult<SiteView> {
    caller.require(Act::SetServices)?;
    caller.require_org(id)?;
    current(app, id).await?;
    let codes: Vec<&str> = services.iter().map(String::as_str).collect();
    let mut tx = app.db.begin().await?;
    sites::set_services(&mut tx, id, &codes).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "site.services",
        "organisation",
        id,
        serde_json::json!({"services": services}),
    )
    .await?;
    tx.commit().await?;
    current(app, id).await
}

/// Sets the account payouts go to; this ends a review of the bank details after a returned
/// transfer.
#[tracing::instrument(skip_all, fields(user = caller.user_id, site = id))]
pub async fn set_bank_account(
    app: &App,
    caller: &Caller,
    id: i64,
    iban: &Iban,
    bic: Option<&Bic>,
    account_holder: &str,
) -> AppResult<SiteView> {
    caller.require(Act::SetSiteBankAccount)?;
    caller.require_org(id)?;
    let mut tx = app.db.begin().await?;
    sites::set_bank_account(&mut tx, id, iban, bic, account_holder).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "site.bank_account",
        "organisation",
        id,
        serde_json::json!({"iban": iban.masked()}),
    )
    .await?;
    tx.commit().await?;
    current(app, id).await
}

/// Accredits (until a day), suspends or revokes a site; the history keeps who decided.
#[tracing::instrument(skip_all, fields(user = caller.user_id, site = id))]
pub async fn decide(
    app: &App,
    caller: &Caller,
    id: i64,
    status: &str,
    until: Option<NaiveDate>,
    comment: &str,
) -> AppResult<SiteView> {
    caller.require(Act::DecideAccreditation)?;
    let decision = Accreditation::parse(status)
        .filter(|s| *s != Accreditation::Pending)
        .ok_or_else(|| AppError::invalid("invalid_status", "statut attendu : accredited, suspended ou revoked"))?;
    let mut tx = app.db.begin().await?;
    sites::decide(&mut tx, id, decision, until, caller.user(), comment).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "site.accreditation",
        "organisation",
        id,
        serde_json::json!({"status": status, "until": until}),
    )
    .await?;
    tx.commit().await?;
    current(app, id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    /// The view answers exactly the JSON the domain type would.
    fn same_json<D: Serialize + Clone, V: Serialize + From<D>>(domain: &D) {
        assert_eq!(serde_json::to_value(V::from(domain.clone())).unwrap(), serde_json::to_value(domain).unwrap());
    }

    #[test]
    fn views_serialize_like_the_domain() {
        let place = Place {
            id: 3,
            name: "Médiathèque".into(),
            address: "1 rue de la Paix".into(),
            commune_insee: "75056".parse().unwrap(),
            opening_hours: "Mo-Fr 09:00-17:00".into(),
        };
        for (status, until, siret, iban) in [
            (Accreditation::Pending, None, None, None),
            (
                Accreditation::Accredited,
                Some("2027-01-31".to_owned()),
                Some("12345678200010".to_owned()),
                Some("FR…89".to_owned()),
            ),
            (Accreditation::Suspended, None, None, None),
            (Accreditation::Revoked, None, None, None),
        ] {
            same_json::<Site, SiteView>(&Site {
                id: 7,
                name: "Lieu".into(),
                siret,
                status,
                accredited_until: until,
                iban_masked: iban,
                bank_review: true,
                places: vec![place.clone()],
                services: vec!["atelier".into()],
            });
        }
        same_json::<_, ImportReportView>(&redeemer::import::ImportReport {
            imported: 2,
            unchanged: 1,
            errors: vec![redeemer::import::RowError {
                line: 4,
                field: "pivot".into(),
                reason: "SIRET invalide".into(),
            }],
        });
    }
}
