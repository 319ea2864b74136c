//! Books: those a prescriber received (with cancellation of a lost book); a funder's books per
//! prescriber for each of its orders.

use crate::http::AppState;
use crate::http::pages::console::{Action, Page, Section, Signed, Table, api, date, items, status, text};
use axum::http::Method;
use issuer::organisations::OrgKind;
use std::collections::{BTreeMap, HashMap};

pub async fn list(state: &AppState, who: &Signed, _: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let mut page = Page::new(who, "Carnets", "/carnets");
    match c.kind {
        OrgKind::Prescriber => {
            page.intro
                .push("Les carnets confiés à votre organisation. Pour remettre un carnet à une personne :".into());
            let books = api(state, c, Method::GET, "/api/v1/books?limit=5000", None).await?;
            let mut table = Table::new(
                &["Carnet", "Commande", "Statut", "Reçu le", "Remis le"],
                "Aucun carnet reçu pour l'instant.",
            );
            for b in items(&books) {
                let serial = text(&b["serial"]);
                let actions = if b["status"].as_str() == Some("assigned") {
                    vec![
                        Action::post(format!("/api/v1/books/{serial}/cancel"), "Déclarer perdu")
                            .asking("reason", "Motif de l'annulation"),
                    ]
                } else {
                    Vec::new()
                };
                table.row(
                    vec![
                        serial.into(),
                        text(&b["order_id"]).into(),
                        status(&b["status"]).into(),
                        date(&b["assigned_at"]).into(),
                        date(&b["distributed_at"]).into(),
                    ],
                    actions,
                );
            }
            let mut section = Section::new("Carnets reçus");
            section.links.push(("/remise".into(), "Remettre un carnet".into()));
            section.table = Some(table);
            page.sections.push(section);
        }
        _ => {
            page.intro.push("Pour chaque commande, les carnets par prescripteur.".into());
            let orders = api(state, c, Method::GET, "/api/v1/orders", None).await?;
            let mut names: HashMap<i64, String> = HashMap::new();
            for o in items(&orders).iter().filter(|o| o["status"].as_str() == Some("issued")) {
                let id = o["id"].as_i64().unwrap_or(0);
                let books =
                    api(state, c, Method::GET, &format!("/api/v1/books?order_id={id}&limit=5000"), None).await?;
                // prescriber → (assigned, distributed, cancelled or expired)
                let mut per: BTreeMap<Option<i64>, [u32; 3]> = BTreeMap::new();
                for b in items(&books) {
                    let slot = per.entry(b["prescriber_id"].as_i64()).or_default();
                    match b["status"].as_str() {
                        Some("assigned") => slot[0] += 1,
                        Some("distributed") => slot[1] += 1,
                        Some("cancelled" | "expired" | "blocked") => slot[2] += 1,
                        _ => {}
                    }
                }
                let mut table = Table::new(
                    &["Prescripteur", "Confiés, pas encore remis", "Remis à une personne", "Annulés ou expirés"],
                    "Aucun carnet.",
                );
                for (prescriber, [assigned, distributed, closed]) in per {
                    let name = match prescriber {
                        None => "Pas encore confiés".to_owned(),
                        Some(p) => {
                            if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(p) {
                                // The API gave this prescriber's id for the caller's own books.
                                let org = issuer::organisations::get(&state.db, p).await.ok().flatten();
                                slot.insert(org.map_or_else(|| format!("n°{p}"), |o| o.name));
                            }
                            names[&p].clone()
                        }
                    };
                    table.row(
                        vec![
                            name.into(),
                            assigned.to_string().into(),
                            distributed.to_string().into(),
                            closed.to_string().into(),
                        ],
                        Vec::new(),
                    );
                }
                let mut section = Section::new(&format!("Commande n°{id} — {}", text(&o["label"])));
                section.links.push((format!("/commandes/{id}"), "Détail de la commande".into()));
                section.table = Some(table);
                page.sections.push(section);
            }
            if page.sections.is_empty() {
                let mut s = Section::new("Aucune commande émise");
                s.paragraphs.push("Les carnets apparaissent ici une fois une commande émise.".into());
                page.sections.push(s);
            }
        }
    }
    Ok(page)
}
