//! The prescriber's page: hand a book to a person in a few seconds — the book's first voucher
//! (typed or scanned link), an age band, the commune of residence (by name or postcode), the
//! autonomy level. Nothing that identifies the person is asked.

use crate::http::AppState;
use crate::http::pages::account::{csrf_refusal, current, render};
use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use issuer::books::{self, Autonomy, BeneficiaryProfile};
use issuer::organisations::OrgKind;
use issuer::{scan, territory};
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

async fn page(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(crate::identity::sessions::Session, HandoverPage), Response> {
    let Some(session) = current(state, headers).await else { return Err(Redirect::to("/connexion").into_response()) };
    let org = issuer::organisations::get(&state.db, session.user.organisation_id).await.ok().flatten();
    let Some(org) = org.filter(|o| o.kind == OrgKind::Prescriber) else {
        return Err((StatusCode::FORBIDDEN, "Cette page est celle des prescripteurs.").into_response());
    };
    let page = HandoverPage {
        name: session.user.display_name.clone(),
        organisation: org.name,
        csrf: session.csrf.clone(),
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
    Ok((session, page))
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
    let (session, mut p) = match page(&state, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Some(refused) = csrf_refusal(&session, &f.csrf) {
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
    let result = async {
        let code = scan::parse(&f.voucher).map_err(|e| format!("Chèque illisible : {e}."))?.code();
        let mut tx = state.db.begin().await.map_err(|e| e.to_string())?;
        let book = books::by_voucher(&mut tx, code)
            .await
            .map_err(|e| e.to_string())?
            .filter(|b| b.prescriber_id == Some(session.user.organisation_id))
            .ok_or("Ce carnet ne fait pas partie de ceux que vous avez reçus.")?;
        let book = books::distribute(&mut tx, book.id, session.user.organisation_id, &profile, Some(session.user.id))
            .await
            .map_err(|e| format!("{e}."))?;
        crate::audit::record(
            &mut tx,
            crate::audit::Actor { user_id: Some(session.user.id), organisation_id: Some(session.user.organisation_id) },
            "book.distribute",
            "book",
            &book.serial,
            serde_json::json!({"via": "web"}),
        )
        .await
        .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(book.serial)
    }
    .await;
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
