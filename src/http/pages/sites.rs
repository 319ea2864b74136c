//! Mediation sites: the operator's list (creation, import, accreditation) and a site's own page
//! (places, services, payout account) — the same page for the operator and the site's members.

use crate::app::sites::{self, NewPlace, NewSite};
use crate::app::{Act, App, Caller, catalogue};
use crate::http::AppState;
use crate::http::pages::actions::{Done, Outcome, say};
use crate::http::pages::console::{Field, FormSpec, Page, Section, Signed, Table, id, link};
use crate::http::pages::form::Fields;
use crate::http::pages::format::status_word;
use std::collections::HashMap;

/// `2027-12-31` as `31/12/2027`.
fn day(iso: Option<&str>) -> String {
    iso.and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .map_or_else(|| "—".to_owned(), crate::http::pages::format::date)
}

pub async fn list(app: &AppState, who: &Signed, _: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    if !c.is_operator() {
        return Err("Cette page est celle de l'opérateur.".into());
    }
    let list = sites::list(app, c).await.map_err(say)?;
    let mut page = Page::new(who, "Lieux de médiation", "/lieux");
    let mut table =
        Table::new(&["N°", "Nom", "SIRET", "Agrément", "Jusqu'au", "Lieux d'accueil", "Détail"], "Aucun lieu.");
    for s in list {
        table.row(
            vec![
                s.id.to_string().into(),
                s.name.into(),
                s.siret.unwrap_or_else(|| "—".into()).into(),
                status_word(&s.status).into(),
                day(s.accredited_until.as_deref()).into(),
                s.places.len().to_string().into(),
                link("Voir", format!("/lieux/{}", s.id)),
            ],
            Vec::new(),
        );
    }
    let mut section = Section::new("Tous les lieux");
    section.table = Some(table);
    page.sections.push(section);
    if c.may(Act::CreateSite) {
        let mut new = Section::new("Ajouter des lieux");
        new.forms.push(
            FormSpec::run("site.create", "Nouveau lieu (en attente d'agrément)", "Créer le lieu")
                .field(Field::new("text", "name", "Nom de la structure"))
                .field(Field::new("text", "siret", "SIRET (14 chiffres)"))
                .field(Field::new("text", "iban", "IBAN du compte de versement"))
                .field(Field::new("text", "bic", "BIC"))
                .field(Field::new("text", "account_holder", "Titulaire du compte")),
        );
        if c.may(Act::ImportSites) {
            new.forms.push(
                FormSpec::run("sites.import", "Importer un fichier du standard national des lieux", "Importer").field(
                    Field::new("textarea", "csv", "Contenu du fichier CSV")
                        .hint("Collez le fichier entier, ligne d'en-tête comprise. Un réimport ne change rien."),
                ),
            );
        }
        page.sections.push(new);
    }
    Ok(page)
}

