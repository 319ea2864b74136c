//! Mediation sites: the operator's list (creation, import, accreditation) and a site's own page
//! (places, services, payout account) — the same page for the operator and the site's members.

use crate::http::AppState;
use crate::http::pages::console::{
    Field, FormSpec, Page, Section, Signed, Table, api, date, id, items, link, may, status, text,
};
use axum::http::Method;
use std::collections::HashMap;

pub async fn list(state: &AppState, who: &Signed, _: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    if !c.is_operator() {
        return Err("Cette page est celle de l'opérateur.".into());
    }
    let sites = api(state, c, Method::GET, "/api/v1/sites", None).await?;
    let mut page = Page::new(who, "Lieux de médiation", "/lieux");
    let mut table =
        Table::new(&["N°", "Nom", "SIRET", "Agrément", "Jusqu'au", "Lieux d'accueil", "Détail"], "Aucun lieu.");
    for s in items(&sites) {
        let id = text(&s["id"]);
        table.row(
            vec![
                id.clone().into(),
                text(&s["name"]).into(),
                text(&s["siret"]).into(),
                status(&s["status"]).into(),
                date(&s["accredited_until"]).into(),
                items(&s["places"]).len().to_string().into(),
                link("Voir", format!("/lieux/{id}")),
            ],
            Vec::new(),
        );
    }
    let mut section = Section::new("Tous les lieux");
    section.table = Some(table);
    page.sections.push(section);
    if may(c, "POST", "/api/v1/sites") {
        let mut new = Section::new("Ajouter des lieux");
        new.forms.push(
            FormSpec::new("POST", "/api/v1/sites", "Nouveau lieu (en attente d'agrément)", "Créer le lieu")
                .field(Field::new("text", "name", "Nom de la structure"))
                .field(Field::new("text", "siret", "SIRET (14 chiffres)"))
                .field(Field::new("text", "iban", "IBAN du compte de versement"))
                .field(Field::new("text", "bic", "BIC"))
                .field(Field::new("text", "account_holder", "Titulaire du compte")),
        );
        new.forms.push(
            FormSpec::new(
                "POST",
                "/api/v1/sites/import",
                "Importer un fichier du standard national des lieux",
                "Importer",
            )
            .field(
                Field::new("textarea", "csv:raw", "Contenu du fichier CSV")
                    .hint("Collez le fichier entier, ligne d'en-tête comprise. Un réimport ne change rien."),
            ),
        );
        page.sections.push(new);
    }
    Ok(page)
}

pub async fn detail(state: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let id = id(q)?;
    let site = api(state, c, Method::GET, &format!("/api/v1/sites/{id}"), None).await?;
    let back = format!("/lieux/{id}");
    let mut page = Page::new(who, &text(&site["name"]), &back);
    page.intro.push(format!(
        "SIRET {} — agrément : {}{}.",
        text(&site["siret"]),
        status(&site["status"]),
        site["accredited_until"]
            .as_str()
            .map(|_| format!(" jusqu'au {}", date(&site["accredited_until"])))
            .unwrap_or_default()
    ));

    let mut accreditation = Section::new("Agrément");
    if may(c, "POST", "/api/v1/sites/{id}/accreditation") {
        accreditation.forms.push(
            FormSpec::new(
                "POST",
                format!("/api/v1/sites/{id}/accreditation"),
                "Décision d'agrément",
                "Enregistrer la décision",
            )
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
    for p in items(&site["places"]) {
        table.row(
            vec![
                text(&p["name"]).into(),
                text(&p["address"]).into(),
                text(&p["commune_insee"]).into(),
                text(&p["opening_hours"]).into(),
            ],
            Vec::new(),
        );
    }
    places.table = Some(table);
    let manage = may(c, "POST", "/api/v1/sites/{id}/places");
    if manage {
        places.forms.push(
            FormSpec::new("POST", format!("/api/v1/sites/{id}/places"), "Ajouter un lieu d'accueil", "Ajouter")
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

    let catalogue = api(state, c, Method::GET, "/api/v1/catalogue", None).await?;
    let offered: Vec<String> = items(&site["services"]).iter().map(text).collect();
    let mut services = Section::new("Services proposés");
    let mut table = Table::new(&["Service", "Prix en chèques"], "Aucun service déclaré.");
    for s in items(&catalogue).iter().filter(|s| offered.contains(&text(&s["code"]))) {
        table.row(vec![text(&s["label"]).into(), text(&s["price_vouchers"]).into()], Vec::new());
    }
    services.table = Some(table);
    if manage {
        let mut field = Field::new("checkboxes", "services:list", "Services");
        field.options = items(&catalogue)
            .iter()
            .filter(|s| s["retired"].as_bool() != Some(true))
            .map(|s| (text(&s["code"]), format!("{} ({} chèque(s))", text(&s["label"]), text(&s["price_vouchers"]))))
            .collect();
        field.value = offered.join(",");
        field.required = false;
        services.forms.push(
            FormSpec::new(
                "PUT",
                format!("/api/v1/sites/{id}/services"),
                "Choisir les services",
                "Enregistrer les services",
            )
            .field(field),
        );
    }
    page.sections.push(services);

    let mut bank = Section::new("Compte de versement");
    bank.paragraphs.push(format!("IBAN : {}", text(&site["iban_masked"])));
    if site["bank_review"].as_bool() == Some(true) {
        bank.paragraphs.push("Un virement a été rejeté : les versements attendent de nouvelles coordonnées.".into());
    }
    if may(c, "PUT", "/api/v1/sites/{id}/bank-account") {
        bank.forms.push(
            FormSpec::new(
                "PUT",
                format!("/api/v1/sites/{id}/bank-account"),
                "Changer de compte",
                "Enregistrer le compte",
            )
            .field(Field::new("text", "iban", "IBAN"))
            .field(Field::new("text", "bic", "BIC").optional())
            .field(Field::new("text", "account_holder", "Titulaire du compte")),
        );
    }
    bank.links.push((format!("/membres?organisation={id}"), "Membres du lieu".into()));
    page.sections.push(bank);
    Ok(page)
}
