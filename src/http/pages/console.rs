//! The working pages of each role: the page model (sections of text, tables with row actions,
//! forms), who is signed in, and the one route every form posts to (`POST /action`), which
//! finds the form's action (`crate::http::pages::actions`) and runs it as the signed-in person.
//! Nothing here decides who may do what: the use cases do, exactly as for a bearer token.

use crate::app::Caller;
use crate::http::AppState;
use crate::http::pages::account::{csrf_refusal, current, render};
use crate::http::pages::form::Fields;
use crate::identity::sessions::Session;
use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

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

// ---------------------------------------------------------------------------------------------
// The page model: sections of text, tables with row actions, and forms.

/// A message at the top of a page after an action.
pub struct Notice {
    pub ok: bool,
    pub text: String,
    /// A value shown once (a one-time password), set apart to be copied.
    pub secret: Option<String>,
}

/// Where a button or form posts: a page action by name (`crate::http::pages::actions`).
pub struct Target(&'static str);

impl Target {
    /// The hidden fields that name the target.
    pub fn hidden(&self) -> Vec<(&'static str, String)> {
        vec![("act", self.0.to_owned())]
    }

    /// A piece of element id that tells forms apart.
    pub fn key(&self) -> String {
        self.0.replace('.', "-")
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
    /// A button running the page action `act`.
    pub fn run(act: &'static str, label: impl Into<String>) -> Action {
        Action { target: Target(act), label: label.into(), fields: Vec::new(), ask: None }
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
    /// A form running the page action `act`.
    pub fn run(act: &'static str, legend: &str, submit: &str) -> FormSpec {
        FormSpec { target: Target(act), legend: legend.to_owned(), fields: Vec::new(), submit: submit.to_owned() }
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
    let Some(run) = crate::http::pages::actions::find(get("act")) else {
        return (StatusCode::BAD_REQUEST, "Action invalide.").into_response();
    };
    let form =
        Fields::new(fields.iter().filter(|(k, _)| !matches!(k.as_str(), "csrf" | "act" | "back")).cloned().collect());
    let outcome = run(&state, &who.caller, &form).await;
    let notice = match outcome {
        Ok(done) => Notice { ok: true, text: done.text, secret: done.secret },
        Err(text) => Notice { ok: false, text, secret: None },
    };
    page_at(&state, &who, &back, Some(notice)).await
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

/// `/telecharger?chemin=…` for an API document.
pub fn download_href(api_path: &str) -> String {
    format!("/telecharger?chemin={}", form_urlencoded::byte_serialize(api_path.as_bytes()).collect::<String>())
}

/// The `{id}` of the page's address.
pub fn id(q: &std::collections::HashMap<String, String>) -> Result<i64, String> {
    q.get("id").and_then(|v| v.parse().ok()).ok_or_else(|| "Adresse invalide.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_come_back() {
        assert_eq!(safe_back("/gestion/commandes?x=1"), "/gestion/commandes?x=1");
        assert_eq!(safe_back("//evil.example"), "/");
        assert_eq!(safe_back("https://evil.example"), "/");
        assert_eq!(safe_back("/\\evil"), "/");
    }
}
