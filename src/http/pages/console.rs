//! The working pages of each role, built on the API itself: a page reads through the `/api/v1`
//! routes as the signed-in person (same authorization table, same handlers, same validation),
//! and every form posts to one bridge that turns its fields into the API request. Nothing here
//! decides who may do what: the API does, exactly as for a bearer token.
//!
//! Form fields are named after the API body: `label` (text), `books:int` (whole number),
//! `face_value_cents:euros` (an amount typed in euros, sent in cents), `territory:list` (codes
//! separated by commas or spaces), `funders.0.funder_id:int` (nested); an empty field is left out.

use crate::http::AppState;
use crate::http::authz::{self, Caller};
use crate::http::pages::account::{csrf_refusal, current, render};
use crate::http::pages::actions::Done;
use crate::http::pages::form::Fields;
use crate::identity::sessions::Session;
use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value};
use std::sync::OnceLock;
use tower::ServiceExt;

/// A request made by a page on behalf of its signed-in user; only this module creates it, and
/// the authorization layer takes it instead of a bearer token.
#[derive(Clone)]
pub(crate) struct OnBehalf(pub(crate) Caller);

/// Who is signed in, as the API sees them.
pub struct Signed {
    pub session: Session,
    pub caller: Caller,
    pub organisation: String,
}

/// The signed-in person, or the way to the sign-in page.
pub async fn signed(state: &AppState, headers: &HeaderMap) -> Result<Signed, Response> {
    let to_login = || Redirect::to("/connexion").into_response();
    let session = current(state, headers).await.ok_or_else(to_login)?;
    let (caller, organisation) = match crate::app::caller::of_user(state, &session.user).await {
        Ok(found) => found,
        Err(crate::app::AppError::NotFound) => return Err(to_login()),
        Err(e) => return Err(crate::http::problem::ApiError::from(e).into_response()),
    };
    Ok(Signed { session, caller, organisation })
}

fn api_router() -> Router<AppState> {
    static API: OnceLock<Router<AppState>> = OnceLock::new();
    API.get_or_init(|| crate::http::api().0).clone()
}

