//! Books: those a prescriber received (with cancellation of a lost book); a funder's books per
//! prescriber for each of its orders.

use crate::app::{App, Caller, books, orders};
use crate::http::AppState;
use crate::http::pages::actions::{Done, Outcome, say};
use crate::http::pages::console::{Action, Page, Section, Signed, Table};
use crate::http::pages::form::Fields;
use crate::http::pages::format::{euros, optional_date, status_word};
use issuer::organisations::OrgKind;
use std::collections::HashMap;

pub async fn list(app: &AppState, who: &Signed, _: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let mut page = Page::new(who, "Carnets", "/carnets");
    if c.kind == OrgKind::Prescriber {
        page.intro.push("Les carnets confiés à votre organisation. Pour remettre un carnet à une personne :".into());
        let books = books::list(app, c, None, Some(5000)).await.map_err(say)?;
        let mut table =
            Table::new(&["Carnet", "Commande", "Statut", "Reçu le", "Remis le"], "Aucun carnet reçu pour l'instant.");
        for b in books {
            let actions = if b.status == "assigned" {
                vec![
                    Action::run("book.cancel", "Déclarer perdu")
                        .with("serial", &b.serial)
                        .asking("reason", "Motif de l'annulation"),
                ]
            } else {
                Vec::new()
            };
            table.row(
                vec![
                    b.serial.into(),
                    b.order_id.to_string().into(),
                    status_word(&b.status).into(),
                    optional_date(b.assigned_at).into(),
                    optional_date(b.distributed_at).into(),
                ],
                actions,
            );
        }
        let mut section = Section::new("Carnets reçus");
        section.links.push(("/remise".into(), "Remettre un carnet".into()));
        section.table = Some(table);
        page.sections.push(section);
        return Ok(page);
    }
    page.intro.push("Pour chaque commande, les carnets par prescripteur.".into());
    for o in orders::list(app, c).await.map_err(say)?.into_iter().filter(|o| o.status == "issued") {
        let mut table = Table::new(
            &["Prescripteur", "Confiés, pas encore remis", "Remis à une personne", "Annulés ou expirés"],
            "Aucun carnet.",
        );
        for t in books::per_prescriber(app, c, o.id).await.map_err(say)? {
            let name = match (t.prescriber_id, t.prescriber_name) {
                (None, _) => "Pas encore confiés".to_owned(),
                (Some(_), Some(name)) => name,
                (Some(p), None) => format!("n°{p}"),
            };
            table.row(
                vec![
                    name.into(),
                    t.assigned.to_string().into(),
                    t.distributed.to_string().into(),
                    t.closed.to_string().into(),
                ],
                Vec::new(),
            );
        }
        let mut section = Section::new(&format!("Commande n°{} — {}", o.id, o.label));
        section.links.push((format!("/commandes/{}", o.id), "Détail de la commande".into()));
        section.table = Some(table);
        page.sections.push(section);
    }
    if page.sections.is_empty() {
        let mut s = Section::new("Aucune commande émise");
        s.paragraphs.push("Les carnets apparaissent ici une fois une commande émise.".into());
        page.sections.push(s);
    }
    Ok(page)
}

/// `book.cancel`: a lost or stolen book.
pub async fn cancel(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let cancelled = books::cancel(app, caller, &f.text("serial")?, &f.text("reason")?).await.map_err(say)?;
    Ok(Done::said(format!(
        "C'est fait : carnet {} annulé, {} chèque(s), {}.",
        cancelled.book.serial,
        cancelled.vouchers_cancelled,
        euros(cancelled.value_cents)
    )))
}
