//! The operator's page of messages (`/courriels`): each message of the outbox with its delivery
//! state. Bodies are not shown: they carry single-use links to choose a password.

use crate::app::mail;
use crate::http::AppState;
use crate::http::pages::actions::say;
use crate::http::pages::console::{Page, Section, Signed, Table};
use crate::http::pages::format::date_time;
use crate::notify::outbox::State;
use crate::notify::transport::Transport;
use std::collections::HashMap;

fn state_word(state: State) -> &'static str {
    match state {
        State::Pending => "en attente",
        State::Sent => "remis",
        State::Failing => "en échec, nouvel essai prévu",
    }
}

fn kind_word(kind: &str) -> &str {
    match kind {
        "password_reset" => "mot de passe oublié",
        "invitation" => "invitation d'un membre",
        other => other,
    }
}

pub async fn list(app: &AppState, who: &Signed, _: &HashMap<String, String>) -> Result<Page, String> {
    let (messages, counts) = mail::list(app, &who.caller, 200).await.map_err(say)?;
    let mut page = Page::new(who, "Courriels", "/courriels");
    let transport = Transport::from_config(&app.config).map(|t| t.describe()).unwrap_or_else(|e| e.to_string());
    page.intro.push(format!(
        "Messages envoyés par Passerelle, les plus récents d'abord : {} en attente, {} remis, {} en échec. Envoi : {transport}.",
        counts.pending, counts.sent, counts.failing
    ));
    let mut table = Table::new(
        &["N°", "Écrit le", "Objet", "Motif", "Destinataires", "État", "Essais", "Remis le", "Dernière erreur"],
        "Aucun message.",
    );
    for m in messages {
        let state = m.state();
        table.row(
            vec![
                m.id.to_string().into(),
                date_time(m.created_at).into(),
                m.subject.into(),
                kind_word(&m.kind).to_owned().into(),
                m.to.join(", ").into(),
                state_word(state).into(),
                m.attempts.to_string().into(),
                m.sent_at.map(date_time).unwrap_or_else(|| "—".into()).into(),
                m.last_error.unwrap_or_else(|| "—".into()).into(),
            ],
            Vec::new(),
        );
    }
    let mut section = Section::new("Messages");
    section.table = Some(table);
    page.sections.push(section);
    Ok(page)
}
