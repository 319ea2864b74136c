//! What happened and what looks wrong: the audit trail (the operator's whole trail, a manager's
//! own organisation's) and the anomalies to review (operator).

use crate::app::anomalies::{self, Shown};
use crate::app::{Act, App, Caller, audit_trail};
use crate::http::AppState;
use crate::http::pages::actions::{Done, Outcome, say};
use crate::http::pages::console::{Action, Page, Section, Signed, Table};
use crate::http::pages::form::Fields;
use crate::http::pages::format::{date_time, optional_date};
use std::collections::HashMap;

/// Entries on one page of the trail.
const PAGE: i64 = 100;

fn or_dash(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| v.to_string())
}

pub async fn trail(app: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let before = q.get("avant").and_then(|v| v.parse::<i64>().ok());
    let entries = audit_trail::list(app, c, before, Some(PAGE)).await.map_err(say)?;
    let mut page = Page::new(who, "Journal d'audit", "/journal");
    let mut table =
        Table::new(&["N°", "Date", "Action", "Objet", "Organisation", "Utilisateur", "Détails"], "Aucune entrée.");
    let full = entries.len() == PAGE as usize;
    let last = entries.last().map(|e| e.id);
    for e in entries {
        table.row(
            vec![
                e.id.to_string().into(),
                date_time(e.at).into(),
                e.action.into(),
                format!("{} {}", e.object_type, e.object_id).into(),
                or_dash(e.organisation_id).into(),
                or_dash(e.actor_user_id).into(),
                e.details.to_string().into(),
            ],
            Vec::new(),
        );
    }
    let mut section = Section::new("Entrées, les plus récentes d'abord");
    if let Some(last) = last.filter(|_| full) {
        section.links.push((format!("/journal?avant={last}"), "Entrées plus anciennes".into()));
    }
    section.table = Some(table);
    page.sections.push(section);
    Ok(page)
}

pub async fn anomalies(app: &AppState, who: &Signed, _: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let list = anomalies::list(app, c, Shown::Open, Some(500)).await.map_err(say)?;
    let mut page = Page::new(who, "Anomalies", "/anomalies");
    page.intro.push("Signalements automatiques à examiner ; les passages restent enregistrés.".into());
    let mut table = Table::new(&["N°", "Détectée le", "Type", "Lieu", "Éléments"], "Aucune anomalie ouverte.");
    for a in list {
        let actions = if c.may(Act::DismissAnomaly) {
            vec![
                Action::run("anomaly.dismiss", "Classer").with("id", a.id.to_string()).asking("comment", "Commentaire"),
            ]
        } else {
            Vec::new()
        };
        table.row(
            vec![
                a.id.to_string().into(),
                optional_date(Some(a.detected_at)).into(),
                a.label.into(),
                or_dash(a.site_name).into(),
                a.evidence.to_string().into(),
            ],
            actions,
        );
    }
    let mut section = Section::new("Anomalies ouvertes");
    section.table = Some(table);
    page.sections.push(section);
    Ok(page)
}

/// `anomaly.dismiss`: closes a flag with the operator's comment.
pub async fn dismiss(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let id = f.number("id")?;
    anomalies::dismiss(app, caller, id, &f.optional("comment").unwrap_or_default()).await.map_err(say)?;
    Ok(Done::said(format!("C'est fait : anomalie n°{id} classée.")))
}
