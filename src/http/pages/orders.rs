//! Orders: the operator creates, confirms, issues, cancels and prints them; a funder follows its
//! own and may block the books never handed out.

use crate::app::profiles::{self, ProfileKind};
use crate::app::{Act, App, Caller, books, orders};
use crate::http::AppState;
use crate::http::pages::actions::{Done, Outcome, say};
use crate::http::pages::console::{Action, Field, FormSpec, Page, Section, Signed, Table, download_href, id, link};
use crate::http::pages::form::Fields;
use crate::http::pages::format::{date, euros, optional_date, status_word};
use issuer::books::BookSelection;
use issuer::orders::{FunderShare, NewOrder, UnusedPolicy};
use issuer::organisations::OrgKind;
use std::collections::HashMap;

pub async fn list(app: &AppState, who: &Signed, _: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let orders = orders::list(app, c).await.map_err(say)?;
    let mut page = Page::new(who, "Commandes", "/commandes");
    let mut table = Table::new(
        &["N°", "Libellé", "Statut", "Carnets", "Valeur faciale", "Valable jusqu'au", "Détail"],
        "Aucune commande.",
    );
    for o in orders {
        let id = o.id.to_string();
        let mut actions = Vec::new();
        match o.status.as_str() {
            "draft" if c.may(Act::ConfirmOrder) => {
                actions.push(Action::run("order.confirm", "Confirmer").with("id", &id));
                actions.push(Action::run("order.cancel", "Annuler").with("id", &id));
            }
            "confirmed" | "issuing" if c.may(Act::IssueOrder) => {
                actions.push(Action::run("order.issue", "Émettre").with("id", &id));
            }
            _ => {}
        }
        table.row(
            vec![
                id.clone().into(),
                o.label.into(),
                status_word(&o.status).into(),
                format!("{} × {} chèques", o.books, o.vouchers_per_book).into(),
                euros(o.face_total_cents).into(),
                date(o.valid_until).into(),
                link("Voir", format!("/commandes/{id}")),
            ],
            actions,
        );
    }
    let mut section = Section::new("Toutes les commandes");
    section.table = Some(table);
    page.sections.push(section);
    if c.may(Act::CreateOrder) {
        let funders = profiles::list(app, c, ProfileKind::Funder).await.map_err(say)?;
        let today = issuer::local_time::day(ledger::time::now());
        let mut new = Section::new("Nouvelle commande");
        new.forms.push(
            FormSpec::run("order.create", "Commande en brouillon", "Créer la commande")
                .field(Field::new("text", "label", "Libellé"))
                .field(Field::select(
                    "funder_id",
                    "Financeur",
                    funders.into_iter().map(|f| (f.id.to_string(), f.name)).collect(),
                ))
                .field(Field::new("number", "books", "Nombre de carnets"))
                .field(Field::new("number", "vouchers_per_book", "Chèques par carnet").value("10"))
                .field(Field::new("text", "face_value", "Valeur d'un chèque (euros)").value("10,00"))
                .field(Field::new("date", "valid_from", "Valable à partir du").value(today.to_string()))
                .field(Field::new("date", "valid_until", "Valable jusqu'au"))
                .field(
                    Field::new("text", "territory", "Territoire (codes de départements)")
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

pub async fn detail(app: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let id = id(q)?;
    let order = orders::get(app, c, id).await.map_err(say)?;
    let mut page = Page::new(who, &format!("Commande n°{id}"), &format!("/commandes/{id}"));
    page.intro.push(format!(
        "{} — {} — {} carnet(s) de {} chèques de {}, valables du {} au {}.",
        order.label,
        status_word(&order.status),
        order.books,
        order.vouchers_per_book,
        euros(order.face_value_cents),
        date(order.valid_from),
        date(order.valid_until),
    ));
    let issued = order.status == "issued";
    let mut summary = Section::new("Documents");
    if issued {
        summary
            .links
            .push((download_href(&format!("/api/v1/orders/{id}/books.pdf")), "Carnets à imprimer (PDF)".into()));
    } else {
        summary.paragraphs.push("Les carnets s'impriment une fois la commande émise.".into());
    }
    if c.may(Act::BlockOrder) && c.kind == OrgKind::Funder {
        let mut t = Table::new(&["Carnets jamais remis"], "");
        t.row(
            vec!["Bloquer les carnets pas encore remis à une personne (ils ne pourront plus servir).".into()],
            vec![Action::run("order.block", "Bloquer").with("id", id.to_string())],
        );
        summary.table = Some(t);
    }
    page.sections.push(summary);

    let books = books::list(app, c, Some(id), Some(5000)).await.map_err(say)?;
    let prescribers = if c.may(Act::ListPrescribers) {
        profiles::list(app, c, ProfileKind::Prescriber).await.map_err(say)?
    } else {
        Vec::new()
    };
    let prescriber_name = |p: Option<i64>| {
        p.map_or_else(
            || "—".to_owned(),
            |p| prescribers.iter().find(|x| x.id == p).map_or_else(|| p.to_string(), |x| x.name.clone()),
        )
    };
    let mut table = Table::new(&["Carnet", "Statut", "Prescripteur", "Confié le", "Remis le"], "Aucun carnet émis.");
    for b in books {
        table.row(
            vec![
                b.serial.into(),
                status_word(&b.status).into(),
                prescriber_name(b.prescriber_id).into(),
                optional_date(b.assigned_at).into(),
                optional_date(b.distributed_at).into(),
            ],
            Vec::new(),
        );
    }
    let mut section = Section::new("Carnets");
    section.table = Some(table);
    if c.may(Act::AssignBooks) && issued {
        section.forms.push(
            FormSpec::run("books.assign", "Confier des carnets à un prescripteur", "Confier")
                .field(Field::select(
                    "prescriber_id",
                    "Prescripteur",
                    prescribers.iter().map(|p| (p.id.to_string(), p.name.clone())).collect(),
                ))
                .field(Field::new("hidden", "order_id", "").value(id.to_string()))
                .field(Field::new("number", "from", "Du carnet n°").value("1"))
                .field(Field::new("number", "to", "Au carnet n°")),
        );
    }
    page.sections.push(section);
    Ok(page)
}

// ---------------------------------------------------------------------------------------------
// The actions of these pages.

/// `order.create`: a draft order for one funder.
pub async fn create(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let unused_policy =
        if f.optional("unused_policy").is_some() { f.choice("unused_policy")? } else { UnusedPolicy::Refund };
    let new = NewOrder {
        label: f.text("label")?,
        funders: vec![FunderShare { funder_id: f.number("funder_id")?, share_bps: 10_000 }],
        books: f.number("books")?,
        vouchers_per_book: f.optional_number("vouchers_per_book")?.unwrap_or(10),
        face_value_cents: f.euros("face_value")?.0,
        valid_from: f.date("valid_from")?,
        valid_until: f.date("valid_until")?,
        grace_days: issuer::orders::DEFAULT_GRACE_DAYS,
        territory: issuer::territory::Territory::new(f.list("territory")).map_err(|e| format!("{e}."))?,
        allowed_categories: None,
        unused_policy,
    };
    let order = orders::create(app, caller, &new).await.map_err(say)?;
    Ok(Done::said(format!("C'est fait : commande n°{} créée en brouillon.", order.id)))
}

/// `order.confirm`
pub async fn confirm(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    orders::confirm(app, caller, f.number("id")?).await.map_err(say)?;
    Ok(Done::said("C'est fait : commande confirmée."))
}

/// `order.cancel`
pub async fn cancel(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    orders::cancel(app, caller, f.number("id")?).await.map_err(say)?;
    Ok(Done::said("C'est fait : commande annulée."))
}

/// `order.issue`
pub async fn issue(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    orders::issue(app, caller, f.number("id")?).await.map_err(say)?;
    Ok(Done::said("C'est fait : émission lancée, les carnets seront prêts dans quelques instants."))
}

/// `order.block`
pub async fn block(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let blocked = orders::block(app, caller, f.number("id")?).await.map_err(say)?;
    Ok(Done::said(format!(
        "C'est fait : {} carnet(s) bloqué(s), pour {}.",
        blocked.books_blocked,
        euros(blocked.value_cents)
    )))
}

/// `books.assign`: books `from` to `to` of an order, to a prescriber.
pub async fn assign(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let selection =
        BookSelection::Range { order_id: f.number("order_id")?, from: f.number("from")?, to: f.number("to")? };
    let done = books::assign(app, caller, f.number("prescriber_id")?, &selection).await.map_err(say)?;
    Ok(Done::said(format!("Fait : {} carnet(s) confié(s).", done.assigned)))
}