/// Sends one request to the API as `caller` with a JSON body; the raw answer.
pub async fn api_response(
    state: &AppState,
    caller: &Caller,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> Response {
    let body = body.map(|b| ("application/json", Body::from(b.to_string())));
    send(state, caller, method, uri, body).await
}

/// Sends one request to the API as `caller`, with a body of the given media type.
async fn send(state: &AppState, caller: &Caller, method: Method, uri: &str, body: Option<(&str, Body)>) -> Response {
    let mut request = Request::builder().method(method).uri(uri).extension(OnBehalf(caller.clone()));
    let body = match body {
        Some((media_type, body)) => {
            request = request.header(header::CONTENT_TYPE, media_type);
            body
        }
        None => Body::empty(),
    };
    let Ok(request) = request.body(body) else {
        return (StatusCode::BAD_REQUEST, "Adresse invalide.").into_response();
    };
    let router = api_router()
        .layer(axum::middleware::from_fn_with_state(state.clone(), authz::authorize))
        .with_state(state.clone());
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The JSON answer of the API, or its problem in French.
async fn answer(response: Response) -> Result<Value, String> {
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 16 << 20).await.map_err(|e| e.to_string())?;
    let value: Value =
        if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    if status.is_success() { Ok(value) } else { Err(problem_text(status, &value)) }
}

/// Sends one request to the API as `caller`: its JSON answer, or the problem in French.
pub async fn api(
    state: &AppState,
    caller: &Caller,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    answer(api_response(state, caller, method, uri, body).await).await
}

/// A problem document in one French sentence (its detail, and the fields at fault).
fn problem_text(status: StatusCode, problem: &Value) -> String {
    let mut text = problem["detail"].as_str().or(problem["title"].as_str()).map_or_else(
        || match status {
            StatusCode::FORBIDDEN => "Cette action ne vous est pas permise.".to_owned(),
            StatusCode::NOT_FOUND => "Introuvable.".to_owned(),
            _ => format!("La demande a échoué ({status})."),
        },
        str::to_owned,
    );
    if let Some(errors) = problem["errors"].as_array() {
        for e in errors {
            let field = e["field"].as_str().or(e["pointer"].as_str()).unwrap_or("");
            let reason = e["reason"].as_str().or(e["message"].as_str()).or(e["detail"].as_str()).unwrap_or("");
            if !reason.is_empty() {
                text.push_str(&format!(" — {field} : {reason}"));
            }
        }
    }
    text
}

// ---------------------------------------------------------------------------------------------
// The page model: sections of text, tables with row actions, and forms.

/// A message at the top of a page after an action.
pub struct Notice {
    pub ok: bool,
    pub text: String,
    /// A value shown once (a one-time password), set apart to be copied.
    pub secret: Option<String>,
}

/// Where a button or form posts: a page action by name (`crate::http::pages::actions`), or an
/// API route for the pages that still go through the API.
pub enum Target {
    Act(&'static str),
    Api { method: &'static str, path: String },
}

impl Target {
    /// The hidden fields that name the target.
    pub fn hidden(&self) -> Vec<(&'static str, String)> {
        match self {
            Target::Act(name) => vec![("act", (*name).to_owned())],
            Target::Api { method, path } => vec![("api_method", (*method).to_owned()), ("api_path", path.clone())],
        }
    }

    /// A piece of element id that tells forms apart.
    pub fn key(&self) -> String {
        match self {
            Target::Act(name) => name.replace('.', "-"),
            Target::Api { path, .. } => path.clone(),
        }
    }
}

/// A button posting to the bridge.
pub struct Action {
    pub target: Target,
    pub label: String,
    /// More fields sent with it (name, value).
    pub fields: Vec<(String, String)>,
    /// A text field to fill before pressing (name, label), e.g. a reason.
    pub ask: Option<(String, String)>,
}

impl Action {
    pub fn post(api_path: impl Into<String>, label: impl Into<String>) -> Action {
        Action::to(Target::Api { method: "POST", path: api_path.into() }, label)
    }

    /// A button running the page action `act`.
    pub fn run(act: &'static str, label: impl Into<String>) -> Action {
        Action::to(Target::Act(act), label)
    }

    fn to(target: Target, label: impl Into<String>) -> Action {
        Action { target, label: label.into(), fields: Vec::new(), ask: None }
    }

    pub fn with(mut self, name: &str, value: impl Into<String>) -> Action {
        self.fields.push((name.to_owned(), value.into()));
        self
    }

    pub fn asking(mut self, name: &str, label: &str) -> Action {
        self.ask = Some((name.to_owned(), label.to_owned()));
        self
    }

    /// A piece of element id unique on the page: the target and the values sent with it.
    pub fn key(&self) -> String {
        unique_key(&self.target, self.fields.iter().map(|(_, v)| v.as_str()))
    }
}

fn unique_key<'a>(target: &Target, values: impl Iterator<Item = &'a str>) -> String {
    let mut key = target.key();
    for v in values {
        key.push('-');
        key.extend(v.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }));
    }
    key
}

pub struct Cell {
    pub text: String,
    pub href: Option<String>,
}

impl<T: Into<String>> From<T> for Cell {
    fn from(text: T) -> Cell {
        Cell { text: text.into(), href: None }
    }
}

pub fn link(text: impl Into<String>, href: impl Into<String>) -> Cell {
    Cell { text: text.into(), href: Some(href.into()) }
}

pub struct Row {
    pub cells: Vec<Cell>,
    pub actions: Vec<Action>,
}

pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
    /// Said when there is no row.
    pub empty: String,
}

impl Table {
    pub fn new(headers: &[&str], empty: &str) -> Table {
        Table { headers: headers.iter().map(|h| (*h).to_owned()).collect(), rows: Vec::new(), empty: empty.to_owned() }
    }

    pub fn row(&mut self, cells: Vec<Cell>, actions: Vec<Action>) {
        self.rows.push(Row { cells, actions });
    }

    pub fn has_actions(&self) -> bool {
        self.rows.iter().any(|r| !r.actions.is_empty())
    }
}

pub struct Field {
    pub name: String,
    pub label: String,
    /// text, number, date, email, select, textarea, hidden
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(String, String)>,
    pub required: bool,
    pub hint: Option<String>,
}

