//! The dashboard: a funder's (its orders), a site's (its activity), the operator's (everything, or
//! one funder): headline figures, monthly charts, breakdown tables with their CSV (the long ones
//! shown with their largest rows only, the CSV has them all), the impact report, the open-data
//! file. Read through the statistics API as the signed-in person.

use crate::http::AppState;
use crate::http::pages::console::{
    Cell, Field, Filter, Page, Section, Signed, Table, api, download_href, items, may, options, text,
};
use axum::http::Method;
use issuer::organisations::OrgKind;
use std::collections::HashMap;

/// The query string of the chosen period and filter, without the leading `?`.
fn query(q: &HashMap<String, String>, operator: bool) -> String {
    let mut parts = Vec::new();
    for key in ["from", "to"] {
        if let Some(v) = q.get(key).filter(|v| !v.is_empty()) {
            parts.push(format!("{key}={}", form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()));
        }
    }
    if let Some(v) = q.get("funder").and_then(|v| v.parse::<i64>().ok()).filter(|_| operator) {
        parts.push(format!("funder={v}"));
    }
    parts.join("&")
}

pub async fn show(state: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    if !may(c, "GET", "/api/v1/statistics") {
        return Err("Le tableau de bord est celui des financeurs, des lieux et de l'opérateur.".into());
    }
    let operator = c.kind == OrgKind::Operator;
    let qs = query(q, operator);
    let with = |path: &str| if qs.is_empty() { path.to_owned() } else { format!("{path}?{qs}") };
    let figures = api(state, c, Method::GET, &with("/api/v1/statistics"), None).await?;
    let mut page = Page::new(who, "Tableau de bord", &with("/tableau-de-bord"));

    let mut filter = Section::new("Période");
    let mut fields = vec![
        Field::new("month", "from", "Premier mois (AAAA-MM)").value(q.get("from").cloned().unwrap_or_default()),
        Field::new("month", "to", "Dernier mois (AAAA-MM)").value(q.get("to").cloned().unwrap_or_default()),
    ];
    if operator {
        let funders = api(state, c, Method::GET, "/api/v1/funders", None).await?;
        let mut choices = vec![(String::new(), "Tous les financeurs".to_owned())];
        choices.extend(options(&funders, "id", "name"));
        fields.push(Field::select("funder", "Financeur", choices).value(q.get("funder").cloned().unwrap_or_default()));
    }
    filter.filter = Some(Filter { action: "/tableau-de-bord".into(), fields, submit: "Afficher".into() });
    filter.paragraphs.push(format!("Période : {}.", period_label(&figures["period"])));
    page.sections.push(filter);

    let mut headline = Section::new("Chiffres clés");
    let lines: Vec<(String, String)> = serde_json::from_value::<statistics::Figures>(figures.clone())
        .ok()
        .map(|f| statistics::report::headline(&f))
        .unwrap_or_else(|| vec![("Utilisés".into(), text(&figures["redeemed"]["vouchers"]))]);
    let mut t = Table::new(&["Indicateur", "Valeur"], "");
    for (label, value) in lines {
        t.row(vec![label.into(), value.into()], Vec::new());
    }
    headline.table = Some(t);
    if may(c, "GET", "/api/v1/statistics/report.pdf") {
        headline.links.push((download_href(&with("/api/v1/statistics/report.pdf")), "Rapport d'impact (PDF)".into()));
    }
    headline
        .links
        .push(("/api/v1/open-data/communes.csv".into(), "Données ouvertes par commune et par mois (CSV)".into()));
    page.sections.push(headline);

    for slug in [
        "month",
        "site",
        "service",
        "category",
        "prescriber",
        "departement",
        "commune",
        "age_band",
        "autonomy",
        "first_use_delay",
    ] {
        // The long tables (communes, départements, sites): their largest rows, the others merged.
        let long = serde_json::from_value::<statistics::Dimension>(slug.into()).is_ok_and(|d| d.is_long());
        let mut path = with(&format!("/api/v1/statistics/tables/{slug}"));
        if long {
            path.push(if qs.is_empty() { '?' } else { '&' });
            path.push_str(&format!("top={}", statistics::SHOWN_ROWS));
        }
        let table = api(state, c, Method::GET, &path, None).await?;
        let mut section = Section::new(&text(&table["title"]));
        if let Some(t) =
            (slug == "month").then(|| serde_json::from_value::<statistics::Table>(table.clone()).ok()).flatten()
        {
            section.charts = crate::http::routes::statistics::monthly_charts(&t).iter().map(|c| c.to_svg()).collect();
        }
        let columns: Vec<String> = items(&table["columns"]).iter().map(text).collect();
        let headers: Vec<&str> = columns.iter().map(String::as_str).collect();
        let mut t = Table::new(&headers, "Rien sur cette période.");
        if table["withheld"].as_bool() == Some(true) {
            section
                .paragraphs
                .push("Tableau non publié : trop peu de personnes pour respecter le secret statistique.".into());
        } else {
            for row in items(&table["rows"]).iter().chain(std::iter::once(&table["total"]).filter(|t| !t.is_null())) {
                t.row(items(row).iter().map(cell).collect(), Vec::new());
            }
        }
        section.table = Some(t);
        section.paragraphs.extend(items(&table["notes"]).iter().map(text));
        if table["merged_rows"].as_u64().is_some_and(|k| k > 0) {
            section.paragraphs.push("L'export CSV de ce tableau donne toutes les lignes.".into());
        }
        section
            .links
            .push((download_href(&with(&format!("/api/v1/statistics/tables/{slug}/csv"))), "Exporter en CSV".into()));
        page.sections.push(section);
    }
    let mut method = Section::new("Méthode");
    method.paragraphs.extend(statistics::report::METHOD.iter().map(|s| (*s).to_owned()));
    page.sections.push(method);
    Ok(page)
}

/// A table cell of the statistics API as shown on the page.
fn cell(v: &serde_json::Value) -> Cell {
    serde_json::from_value::<statistics::Cell>(v.clone()).map_or_else(|_| text(v).into(), |c| c.to_french().into())
}

fn period_label(v: &serde_json::Value) -> String {
    serde_json::from_value::<statistics::Period>(v.clone()).map_or_else(|_| "depuis le début".into(), |p| p.label())
}
