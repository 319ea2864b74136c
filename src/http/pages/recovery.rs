//! « Mot de passe oublié » (`/mot-de-passe-oublie`) and choosing a password with a link
//! received by email (`/nouveau-mot-de-passe?jeton=…`), before anyone is signed in. Forms carry
//! a CSRF value also set in a short-lived cookie (double submit), as the sign-in form does.

use crate::app::{AppError, Caller, passwords};
use crate::http::AppState;
use crate::http::pages::account::{capitalise, cookie, render, set_cookie};
use askama::Template;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::net::SocketAddr;

const RECOVERY_COOKIE: &str = "psl_recovery";

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    csrf: String,
    email: String,
    sent: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "choose_password.html")]
struct ChoosePage {
    csrf: String,
    token: String,
    valid: bool,
    done: bool,
    error: Option<String>,
}

/// A page with a fresh CSRF value, set in the cookie too.
fn with_csrf(state: &AppState, page: impl FnOnce(String) -> Response) -> Response {
    let csrf = crate::identity::tokens::generate().trim_start_matches("psl_").to_owned();
    let mut response = page(csrf.clone());
    response.headers_mut().append(header::SET_COOKIE, set_cookie(state, RECOVERY_COOKIE, &csrf, "/", 1800));
    response
}

fn csrf_ok(headers: &HeaderMap, posted: &str) -> bool {
    cookie(headers, RECOVERY_COOKIE).is_some_and(|c| !c.is_empty() && c == posted)
}

fn forgot_page(state: &AppState, email: String, sent: bool, error: Option<String>, status: StatusCode) -> Response {
    with_csrf(state, |csrf| render(ForgotPage { csrf, email, sent, error }, status))
}

pub async fn forgot_form(State(state): State<AppState>) -> Response {
    forgot_page(&state, String::new(), false, None, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct ForgotForm {
    email: String,
    csrf: String,
}

/// The same page whether the address has an account or not.
pub async fn forgot(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<ForgotForm>,
) -> Response {
    if !csrf_ok(&headers, &f.csrf) {
        let error = Some("Le formulaire a expiré : réessayez.".to_owned());
        return forgot_page(&state, f.email, false, error, StatusCode::FORBIDDEN);
    }
    match passwords::request_reset(&state, &Caller::anonymous(), &f.email, peer.ip()).await {
        Ok(()) => forgot_page(&state, String::new(), true, None, StatusCode::OK),
        Err(e @ AppError::Limited(_)) => {
            forgot_page(&state, f.email, false, Some(crate::http::problem::sentence(e)), StatusCode::TOO_MANY_REQUESTS)
        }
        Err(e) => crate::http::problem::ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    jeton: String,
}

fn choose_page(state: &AppState, token: String, valid: bool, error: Option<String>, status: StatusCode) -> Response {
    with_csrf(state, |csrf| render(ChoosePage { csrf, token, valid, done: false, error }, status))
}

/// The form to choose a password, or why the link no longer works.
pub async fn choose_form(State(state): State<AppState>, Query(q): Query<LinkQuery>) -> Response {
    match passwords::link_is_valid(&state, &Caller::anonymous(), &q.jeton).await {
        Ok(true) => choose_page(&state, q.jeton, true, None, StatusCode::OK),
        Ok(false) => choose_page(&state, String::new(), false, None, StatusCode::GONE),
        Err(e) => crate::http::problem::ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct ChooseForm {
    csrf: String,
    jeton: String,
    new: String,
    confirm: String,
}

pub async fn choose(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<ChooseForm>) -> Response {
    if !csrf_ok(&headers, &f.csrf) {
        let error = Some("Le formulaire a expiré : réessayez.".to_owned());
        return choose_page(&state, f.jeton, true, error, StatusCode::FORBIDDEN);
    }
    if f.new != f.confirm {
        let error = Some("Les deux mots de passe diffèrent.".to_owned());
        return choose_page(&state, f.jeton, true, error, StatusCode::UNPROCESSABLE_ENTITY);
    }
    match passwords::choose(&state, &Caller::anonymous(), &f.jeton, &f.new).await {
        Ok(()) => {
            let done = ChoosePage { csrf: String::new(), token: String::new(), valid: false, done: true, error: None };
            let mut response = render(done, StatusCode::OK);
            response.headers_mut().append(header::SET_COOKIE, set_cookie(&state, RECOVERY_COOKIE, "", "/", 0));
            response
        }
        Err(AppError::Invalid { code: "invalid_link", message }) => {
            choose_page(&state, String::new(), false, Some(message), StatusCode::GONE)
        }
        Err(AppError::Invalid { message, .. }) => {
            choose_page(&state, f.jeton, true, Some(capitalise(&message)), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => crate::http::problem::ApiError::from(e).into_response(),
    }
}