impl Field {
    pub fn new(kind: &'static str, name: &str, label: &str) -> Field {
        Field {
            name: name.to_owned(),
            label: label.to_owned(),
            kind,
            value: String::new(),
            options: Vec::new(),
            required: true,
            hint: None,
        }
    }

    pub fn select(name: &str, label: &str, options: Vec<(String, String)>) -> Field {
        Field { options, ..Field::new("select", name, label) }
    }

    pub fn value(mut self, value: impl Into<String>) -> Field {
        self.value = value.into();
        self
    }

    pub fn optional(mut self) -> Field {
        self.required = false;
        self
    }

    pub fn hint(mut self, hint: &str) -> Field {
        self.hint = Some(hint.to_owned());
        self
    }

    /// Whether a choice is among the field's values (comma-separated).
    pub fn has(&self, choice: &str) -> bool {
        self.value.split(',').any(|v| v == choice)
    }

    /// The element id: the name without the type suffix nor dots.
    pub fn id(&self) -> String {
        format!("f-{}", self.name.replace([':', '.'], "-"))
    }
}

pub struct FormSpec {
    pub target: Target,
    pub legend: String,
    pub fields: Vec<Field>,
    pub submit: String,
}

impl FormSpec {
    pub fn new(api_method: &'static str, api_path: impl Into<String>, legend: &str, submit: &str) -> FormSpec {
        FormSpec::to(Target::Api { method: api_method, path: api_path.into() }, legend, submit)
    }

    /// A form running the page action `act`.
    pub fn run(act: &'static str, legend: &str, submit: &str) -> FormSpec {
        FormSpec::to(Target::Act(act), legend, submit)
    }

    fn to(target: Target, legend: &str, submit: &str) -> FormSpec {
        FormSpec { target, legend: legend.to_owned(), fields: Vec::new(), submit: submit.to_owned() }
    }

    pub fn field(mut self, f: Field) -> FormSpec {
        self.fields.push(f);
        self
    }

    /// A piece of element id unique on the page: the target and the values of hidden fields.
    pub fn key(&self) -> String {
        unique_key(&self.target, self.fields.iter().filter(|f| f.kind == "hidden").map(|f| f.value.as_str()))
    }
}

/// A plain search or filter form (GET, no side effect).
pub struct Filter {
    pub action: String,
    pub fields: Vec<Field>,
    pub submit: String,
}

#[derive(Default)]
pub struct Section {
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub links: Vec<(String, String)>,
    pub filter: Option<Filter>,
    pub table: Option<Table>,
    pub forms: Vec<FormSpec>,
    /// Charts drawn on the server (SVG built and escaped by `statistics::chart`).
    pub charts: Vec<String>,
}

impl Section {
    pub fn new(heading: &str) -> Section {
        Section { heading: heading.to_owned(), ..Section::default() }
    }
}

/// One working page.
#[derive(Template)]
#[template(path = "console.html")]
pub struct Page {
    pub title: String,
    pub name: String,
    pub organisation: String,
    pub csrf: String,
    /// Where the bridge brings the person back.
    pub back: String,
    pub notice: Option<Notice>,
    pub intro: Vec<String>,
    pub sections: Vec<Section>,
}

impl Page {
    pub fn new(who: &Signed, title: &str, back: &str) -> Page {
        Page {
            title: title.to_owned(),
            name: who.session.user.display_name.clone(),
            organisation: who.organisation.clone(),
            csrf: who.session.csrf.clone(),
            back: back.to_owned(),
            notice: None,
            intro: Vec::new(),
            sections: Vec::new(),
        }
    }
}

/// Builds a page for the signed-in person; `Err` is a French message shown on an empty page.
pub type Builder = for<'a> fn(
    &'a AppState,
    &'a Signed,
    &'a std::collections::HashMap<String, String>,
) -> futures_util::future::BoxFuture<'a, Result<Page, String>>;

