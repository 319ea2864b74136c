//! Funders and prescribers: organisations with a category and a territory.

use crate::app::{Act, App, AppError, AppResult, Caller};
use crate::audit;
use issuer::organisations::OrgKind;
use issuer::profiles::{self, Profile};
use issuer::territory::Territory;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Funders or prescribers: the two kinds of organisation with a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileKind {
    Funder,
    Prescriber,
}

impl ProfileKind {
    fn org_kind(self) -> OrgKind {
        match self {
            ProfileKind::Funder => OrgKind::Funder,
            ProfileKind::Prescriber => OrgKind::Prescriber,
        }
    }

    /// The actions on this kind: (list, create, read, update).
    fn acts(self) -> (Act, Act, Act, Act) {
        match self {
            ProfileKind::Funder => (Act::ListFunders, Act::CreateFunder, Act::ReadFunder, Act::UpdateFunder),
            ProfileKind::Prescriber => {
                (Act::ListPrescribers, Act::CreatePrescriber, Act::ReadPrescriber, Act::UpdatePrescriber)
            }
        }
    }
}

/// A funder or prescriber as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileView {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub siret: Option<String>,
    pub category: String,
    /// Département codes.
    pub territory: Vec<String>,
    pub territory_label: String,
}

impl From<Profile> for ProfileView {
    fn from(p: Profile) -> Self {
        ProfileView {
            id: p.organisation.id,
            kind: p.organisation.kind.as_str().to_owned(),
            name: p.organisation.name,
            siret: p.organisation.siret.map(String::from),
            category: p.category,
            territory_label: p.territory.describe(),
            territory: p.territory.codes().to_vec(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProfile {
    pub name: String,
    /// 14 digits, Luhn-checked.
    pub siret: String,
    /// Funders: etat, region, departement, intercommunalite, commune, caf, entreprise, association, autre.
    /// Prescribers: ccas, mairie, france_travail, caf, france_services, departement, association, autre.
    pub category: String,
    /// Département codes, e.g. ["33", "40"].
    pub territory: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileChange {
    pub name: Option<String>,
    pub category: Option<String>,
    pub territory: Option<Vec<String>>,
}

fn territory(codes: Vec<String>) -> AppResult<Territory> {
    Territory::new(codes).map_err(|e| AppError::invalid("invalid_territory", e.to_string()))
}

/// Every funder, or every prescriber.
#[tracing::instrument(skip_all, fields(user = caller.user_id, kind = ?kind))]
pub async fn list(app: &App, caller: &Caller, kind: ProfileKind) -> AppResult<Vec<ProfileView>> {
    caller.require(kind.acts().0)?;
    Ok(profiles::list(&app.db, kind.org_kind()).await?.into_iter().map(Into::into).collect())
}

/// Creates a funder or a prescriber.
#[tracing::instrument(skip_all, fields(user = caller.user_id, kind = ?kind))]
pub async fn create(app: &App, caller: &Caller, kind: ProfileKind, new: NewProfile) -> AppResult<ProfileView> {
    caller.require(kind.acts().1)?;
    let siret = new.siret.parse::<issuer::Siret>().map_err(|e| AppError::invalid("invalid_siret", e.to_string()))?;
    let territory = territory(new.territory)?;
    let kind = kind.org_kind();
    let mut tx = app.db.begin().await?;
    let p = profiles::create(&mut tx, kind, &new.name, &siret, new.category.trim(), territory).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        &format!("{}.create", kind.as_str()),
        "organisation",
        p.organisation.id,
        serde_json::json!({"name": p.organisation.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(p.into())
}

/// One funder or prescriber (the operator, or the organisation itself).
#[tracing::instrument(skip_all, fields(user = caller.user_id, organisation = id))]
pub async fn get(app: &App, caller: &Caller, kind: ProfileKind, id: i64) -> AppResult<ProfileView> {
    caller.require(kind.acts().2)?;
    caller.require_org(id)?;
    let p = profiles::get(&app.db, id).await?.filter(|p| p.organisation.kind == kind.org_kind());
    Ok(p.ok_or(AppError::NotFound)?.into())
}

/// Edits a funder or a prescriber.
#[tracing::instrument(skip_all, fields(user = caller.user_id, organisation = id))]
pub async fn update(
    app: &App,
    caller: &Caller,
    kind: ProfileKind,
    id: i64,
    change: ProfileChange,
) -> AppResult<ProfileView> {
    caller.require(kind.acts().3)?;
    let territory = change.territory.map(territory).transpose()?;
    let org_kind = kind.org_kind();
    let mut tx = app.db.begin().await?;
    let current =
        profiles::get_in(&mut tx, id).await?.filter(|p| p.organisation.kind == org_kind).ok_or(AppError::NotFound)?;
    let p = profiles::update(
        &mut tx,
        current.organisation.id,
        change.name.as_deref(),
        change.category.as_deref(),
        territory,
    )
    .await?;
    audit::record(
        &mut tx,
        caller.actor(),
        &format!("{}.update", org_kind.as_str()),
        "organisation",
        id,
        serde_json::json!({"category": p.category, "territory": p.territory}),
    )
    .await?;
    tx.commit().await?;
    Ok(p.into())
}
