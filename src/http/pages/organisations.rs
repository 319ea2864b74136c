//! Funders and prescribers (operator): lists, creation, payments received from funders.

use crate::http::AppState;
use crate::http::pages::console::{Field, FormSpec, Page, Section, Signed, Table, api, items, link, may, text};
use axum::http::Method;
use std::collections::HashMap;

fn categories(kind: &str) -> Vec<(String, String)> {
    let list: &[(&str, &str)] = if kind == "funders" {
        &[
            ("etat", "État"),
            ("region", "Région"),
            ("departement", "Département"),
            ("intercommunalite", "Intercommunalité"),
            ("commune", "Commune"),
            ("caf", "CAF"),
            ("entreprise", "Entreprise"),
            ("association", "Association"),
            ("autre", "Autre"),
        ]
    } else {
        &[
            ("ccas", "CCAS"),
            ("mairie", "Mairie"),
            ("france_travail", "France Travail"),
            ("caf", "CAF"),
            ("france_services", "France services"),
            ("departement", "Département"),
            ("association", "Association"),
            ("autre", "Autre"),
        ]
    };
    list.iter().map(|(v, l)| ((*v).to_owned(), (*l).to_owned())).collect()
}

pub async fn list(state: &AppState, who: &Signed, _: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let mut page = Page::new(who, "Financeurs et prescripteurs", "/organisations");
    for (kind, heading, singular) in
        [("funders", "Financeurs", "financeur"), ("prescribers", "Prescripteurs", "prescripteur")]
    {
        let path = format!("/api/v1/{kind}");
        let list = api(state, c, Method::GET, &path, None).await?;
        let mut table = Table::new(&["N°", "Nom", "SIRET", "Catégorie", "Territoire", "Membres"], "Aucun.");
        for o in items(&list) {
            let id = text(&o["id"]);
            table.row(
                vec![
                    id.clone().into(),
                    text(&o["name"]).into(),
                    text(&o["siret"]).into(),
                    text(&o["category"]).into(),
                    text(&o["territory_label"]).into(),
                    link("Membres", format!("/membres?organisation={id}")),
                ],
                Vec::new(),
            );
        }
        let mut section = Section::new(heading);
        section.table = Some(table);
        if may(c, "POST", &path) {
            section.forms.push(
                FormSpec::new("POST", path.clone(), &format!("Nouveau {singular}"), &format!("Créer le {singular}"))
                    .field(Field::new("text", "name", "Nom"))
                    .field(Field::new("text", "siret", "SIRET (14 chiffres)"))
                    .field(Field::select("category", "Catégorie", categories(kind)))
                    .field(
                        Field::new("text", "territory:list", "Territoire (codes de départements)").hint("Ex. : 33, 40"),
                    ),
            );
        }
        if kind == "funders" && may(c, "POST", "/api/v1/funders/{id}/payments") && !items(&list).is_empty() {
            let funders: Vec<(String, String)> =
                items(&list).iter().map(|f| (text(&f["id"]), text(&f["name"]))).collect();
            section.paragraphs.push("Un paiement reçu s'enregistre au compte du financeur choisi.".into());
            for (id, name) in funders.iter().take(50) {
                section.forms.push(
                    FormSpec::new(
                        "POST",
                        format!("/api/v1/funders/{id}/payments"),
                        &format!("Paiement reçu de {name}"),
                        "Enregistrer le paiement",
                    )
                    .field(Field::new("text", "amount_cents:euros", "Montant (euros)"))
                    .field(Field::new("date", "received_on", "Reçu le"))
                    .field(Field::new("text", "bank_reference", "Référence bancaire")),
                );
            }
        }
        page.sections.push(section);
    }
    Ok(page)
}
