//! Signing in and out, the home page, changing one's password (server-rendered, no script).
//!
//! The session cookie is HttpOnly, SameSite=Lax, Secure when the public URL is https, and its
//! value is new at every sign-in. Every form carries a CSRF token: the session's, or before
//! sign-in a random value also set in a short-lived cookie (double submit).

use crate::http::AppState;
use crate::identity::sessions::{self, Session, SignInError};
use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

pub const SESSION_COOKIE: &str = "psl_session";
const LOGIN_COOKIE: &str = "psl_login";

pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

pub(crate) fn set_cookie(state: &AppState, name: &str, value: &str, path: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.public_url.starts_with("https://") { "; Secure" } else { "" };
    let same_site = if name == SESSION_COOKIE { "Lax" } else { "Strict" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A rendered page with its status.
pub(crate) fn render(t: impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => crate::http::problem::ApiError::internal(e).into_response(),
    }
}

/// The refusal of a form whose CSRF token is not the session's, if it is not.
pub(crate) fn csrf_refusal(session: &Session, token: &str) -> Option<Response> {
    (session.csrf != token).then(|| (StatusCode::FORBIDDEN, "Jeton de formulaire invalide.").into_response())
}

/// The session of the request, if any.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let value = cookie(headers, SESSION_COOKIE)?;
    sessions::find(&state.db, &value).await.ok().flatten()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    email: String,
    error: Option<String>,
}

fn login_page(state: &AppState, email: String, error: Option<String>, status: StatusCode) -> Response {
    let csrf = crate::identity::tokens::generate().trim_start_matches("psl_").to_owned();
    let mut response = render(LoginPage { csrf: csrf.clone(), email, error }, status);
    response.headers_mut().append(header::SET_COOKIE, set_cookie(state, LOGIN_COOKIE, &csrf, "/connexion", 1800));
    response
}

pub async fn login_form(State(state): State<AppState>) -> Response {
    login_page(&state, String::new(), None, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf: String,
}

pub async fn login(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    if cookie(&headers, LOGIN_COOKIE).is_none_or(|c| c != f.csrf) {
        let error = "Le formulaire a expiré : réessayez.".to_owned();
        return login_page(&state, f.email, Some(error), StatusCode::FORBIDDEN);
    }
    match sessions::sign_in(&state.db, &f.email, &f.password).await {
        Ok((_, value)) => {
            let mut response = Redirect::to("/").into_response();
            let max_age = sessions::SESSION_HOURS * 3600;
            response.headers_mut().append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, &value, "/", max_age));
            response.headers_mut().append(header::SET_COOKIE, set_cookie(&state, LOGIN_COOKIE, "", "/connexion", 0));
            response
        }
        Err(e @ (SignInError::Wrong | SignInError::Locked(_))) => {
            login_page(&state, f.email, Some(format!("{}.", capitalise(&e.to_string()))), StatusCode::UNAUTHORIZED)
        }
        Err(SignInError::Db(e)) => crate::http::problem::ApiError::from(e).into_response(),
    }
}

pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    name: String,
    organisation: String,
    role: &'static str,
    /// `operator`, `funder`, `prescriber` or `site`: what the page shows.
    kind: &'static str,
    organisation_id: i64,
    manager: bool,
    csrf: String,
    /// The operator's home: what needs attention.
    attention: Vec<String>,
    /// A funder's home: its orders, those ending within 30 days, its invoices and credit notes.
    orders: Vec<String>,
    expiring: Vec<String>,
    invoices: Vec<(i64, String)>,
}

/// A funder's home: (orders, orders ending within 30 days, documents with their id).
async fn funder_view(
    state: &AppState,
    caller: &crate::app::Caller,
) -> Result<(Vec<String>, Vec<String>, Vec<(i64, String)>), String> {
    let funder = caller.organisation_id;
    let orders = issuer::orders::list(&state.db, Some(funder)).await.map_err(|e| e.to_string())?;
    let orders = orders
        .iter()
        .map(|o| {
            let status = match o.status.as_str() {
                "draft" => "brouillon",
                "confirmed" => "confirmée",
                "issuing" => "en cours d'émission",
                "issued" => "émise",
                _ => "annulée",
            };
            format!("n°{} — {} — {} — {} chèque(s)", o.id, o.label, status, o.voucher_count())
        })
        .collect();
    let today = issuer::local_time::day(ledger::time::now());
    let expiring = issuer::expiry::expiring(&state.db, funder, today)
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .map(|e| {
            format!(
                "n°{} — {} : fin le {}, {} chèque(s) encore actifs ({}), {} carnet(s) jamais utilisés",
                e.order_id,
                e.label,
                e.valid_until.format("%d/%m/%Y"),
                e.active_vouchers,
                ledger::Cents(e.active_value_cents).to_french(),
                e.books_untouched + e.books_issued - e.books_distributed
            )
        })
        .collect();
    let invoices = crate::app::invoices::list(state, caller)
        .await
        .map_err(crate::http::problem::sentence)?
        .into_iter()
        .map(|d| {
            let what = if d.kind == "invoice" { "Facture" } else { "Avoir" };
            (
                d.id,
                format!(
                    "{what} {} du {} — {}",
                    d.reference,
                    d.issued_on.format("%d/%m/%Y"),
                    ledger::Cents(d.total_cents).to_french()
                ),
            )
        })
        .collect();
    Ok((orders, expiring, invoices))
}

