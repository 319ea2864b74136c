//! Funders and prescribers (operator): lists, creation, payments received from funders.

use crate::app::profiles::{self, NewProfile, ProfileKind};
use crate::app::{Act, App, Caller, payments};
use crate::http::AppState;
use crate::http::pages::actions::{Done, Outcome, say};
use crate::http::pages::console::{Field, FormSpec, Page, Section, Signed, Table, link};
use crate::http::pages::form::Fields;
use crate::http::pages::format::euros;
use std::collections::HashMap;

fn categories(kind: ProfileKind) -> Vec<(String, String)> {
    let list: &[(&str, &str)] = match kind {
        ProfileKind::Funder => &[
            ("etat", "État"),
            ("region", "Région"),
            ("departement", "Département"),
            ("intercommunalite", "Intercommunalité"),
            ("commune", "Commune"),
            ("caf", "CAF"),
            ("entreprise", "Entreprise"),
            ("association", "Association"),
            ("autre", "Autre"),
        ],
        ProfileKind::Prescriber => &[
            ("ccas", "CCAS"),
            ("mairie", "Mairie"),
            ("france_travail", "France Travail"),
            ("caf", "CAF"),
            ("france_services", "France services"),
            ("departement", "Département"),
            ("association", "Association"),
            ("autre", "Autre"),
        ],
    };
    list.iter().map(|(v, l)| ((*v).to_owned(), (*l).to_owned())).collect()
}

pub async fn list(app: &AppState, who: &Signed, _: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let mut page = Page::new(who, "Financeurs et prescripteurs", "/organisations");
    for (kind, heading, singular, create, act) in [
        (ProfileKind::Funder, "Financeurs", "financeur", Act::CreateFunder, "funder.create"),
        (ProfileKind::Prescriber, "Prescripteurs", "prescripteur", Act::CreatePrescriber, "prescriber.create"),
    ] {
        let list = profiles::list(app, c, kind).await.map_err(say)?;
        let mut table = Table::new(&["N°", "Nom", "SIRET", "Catégorie", "Territoire", "Membres"], "Aucun.");
        for o in &list {
            table.row(
                vec![
                    o.id.to_string().into(),
                    o.name.clone().into(),
                    o.siret.clone().unwrap_or_else(|| "—".into()).into(),
                    o.category.clone().into(),
                    o.territory_label.clone().into(),
                    link("Membres", format!("/membres?organisation={}", o.id)),
                ],
                Vec::new(),
            );
        }
        let mut section = Section::new(heading);
        section.table = Some(table);
        if c.may(create) {
            section.forms.push(
                FormSpec::run(act, &format!("Nouveau {singular}"), &format!("Créer le {singular}"))
                    .field(Field::new("text", "name", "Nom"))
                    .field(Field::new("text", "siret", "SIRET (14 chiffres)"))
                    .field(Field::select("category", "Catégorie", categories(kind)))
                    .field(Field::new("text", "territory", "Territoire (codes de départements)").hint("Ex. : 33, 40")),
            );
        }
        if kind == ProfileKind::Funder && c.may(Act::RecordFunderPayment) && !list.is_empty() {
            section.paragraphs.push("Un paiement reçu s'enregistre au compte du financeur choisi.".into());
            for f in list.iter().take(50) {
                section.forms.push(
                    FormSpec::run("payment.record", &format!("Paiement reçu de {}", f.name), "Enregistrer le paiement")
                        .field(Field::new("hidden", "funder_id", "").value(f.id.to_string()))
                        .field(Field::new("text", "amount", "Montant (euros)"))
                        .field(Field::new("date", "received_on", "Reçu le"))
                        .field(Field::new("text", "bank_reference", "Référence bancaire")),
                );
            }
        }
        page.sections.push(section);
    }
    Ok(page)
}

async fn create(app: &App, caller: &Caller, kind: ProfileKind, f: &Fields) -> Outcome {
    let new = NewProfile {
        name: f.text("name")?,
        siret: f.text("siret")?,
        category: f.text("category")?,
        territory: f.list("territory"),
    };
    let created = profiles::create(app, caller, kind, new).await.map_err(say)?;
    Ok(Done::said(format!("C'est fait : {} n°{} créé.", created.name, created.id)))
}

/// `funder.create`
pub async fn create_funder(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    create(app, caller, ProfileKind::Funder, f).await
}

/// `prescriber.create`
pub async fn create_prescriber(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    create(app, caller, ProfileKind::Prescriber, f).await
}

/// `payment.record`: money received from a funder.
pub async fn record_payment(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let p = payments::record(
        app,
        caller,
        f.number("funder_id")?,
        f.euros("amount")?,
        f.date("received_on")?,
        &f.text("bank_reference")?,
    )
    .await
    .map_err(say)?;
    Ok(Done::said(format!("C'est fait : paiement de {} enregistré.", euros(p.amount_cents))))
}
