//! The catalogue of services: everyone reads it; the operator adds, edits and retires services.

use crate::http::AppState;
use crate::http::pages::console::{Action, Field, FormSpec, Page, Section, Signed, Table, api, items, may, text};
use axum::http::Method;
use std::collections::HashMap;

pub async fn list(state: &AppState, who: &Signed, _: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let catalogue = api(state, c, Method::GET, "/api/v1/catalogue", None).await?;
    let mut page = Page::new(who, "Catalogue des services", "/catalogue");
    let manage = may(c, "POST", "/api/v1/catalogue");
    let mut table = Table::new(
        &["Code", "Service", "Catégorie", "Format", "Durée (min)", "Prix en chèques", "État"],
        "Catalogue vide.",
    );
    for s in items(&catalogue) {
        let code = text(&s["code"]);
        let retired = s["retired"].as_bool() == Some(true);
        let actions = if manage && !retired {
            vec![Action::post(format!("/api/v1/catalogue/{code}/retire"), "Retirer")]
        } else {
            Vec::new()
        };
        table.row(
            vec![
                code.into(),
                text(&s["label"]).into(),
                text(&s["category"]).into(),
                text(&s["format"]).into(),
                text(&s["duration_minutes"]).into(),
                text(&s["price_vouchers"]).into(),
                if retired { "retiré" } else { "proposé" }.into(),
            ],
            actions,
        );
    }
    let mut section = Section::new("Services");
    section.table = Some(table);
    page.sections.push(section);
    if manage {
        let categories: Vec<(String, String)> =
            issuer::category::Category::ALL.iter().map(|c| (c.slug().to_owned(), c.label().to_owned())).collect();
        let mut new = Section::new("Ajouter ou modifier un service");
        new.forms.push(
            FormSpec::new(
                "POST",
                "/api/v1/catalogue",
                "Service (un code existant est modifié)",
                "Enregistrer le service",
            )
            .field(Field::new("text", "code", "Code").hint("Majuscules, chiffres et tirets, ex. DEM-ACCOMP"))
            .field(Field::new("text", "label", "Libellé"))
            .field(Field::select("category", "Catégorie", categories))
            .field(Field::select(
                "format",
                "Format",
                vec![
                    ("individual".into(), "individuel".into()),
                    ("collective".into(), "collectif".into()),
                    ("remote".into(), "à distance".into()),
                ],
            ))
            .field(Field::new("number", "duration_minutes:int", "Durée en minutes"))
            .field(Field::new("number", "price_vouchers:int", "Prix en chèques")),
        );
        page.sections.push(new);
    }
    Ok(page)
}
