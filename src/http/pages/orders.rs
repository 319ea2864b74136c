//! Orders: the operator creates, confirms, issues, cancels and prints them; a funder follows its
//! own and may block the books never handed out.

use crate::http::AppState;
use crate::http::pages::console::{
    Action, Field, FormSpec, Page, Section, Signed, Table, api, date, download_href, euros, id, items, link, may,
    options, status, text,
};
use axum::http::Method;
use std::collections::HashMap;

pub async fn list(state: &AppState, who: &Signed, _: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let orders = api(state, c, Method::GET, "/api/v1/orders", None).await?;
    let mut page = Page::new(who, "Commandes", "/commandes");
    let mut table = Table::new(
        &["N°", "Libellé", "Statut", "Carnets", "Valeur faciale", "Valable jusqu'au", "Détail"],
        "Aucune commande.",
    );
    for o in items(&orders) {
        let id = o["id"].as_i64().unwrap_or(0);
        let mut actions = Vec::new();
        match o["status"].as_str() {
            Some("draft") if may(c, "POST", "/api/v1/orders/{id}/confirm") => {
                actions.push(Action::post(format!("/api/v1/orders/{id}/confirm"), "Confirmer"));
                actions.push(Action::post(format!("/api/v1/orders/{id}/cancel"), "Annuler"));
            }
            Some("confirmed" | "issuing") if may(c, "POST", "/api/v1/orders/{id}/issue") => {
                actions.push(Action::post(format!("/api/v1/orders/{id}/issue"), "Émettre"));
            }
            _ => {}
        }
        table.row(
            vec![
                text(&o["id"]).into(),
                text(&o["label"]).into(),
                status(&o["status"]).into(),
                format!("{} × {} chèques", text(&o["books"]), text(&o["vouchers_per_book"])).into(),
                euros(&o["face_total_cents"]).into(),
                date(&o["valid_until"]).into(),
                link("Voir", format!("/commandes/{id}")),
            ],
            actions,
        );
    }
    let mut section = Section::new("Toutes les commandes");
    section.table = Some(table);
    page.sections.push(section);
    if may(c, "POST", "/api/v1/orders") {
        let funders = api(state, c, Method::GET, "/api/v1/funders", None).await?;
        let today = issuer::local_time::day(ledger::time::now());
        let mut new = Section::new("Nouvelle commande");
        new.forms.push(
            FormSpec::new("POST", "/api/v1/orders", "Commande en brouillon", "Créer la commande")
                .field(Field::new("text", "label", "Libellé"))
                .field(Field::select("funders.0.funder_id:int", "Financeur", options(&funders, "id", "name")))
                .field(Field::new("hidden", "funders.0.share_bps:int", "").value("10000"))
                .field(Field::new("number", "books:int", "Nombre de carnets"))
                .field(Field::new("number", "vouchers_per_book:int", "Chèques par carnet").value("10"))
                .field(Field::new("text", "face_value_cents:euros", "Valeur d'un chèque (euros)").value("10,00"))
                .field(Field::new("date", "valid_from", "Valable à partir du").value(today.to_string()))
                .field(Field::new("date", "valid_until", "Valable jusqu'au"))
                .field(
                    Field::new("text", "territory:list", "Territoire (codes de départements)")
                        .optional()
                        .hint("Séparés par des virgules, ex. 33, 40 ; vide : toute la France."),
                )
                .field(Field::select(
                    "unused_policy",
                    "Chèques non utilisés à l'échéance",
                    vec![
                        ("refund".to_owned(), "remboursés au financeur".to_owned()),
                        ("breakage".to_owned(), "conservés (non remboursés)".to_owned()),
                    ],
                )),
        );
        page.sections.push(new);
    }
    Ok(page)
}

pub async fn detail(state: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let id = id(q)?;
    let order = api(state, c, Method::GET, &format!("/api/v1/orders/{id}"), None).await?;
    let mut page = Page::new(who, &format!("Commande n°{id}"), &format!("/commandes/{id}"));
    page.intro.push(format!(
        "{} — {} — {} carnet(s) de {} chèques de {}, valables du {} au {}.",
        text(&order["label"]),
        status(&order["status"]),
        text(&order["books"]),
        text(&order["vouchers_per_book"]),
        euros(&order["face_value_cents"]),
        date(&order["valid_from"]),
        date(&order["valid_until"]),
    ));
    let mut summary = Section::new("Documents");
    if order["status"].as_str() == Some("issued") {
        summary
            .links
            .push((download_href(&format!("/api/v1/orders/{id}/books.pdf")), "Carnets à imprimer (PDF)".into()));
    } else {
        summary.paragraphs.push("Les carnets s'impriment une fois la commande émise.".into());
    }
    if may(c, "POST", "/api/v1/orders/{id}/block") && c.kind == issuer::organisations::OrgKind::Funder {
        let mut t = Table::new(&["Carnets jamais remis"], "");
        t.row(
            vec!["Bloquer les carnets pas encore remis à une personne (ils ne pourront plus servir).".into()],
            vec![Action::post(format!("/api/v1/orders/{id}/block"), "Bloquer")],
        );
        summary.table = Some(t);
    }
    page.sections.push(summary);

    let books = api(state, c, Method::GET, &format!("/api/v1/books?order_id={id}&limit=5000"), None).await?;
    let prescribers = if c.is_operator() {
        api(state, c, Method::GET, "/api/v1/prescribers", None).await?
    } else {
        serde_json::Value::Null
    };
    let prescriber_name = |v: &serde_json::Value| {
        items(&prescribers).iter().find(|p| p["id"] == *v).map_or_else(|| text(v), |p| text(&p["name"]))
    };
    let mut table = Table::new(&["Carnet", "Statut", "Prescripteur", "Confié le", "Remis le"], "Aucun carnet émis.");
    for b in items(&books) {
        table.row(
            vec![
                text(&b["serial"]).into(),
                status(&b["status"]).into(),
                prescriber_name(&b["prescriber_id"]).into(),
                date(&b["assigned_at"]).into(),
                date(&b["distributed_at"]).into(),
            ],
            Vec::new(),
        );
    }
    let mut section = Section::new("Carnets");
    section.table = Some(table);
    if may(c, "POST", "/api/v1/books/assign") && order["status"].as_str() == Some("issued") {
        section.forms.push(
            FormSpec::new("POST", "/api/v1/books/assign", "Confier des carnets à un prescripteur", "Confier")
                .field(Field::select("prescriber_id:int", "Prescripteur", options(&prescribers, "id", "name")))
                .field(Field::new("hidden", "books.order_id:int", "").value(id.to_string()))
                .field(Field::new("number", "books.from:int", "Du carnet n°").value("1"))
                .field(Field::new("number", "books.to:int", "Au carnet n°")),
        );
    }
    page.sections.push(section);
    Ok(page)
}
