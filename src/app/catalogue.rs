//! The catalogue of services: everyone reads it; the operator adds, edits and retires services.

use crate::app::{Act, App, AppResult, Caller};
use crate::audit;
use redeemer::catalogue::{self, Format, Service};
use serde::Serialize;
use utoipa::ToSchema;

/// A service of the catalogue.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CatalogueService)]
pub struct ServiceView {
    pub code: String,
    pub label: String,
    /// One of the nine national categories (e.g. aide_demarches_administratives).
    pub category: String,
    /// individual, collective or remote
    pub format: String,
    pub duration_minutes: u32,
    pub price_vouchers: u32,
    /// A retired service stays in the history of past passages.
    pub retired: bool,
}

fn view(service: Service, retired: bool) -> ServiceView {
    ServiceView {
        code: service.code,
        label: service.label,
        category: service.category.slug().to_owned(),
        format: match service.format {
            Format::Individual => "individual",
            Format::Collective => "collective",
            Format::Remote => "remote",
        }
        .to_owned(),
        duration_minutes: service.duration_minutes,
        price_vouchers: service.price_vouchers,
        retired,
    }
}

/// The catalogue, active services first.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn list(app: &App, caller: &Caller) -> AppResult<Vec<ServiceView>> {
    caller.require(Act::ReadCatalogue)?;
    Ok(catalogue::list(&app.db).await?.into_iter().map(|l| view(l.service, l.retired)).collect())
}

/// Adds a service, or edits the one with the same code.
#[tracing::instrument(skip_all, fields(user = caller.user_id, service = %service.code))]
pub async fn save(app: &App, caller: &Caller, service: Service) -> AppResult<ServiceView> {
    caller.require(Act::SaveService)?;
    let mut tx = app.db.begin().await?;
    catalogue::upsert(&mut tx, &service).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "catalogue.upsert",
        "service",
        &service.code,
        serde_json::json!({"price_vouchers": service.price_vouchers}),
    )
    .await?;
    tx.commit().await?;
    Ok(view(service, false))
}

/// Retires a service; past passages keep it.
#[tracing::instrument(skip_all, fields(user = caller.user_id, service = code))]
pub async fn retire(app: &App, caller: &Caller, code: &str) -> AppResult<()> {
    caller.require(Act::RetireService)?;
    let mut tx = app.db.begin().await?;
    catalogue::retire(&mut tx, code).await?;
    audit::record(&mut tx, caller.actor(), "catalogue.retire", "service", code, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(())
}
