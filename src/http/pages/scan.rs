//! The site's passage page (typed codes or scanned links): choose the place and the service,
//! check each voucher (green or red with the reason in French), then confirm; a receipt follows.
//! Only members of an accredited site reach it. Camera scanning and offline queues come later.

use crate::http::AppState;
use crate::http::pages::account::{csrf_refusal, current, render};
use crate::identity::sessions::Session;
use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use issuer::organisations::OrgKind;
use redeemer::redeem::{self, RedeemError, RedeemRequest};
use serde::Deserialize;

pub struct Line {
    input: String,
    ok: bool,
    text: String,
}

#[derive(Template)]
#[template(path = "scan.html")]
struct ScanPage {
    name: String,
    site: String,
    csrf: String,
    places: Vec<(i64, String)>,
    services: Vec<(String, String, u32)>,
    place: i64,
    service: String,
    codes: String,
    verdicts: Vec<Line>,
    can_confirm: bool,
    key: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct Receipt {
    name: String,
    site: String,
    id: i64,
    vouchers: u32,
    value: String,
    payable: String,
}

/// The signed-in member of a site, with the site's places and offered services.
/// The answer to anyone but a site's member.
fn sites_only() -> Response {
    (StatusCode::FORBIDDEN, "Cette page est celle des lieux de médiation.").into_response()
}

async fn site_member(state: &AppState, headers: &HeaderMap) -> Result<(Session, ScanPage), Response> {
    let Some(session) = current(state, headers).await else { return Err(Redirect::to("/connexion").into_response()) };
    let org = issuer::organisations::get(&state.db, session.user.organisation_id).await.ok().flatten();
    let Some(org) = org.filter(|o| o.kind == OrgKind::Site) else {
        return Err(sites_only());
    };
    let site = redeemer::sites::get(&state.db, org.id).await.ok().flatten();
    let Some(site) = site else { return Err((StatusCode::FORBIDDEN, "Lieu inconnu.").into_response()) };
    let catalogue = redeemer::catalogue::list(&state.db).await.unwrap_or_default();
    let services = catalogue
        .into_iter()
        .filter(|l| !l.retired && site.services.contains(&l.service.code))
        .map(|l| (l.service.code, l.service.label, l.service.price_vouchers))
        .collect::<Vec<_>>();
    let page = ScanPage {
        name: session.user.display_name.clone(),
        site: site.name.clone(),
        csrf: session.csrf.clone(),
        place: site.places.first().map_or(0, |p| p.id),
        service: services.first().map(|s| s.0.clone()).unwrap_or_default(),
        places: site.places.iter().map(|p| (p.id, p.name.clone())).collect(),
        services,
        codes: String::new(),
        verdicts: Vec::new(),
        can_confirm: false,
        key: String::new(),
        error: None,
    };
    Ok((session, page))
}

pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match site_member(&state, &headers).await {
        Ok((_, page)) => render(page, StatusCode::OK),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct Passage {
    csrf: String,
    place: i64,
    service: String,
    codes: String,
    key: Option<String>,
    /// The outcome, when the mediator gives it at confirmation.
    result: Option<String>,
    autonomy_before: Option<String>,
    autonomy_after: Option<String>,
}

impl Passage {
    /// The outcome given with the confirmation: none without a result; a result with optional
    /// autonomy levels (1 to 4).
    fn outcome(&self) -> Result<Option<redeemer::outcome::Outcome>, String> {
        let Some(result) = self.result.as_deref().filter(|r| !r.is_empty()) else { return Ok(None) };
        let result: redeemer::outcome::OutcomeKind =
            serde_json::from_value(serde_json::Value::from(result)).map_err(|_| "résultat inconnu".to_owned())?;
        let level = |v: &Option<String>| -> Result<Option<redeemer::outcome::Autonomy>, String> {
            match v.as_deref().filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => {
                    let n: i64 = v.parse().map_err(|_| format!("autonomie « {v} » : un chiffre de 1 à 4"))?;
                    redeemer::outcome::Autonomy::try_from(n).map(Some)
                }
            }
        };
        Ok(Some(redeemer::outcome::Outcome {
            result,
            autonomy_before: level(&self.autonomy_before)?,
            autonomy_after: level(&self.autonomy_after)?,
        }))
    }
}

fn inputs(codes: &str) -> Vec<String> {
    codes.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

pub async fn verify(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<Passage>) -> Response {
    let (session, mut page) = match site_member(&state, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Some(refused) = csrf_refusal(&session, &f.csrf) {
        return refused;
    }
    let codes = inputs(&f.codes);
    page.place = f.place;
    page.service = f.service.clone();
    page.codes = codes.join("\n");
    let now = ledger::time::now();
    let site = session.user.organisation_id;
    match redeem::verify(&state.db, &state.keys, site, f.place, &f.service, &codes, now, Some(session.user.id)).await {
        Ok(verdicts) => {
            page.verdicts = verdicts
                .iter()
                .map(|v| Line {
                    input: v.input.clone(),
                    ok: v.redeemable,
                    text: match &v.refusal {
                        None => format!("valable ({})", ledger::Cents(v.face_value_cents.unwrap_or(0)).to_french()),
                        Some(r) => r.message.clone(),
                    },
                })
                .collect();
            let price = page.services.iter().find(|s| s.0 == f.service).map_or(0, |s| s.2 as usize);
            page.can_confirm = verdicts.iter().all(|v| v.redeemable) && verdicts.len() == price;
            if verdicts.iter().all(|v| v.redeemable) && verdicts.len() != price {
                page.error =
                    Some(format!("Ce service se règle avec {price} chèque(s) ; {} présenté(s).", verdicts.len()));
            }
            page.key = crate::identity::tokens::generate().trim_start_matches("psl_").to_owned();
            render(page, StatusCode::OK)
        }
        Err(RedeemError::Refused(r)) => {
            page.error = Some(r.message);
            render(page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => crate::http::problem::ApiError::from(e).into_response(),
    }
}

pub async fn confirm(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<Passage>) -> Response {
    let (session, mut page) = match site_member(&state, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Some(refused) = csrf_refusal(&session, &f.csrf) {
        return refused;
    }
    if let Err(e) = state.limits.check_scan(session.user.id, session.user.organisation_id) {
        return e.into_response();
    }
    let outcome = match f.outcome() {
        Ok(o) => o,
        Err(e) => {
            page.error = Some(format!("Résultat de l'accompagnement : {e}."));
            page.codes = inputs(&f.codes).join("\n");
            return render(page, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let req = RedeemRequest {
        site_id: session.user.organisation_id,
        place_id: f.place,
        service_code: f.service.clone(),
        vouchers: inputs(&f.codes),
        performed_at: None,
        idempotency_key: f.key.clone().unwrap_or_default(),
        scanned_by: Some(session.user.id),
        outcome,
    };
    match redeem::redeem(&state.db, &state.keys, &req).await {
        Ok(done) => render(
            Receipt {
                name: page.name,
                site: page.site,
                id: done.redemption_id,
                vouchers: done.vouchers,
                value: ledger::Cents(done.value_cents).to_french(),
                payable: ledger::Cents(done.site_payable_cents).to_french(),
            },
            StatusCode::OK,
        ),
        Err(RedeemError::Refused(r)) => {
            page.error = Some(r.message);
            page.codes = inputs(&f.codes).join("\n");
            render(page, StatusCode::CONFLICT)
        }
        Err(e) => crate::http::problem::ApiError::from(e).into_response(),
    }
}

/// The session of a site member for the scan page's scripts, with its CSRF token checked from
/// the `X-CSRF-Token` header (scripts post JSON or images, not forms).
async fn scripted(state: &AppState, headers: &HeaderMap) -> Result<crate::http::pages::console::Signed, Response> {
    let who = crate::http::pages::console::signed(state, headers).await?;
    if who.caller.kind != OrgKind::Site {
        return Err(sites_only());
    }
    let token = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    if let Some(refused) = csrf_refusal(&who.session, token) {
        return Err(refused);
    }
    Ok(who)
}

/// `POST /passage/decoder`: a camera frame (PNG or JPEG) → the text of its QR code, for browsers
/// without a QR reader of their own.
pub async fn decode_frame(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::http::problem::Bytes(body): crate::http::problem::Bytes,
) -> Response {
    if let Err(r) = scripted(&state, &headers).await {
        return r;
    }
    match tokio::task::spawn_blocking(move || redeemer::camera::read_qr(&body)).await {
        Ok(Ok(text)) => axum::Json(serde_json::json!({ "text": text })).into_response(),
        Ok(Err(e)) => (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(serde_json::json!({ "error": e.to_string() })))
            .into_response(),
        Err(e) => crate::http::problem::ApiError::internal(e).into_response(),
    }
}

/// `POST /passage/synchroniser`: passages queued on the device while offline (`{"items": [...]}`
/// as the API's batch), redeemed through the API as the signed-in member; per-item results.
pub async fn sync(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Json(batch): axum::Json<serde_json::Value>,
) -> Response {
    let who = match scripted(&state, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let path = format!("/api/v1/sites/{}/redemptions/batch", who.caller.organisation_id);
    crate::http::pages::console::api_response(&state, &who.caller, axum::http::Method::POST, &path, Some(batch)).await
}
