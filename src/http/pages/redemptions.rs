//! A site's own money: the passages it recorded, its payouts and their statements.

use crate::http::AppState;
use crate::http::pages::console::{
    Page, Section, Signed, Table, api, date, date_time, download_href, euros, items, link, status, text,
};
use axum::http::Method;
use std::collections::HashMap;

/// The site whose pages these are: the signed-in site, or for the operator `?lieu=`.
fn site_of(who: &Signed, q: &HashMap<String, String>) -> i64 {
    q.get("lieu")
        .and_then(|v| v.parse().ok())
        .filter(|_| who.caller.is_operator())
        .unwrap_or(who.caller.organisation_id)
}

pub async fn history(state: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let site = site_of(who, q);
    let before = q.get("avant").and_then(|v| v.parse::<i64>().ok());
    let uri = match before {
        Some(b) => format!("/api/v1/sites/{site}/redemptions?limit=100&before={b}"),
        None => format!("/api/v1/sites/{site}/redemptions?limit=100"),
    };
    let list = api(state, c, Method::GET, &uri, None).await?;
    let mut page = Page::new(who, "Passages enregistrés", "/passages");
    let mut table = Table::new(
        &["N°", "Date", "Lieu d'accueil", "Service", "Chèques", "Valeur", "Frais"],
        "Aucun passage enregistré.",
    );
    for p in items(&list) {
        let at = date_time(&p["performed_at"]);
        table.row(
            vec![
                text(&p["id"]).into(),
                at.into(),
                text(&p["place"]).into(),
                text(&p["service"]).into(),
                text(&p["vouchers"]).into(),
                euros(&p["value_cents"]).into(),
                euros(&p["fee_cents"]).into(),
            ],
            Vec::new(),
        );
    }
    let mut section = Section::new("Les plus récents d'abord");
    section.links.push(("/passage".into(), "Enregistrer un passage".into()));
    if let Some(last) = items(&list).last().and_then(|p| p["id"].as_i64()).filter(|_| items(&list).len() == 100) {
        section.links.push((format!("/passages?avant={last}"), "Passages plus anciens".into()));
    }
    section.table = Some(table);
    page.sections.push(section);
    Ok(page)
}

pub async fn payouts(state: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let site = site_of(who, q);
    let list = api(state, c, Method::GET, &format!("/api/v1/sites/{site}/payouts"), None).await?;
    let mut page = Page::new(who, "Versements et relevés", "/versements");
    let mut table =
        Table::new(&["Période jusqu'au", "Montant", "IBAN", "Statut", "Relevé"], "Aucun versement pour l'instant.");
    for p in items(&list) {
        let run = text(&p["run_id"]);
        table.row(
            vec![
                date(&p["period_end"]).into(),
                euros(&p["payout"]["amount_cents"]).into(),
                text(&p["payout"]["iban_masked"]).into(),
                status(&p["payout"]["status"]).into(),
                link("Relevé (PDF)", download_href(&format!("/api/v1/settlements/{run}/statements/{site}"))),
            ],
            Vec::new(),
        );
    }
    let mut section = Section::new("Versements");
    section.links.push(("/releve".into(), "Relevé du compte du lieu (sommes dues)".into()));
    section.table = Some(table);
    page.sections.push(section);
    Ok(page)
}