/// Renders a page, or the error that prevented it.
pub fn show(who: &Signed, title: &str, back: &str, built: Result<Page, String>, notice: Option<Notice>) -> Response {
    match built {
        Ok(mut page) => {
            let status =
                if notice.as_ref().is_some_and(|n| !n.ok) { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
            page.notice = notice;
            render(page, status)
        }
        Err(e) => {
            let mut page = Page::new(who, title, back);
            page.notice = Some(Notice { ok: false, text: e, secret: None });
            render(page, StatusCode::NOT_FOUND)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The bridge: one POST route for every form of the working pages.

/// Turns the named fields of a form into the API's JSON body.
pub fn body_from_fields(fields: &[(String, String)]) -> Result<Option<Value>, String> {
    // Ticked boxes of one `:list` field come as several fields of the same name.
    let mut merged: Vec<(String, String)> = Vec::new();
    for (name, raw) in fields {
        match merged.iter_mut().find(|(n, _)| n == name && name.ends_with(":list")) {
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(raw);
            }
            None => merged.push((name.clone(), raw.clone())),
        }
    }
    let mut root = Value::Object(Map::new());
    let mut any = false;
    for (name, raw) in &merged {
        let value = raw.trim();
        if value.is_empty() {
            continue;
        }
        let (path, kind) = name.split_once(':').unwrap_or((name.as_str(), "text"));
        let parsed = match kind {
            "text" => Value::String(value.to_owned()),
            "int" => value
                .replace([' ', '\u{a0}', '\u{202f}'], "")
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("« {value} » n'est pas un nombre entier."))?,
            "euros" => Value::from(value.parse::<ledger::Cents>().map_err(|e| format!("{e}."))?.0),
            "list" => Value::Array(
                value
                    .split([',', ' ', ';', '\n'])
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| Value::from(s.trim()))
                    .collect(),
            ),
            "bool" => Value::Bool(matches!(value, "on" | "true" | "oui")),
            _ => return Err(format!("Champ de formulaire inconnu : {name}.")),
        };
        insert(&mut root, path, parsed)?;
        any = true;
    }
    Ok(any.then_some(root))
}

fn insert(root: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let parts: Vec<&str> = path.split('.').collect();
    let mut node = root;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let next_is_index = parts.get(i + 1).is_some_and(|p| p.parse::<usize>().is_ok());
        let empty = || if next_is_index { Value::Array(Vec::new()) } else { Value::Object(Map::new()) };
        node = if let Ok(index) = part.parse::<usize>() {
            let Value::Array(items) = node else { return Err(format!("Champ de formulaire mal formé : {path}.")) };
            if index > 100 {
                return Err(format!("Champ de formulaire mal formé : {path}."));
            }
            while items.len() <= index {
                items.push(Value::Null);
            }
            if items[index].is_null() && !last {
                items[index] = empty();
            }
            &mut items[index]
        } else {
            let Value::Object(map) = node else { return Err(format!("Champ de formulaire mal formé : {path}.")) };
            map.entry(part.to_owned()).or_insert_with(|| if last { Value::Null } else { empty() })
        };
        if last {
            *node = value;
            return Ok(());
        }
    }
    Ok(())
}

/// A local path to come back to (never another site).
fn safe_back(back: &str) -> &str {
    if back.starts_with('/') && !back.starts_with("//") && !back.contains('\\') { back } else { "/" }
}

