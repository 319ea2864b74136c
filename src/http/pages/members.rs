//! An organisation's members: its managers invite new ones (a one-time password to hand over);
//! the operator's managers reset a forgotten password.

use crate::app::{Act, App, Caller, organisations};
use crate::http::AppState;
use crate::http::pages::actions::{Done, Outcome, say};
use crate::http::pages::console::{Action, Field, FormSpec, Page, Section, Signed, Table};
use crate::http::pages::form::Fields;
use crate::http::pages::format::{optional_date, status_word};
use std::collections::HashMap;

pub async fn list(app: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let org = q.get("organisation").and_then(|v| v.parse::<i64>().ok()).unwrap_or(c.organisation_id);
    let members = organisations::members(app, c, org).await.map_err(say)?;
    let organisation = organisations::get(app, c, org).await.map_err(say)?;
    let back = format!("/membres?organisation={org}");
    let mut page = Page::new(who, &format!("Membres — {}", organisation.name), &back);
    let mut table = Table::new(&["Nom", "Adresse", "Rôle", "Depuis le", "Compte"], "Aucun membre.");
    for u in members {
        let actions = if c.may(Act::ResetPassword) {
            vec![Action::run("member.reset_password", "Nouveau mot de passe").with("id", u.id.to_string())]
        } else {
            Vec::new()
        };
        table.row(
            vec![
                u.display_name.into(),
                u.email.into(),
                status_word(u.role.as_str()).into(),
                optional_date(Some(u.created_at)).into(),
                if u.disabled { "désactivé" } else { "actif" }.into(),
            ],
            actions,
        );
    }
    let mut section = Section::new("Membres");
    section.table = Some(table);
    if organisations::may_invite(c, org) {
        section.forms.push(
            FormSpec::run("member.invite", "Inviter un membre", "Inviter")
                .field(Field::new("hidden", "organisation", "").value(org.to_string()))
                .field(Field::new("text", "display_name", "Nom et prénom"))
                .field(Field::new("email", "email", "Adresse électronique"))
                .field(Field::select(
                    "role",
                    "Rôle",
                    vec![("member".into(), "membre".into()), ("manager".into(), "responsable".into())],
                )),
        );
        section.paragraphs.push(
            "L'invitation envoie à la personne un lien pour choisir son mot de passe (valable 72 heures, une seule fois) et donne aussi un mot de passe provisoire, affiché une seule fois, à lui remettre si le message n'arrive pas.".into(),
        );
    }
    page.sections.push(section);
    Ok(page)
}

/// `member.invite`: a new member with a one-time password, shown once.
pub async fn invite(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let created = organisations::invite(
        app,
        caller,
        f.number("organisation")?,
        &f.text("email")?,
        &f.text("display_name")?,
        f.choice("role")?,
    )
    .await
    .map_err(say)?;
    Ok(Done {
        text: format!(
            "C'est fait : {} est invité(e) ; un message lui envoie un lien pour choisir son mot de passe.",
            created.user.display_name
        ),
        secret: Some(created.one_time_password),
    })
}

/// `member.reset_password`: a new one-time password, shown once.
pub async fn reset_password(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let reset = organisations::reset_password(app, caller, f.number("id")?).await.map_err(say)?;
    Ok(Done { text: "C'est fait : mot de passe réinitialisé.".into(), secret: Some(reset.one_time_password) })
}
