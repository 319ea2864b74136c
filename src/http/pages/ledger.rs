//! The ledger: the operator's trial balance and its check; an account statement (the operator's
//! any account, a funder's or a site's own); a funder's managers set the account they pay the
//! sites from.

use crate::app::{Act, App, Caller, funder_account, ledger};
use crate::http::AppState;
use crate::http::pages::actions::{Done, Outcome, say};
use crate::http::pages::console::{Field, Filter, FormSpec, Page, Section, Signed, Table, link};
use crate::http::pages::form::Fields;
use crate::http::pages::format::{euros, optional_date};
use issuer::organisations::OrgKind;
use redeemer::bank::{Bic, Iban};
use std::collections::HashMap;

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub async fn balance(app: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let trial = ledger::trial_balance(app, c, None).await.map_err(say)?;
    let mut page = Page::new(who, "Grand livre", "/grand-livre");
    let mut checks = Section::new("Contrôle d'intégrité");
    if c.may(Act::VerifyLedger) {
        if q.contains_key("verifier") {
            let check = ledger::verify(app, c).await.map_err(say)?;
            checks.paragraphs.push(if check.ok {
                format!(
                    "Aucune anomalie : {} écritures, {} comptes, sceaux vérifiés.",
                    check.transactions, check.accounts
                )
            } else {
                format!(
                    "ANOMALIES : {} problème(s), première écriture en cause n°{}.",
                    check.problem_count,
                    check.first_bad_transaction.map_or_else(|| "—".to_owned(), |t| t.to_string())
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
    for a in trial.accounts {
        table.row(
            vec![
                link(a.account.clone(), format!("/releve?compte={}", encode(&a.account))),
                a.nature.into(),
                euros(a.debit_minus_credit).into(),
                euros(a.natural).into(),
            ],
            Vec::new(),
        );
    }
    let mut section = Section::new("Balance des comptes");
    section.paragraphs.push(format!("Total des débits moins crédits : {} (toujours nul).", euros(trial.total)));
    section.table = Some(table);
    page.sections.push(section);
    Ok(page)
}

pub async fn statement(app: &AppState, who: &Signed, q: &HashMap<String, String>) -> Result<Page, String> {
    let c = &who.caller;
    let account = q.get("compte").filter(|v| !v.trim().is_empty()).cloned().unwrap_or_else(|| ledger::own_account(c));
    let s = ledger::statement(app, c, &account, None, None).await.map_err(say)?;
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
        euros(s.opening),
        euros(s.closing)
    ));
    let mut table = Table::new(&["Date", "Écriture", "Libellé", "Montant", "Solde"], "Aucune écriture.");
    for l in s.lines {
        table.row(
            vec![
                optional_date(Some(l.at)).into(),
                format!("n°{} ({})", l.transaction_id, l.kind).into(),
                l.memo.into(),
                euros(l.amount).into(),
                euros(l.running_balance).into(),
            ],
            Vec::new(),
        );
    }
    section.table = Some(table);
    page.sections.push(section);
    if c.kind == OrgKind::Funder && c.is_manager() && c.may(Act::SetFunderBankAccount) {
        let mut bank = Section::new("Compte bancaire du financeur");
        bank.paragraphs.push(
            "En règlement direct, les lieux sont payés depuis ce compte : chaque règlement produit votre fichier de virements."
                .into(),
        );
        bank.forms.push(
            FormSpec::run("funder.bank_account", "Compte à débiter", "Enregistrer le compte")
                .field(Field::new("hidden", "funder", "").value(c.organisation_id.to_string()))
                .field(Field::new("text", "iban", "IBAN"))
                .field(Field::new("text", "bic", "BIC").optional())
                .field(Field::new("text", "account_holder", "Titulaire du compte")),
        );
        page.sections.push(bank);
    }
    Ok(page)
}

/// `funder.bank_account`: the account a funder pays the sites from in direct mode.
pub async fn set_funder_account(app: &App, caller: &Caller, f: &Fields) -> Outcome {
    let iban: Iban = f.text("iban")?.parse().map_err(|e| format!("{e}."))?;
    let bic: Option<Bic> = f.optional("bic").map(|b| b.parse()).transpose().map_err(|e| format!("{e}."))?;
    funder_account::set(app, caller, f.number("funder")?, &iban, bic.as_ref(), &f.text("account_holder")?)
        .await
        .map_err(say)?;
    Ok(Done::said(format!("C'est fait : compte bancaire {} enregistré.", iban.masked())))
}
