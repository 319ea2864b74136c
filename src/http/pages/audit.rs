//! What happened and what looks wrong: the audit trail (the operator's whole trail, a manager's
//! own organisation's) and the anomalies to review (operator).

use crate::http::AppState;
use crate::http::pages::console::{Action, Page, Section, Signed, Table, api, date, date_time, items, text};
use axum::http::Method;
use std::collections::HashMap;

pub async fn trail(state: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let before = q.get("avant").and_then(|v| v.parse::<i64>().ok());
    let uri = match before {
        Some(b) => format!("/api/v1/audit?limit=100&before={b}"),
        None => "/api/v1/audit?limit=100".to_owned(),
    };
    let entries = api(state, c, Method::GET, &uri, None).await?;
    let mut page = Page::new(who, "Journal d'audit", "/journal");
    let mut table =
        Table::new(&["N°", "Date", "Action", "Objet", "Organisation", "Utilisateur", "Détails"], "Aucune entrée.");
    for e in items(&entries) {
        let at = date_time(&e["at"]);
        table.row(
            vec![
                text(&e["id"]).into(),
                at.into(),
                text(&e["action"]).into(),
                format!("{} {}", text(&e["object_type"]), text(&e["object_id"])).into(),
                text(&e["organisation_id"]).into(),
                text(&e["actor_user_id"]).into(),
                e["details"].to_string().into(),
            ],
            Vec::new(),
        );
    }
    let mut section = Section::new("Entrées, les plus récentes d'abord");
    if let Some(last) = items(&entries).last().and_then(|e| e["id"].as_i64()).filter(|_| items(&entries).len() == 100) {
        section.links.push((format!("/journal?avant={last}"), "Entrées plus anciennes".into()));
    }
    section.table = Some(table);
    page.sections.push(section);
    Ok(page)
}

pub async fn anomalies(state: &AppState, who: &Signed, _: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let list = api(state, c, Method::GET, "/api/v1/anomalies?status=open&limit=500", None).await?;
    let mut page = Page::new(who, "Anomalies", "/anomalies");
    page.intro.push("Signalements automatiques à examiner ; les passages restent enregistrés.".into());
    let mut table = Table::new(&["N°", "Détectée le", "Type", "Lieu", "Éléments"], "Aucune anomalie ouverte.");
    for a in items(&list) {
        let id = text(&a["id"]);
        table.row(
            vec![
                id.clone().into(),
                date(&a["detected_at"]).into(),
                text(&a["label"]).into(),
                text(&a["site_name"]).into(),
                a["evidence"].to_string().into(),
            ],
            vec![Action::post(format!("/api/v1/anomalies/{id}/dismiss"), "Classer").asking("comment", "Commentaire")],
        );
    }
    let mut section = Section::new("Anomalies ouvertes");
    section.table = Some(table);
    page.sections.push(section);
    Ok(page)
}