/// `POST /action`: the fields `csrf`, `api_method`, `api_path`, `back`, then the body's fields.
/// The API answers as the signed-in person; the page comes back with the outcome.
pub async fn bridge(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let who = match signed(&state, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("");
    if let Some(refused) = csrf_refusal(&who.session, get("csrf")) {
        return refused;
    }
    let back = safe_back(get("back")).to_owned();
    let act = get("act");
    let outcome = if act.is_empty() {
        let Some((method, api_path)) = api_target(get("api_method"), get("api_path")) else {
            return (StatusCode::BAD_REQUEST, INVALID).into_response();
        };
        api_bridge(&state, &who, method, &api_path, &fields).await
    } else {
        let Some(run) = crate::http::pages::actions::find(act) else {
            return (StatusCode::BAD_REQUEST, INVALID).into_response();
        };
        let form = Fields::new(
            fields.iter().filter(|(k, _)| !matches!(k.as_str(), "csrf" | "act" | "back")).cloned().collect(),
        );
        run(&state, &who.caller, &form).await
    };
    let notice = match outcome {
        Ok(done) => Notice { ok: true, text: done.text, secret: done.secret },
        Err(text) => Notice { ok: false, text, secret: None },
    };
    page_at(&state, &who, &back, Some(notice)).await
}

/// A form of a page that still goes through the API: its fields become the API request.
async fn api_bridge(
    state: &AppState,
    who: &Signed,
    method: Method,
    api_path: &str,
    fields: &[(String, String)],
) -> Result<Done, String> {
    let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("");
    let body_fields: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "csrf" | "api_method" | "api_path" | "back"))
        .cloned()
        .collect();
    let raw_csv = get("csv:raw").to_owned();
    let answer = if !raw_csv.is_empty() {
        raw_call(state, &who.caller, api_path, raw_csv).await
    } else {
        let body = body_from_fields(&body_fields)?;
        let body = body.or_else(|| (method != Method::DELETE).then(|| Value::Object(Map::new())));
        api(state, &who.caller, method, api_path, body).await
    }?;
    Ok(Done { text: done_text(&answer), secret: answer["one_time_password"].as_str().map(str::to_owned) })
}

/// What the bridge answers to a form that names no valid action.
const INVALID: &str = "Action invalide.";

/// The API request a legacy form names, if it is a writing method on an API path.
fn api_target(method: &str, path: &str) -> Option<(Method, String)> {
    let method = match method {
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        _ => return None,
    };
    (path.starts_with("/api/v1/") && !path.contains("..")).then(|| (method, path.to_owned()))
}

/// A CSV file pasted in a form, posted as the API's `text/csv` body.
async fn raw_call(state: &AppState, caller: &Caller, api_path: &str, csv: String) -> Result<Value, String> {
    answer(send(state, caller, Method::POST, api_path, Some(("text/csv", Body::from(csv)))).await).await
}

/// What the API did, in a sentence: a count or an import report when it says one.
fn done_text(answer: &Value) -> String {
    if let (Some(imported), Some(errors)) = (answer["imported"].as_u64(), answer["errors"].as_array()) {
        let mut text = format!("{imported} lieu(x) importé(s).");
        for e in errors.iter().take(20) {
            text.push_str(&format!(
                " Ligne {} — {} : {}.",
                e["line"].as_u64().unwrap_or(0),
                e["field"].as_str().unwrap_or(""),
                e["reason"].as_str().unwrap_or("")
            ));
        }
        return text;
    }
    if let Some(n) = answer["assigned"].as_u64() {
        return format!("Fait : {n} carnet(s) confié(s).");
    }
    "C'est fait.".to_owned()
}

/// The working page at `path` (with its query), rendered with a notice.
pub async fn page_at(state: &AppState, who: &Signed, path: &str, notice: Option<Notice>) -> Response {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let query: std::collections::HashMap<String, String> = serde_urlencoded::from_str(query).unwrap_or_default();
    match crate::http::pages::directory::find(route) {
        Some((title, build, params)) => {
            let mut query = query;
            query.extend(params);
            let built = build(state, who, &query).await;
            show(who, title, path, built, notice)
        }
        None => match notice {
            Some(n) if !n.ok => show(who, "Erreur", "/", Err(n.text), None),
            _ => Redirect::to(path).into_response(),
        },
    }
}

