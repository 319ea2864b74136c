//! A site's own money: the passages it recorded, its payouts and their statements.

use crate::app::{passages, settlements};
use crate::http::AppState;
use crate::http::pages::actions::say;
use crate::http::pages::console::{Page, Section, Signed, Table, download_href, link};
use crate::http::pages::format::{date, date_time, euros, status_word};
use std::collections::HashMap;

/// The site whose pages these are: the signed-in site, or for the operator `?lieu=`.
fn site_of(who: &Signed, q: &HashMap<String, String>) -> i64 {
    q.get("lieu")
        .and_then(|v| v.parse().ok())
        .filter(|_| who.caller.is_operator())
        .unwrap_or(who.caller.organisation_id)
}

/// Passages shown on one page.
const PER_PAGE: i64 = 100;

pub async fn history(app: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let site = site_of(who, q);
    let before = q.get("avant").and_then(|v| v.parse::<i64>().ok());
    let list = passages::history(app, c, site, before, PER_PAGE).await.map_err(say)?;
    let mut page = Page::new(who, "Passages enregistrés", "/passages");
    let mut table = Table::new(
        &["N°", "Date", "Lieu d'accueil", "Service", "Chèques", "Valeur", "Frais"],
        "Aucun passage enregistré.",
    );
    let oldest = list.last().map(|p| p.id).filter(|_| list.len() as i64 == PER_PAGE);
    for p in list {
        table.row(
            vec![
                p.id.to_string().into(),
                date_time(p.performed_at).into(),
                p.place.into(),
                p.service.into(),
                p.vouchers.to_string().into(),
                euros(p.value_cents).into(),
                euros(p.fee_cents).into(),
            ],
            Vec::new(),
        );
    }
    let mut section = Section::new("Les plus récents d'abord");
    section.links.push(("/passage".into(), "Enregistrer un passage".into()));
    if let Some(last) = oldest {
        section.links.push((format!("/passages?avant={last}"), "Passages plus anciens".into()));
    }
    section.table = Some(table);
    page.sections.push(section);
    Ok(page)
}

pub async fn payouts(app: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let site = site_of(who, q);
    let list = settlements::of_site(app, c, site).await.map_err(say)?;
    let mut page = Page::new(who, "Versements et relevés", "/versements");
    let mut table =
        Table::new(&["Période jusqu'au", "Montant", "IBAN", "Statut", "Relevé"], "Aucun versement pour l'instant.");
    for p in list {
        table.row(
            vec![
                date(p.period_end).into(),
                euros(p.payout.amount_cents).into(),
                p.payout.iban_masked.into(),
                status_word(p.payout.status.as_str()).into(),
                link("Relevé (PDF)", download_href(&format!("/api/v1/settlements/{}/statements/{site}", p.run_id))),
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
