//! The public voucher check page: `/V/{token}` (the URL inside every QR code), `/v/{token}`, and
//! `/v?code=…` for a typed code. No login; the same use case, and so the same rate limit, as the
//! API check (`crate::app::vouchers`).

use crate::app::Caller;
use crate::app::vouchers::{self, CheckView, PlaceView};
use crate::html::escape;
use crate::http::AppState;
use crate::http::problem::ApiError;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use std::net::SocketAddr;

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} — Passerelle</title>\
         <link rel=\"stylesheet\" href=\"/assets/site.css\"><link rel=\"icon\" href=\"data:,\"></head>\
         <body><main><h1>{}</h1>{}</main></body></html>",
        escape(title),
        escape(title),
        body
    ))
}

fn form() -> String {
    "<form method=\"get\" action=\"/v\"><label for=\"code\">Code du chèque (par exemple 7KQ2-M9XD-3TWP-A)</label>\
     <input id=\"code\" name=\"code\" autocomplete=\"off\" autocapitalize=\"characters\" required>\
     <button type=\"submit\">Vérifier</button></form>"
        .to_owned()
}

fn result(c: &CheckView) -> String {
    let mut html = format!(
        "<div class=\"{}\" role=\"status\"><p><strong>{}</strong></p>",
        if c.valid { "ok" } else { "ko" },
        escape(&c.message)
    );
    if let Some(v) = c.face_value_cents {
        html.push_str(&format!("<p>Valeur : {}</p>", escape(&ledger::Cents(v).to_french())));
    }
    if let (Some(left), Some(total)) = (c.vouchers_left_in_book, c.vouchers_in_book) {
        html.push_str(&format!("<p>Chèques encore utilisables dans ce carnet : {left} sur {total}</p>"));
    }
    if let Some(t) = &c.territory_label {
        html.push_str(&format!("<p>Utilisable en : {}</p>", escape(t)));
    }
    if let Some(until) = c.last_redemption_day.or(c.valid_until) {
        html.push_str(&format!("<p>À utiliser au plus tard le {}</p>", until.format("%d/%m/%Y")));
    }
    html.push_str(
        "</div><p>Ce chèque donne droit à un accompagnement au numérique dans un lieu de médiation agréé.</p>",
    );
    html
}

/// Where the voucher can be used: the accredited places of its territory.
fn places(list: &[PlaceView]) -> String {
    if list.is_empty() {
        return "<h2>Où l'utiliser</h2><p>Aucun lieu agréé pour l'instant sur ce territoire.</p>".to_owned();
    }
    let mut html = String::from("<h2>Où l'utiliser</h2><ul class=\"places\">");
    for p in list {
        html.push_str(&format!(
            "<li><strong>{}</strong> — {}<br>{}, {}<br>Ouvert : {}<br>Services : {}</li>",
            escape(&p.site),
            escape(&p.place),
            escape(&p.address),
            escape(&p.commune),
            escape(&p.hours),
            escape(&if p.services.is_empty() { "à demander sur place".to_owned() } else { p.services.join(", ") })
        ));
    }
    html.push_str("</ul>");
    html
}

async fn answer(state: &AppState, peer: SocketAddr, input: &str) -> Response {
    let public = Caller::anonymous();
    let c = match vouchers::check(state, &public, peer.ip(), input).await {
        Ok(c) => c,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let listed = if c.valid {
        match vouchers::places(state, &public, &c.territory).await {
            Ok(list) => places(&list),
            Err(e) => return ApiError::from(e).into_response(),
        }
    } else {
        String::new()
    };
    page("Vérifier un chèque", &format!("{}{listed}{}", result(&c), form())).into_response()
}

/// `/V/{token}` and `/v/{token}`.
pub async fn by_token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> Response {
    answer(&state, peer, &token).await
}

#[derive(serde::Deserialize)]
pub struct CodeQuery {
    code: Option<String>,
}

/// `/v`, with `?code=` once the form is sent.
pub async fn by_code(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<CodeQuery>,
) -> Response {
    match q.code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => answer(&state, peer, code).await,
        None => page("Vérifier un chèque", &form()).into_response(),
    }
}
