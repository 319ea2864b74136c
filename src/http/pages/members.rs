//! An organisation's members: its managers invite new ones (a one-time password to hand over);
//! the operator's managers reset a forgotten password.

use crate::http::AppState;
use crate::http::pages::console::{
    Action, Field, FormSpec, Page, Section, Signed, Table, api, date, items, may, status, text,
};
use axum::http::Method;
use std::collections::HashMap;

pub async fn list(state: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let org = q.get("organisation").and_then(|v| v.parse::<i64>().ok()).unwrap_or(c.organisation_id);
    let users = api(state, c, Method::GET, &format!("/api/v1/organisations/{org}/users"), None).await?;
    let organisation = api(state, c, Method::GET, &format!("/api/v1/organisations/{org}"), None).await?;
    let back = format!("/membres?organisation={org}");
    let mut page = Page::new(who, &format!("Membres — {}", text(&organisation["name"])), &back);
    let reset = may(c, "POST", "/api/v1/users/{id}/password-reset");
    let mut table = Table::new(&["Nom", "Adresse", "Rôle", "Depuis le", "Compte"], "Aucun membre.");
    for u in items(&users) {
        let actions = if reset {
            vec![Action::post(format!("/api/v1/users/{}/password-reset", text(&u["id"])), "Nouveau mot de passe")]
        } else {
            Vec::new()
        };
        table.row(
            vec![
                text(&u["display_name"]).into(),
                text(&u["email"]).into(),
                status(&u["role"]).into(),
                date(&u["created_at"]).into(),
                if u["disabled"].as_bool() == Some(true) { "désactivé" } else { "actif" }.into(),
            ],
            actions,
        );
    }
    let mut section = Section::new("Membres");
    section.table = Some(table);
    let invite = c.is_manager() && (c.organisation_id == org || c.is_operator());
    if invite && may(c, "POST", "/api/v1/organisations/{id}/users") {
        section.forms.push(
            FormSpec::new("POST", format!("/api/v1/organisations/{org}/users"), "Inviter un membre", "Inviter")
                .field(Field::new("text", "display_name", "Nom et prénom"))
                .field(Field::new("email", "email", "Adresse électronique"))
                .field(Field::select(
                    "role",
                    "Rôle",
                    vec![("member".into(), "membre".into()), ("manager".into(), "responsable".into())],
                )),
        );
        section.paragraphs.push(
            "L'invitation donne un mot de passe provisoire, affiché une seule fois : remettez-le à la personne.".into(),
        );
    }
    page.sections.push(section);
    Ok(page)
}