/// A funder's invoice or credit note as a PDF, for its own users signed in (the operator too).
pub async fn invoice_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Response {
    let Some(session) = current(&state, &headers).await else { return Redirect::to("/connexion").into_response() };
    let document = match crate::app::caller::of_user(&state, &session.user).await {
        Ok((caller, _)) => crate::app::invoices::pdf(&state, &caller, id).await,
        Err(e) => Err(e),
    };
    match document {
        Ok(d) => crate::http::download("application/pdf", &d.file_name, d.bytes),
        Err(crate::app::AppError::NotFound | crate::app::AppError::Forbidden) => {
            (StatusCode::NOT_FOUND, "Document introuvable.").into_response()
        }
        Err(e) => crate::http::problem::ApiError::from(e).into_response(),
    }
}

/// What waits for the operator, in French, only what is not zero.
async fn attention(db: &ledger::Db) -> Result<Vec<String>, sqlx::Error> {
    let (sites, anomalies, orders, runs, payouts): (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM sites WHERE status = 'pending'), \
         (SELECT COUNT(*) FROM anomalies WHERE status = 'open'), \
         (SELECT COUNT(*) FROM orders WHERE status = 'confirmed'), \
         (SELECT COUNT(*) FROM settlement_runs WHERE status = 'draft'), \
         (SELECT COUNT(*) FROM payouts WHERE status = 'sent')",
    )
    .fetch_one(db.pool())
    .await?;
    let items = [
        (sites, "lieu(x) en attente d'agrément"),
        (anomalies, "anomalie(s) à examiner"),
        (orders, "commande(s) confirmée(s) à émettre"),
        (runs, "règlement(s) à valider"),
        (payouts, "versement(s) en attente de confirmation bancaire"),
    ];
    Ok(items.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")).collect())
}

pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(session) = current(&state, &headers).await else { return Redirect::to("/connexion").into_response() };
    let organisation = issuer::organisations::get(&state.db, session.user.organisation_id).await.ok().flatten();
    use issuer::organisations::OrgKind;
    let kind = organisation.as_ref().map(|o| o.kind);
    let role = match kind {
        Some(OrgKind::Operator) => "Opérateur",
        Some(OrgKind::Funder) => "Financeur",
        Some(OrgKind::Prescriber) => "Prescripteur",
        Some(OrgKind::Site) => "Lieu de médiation",
        None => "—",
    };
    let attention = if kind == Some(OrgKind::Operator) {
        match attention(&state.db).await {
            Ok(items) => items,
            Err(e) => return crate::http::problem::ApiError::from(e).into_response(),
        }
    } else {
        Vec::new()
    };
    let (orders, expiring, invoices) = if kind == Some(OrgKind::Funder) {
        let view = match crate::app::caller::of_user(&state, &session.user).await {
            Ok((caller, _)) => funder_view(&state, &caller).await,
            Err(e) => Err(crate::http::problem::sentence(e)),
        };
        match view {
            Ok(v) => v,
            Err(e) => return crate::http::problem::ApiError::internal(e).into_response(),
        }
    } else {
        Default::default()
    };
    render(
        HomePage {
            name: session.user.display_name.clone(),
            organisation: organisation.map(|o| o.name).unwrap_or_default(),
            role,
            kind: kind.map_or("", |k| k.as_str()),
            organisation_id: session.user.organisation_id,
            manager: session.user.role == crate::identity::Role::Manager,
            csrf: session.csrf.clone(),
            attention,
            orders,
            expiring,
            invoices,
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    let Some(session) = current(&state, &headers).await else { return Redirect::to("/connexion").into_response() };
    if let Some(refused) = csrf_refusal(&session, &f.csrf) {
        return refused;
    }
    if let Err(e) = sessions::revoke(&state.db, session.id).await {
        return crate::http::problem::ApiError::from(e).into_response();
    }
    let mut response = Redirect::to("/connexion").into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", "/", 0));
    response
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    name: String,
    csrf: String,
    error: Option<String>,
}

pub async fn password_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(s) = current(&state, &headers).await else { return Redirect::to("/connexion").into_response() };
    render(PasswordPage { name: s.user.display_name.clone(), csrf: s.csrf.clone(), error: None }, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    confirm: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Response {
    let Some(s) = current(&state, &headers).await else { return Redirect::to("/connexion").into_response() };
    if let Some(refused) = csrf_refusal(&s, &f.csrf) {
        return refused;
    }
    let result = if f.new != f.confirm {
        Err("les deux nouveaux mots de passe diffèrent".to_owned())
    } else {
        sessions::change_password(&state.db, &s, &f.current, &f.new).await
    };
    match result {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => render(
            PasswordPage { name: s.user.display_name.clone(), csrf: s.csrf.clone(), error: Some(capitalise(&e) + ".") },
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}
