//! The messages, in French, plain text and HTML, each saying why it is sent.

use crate::html::escape;
use crate::notify::outbox::NewMessage;

/// A simple accessible HTML page: language, title, paragraphs, one link as a plain anchor
/// (its address written out too, for readers that do not follow links).
fn html(title: &str, paragraphs: &[String], link: (&str, &str), after: &[String]) -> String {
    let p = |ps: &[String]| ps.iter().map(|p| format!("<p>{}</p>\n", escape(p))).collect::<String>();
    format!(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n\
         <h1>{title}</h1>\n{before}<p><a href=\"{href}\">{label}</a></p>\n<p>Adresse du lien : {href}</p>\n{after}\
         </body>\n</html>\n",
        title = escape(title),
        before = p(paragraphs),
        href = escape(link.1),
        label = escape(link.0),
        after = p(after),
    )
}

fn text(paragraphs: &[String], link: &str, after: &[String]) -> String {
    let mut out = paragraphs.join("\n\n");
    out.push_str("\n\n");
    out.push_str(link);
    out.push_str("\n\n");
    out.push_str(&after.join("\n\n"));
    out.push('\n');
    out
}

const SIGNATURE: &str = "— Passerelle, chèques de médiation numérique";

/// « Mot de passe oublié »: the link to choose a new password.
pub fn password_reset(to: &str, name: &str, link: &str, valid_minutes: i64) -> NewMessage {
    let subject = "Passerelle : choisir un nouveau mot de passe".to_owned();
    let before = vec![
        format!("Bonjour {name},"),
        "Vous recevez ce message parce qu'une demande de nouveau mot de passe a été faite pour votre compte \
         Passerelle depuis la page de connexion (« Mot de passe oublié »)."
            .to_owned(),
        format!(
            "Pour choisir un nouveau mot de passe, ouvrez ce lien. Il ne sert qu'une fois et expire dans {valid_minutes} minutes :"
        ),
    ];
    let after = vec![
        "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe actuel reste valable.".to_owned(),
        SIGNATURE.to_owned(),
    ];
    NewMessage {
        kind: "password_reset",
        to: vec![to.to_owned()],
        html: html(&subject, &before, ("Choisir un nouveau mot de passe", link), &after),
        text: text(&before, link, &after),
        subject,
    }
}

/// The invitation of a new member: the link to choose a first password.
pub fn invitation(to: &str, name: &str, organisation: &str, link: &str, valid_hours: i64) -> NewMessage {
    let subject = format!("Passerelle : votre compte pour {organisation}");
    let before = vec![
        format!("Bonjour {name},"),
        format!(
            "Vous recevez ce message parce qu'un responsable de « {organisation} » vous a ouvert un compte sur \
             Passerelle, la plateforme des chèques de médiation numérique, avec cette adresse."
        ),
        format!(
            "Pour choisir votre mot de passe, ouvrez ce lien. Il ne sert qu'une fois et expire dans {valid_hours} heures :"
        ),
    ];
    let after = vec![
        "Si vous ne connaissez pas cette organisation, ignorez ce message : personne ne pourra utiliser ce lien \
         après son expiration."
            .to_owned(),
        SIGNATURE.to_owned(),
    ];
    NewMessage {
        kind: "invitation",
        to: vec![to.to_owned()],
        html: html(&subject, &before, ("Choisir mon mot de passe", link), &after),
        text: text(&before, link, &after),
        subject,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn html_is_escaped_and_says_why() {
        let m = super::password_reset("a@b.fr", "<Marie>", "https://x.fr/nouveau-mot-de-passe?jeton=abc&x=1", 60);
        assert!(m.html.contains("&lt;Marie&gt;") && m.html.contains("jeton=abc&amp;x=1"));
        assert!(m.text.contains("Vous recevez ce message parce qu") && m.text.contains("jeton=abc&x=1"));
        assert!(m.html.starts_with("<!DOCTYPE html>") && m.html.contains("lang=\"fr\""));
    }
}
