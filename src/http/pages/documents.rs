//! `GET /telecharger?chemin=/api/v1/…`: a document (PDF, SEPA file, CSV) for the signed-in
//! person, made by the same use case as the API route of that address — which checks who may
//! have it. The address names the document as the API does; nothing goes through HTTP.

use crate::app::statistics::Filter;
use crate::app::{App, AppResult, Caller, orders, settlements, statistics};
use crate::http::AppState;
use crate::http::pages::console::{show, signed};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// A made document: its media type, its file name, its bytes.
struct Document {
    media_type: &'static str,
    name: String,
    bytes: Vec<u8>,
}

const PDF: &str = "application/pdf";
const XML: &str = "application/xml; charset=utf-8";
const CSV: &str = "text/csv; charset=utf-8";

/// The numbers and words of an address that follows `pattern` (`{…}` for a part).
fn parts<'a>(pattern: &str, path: &'a str) -> Option<Vec<&'a str>> {
    let (mut want, mut got) = (pattern.split('/'), path.split('/'));
    let mut found = Vec::new();
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(found),
            (Some(w), Some(g)) if w.starts_with('{') && !g.is_empty() => found.push(g),
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

fn id(part: &str) -> Option<i64> {
    part.parse().ok().filter(|n| *n > 0)
}

/// The document at `path` (an API address) with its query, if the address names one.
async fn make(app: &App, caller: &Caller, path: &str, query: &str) -> Option<AppResult<Document>> {
    let q: HashMap<String, String> = serde_urlencoded::from_str(query).unwrap_or_default();
    let number = |k: &str| q.get(k).and_then(|v| v.parse::<u32>().ok());
    let filter = || Filter {
        from: q.get("from").cloned(),
        to: q.get("to").cloned(),
        funder: q.get("funder").and_then(|v| v.parse().ok()),
        site: q.get("site").and_then(|v| v.parse().ok()),
    };
    let doc = |media_type, name: String| move |bytes| Document { media_type, name, bytes };
    if let Some([order]) = parts("/api/v1/orders/{id}/books.pdf", path).as_deref() {
        let order = id(order)?;
        let made = orders::print(app, caller, order, number("from"), number("to")).await;
        return Some(made.map(doc(PDF, format!("commande-{order}-carnets.pdf"))));
    }
    if let Some([run]) = parts("/api/v1/settlements/{id}/report.pdf", path).as_deref() {
        let run = id(run)?;
        return Some(settlements::report(app, caller, run).await.map(doc(PDF, format!("rapport-reglement-{run}.pdf"))));
    }
    if let Some([run]) = parts("/api/v1/settlements/{id}/sepa.xml", path).as_deref() {
        let run = id(run)?;
        return Some(settlements::sepa(app, caller, run).await.map(doc(XML, format!("virements-reglement-{run}.xml"))));
    }
    if let Some([run, site]) = parts("/api/v1/settlements/{id}/statements/{site}", path).as_deref() {
        let (run, site) = (id(run)?, id(site)?);
        let made = settlements::statement(app, caller, run, site).await;
        return Some(made.map(doc(PDF, format!("releve-reglement-{run}-lieu-{site}.pdf"))));
    }
    if parts("/api/v1/statistics/report.pdf", path).is_some() {
        return Some(
            statistics::impact_report(app, caller, &filter()).await.map(doc(PDF, "rapport-impact.pdf".into())),
        );
    }
    if let Some([slug]) = parts("/api/v1/statistics/tables/{dimension}/csv", path).as_deref() {
        let made = statistics::table_csv(app, caller, slug, &filter()).await;
        return Some(made.map(doc(CSV, format!("statistiques-{slug}.csv"))));
    }
    None
}

/// `GET /telecharger?chemin=…`
pub async fn download(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let who = match signed(&app, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let chemin = q.get("chemin").map(String::as_str).unwrap_or("");
    let (path, query) = chemin.split_once('?').unwrap_or((chemin, ""));
    match make(&app, &who.caller, path, query).await {
        None => (StatusCode::BAD_REQUEST, "Document invalide.").into_response(),
        Some(Ok(d)) => crate::http::download(d.media_type, &d.name, d.bytes),
        Some(Err(e)) => show(&who, "Document", "/", Err(crate::http::problem::sentence(e)), None),
    }
}

#[cfg(test)]
mod tests {
    use super::parts;

    #[test]
    fn addresses_give_their_parts() {
        assert_eq!(parts("/api/v1/orders/{id}/books.pdf", "/api/v1/orders/12/books.pdf"), Some(vec!["12"]));
        assert_eq!(
            parts("/api/v1/settlements/{id}/statements/{site}", "/api/v1/settlements/3/statements/9"),
            Some(vec!["3", "9"])
        );
        assert_eq!(parts("/api/v1/orders/{id}/books.pdf", "/api/v1/orders//books.pdf"), None);
        assert_eq!(parts("/api/v1/orders/{id}/books.pdf", "/api/v1/orders/1/books.pdf/x"), None);
        assert_eq!(parts("/api/v1/statistics/report.pdf", "/connexion"), None);
    }
}
