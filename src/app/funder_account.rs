//! The bank account a funder pays the sites from in direct settlement mode (DESIGN §8): set by
//! the operator or the funder's own managers, recorded in the audit trail (IBAN masked).

use crate::app::{Act, App, AppError, AppResult, Caller};
use crate::audit;
use redeemer::bank::{Bic, Iban};
use settlement::runs::{self, SettlementError};

/// A refusal of the settlement side, as the API has always answered it.
fn refused(e: SettlementError) -> AppError {
    match e {
        SettlementError::NotFound => AppError::NotFound,
        SettlementError::Ledger(l) => l.into(),
        SettlementError::Db(db) => db.into(),
        SettlementError::State(_) | SettlementError::PreviousOpen(_) | SettlementError::LaterPeriodExists(_) => {
            AppError::conflict(e.code(), e.to_string())
        }
        SettlementError::PeriodNotOver(_) | SettlementError::BadMinimum | SettlementError::Sepa(_) => {
            AppError::invalid(e.code(), e.to_string())
        }
    }
}

/// Sets the account funder `funder_id` pays the sites from (the operator, the funder's managers).
#[tracing::instrument(skip_all, fields(user = caller.user_id, funder = funder_id))]
pub async fn set(
    app: &App,
    caller: &Caller,
    funder_id: i64,
    iban: &Iban,
    bic: Option<&Bic>,
    account_holder: &str,
) -> AppResult<()> {
    caller.require(Act::SetFunderBankAccount)?;
    caller.require_org(funder_id)?;
    let mut tx = app.db.begin().await?;
    runs::set_funder_account(&mut tx, funder_id, iban, bic, account_holder).await.map_err(refused)?;
    audit::record(
        &mut tx,
        caller.actor(),
        "funder.bank_account",
        "organisation",
        funder_id,
        serde_json::json!({"iban": iban.masked()}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
