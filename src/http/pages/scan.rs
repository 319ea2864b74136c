//! The site's passage page (typed codes or scanned links): choose the place and the service,
//! check each voucher (green or red with the reason in French), then confirm; a receipt follows.
//! Only members of an accredited site reach it. Camera scanning and offline queues come later.

use crate::app::AppError;
use crate::app::passages;
use crate::http::AppState;
use crate::http::pages::account::{csrf_refusal, render};
use crate::http::pages::console::{Signed, signed};
use crate::http::problem::ApiError;
use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use issuer::organisations::OrgKind;
use redeemer::redeem::RedeemError;
use serde::Deserialize;
use serde::de::IntoDeserializer;

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

async fn site_member(state: &AppState, headers: &HeaderMap) -> Result<(Signed, ScanPage), Response> {
    let who = signed(state, headers).await?;
    if who.caller.kind != OrgKind::Site {
        return Err(sites_only());
    }
    let desk = match passages::desk(state, &who.caller).await {
        Ok(desk) => desk,
        Err(AppError::NotFound) => return Err((StatusCode::FORBIDDEN, "Lieu inconnu.").into_response()),
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    let page = ScanPage {
        name: who.session.user.display_name.clone(),
        site: desk.site,
        csrf: who.session.csrf.clone(),
        place: desk.places.first().map_or(0, |p| p.0),
        service: desk.services.first().map(|s| s.0.clone()).unwrap_or_default(),
        places: desk.places,
        services: desk.services,
        codes: String::new(),
        verdicts: Vec::new(),
        can_confirm: false,
        key: String::new(),
        error: None,
    };
    Ok((who, page))
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
        let words: serde::de::value::StrDeserializer<serde::de::value::Error> = result.into_deserializer();
        let result = redeemer::outcome::OutcomeKind::deserialize(words).map_err(|_| "résultat inconnu".to_owned())?;
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
    let (who, mut page) = match site_member(&state, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Some(refused) = csrf_refusal(&who.session, &f.csrf) {
        return refused;
    }
    let codes = inputs(&f.codes);
    page.place = f.place;
    page.service = f.service.clone();
    page.codes = codes.join("\n");
    let site = who.caller.organisation_id;
    match passages::verify(&state, &who.caller, site, f.place, &f.service, &codes, None).await {
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
        Err(AppError::Redeem(RedeemError::Refused(r))) => {
            page.error = Some(r.message);
            render(page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub async fn confirm(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<Passage>) -> Response {
    let (who, mut page) = match site_member(&state, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Some(refused) = csrf_refusal(&who.session, &f.csrf) {
        return refused;
    }
    let outcome = match f.outcome() {
        Ok(o) => o,
        Err(e) => {
            page.error = Some(format!("Résultat de l'accompagnement : {e}."));
            page.codes = inputs(&f.codes).join("\n");
            return render(page, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let passage = passages::Passage {
        place_id: f.place,
        service_code: f.service.clone(),
        vouchers: inputs(&f.codes),
        performed_at: None,
        idempotency_key: f.key.clone().unwrap_or_default(),
        outcome,
    };
    match passages::redeem(&state, &who.caller, who.caller.organisation_id, passage).await {
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
        Err(AppError::Redeem(RedeemError::Refused(r))) => {
            page.error = Some(r.message);
            page.codes = inputs(&f.codes).join("\n");
            render(page, StatusCode::CONFLICT)
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The session of a site member for the scan page's scripts, with its CSRF token checked from
/// the `X-CSRF-Token` header (scripts post JSON or images, not forms).
async fn scripted(state: &AppState, headers: &HeaderMap) -> Result<Signed, Response> {
    let who = signed(state, headers).await?;
    if who.caller.kind != OrgKind::Site {
        return Err(sites_only());
    }
    let token = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    if let Some(refused) = csrf_refusal(&who.session, token) {
        return Err(refused);
    }
    Ok(who)
}

/// What the server read in a camera frame: the QR code's text, or why not.
#[derive(serde::Serialize)]
struct Decoded {
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
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
        Ok(Ok(text)) => axum::Json(Decoded { text: Some(text), error: None }).into_response(),
        Ok(Err(e)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(Decoded { text: None, error: Some(e.to_string()) }))
                .into_response()
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Passages queued on the device while offline, as the API's batch.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queued {
    items: Vec<passages::Passage>,
}

/// `POST /passage/synchroniser`: passages queued on the device while offline (`{"items": [...]}`
/// as the API's batch), redeemed as the signed-in member; per-item results.
pub async fn sync(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: crate::http::problem::Json<Queued>,
) -> Response {
    let who = match scripted(&state, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let crate::http::problem::Json(queued) = body;
    match passages::redeem_batch(&state, &who.caller, who.caller.organisation_id, queued.items).await {
        Ok(results) => axum::Json(results).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