/// `GET` of a working page.
pub async fn page(State(state): State<AppState>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let who = match signed(&state, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    page_at(&state, &who, &path, None).await
}

/// `GET /telecharger?chemin=/api/v1/...`: a document of the API (PDF, SEPA file) for the
/// signed-in person, under the API's own authorization.
pub async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let who = match signed(&state, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let path = q.get("chemin").map(String::as_str).unwrap_or("");
    let document = [".pdf", ".xml", "/pdf"].iter().any(|end| path.split('?').next().unwrap_or("").ends_with(end))
        || path.contains("/statements/");
    if !path.starts_with("/api/v1/") || path.contains("..") || !document {
        return (StatusCode::BAD_REQUEST, "Document invalide.").into_response();
    }
    let response = api_response(&state, &who.caller, Method::GET, path, None).await;
    if response.status().is_success() {
        response
    } else {
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap_or_default();
        let problem: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        show(&who, "Document", "/", Err(problem_text(status, &problem)), None)
    }
}

/// `/telecharger?chemin=…` for an API document.
pub fn download_href(api_path: &str) -> String {
    format!("/telecharger?chemin={}", form_urlencoded::byte_serialize(api_path.as_bytes()).collect::<String>())
}

// ---------------------------------------------------------------------------------------------
// Reading the API's JSON for tables.

/// Whether the API would let `caller` do `method` on the route `path` (as in its policy table):
/// forms are only shown to those who may use them.
pub fn may(caller: &Caller, method: &str, path: &str) -> bool {
    let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
    authz::policy_for(&method, path).is_some_and(|access| caller.allows(access))
}

/// The `{id}` of the page's address.
pub fn id(q: &std::collections::HashMap<String, String>) -> Result<i64, String> {
    q.get("id").and_then(|v| v.parse().ok()).ok_or_else(|| "Adresse invalide.".to_owned())
}

pub fn text(v: &Value) -> String {
    match v {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

pub fn euros(v: &Value) -> String {
    v.as_i64().map_or_else(|| "—".to_owned(), |c| ledger::Cents(c).to_french())
}

/// An RFC 3339 instant or a date, as a French date.
pub fn date(v: &Value) -> String {
    let Some(s) = v.as_str() else { return "—".to_owned() };
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        let local = issuer::local_time::day(t.with_timezone(&chrono::Utc));
        return local.format("%d/%m/%Y").to_string();
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_or_else(|_| s.to_owned(), |d| d.format("%d/%m/%Y").to_string())
}

/// An RFC 3339 instant as French local date and time (`26/11/2026 14:05`).
pub fn date_time(v: &Value) -> String {
    v.as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()).map_or_else(
        || date(v),
        |t| issuer::local_time::local(t.with_timezone(&chrono::Utc)).format("%d/%m/%Y %H:%M").to_string(),
    )
}

/// The French word for a status the API gives in English.
pub fn status(v: &Value) -> String {
    crate::http::pages::format::status_word(v.as_str().unwrap_or(""))
}

/// The items of a JSON array (none if it is not one).
pub fn items(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

/// Options of a select from a JSON array: (value of `id_key`, value of `label_key`).
pub fn options(v: &Value, id_key: &str, label_key: &str) -> Vec<(String, String)> {
    items(v).iter().map(|o| (text(&o[id_key]), text(&o[label_key]))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn fields_become_the_api_body() {
        let body = body_from_fields(&fields(&[
            ("label", " Commande 2027 "),
            ("books:int", "1 200"),
            ("face_value_cents:euros", "12,50"),
            ("territory:list", "69123, 69266 75056"),
            ("funders.0.funder_id:int", "4"),
            ("funders.0.share_bps:int", "10000"),
            ("grace_days:int", ""),
            ("services:list", "a"),
            ("services:list", "b"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "label": "Commande 2027", "books": 1200, "face_value_cents": 1250,
                "territory": ["69123", "69266", "75056"],
                "funders": [{"funder_id": 4, "share_bps": 10000}],
                "services": ["a", "b"]
            })
        );
    }

    #[test]
    fn bad_fields_are_refused_in_french() {
        assert!(body_from_fields(&fields(&[("books:int", "dix")])).unwrap_err().contains("nombre entier"));
        assert!(body_from_fields(&fields(&[("v:euros", "1,2,3")])).unwrap_err().contains("montant invalide"));
        assert!(body_from_fields(&fields(&[("a.5000.b", "x")])).is_err());
        assert!(body_from_fields(&fields(&[("x:eval", "1")])).is_err());
        assert_eq!(body_from_fields(&fields(&[("a", "  ")])).unwrap(), None);
    }

    #[test]
    fn only_local_paths_come_back() {
        assert_eq!(safe_back("/gestion/commandes?x=1"), "/gestion/commandes?x=1");
        assert_eq!(safe_back("//evil.example"), "/");
        assert_eq!(safe_back("https://evil.example"), "/");
        assert_eq!(safe_back("/\\evil"), "/");
    }
}
