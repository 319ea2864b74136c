//! The catalogue of services: everyone reads it; the operator adds, edits and retires services.

use crate::app::{Act, App, Caller, catalogue};
use crate::http::AppState;
use crate::http::pages::actions::{Done, Outcome, say};
use crate::http::pages::console::{Action, Field, FormSpec, Page, Section, Signed, Table};
use crate::http::pages::form::Fields;
use redeemer::catalogue::Service;
use std::collections::HashMap;

pub async fn list(app: &AppState, who: &Signed, _: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let services = catalogue::list(app, c).await.map_err(say)?;
    let mut page = Page::new(who, "Catalogue des services", "/catalogue");
    let manage = c.may(Act::SaveService);
    let mut table = Table::new(
        &["Code", "Service", "Catégorie", "Format", "Durée (min)", "Prix en chèques", "État"],
        "Catalogue vide.",
    );
    for s in services {
        let actions = if c.may(Act::RetireService) && !s.retired {
            vec![Action::run("service.retire", "Retirer").with("code", &s.code)]
        } else {
            Vec::new()
        };
        table.row(
            vec![
                s.code.into(),
                s.label.into(),
                s.category.into(),
                s.format.into(),
                s.duration_minutes.to_string().into(),
                s.price_vouchers.to_string().into(),
                if s.retired { "retiré" } else { "proposé" }.into(),
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
            FormSpec::run("service.save", "Service (un code existant est modifié)", "Enregistrer le service")
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
                .field(Field::new("number", "duration_minutes", "Durée en minutes"))
                .field(Field::new("number", "price_vouchers", "Prix en chèques")),
        );
        page.sections.push(new);
    }
    Ok(page)
}

/// `service.save`: adds or edits a service.
pub async fn save(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let service = Service {
        code: f.text("code")?,
        label: f.text("label")?,
        category: f.choice("category")?,
        format: f.choice("format")?,
        duration_minutes: f.number("duration_minutes")?,
        price_vouchers: f.number("price_vouchers")?,
    };
    let saved = catalogue::save(app, caller, service).await.map_err(say)?;
    Ok(Done::said(format!("C'est fait : service {} enregistré.", saved.code)))
}

/// `service.retire`
pub async fn retire(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let code = f.text("code")?;
    catalogue::retire(app, caller, &code).await.map_err(say)?;
    Ok(Done::said(format!("C'est fait : service {code} retiré.")))
}
