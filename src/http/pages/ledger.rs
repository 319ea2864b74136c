//! The ledger: the operator's trial balance and its check; an account statement (the operator's
//! any account, a funder's or a site's own).

use crate::http::AppState;
use crate::http::pages::console::{
    Field, Filter, FormSpec, Page, Section, Signed, Table, api, date, euros, items, link, may, text,
};
use axum::http::Method;
use issuer::organisations::OrgKind;
use std::collections::HashMap;

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub async fn balance(state: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let trial = api(state, c, Method::GET, "/api/v1/ledger/trial-balance", None).await?;
    let mut page = Page::new(who, "Grand livre", "/grand-livre");
    let mut checks = Section::new("Contrôle d'intégrité");
    if may(c, "GET", "/api/v1/ledger/verify") {
        if q.contains_key("verifier") {
            let check = api(state, c, Method::GET, "/api/v1/ledger/verify", None).await?;
            checks.paragraphs.push(if check["ok"].as_bool() == Some(true) {
                format!(
                    "Aucune anomalie : {} écritures, {} comptes, sceaux vérifiés.",
                    text(&check["transactions"]),
                    text(&check["accounts"])
                )
            } else {
                format!(
                    "ANOMALIES : {} problème(s), première écriture en cause n°{}.",
                    text(&check["problem_count"]),
                    text(&check["first_bad_transaction"])
                )
            });
        } else {
            checks.links.push((
                "/grand-livre?verifier=1".into(),
                "Contrôler le grand livre (sceaux, soldes, invariants)".into(),
            ));
        }
        page.sections.push(checks);
    }
    let mut table = Table::new(&["Compte", "Nature", "Débit − crédit", "Solde"], "Aucun compte.");
    for a in items(&trial["accounts"]) {
        let code = text(&a["account"]);
        table.row(
            vec![
                link(code.clone(), format!("/releve?compte={}", encode(&code))),
                text(&a["nature"]).into(),
                euros(&a["debit_minus_credit"]).into(),
                euros(&a["natural"]).into(),
            ],
            Vec::new(),
        );
    }
    let mut section = Section::new("Balance des comptes");
    section.paragraphs.push(format!("Total des débits moins crédits : {} (toujours nul).", euros(&trial["total"])));
    section.table = Some(table);
    page.sections.push(section);
    Ok(page)
}

pub async fn statement(state: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let own = match c.kind {
        OrgKind::Funder => format!("funder:{}", c.organisation_id),
        OrgKind::Site => format!("site:{}:payable", c.organisation_id),
        _ => "bank".to_owned(),
    };
    let account = q.get("compte").filter(|v| !v.trim().is_empty()).cloned().unwrap_or(own);
    let s =
        api(state, c, Method::GET, &format!("/api/v1/ledger/accounts/{}/statement", encode(&account)), None).await?;
    let mut page =
        Page::new(who, &format!("Relevé du compte {account}"), &format!("/releve?compte={}", encode(&account)));
    let mut section = Section::new("Écritures");
    if c.is_operator() {
        section.filter = Some(Filter {
            action: "/releve".into(),
            fields: vec![Field::new("text", "compte", "Compte").value(account.clone())],
            submit: "Afficher".into(),
        });
    }
    section.paragraphs.push(format!(
        "Solde d'ouverture : {} — solde de clôture : {}.",
        euros(&s["opening"]),
        euros(&s["closing"])
    ));
    let mut table = Table::new(&["Date", "Écriture", "Libellé", "Montant", "Solde"], "Aucune écriture.");
    for l in items(&s["lines"]) {
        table.row(
            vec![
                date(&l["at"]).into(),
                format!("n°{} ({})", text(&l["transaction_id"]), text(&l["kind"])).into(),
                text(&l["memo"]).into(),
                euros(&l["amount"]).into(),
                euros(&l["running_balance"]).into(),
            ],
            Vec::new(),
        );
    }
    section.table = Some(table);
    page.sections.push(section);
    if c.kind == OrgKind::Funder && c.is_manager() && may(c, "PUT", "/api/v1/funders/{id}/bank-account") {
        let mut bank = Section::new("Compte bancaire du financeur");
        bank.paragraphs.push(
            "En règlement direct, les lieux sont payés depuis ce compte : chaque règlement produit votre fichier de virements."
                .into(),
        );
        bank.forms.push(
            FormSpec::new(
                "PUT",
                format!("/api/v1/funders/{}/bank-account", c.organisation_id),
                "Compte à débiter",
                "Enregistrer le compte",
            )
            .field(Field::new("text", "iban", "IBAN"))
            .field(Field::new("text", "bic", "BIC").optional())
            .field(Field::new("text", "account_holder", "Titulaire du compte")),
        );
        page.sections.push(bank);
    }
    Ok(page)
}
