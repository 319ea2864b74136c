//! Funders and prescribers: organisations with a category and a territory.

use crate::audit;
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use issuer::organisations::OrgKind;
use issuer::profiles::{self, Profile};
use issuer::territory::Territory;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A funder or prescriber as the API shows it.
#[derive(Serialize, ToSchema)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProfile {
    name: String,
    /// 14 digits, Luhn-checked.
    siret: String,
    /// Funders: etat, region, departement, intercommunalite, commune, caf, entreprise, association, autre.
    /// Prescribers: ccas, mairie, france_travail, caf, france_services, departement, association, autre.
    category: String,
    /// Département codes, e.g. ["33", "40"].
    territory: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileChange {
    name: Option<String>,
    category: Option<String>,
    territory: Option<Vec<String>>,
}

fn territory(codes: Vec<String>) -> ApiResult<Territory> {
    Territory::new(codes).map_err(|e| ApiError::unprocessable("invalid_territory", e))
}

async fn create(
    state: &AppState,
    caller: &Caller,
    kind: OrgKind,
    body: NewProfile,
) -> ApiResult<(StatusCode, Json<ProfileView>)> {
    let siret = body.siret.parse::<issuer::Siret>().map_err(|e| ApiError::unprocessable("invalid_siret", e))?;
    let territory = territory(body.territory)?;
    let mut tx = state.db.begin().await?;
    let p = profiles::create(&mut tx, kind, &body.name, &siret, body.category.trim(), territory).await?;
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
    Ok((StatusCode::CREATED, Json(p.into())))
}

async fn update(
    state: &AppState,
    caller: &Caller,
    kind: OrgKind,
    id: i64,
    body: ProfileChange,
) -> ApiResult<Json<ProfileView>> {
    let territory = body.territory.map(territory).transpose()?;
    let mut tx = state.db.begin().await?;
    let current =
        profiles::get_in(&mut tx, id).await?.filter(|p| p.organisation.kind == kind).ok_or_else(ApiError::not_found)?;
    let p =
        profiles::update(&mut tx, current.organisation.id, body.name.as_deref(), body.category.as_deref(), territory)
            .await?;
    audit::record(
        &mut tx,
        caller.actor(),
        &format!("{}.update", kind.as_str()),
        "organisation",
        id,
        serde_json::json!({"category": p.category, "territory": p.territory}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(p.into()))
}

async fn get(state: &AppState, caller: &Caller, kind: OrgKind, id: i64) -> ApiResult<Json<ProfileView>> {
    caller.require_org(id)?;
    let p =
        profiles::get(&state.db, id).await?.filter(|p| p.organisation.kind == kind).ok_or_else(ApiError::not_found)?;
    Ok(Json(p.into()))
}

async fn list(state: &AppState, kind: OrgKind) -> ApiResult<Json<Vec<ProfileView>>> {
    Ok(Json(profiles::list(&state.db, kind).await?.into_iter().map(Into::into).collect()))
}

/// All funders (operator).
#[utoipa::path(get, path = "/api/v1/funders", tag = "financeurs", responses((status = 200, body = Vec<ProfileView>)))]
pub async fn list_funders(State(state): State<AppState>) -> ApiResult<Json<Vec<ProfileView>>> {
    list(&state, OrgKind::Funder).await
}

/// Creates a funder (operator managers).
#[utoipa::path(post, path = "/api/v1/funders", tag = "financeurs", request_body = NewProfile, responses((status = 201, body = ProfileView)))]
pub async fn create_funder(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewProfile>,
) -> ApiResult<(StatusCode, Json<ProfileView>)> {
    create(&state, &caller, OrgKind::Funder, body).await
}

/// One funder (operator, or the funder itself).
#[utoipa::path(get, path = "/api/v1/funders/{id}", tag = "financeurs", responses((status = 200, body = ProfileView)))]
pub async fn get_funder(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<ProfileView>> {
    get(&state, &caller, OrgKind::Funder, id).await
}

/// Edits a funder (operator managers).
#[utoipa::path(patch, path = "/api/v1/funders/{id}", tag = "financeurs", request_body = ProfileChange, responses((status = 200, body = ProfileView)))]
pub async fn update_funder(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<ProfileChange>,
) -> ApiResult<Json<ProfileView>> {
    update(&state, &caller, OrgKind::Funder, id, body).await
}

/// All prescribers (operator).
#[utoipa::path(get, path = "/api/v1/prescribers", tag = "prescripteurs", responses((status = 200, body = Vec<ProfileView>)))]
pub async fn list_prescribers(State(state): State<AppState>) -> ApiResult<Json<Vec<ProfileView>>> {
    list(&state, OrgKind::Prescriber).await
}

/// Creates a prescriber (operator managers).
#[utoipa::path(post, path = "/api/v1/prescribers", tag = "prescripteurs", request_body = NewProfile, responses((status = 201, body = ProfileView)))]
pub async fn create_prescriber(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewProfile>,
) -> ApiResult<(StatusCode, Json<ProfileView>)> {
    create(&state, &caller, OrgKind::Prescriber, body).await
}

/// One prescriber (operator, or the prescriber itself).
#[utoipa::path(get, path = "/api/v1/prescribers/{id}", tag = "prescripteurs", responses((status = 200, body = ProfileView)))]
pub async fn get_prescriber(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<ProfileView>> {
    get(&state, &caller, OrgKind::Prescriber, id).await
}

/// Edits a prescriber (operator managers).
#[utoipa::path(patch, path = "/api/v1/prescribers/{id}", tag = "prescripteurs", request_body = ProfileChange, responses((status = 200, body = ProfileView)))]
pub async fn update_prescriber(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<ProfileChange>,
) -> ApiResult<Json<ProfileView>> {
    update(&state, &caller, OrgKind::Prescriber, id, body).await
}
