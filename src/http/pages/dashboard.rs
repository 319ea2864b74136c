//! The dashboard: a funder's (its orders), a site's (its activity), the operator's (everything, or
//! one funder): headline figures, monthly charts, breakdown tables with their CSV (the long ones
//! shown with their largest rows only, the CSV has them all), the impact report, the open-data
//! file. Read through the statistics use cases as the signed-in person.

use crate::app::Act;
use crate::app::profiles::{self, ProfileKind};
use crate::app::statistics::{self as stats, Filter, Top};
use crate::http::AppState;
use crate::http::pages::actions::say;
use crate::http::pages::console::{Field, Filter as FilterForm, Page, Section, Signed, Table, download_href};
use issuer::organisations::OrgKind;
use statistics::Dimension;
use std::collections::HashMap;

/// The query string of the chosen period and filter, without the leading `?`.
fn query(q: &HashMap<String, String>, operator: bool) -> String {
    let mut parts = Vec::new();
    for key in ["from", "to"] {
        if let Some(v) = q.get(key).filter(|v| !v.is_empty()) {
            parts.push(format!("{key}={}", form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()));
        }
    }
    if let Some(v) = funder(q, operator) {
        parts.push(format!("funder={v}"));
    }
    parts.join("&")
}

/// The funder the operator chose, if any.
fn funder(q: &HashMap<String, String>, operator: bool) -> Option<i64> {
    q.get("funder").and_then(|v| v.parse::<i64>().ok()).filter(|_| operator)
}

/// The tables of the dashboard, in their order.
const TABLES: [Dimension; 10] = [
    Dimension::Month,
    Dimension::Site,
    Dimension::Service,
    Dimension::Category,
    Dimension::Prescriber,
    Dimension::Departement,
    Dimension::Commune,
    Dimension::AgeBand,
    Dimension::Autonomy,
    Dimension::FirstUseDelay,
];

/// A dimension's name in the API (`age_band`…).
fn slug(d: Dimension) -> String {
    d.slug().to_owned()
}

pub async fn show(app: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    if !c.may(Act::ReadFigures) {
        return Err("Le tableau de bord est celui des financeurs, des lieux et de l'opérateur.".into());
    }
    let operator = c.kind == OrgKind::Operator;
    let qs = query(q, operator);
    let with = |path: &str| if qs.is_empty() { path.to_owned() } else { format!("{path}?{qs}") };
    let filter =
        Filter { from: q.get("from").cloned(), to: q.get("to").cloned(), funder: funder(q, operator), site: None };
    let figures = stats::figures(app, c, &filter).await.map_err(say)?;
    let mut page = Page::new(who, "Tableau de bord", &with("/tableau-de-bord"));

    let mut period = Section::new("Période");
    let mut fields = vec![
        Field::new("month", "from", "Premier mois (AAAA-MM)").value(q.get("from").cloned().unwrap_or_default()),
        Field::new("month", "to", "Dernier mois (AAAA-MM)").value(q.get("to").cloned().unwrap_or_default()),
    ];
    if operator {
        let funders = profiles::list(app, c, ProfileKind::Funder).await.map_err(say)?;
        let mut choices = vec![(String::new(), "Tous les financeurs".to_owned())];
        choices.extend(funders.into_iter().map(|f| (f.id.to_string(), f.name)));
        fields.push(Field::select("funder", "Financeur", choices).value(q.get("funder").cloned().unwrap_or_default()));
    }
    period.filter = Some(FilterForm { action: "/tableau-de-bord".into(), fields, submit: "Afficher".into() });
    period.paragraphs.push(format!("Période : {}.", figures.period.label()));
    page.sections.push(period);

    let mut headline = Section::new("Chiffres clés");
    let mut t = Table::new(&["Indicateur", "Valeur"], "");
    for (label, value) in statistics::report::headline(&figures) {
        t.row(vec![label.into(), value.into()], Vec::new());
    }
    headline.table = Some(t);
    if c.may(Act::PrintImpactReport) {
        headline.links.push((download_href(&with("/api/v1/statistics/report.pdf")), "Rapport d'impact (PDF)".into()));
    }
    headline
        .links
        .push(("/api/v1/open-data/communes.csv".into(), "Données ouvertes par commune et par mois (CSV)".into()));
    page.sections.push(headline);

    for dimension in TABLES {
        let slug = slug(dimension);
        // The long tables (communes, départements, sites): their largest rows, the others merged.
        let top = if dimension.is_long() { Top::largest(statistics::SHOWN_ROWS) } else { Top::default() };
        let table = stats::table(app, c, &slug, &filter, &top).await.map_err(say)?;
        let mut section = Section::new(&table.title);
        if dimension == Dimension::Month {
            section.charts = stats::monthly_charts(&table).iter().map(|c| c.to_svg()).collect();
        }
        let headers: Vec<&str> = table.columns.iter().map(String::as_str).collect();
        let mut t = Table::new(&headers, "Rien sur cette période.");
        if table.withheld {
            section
                .paragraphs
                .push("Tableau non publié : trop peu de personnes pour respecter le secret statistique.".into());
        } else {
            for row in table.rows.iter().chain(table.total.iter()) {
                t.row(row.iter().map(|cell| cell.to_french().into()).collect(), Vec::new());
            }
        }
        section.table = Some(t);
        section.paragraphs.extend(table.notes.iter().cloned());
        if table.merged_rows > 0 {
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
