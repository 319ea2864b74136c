//! The SEPA credit transfer files of a released run, and the funders' accounts they are paid
//! from in direct mode.

use super::{Mode, RunStatus, SettlementError, get};
use crate::sepa::{CreditTransfer, Party, Transfer};
use ledger::{Cents, Db, time};
use redeemer::bank::{Bic, Iban};
use sqlx::{AnyConnection, Row};

/// The SEPA credit transfer file of a released run. Custody mode: every payout, paid from the
/// operator's account (`debtor`). Direct mode: `funder`'s payouts, paid from its account.
pub async fn sepa_file(db: &Db, id: i64, debtor: &Party, funder: Option<i64>) -> Result<String, SettlementError> {
    let run = get(db, id).await?.ok_or(SettlementError::NotFound)?;
    if run.status != RunStatus::Released {
        return Err(SettlementError::State(format!("le règlement n°{id} n'est pas validé")));
    }
    match (run.mode, funder) {
        (Mode::Custody, None) | (Mode::Direct, Some(_)) => {}
        (Mode::Custody, Some(_)) => {
            return Err(SettlementError::State(
                "règlement en mode custody : un seul fichier, payé par l'opérateur".into(),
            ));
        }
        (Mode::Direct, None) => {
            return Err(SettlementError::State("règlement en mode direct : un fichier par financeur".into()));
        }
    }
    let rows = sqlx::query("SELECT id, iban, bic, account_holder FROM payouts WHERE run_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(db.pool())
        .await?;
    let mut transfers = Vec::with_capacity(rows.len());
    for (p, r) in run.payouts.iter().zip(rows) {
        if p.funder_id != funder {
            continue;
        }
        let holder: String = r.try_get(3)?;
        let bic: Option<String> = r.try_get(2)?;
        transfers.push(Transfer {
            end_to_end_id: p.end_to_end_id.clone(),
            amount: Cents(p.amount_cents),
            creditor: Party {
                name: if holder.trim().is_empty() { p.site_name.clone() } else { holder },
                iban: r.try_get::<String, _>(1)?.parse().map_err(|e| SettlementError::State(format!("{e}")))?,
                bic: bic.and_then(|b| b.parse::<Bic>().ok()),
            },
            remittance: run.remittance(p),
        });
    }
    let suffix = funder.map(|f| format!("-F{f}")).unwrap_or_default();
    let file = CreditTransfer {
        message_id: format!("{}{suffix}", run.message_id()),
        payment_info_id: format!("{}{suffix}-P", run.message_id()),
        created_at: run.released_at.unwrap_or(run.created_at),
        execution_date: run.released_at.unwrap_or(run.created_at).date_naive(),
        initiating_party: debtor.name.clone(),
        debtor: debtor.clone(),
        transfers,
    };
    Ok(file.to_xml()?)
}

/// A funder's account, from which it pays the sites in direct mode.
pub async fn funder_account(db: &Db, funder: i64) -> Result<Option<Party>, SettlementError> {
    let row = sqlx::query("SELECT iban, bic, account_holder FROM funder_accounts WHERE funder_id = $1")
        .bind(funder)
        .fetch_optional(db.pool())
        .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Party {
        name: r.try_get(2)?,
        iban: r.try_get::<String, _>(0)?.parse().map_err(|e| SettlementError::State(format!("{e}")))?,
        bic: r.try_get::<Option<String>, _>(1)?.and_then(|b| b.parse::<Bic>().ok()),
    }))
}

/// Sets a funder's account for direct mode.
pub async fn set_funder_account(
    conn: &mut AnyConnection,
    funder: i64,
    iban: &Iban,
    bic: Option<&Bic>,
    holder: &str,
) -> Result<(), SettlementError> {
    let holder = holder.trim();
    if holder.is_empty() || holder.chars().count() > 140 {
        return Err(SettlementError::State("titulaire du compte : de 1 à 140 caractères".into()));
    }
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM organisations WHERE id = $1")
        .bind(funder)
        .fetch_optional(&mut *conn)
        .await?;
    if kind.as_deref() != Some("funder") {
        return Err(SettlementError::NotFound);
    }
    sqlx::query(
        "INSERT INTO funder_accounts (funder_id, iban, bic, account_holder, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (funder_id) DO UPDATE SET iban = excluded.iban, bic = excluded.bic, \
         account_holder = excluded.account_holder, updated_at = excluded.updated_at",
    )
    .bind(funder)
    .bind(iban.as_str())
    .bind(bic.map(Bic::as_str))
    .bind(holder)
    .bind(time::to_micros(time::now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
