//! Settlements (operator): runs, their payouts, the transfer file, the report and the statements;
//! preparing, releasing or cancelling a run; confirming or recording the return of a payout.

use crate::app::{Act, App, Caller, settlements};
use crate::http::AppState;
use crate::http::pages::actions::{Done, Outcome, say};
use crate::http::pages::console::{Action, Field, FormSpec, Page, Section, Signed, Table, download_href, id, link};
use crate::http::pages::form::Fields;
use crate::http::pages::format::{date, euros, status_word};
use settlement::runs::{Mode, PayoutStatus, RunStatus};
use std::collections::HashMap;

fn mode(m: Mode) -> &'static str {
    match m {
        Mode::Direct => "direct",
        Mode::Custody => "compte de cantonnement",
    }
}

pub async fn list(app: &AppState, who: &Signed, _: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let runs = settlements::list(app, c).await.map_err(say)?;
    let mut page = Page::new(who, "Règlements", "/reglements");
    let mut table =
        Table::new(&["N°", "Période", "Statut", "Mode", "Versements", "Total", "Détail"], "Aucun règlement préparé.");
    for r in runs {
        let id = r.id.to_string();
        let mut actions = Vec::new();
        if r.status == RunStatus::Draft {
            if c.may(Act::ReleaseSettlement) {
                actions.push(Action::run("settlement.release", "Valider").with("id", &id));
            }
            if c.may(Act::CancelSettlement) {
                actions.push(Action::run("settlement.cancel", "Annuler").with("id", &id));
            }
        }
        let start = r.period_start.map_or_else(|| "—".to_owned(), date);
        table.row(
            vec![
                id.clone().into(),
                format!("{start} → {}", date(r.period_end)).into(),
                status_word(r.status.as_str()).into(),
                mode(r.mode).into(),
                r.payouts.len().to_string().into(),
                euros(r.total_cents).into(),
                link("Voir", format!("/reglements/{id}")),
            ],
            actions,
        );
    }
    let mut section = Section::new("Règlements");
    section.table = Some(table);
    page.sections.push(section);
    if c.may(Act::PrepareSettlement) {
        let mut new = Section::new("Préparer un règlement");
        new.forms.push(
            FormSpec::run("settlement.prepare", "Période close", "Préparer")
                .field(Field::new("date", "period_end", "Dernier jour de la période"))
                .field(
                    Field::new("text", "minimum", "Versement minimum (euros)")
                        .optional()
                        .hint("Vide : le minimum configuré."),
                ),
        );
        page.sections.push(new);
    }
    Ok(page)
}

pub async fn detail(app: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let id = id(q)?;
    let run = settlements::get(app, c, id).await.map_err(say)?;
    let mut page = Page::new(who, &format!("Règlement n°{id}"), &format!("/reglements/{id}"));
    page.intro.push(format!(
        "Période du {} au {} — {} — total {}.",
        run.period_start.map_or_else(|| "—".to_owned(), date),
        date(run.period_end),
        status_word(run.status.as_str()),
        euros(run.total_cents)
    ));
    let mut docs = Section::new("Documents");
    docs.links
        .push((download_href(&format!("/api/v1/settlements/{id}/report.pdf")), "Rapport du règlement (PDF)".into()));
    if run.status == RunStatus::Released && run.mode != Mode::Direct {
        docs.links
            .push((download_href(&format!("/api/v1/settlements/{id}/sepa.xml")), "Fichier de virements SEPA".into()));
    }
    page.sections.push(docs);
    let mut table = Table::new(&["Lieu", "Montant", "IBAN", "Référence", "Statut", "Relevé"], "Aucun versement.");
    for p in run.payouts {
        let pid = p.id.to_string();
        let mut actions = Vec::new();
        if p.status == PayoutStatus::Sent {
            if c.may(Act::ConfirmPayout) {
                actions.push(Action::run("payout.confirm", "Confirmer le virement").with("id", &pid));
            }
            if c.may(Act::RecordPayoutReturn) {
                actions.push(
                    Action::run("payout.return", "Virement rejeté").with("id", &pid).asking("reason", "Motif du rejet"),
                );
            }
        }
        let mut st = status_word(p.status.as_str());
        if let Some(reason) = &p.return_reason {
            st = format!("{st} ({reason})");
        }
        table.row(
            vec![
                p.site_name.into(),
                euros(p.amount_cents).into(),
                p.iban_masked.into(),
                p.end_to_end_id.into(),
                st.into(),
                link("PDF", download_href(&format!("/api/v1/settlements/{id}/statements/{}", p.site_id))),
            ],
            actions,
        );
    }
    let mut section = Section::new("Versements");
    section.table = Some(table);
    page.sections.push(section);
    Ok(page)
}

// ---------------------------------------------------------------------------------------------
// The actions of these pages.

/// `settlement.prepare`: the run of a closed period, as a draft.
pub async fn prepare(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let minimum = match f.optional("minimum") {
        Some(_) => Some(f.euros("minimum")?),
        None => None,
    };
    let run = settlements::prepare(app, caller, f.date("period_end")?, minimum).await.map_err(say)?;
    Ok(Done::said(format!(
        "C'est fait : règlement n°{} préparé, {} versement(s) pour {}.",
        run.id,
        run.payouts.len(),
        euros(run.total_cents)
    )))
}

/// `settlement.release`
pub async fn release(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let run = settlements::release(app, caller, f.number("id")?).await.map_err(say)?;
    Ok(Done::said(format!("C'est fait : règlement n°{} validé, les virements peuvent partir.", run.id)))
}

/// `settlement.cancel`
pub async fn cancel(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    settlements::cancel(app, caller, f.number("id")?).await.map_err(say)?;
    Ok(Done::said("C'est fait : règlement annulé."))
}

/// `payout.confirm`: the bank executed the transfer (now).
pub async fn confirm(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    settlements::confirm(app, caller, f.number("id")?, None).await.map_err(say)?;
    Ok(Done::said("C'est fait : virement confirmé."))
}

/// `payout.return`: the bank returned the transfer, for `reason`.
pub async fn record_return(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let id = f.number("id")?;
    settlements::record_return(app, caller, id, &f.optional("reason").unwrap_or_default(), None).await.map_err(say)?;
    Ok(Done::said(
        "C'est fait : virement rejeté, le montant revient au lieu et ses coordonnées bancaires sont à vérifier.",
    ))
}
