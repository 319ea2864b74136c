//! The prescriber's page: hand a book to a person in a few seconds — the book's first voucher
//! (typed or scanned link), an age band, the commune of residence (by name or postcode), the
//! autonomy level. Nothing that identifies the person is asked.

use crate::app::AppError;
use crate::app::books::BookRef;
use crate::http::AppState;
use crate::http::pages::account::{csrf_refusal, render};
use crate::http::pages::actions::say;
use crate::http::pages::console::{Signed, signed};
use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use issuer::books::{Autonomy, BeneficiaryProfile};
use issuer::organisations::OrgKind;
use issuer::territory;
use serde::Deserialize;

const AGE_BANDS: &[(&str, &str)] = &[
    ("moins_de_25", "Moins de 25 ans"),
    ("25_39", "25 à 39 ans"),
    ("40_54", "40 à 54 ans"),
    ("55_64", "55 à 64 ans"),
    ("65_74", "65 à 74 ans"),
    ("75_et_plus", "75 ans et plus"),
];
const AUTONOMIES: &[(&str, &str)] = &[
    ("excluded", "N'utilise pas le numérique"),
    ("beginner", "Débute, a besoin d'aide"),
    ("advanced", "Se débrouille, veut progresser"),
];

#[derive(Template)]
#[template(path = "handover.html")]
struct HandoverPage {
    name: String,
    organisation: String,
    csrf: String,
    voucher: String,
    age_band: String,
    commune: String,
    autonomy: String,
    /// Several communes match what was typed: choose one (INSEE code, label).
    communes: Vec<(String, String)>,
    age_bands: &'static [(&'static str, &'static str)],
    autonomies: &'static [(&'static str, &'static str)],
    done: Option<String>,
    error: Option<String>,
}

async fn page(state: &AppState, headers: &HeaderMap) -> Result<(Signed, HandoverPage), Response> {
    let who = signed(state, headers).await?;
    if who.caller.kind != OrgKind::Prescriber {
        return Err((StatusCode::FORBIDDEN, "Cette page est celle des prescripteurs.").into_response());
    }
    let page = HandoverPage {
        name: who.session.user.display_name.clone(),
        organisation: who.organisation.clone(),
        csrf: who.session.csrf.clone(),
        voucher: String::new(),
        age_band: "65_74".into(),
        commune: String::new(),
        autonomy: "beginner".into(),
        communes: Vec::new(),
        age_bands: AGE_BANDS,
        autonomies: AUTONOMIES,
        done: None,
        error: None,
    };
    Ok((who, page))
}

pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match page(&state, &headers).await {
        Ok((_, p)) => render(p, StatusCode::OK),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct Handover {
    csrf: String,
    voucher: String,
    age_band: String,
    commune: String,
    autonomy: String,
}

pub async fn hand_over(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<Handover>) -> Response {
    let (who, mut p) = match page(&state, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Some(refused) = csrf_refusal(&who.session, &f.csrf) {
        return refused;
    }
    (p.voucher, p.age_band, p.autonomy) = (f.voucher.trim().to_owned(), f.age_band.clone(), f.autonomy.clone());
    // The commune: chosen from a list (`insee:33522`), or a name or postcode to look up (a
    // postcode is never read as an INSEE code: 33400 is Talence's postcode and another commune's
    // code).
    let chosen = f.commune.trim().strip_prefix("insee:").and_then(territory::commune);
    let commune = match chosen {
        Some(c) => c,
        None => {
            let found = territory::search_communes(&f.commune, 12);
            match found.as_slice() {
                [one] => *one,
                [] => {
                    p.error = Some(format!("Aucune commune ne correspond à « {} ».", f.commune.trim()));
                    return render(p, StatusCode::UNPROCESSABLE_ENTITY);
                }
                many => {
                    p.communes = many
                        .iter()
                        .map(|c| (format!("insee:{}", c.insee), format!("{} ({})", c.name, c.postcodes.join(", "))))
                        .collect();
                    p.error = Some("Plusieurs communes correspondent : choisissez-la dans la liste.".into());
                    return render(p, StatusCode::OK);
                }
            }
        }
    };
    let Some(autonomy) = Autonomy::parse(&f.autonomy) else {
        p.error = Some("Niveau d'autonomie inconnu.".into());
        return render(p, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let profile = BeneficiaryProfile {
        age_band: f.age_band,
        commune_insee: commune.insee.clone(),
        autonomy,
        referral_reason: None,
    };
    let book = BookRef::Voucher(f.voucher.clone());
    let result = match crate::app::books::hand_over(&state, &who.caller, &book, &profile).await {
        Ok(book) => Ok(book.serial),
        Err(AppError::NotFound) => Err("Ce carnet ne fait pas partie de ceux que vous avez reçus.".to_owned()),
        Err(e) => Err(say(e)),
    };
    match result {
        Ok(serial) => {
            p.done = Some(format!("Carnet {serial} remis ({}).", commune.name));
            p.voucher.clear();
            render(p, StatusCode::OK)
        }
        Err(e) => {
            p.error = Some(e);
            render(p, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}
