//! Settlements (operator): runs, their payouts, the transfer file, the report and the statements;
//! preparing, releasing or cancelling a run; confirming or recording the return of a payout.

use crate::http::AppState;
use crate::http::pages::console::{
    Action, Field, FormSpec, Page, Section, Signed, Table, api, date, download_href, euros, id, items, link, may,
    status, text,
};
use axum::http::Method;
use std::collections::HashMap;

pub async fn list(state: &AppState, who: &Signed, _: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let runs = api(state, c, Method::GET, "/api/v1/settlements", None).await?;
    let mut page = Page::new(who, "Règlements", "/reglements");
    let release = may(c, "POST", "/api/v1/settlements/{id}/release");
    let mut table =
        Table::new(&["N°", "Période", "Statut", "Mode", "Versements", "Total", "Détail"], "Aucun règlement préparé.");
    for r in items(&runs) {
        let id = text(&r["id"]);
        let actions = if release && r["status"].as_str() == Some("draft") {
            vec![
                Action::post(format!("/api/v1/settlements/{id}/release"), "Valider"),
                Action::post(format!("/api/v1/settlements/{id}/cancel"), "Annuler"),
            ]
        } else {
            Vec::new()
        };
        table.row(
            vec![
                id.clone().into(),
                format!("{} → {}", date(&r["period_start"]), date(&r["period_end"])).into(),
                status(&r["status"]).into(),
                if r["mode"].as_str() == Some("direct") { "direct" } else { "compte de cantonnement" }.into(),
                items(&r["payouts"]).len().to_string().into(),
                euros(&r["total_cents"]).into(),
                link("Voir", format!("/reglements/{id}")),
            ],
            actions,
        );
    }
    let mut section = Section::new("Règlements");
    section.table = Some(table);
    page.sections.push(section);
    if may(c, "POST", "/api/v1/settlements") {
        let mut new = Section::new("Préparer un règlement");
        new.forms.push(
            FormSpec::new("POST", "/api/v1/settlements", "Période close", "Préparer")
                .field(Field::new("date", "period_end", "Dernier jour de la période"))
                .field(
                    Field::new("text", "minimum_cents:euros", "Versement minimum (euros)")
                        .optional()
                        .hint("Vide : le minimum configuré."),
                ),
        );
        page.sections.push(new);
    }
    Ok(page)
}

pub async fn detail(state: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let id = id(q)?;
    let run = api(state, c, Method::GET, &format!("/api/v1/settlements/{id}"), None).await?;
    let mut page = Page::new(who, &format!("Règlement n°{id}"), &format!("/reglements/{id}"));
    page.intro.push(format!(
        "Période du {} au {} — {} — total {}.",
        date(&run["period_start"]),
        date(&run["period_end"]),
        status(&run["status"]),
        euros(&run["total_cents"])
    ));
    let mut docs = Section::new("Documents");
    docs.links
        .push((download_href(&format!("/api/v1/settlements/{id}/report.pdf")), "Rapport du règlement (PDF)".into()));
    if run["status"].as_str() == Some("released") && run["mode"].as_str() != Some("direct") {
        docs.links
            .push((download_href(&format!("/api/v1/settlements/{id}/sepa.xml")), "Fichier de virements SEPA".into()));
    }
    page.sections.push(docs);
    let manage = may(c, "POST", "/api/v1/payouts/{id}/confirm");
    let mut table = Table::new(&["Lieu", "Montant", "IBAN", "Référence", "Statut", "Relevé"], "Aucun versement.");
    for p in items(&run["payouts"]) {
        let pid = text(&p["id"]);
        let actions = if manage && p["status"].as_str() == Some("sent") {
            vec![
                Action::post(format!("/api/v1/payouts/{pid}/confirm"), "Confirmer le virement"),
                Action::post(format!("/api/v1/payouts/{pid}/return"), "Virement rejeté")
                    .asking("reason", "Motif du rejet"),
            ]
        } else {
            Vec::new()
        };
        let mut st = status(&p["status"]);
        if let Some(reason) = p["return_reason"].as_str() {
            st = format!("{st} ({reason})");
        }
        table.row(
            vec![
                text(&p["site_name"]).into(),
                euros(&p["amount_cents"]).into(),
                text(&p["iban_masked"]).into(),
                text(&p["end_to_end_id"]).into(),
                st.into(),
                link("PDF", download_href(&format!("/api/v1/settlements/{id}/statements/{}", text(&p["site_id"])))),
            ],
            actions,
        );
    }
    let mut section = Section::new("Versements");
    section.table = Some(table);
    page.sections.push(section);
    Ok(page)
}