pub async fn detail(app: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let id = id(q)?;
    let site = sites::get(app, c, id).await.map_err(say)?;
    let back = format!("/lieux/{id}");
    let mut page = Page::new(who, &site.name, &back);
    page.intro.push(format!(
        "SIRET {} — agrément : {}{}.",
        site.siret.as_deref().unwrap_or("—"),
        status_word(&site.status),
        site.accredited_until.as_deref().map(|d| format!(" jusqu'au {}", day(Some(d)))).unwrap_or_default()
    ));
    let key = id.to_string();

    let mut accreditation = Section::new("Agrément");
    if c.may(Act::DecideAccreditation) {
        accreditation.forms.push(
            FormSpec::run("site.decide", "Décision d'agrément", "Enregistrer la décision")
                .field(Field::new("hidden", "site", "").value(&key))
                .field(Field::select(
                    "status",
                    "Décision",
                    vec![
                        ("accredited".into(), "Agréer".into()),
                        ("suspended".into(), "Suspendre".into()),
                        ("revoked".into(), "Retirer l'agrément".into()),
                    ],
                ))
                .field(Field::new("date", "until", "Agréé jusqu'au").optional().hint("Pour un agrément seulement."))
                .field(Field::new("text", "comment", "Motif")),
        );
    } else {
        accreditation.paragraphs.push("L'agrément est décidé par l'opérateur.".into());
    }
    page.sections.push(accreditation);

    let mut places = Section::new("Lieux d'accueil");
    let mut table = Table::new(&["Nom", "Adresse", "Commune (INSEE)", "Horaires"], "Aucun lieu d'accueil.");
    for p in &site.places {
        table.row(
            vec![
                p.name.clone().into(),
                p.address.clone().into(),
                p.commune_insee.to_string().into(),
                p.opening_hours.clone().into(),
            ],
            Vec::new(),
        );
    }
    places.table = Some(table);
    if c.may(Act::AddPlace) {
        places.forms.push(
            FormSpec::run("site.add_place", "Ajouter un lieu d'accueil", "Ajouter")
                .field(Field::new("hidden", "site", "").value(&key))
                .field(Field::new("text", "name", "Nom"))
                .field(Field::new("text", "address", "Adresse"))
                .field(Field::new("text", "commune_insee", "Code INSEE de la commune").hint("5 caractères, ex. 33063"))
                .field(
                    Field::new("text", "opening_hours", "Horaires d'ouverture")
                        .hint("Syntaxe OpenStreetMap, ex. Mo-Fr 09:00-12:00,14:00-17:00"),
                ),
        );
    }
    page.sections.push(places);

    let catalogue = catalogue::list(app, c).await.map_err(say)?;
    let mut services = Section::new("Services proposés");
    let mut table = Table::new(&["Service", "Prix en chèques"], "Aucun service déclaré.");
    for s in catalogue.iter().filter(|s| site.services.contains(&s.code)) {
        table.row(vec![s.label.clone().into(), s.price_vouchers.to_string().into()], Vec::new());
    }
    services.table = Some(table);
    if c.may(Act::SetServices) {
        let mut field = Field::new("checkboxes", "services", "Services");
        field.options = catalogue
            .iter()
            .filter(|s| !s.retired)
            .map(|s| (s.code.clone(), format!("{} ({} chèque(s))", s.label, s.price_vouchers)))
            .collect();
        field.value = site.services.join(",");
        field.required = false;
        services.forms.push(
            FormSpec::run("site.services", "Choisir les services", "Enregistrer les services")
                .field(Field::new("hidden", "site", "").value(&key))
                .field(field),
        );
    }
    page.sections.push(services);

    let mut bank = Section::new("Compte de versement");
    bank.paragraphs.push(format!("IBAN : {}", site.iban_masked.as_deref().unwrap_or("—")));
    if site.bank_review {
        bank.paragraphs.push("Un virement a été rejeté : les versements attendent de nouvelles coordonnées.".into());
    }
    if c.may(Act::SetSiteBankAccount) {
        bank.forms.push(
            FormSpec::run("site.bank_account", "Changer de compte", "Enregistrer le compte")
                .field(Field::new("hidden", "site", "").value(&key))
                .field(Field::new("text", "iban", "IBAN"))
                .field(Field::new("text", "bic", "BIC").optional())
                .field(Field::new("text", "account_holder", "Titulaire du compte")),
        );
    }
    bank.links.push((format!("/membres?organisation={id}"), "Membres du lieu".into()));
    page.sections.push(bank);
    Ok(page)
}

// ---------------------------------------------------------------------------------------------
// The actions of these pages.

/// `site.create`
pub async fn create(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let (name, siret, iban, bic, holder) =
        (f.text("name")?, f.text("siret")?, f.text("iban")?, f.text("bic")?, f.text("account_holder")?);
    let new = NewSite { name: &name, siret: &siret, iban: &iban, bic: &bic, account_holder: &holder };
    let site = sites::create(app, caller, new).await.map_err(say)?;
    Ok(Done::said(format!("C'est fait : lieu n°{} créé, en attente d'agrément.", site.id)))
}

/// `sites.import`: the national open-data file, pasted.
pub async fn import(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let report = sites::import(app, caller, f.text("csv")?.as_bytes()).await.map_err(say)?;
    let mut text = format!("{} lieu(x) importé(s).", report.imported);
    for e in report.errors.iter().take(20) {
        text.push_str(&format!(" Ligne {} — {} : {}.", e.line, e.field, e.reason));
    }
    Ok(Done::said(text))
}

/// `site.decide`: accreditation granted, suspended or revoked.
pub async fn decide(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let until = if f.optional("until").is_some() { Some(f.date("until")?) } else { None };
    sites::decide(app, caller, f.number("site")?, &f.text("status")?, until, &f.text("comment")?).await.map_err(say)?;
    Ok(Done::said("C'est fait : décision enregistrée."))
}

/// `site.add_place`
pub async fn add_place(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let (name, address, insee, hours) =
        (f.text("name")?, f.text("address")?, f.parsed("commune_insee")?, f.text("opening_hours")?);
    let place = NewPlace { name: &name, address: &address, commune_insee: &insee, opening_hours: &hours };
    sites::add_place(app, caller, f.number("site")?, place).await.map_err(say)?;
    Ok(Done::said("C'est fait : lieu d'accueil ajouté."))
}

/// `site.services`: the ticked services.
pub async fn set_services(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    sites::set_services(app, caller, f.number("site")?, &f.list("services")).await.map_err(say)?;
    Ok(Done::said("C'est fait : services enregistrés."))
}

/// `site.bank_account`
pub async fn set_bank_account(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let iban: redeemer::bank::Iban = f.text("iban")?.parse().map_err(|e| format!("IBAN : {e}."))?;
    let bic: Option<redeemer::bank::Bic> =
        f.optional("bic").map(|b| b.parse()).transpose().map_err(|e| format!("BIC : {e}."))?;
    sites::set_bank_account(app, caller, f.number("site")?, &iban, bic.as_ref(), &f.text("account_holder")?)
        .await
        .map_err(say)?;
    Ok(Done::said("C'est fait : compte de versement enregistré."))
}
