//! The ledger as people read it: the operator's trial balance and the check of the whole
//! ledger, and account statements (the operator's any account, a funder's or a site's own).

use crate::app::{Act, App, AppError, AppResult, Caller};
use crate::identity::OrgKind;
use chrono::{DateTime, Utc};
use ledger::AccountCode;
use serde::Serialize;
use utoipa::ToSchema;

/// One account of the trial balance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BalanceLine {
    pub account: String,
    /// asset, liability, income, expense
    pub nature: String,
    /// Debits minus credits, in cents.
    pub debit_minus_credit: i64,
    /// What the account holds according to its nature, in cents.
    pub natural: i64,
}

/// Every account's balance and their total.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrialBalance {
    pub as_of: Option<DateTime<Utc>>,
    pub accounts: Vec<BalanceLine>,
    /// Always zero in a sound ledger.
    pub total: i64,
}

/// One thing the check found wrong.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerifyProblem {
    /// Stable machine code: `unbalanced`, `content_mismatch`, `seal_mismatch`, …
    pub code: String,
    pub transaction_id: Option<i64>,
    pub account: Option<String>,
    pub message: String,
}

/// What the check of the ledger found: seals, balances and the domain's invariants.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerifyResult {
    pub ok: bool,
    pub transactions: u64,
    pub postings: u64,
    pub accounts: u64,
    pub seals: u64,
    pub unsealed: u64,
    pub problem_count: u64,
    pub first_bad_transaction: Option<i64>,
    /// The first problems found (at most 100; `problem_count` goes on).
    pub problems: Vec<VerifyProblem>,
}

/// One line of an account statement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatementLine {
    pub transaction_id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub memo: String,
    /// Debit-positive amount of the posting, in cents.
    pub amount: i64,
    /// Natural balance after this line, in cents.
    pub running_balance: i64,
}

/// An account statement with opening, running and closing natural balances.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Statement {
    pub account: String,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub opening: i64,
    pub closing: i64,
    pub lines: Vec<StatementLine>,
}

/// Every account's balance and their total, counting only transactions up to `as_of`.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn trial_balance(app: &App, caller: &Caller, as_of: Option<DateTime<Utc>>) -> AppResult<TrialBalance> {
    caller.require(Act::ReadTrialBalance)?;
    let tb = ledger::query::trial_balance(&app.db, as_of).await?;
    Ok(TrialBalance {
        as_of: tb.as_of,
        total: tb.total.0,
        accounts: tb
            .accounts
            .into_iter()
            .map(|a| BalanceLine {
                account: a.account.to_string(),
                nature: a.nature.as_str().to_owned(),
                debit_minus_credit: a.debit_minus_credit.0,
                natural: a.natural.0,
            })
            .collect(),
    })
}

/// Recomputes seals, balances and the domain's invariants.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn verify(app: &App, caller: &Caller) -> AppResult<VerifyResult> {
    caller.require(Act::VerifyLedger)?;
    let mut r = ledger::verify::verify(&app.db).await?;
    issuer::invariants::check(&app.db, &mut r).await?;
    Ok(VerifyResult {
        ok: r.is_ok(),
        first_bad_transaction: r.first_bad_transaction(),
        transactions: r.transactions,
        postings: r.postings,
        accounts: r.accounts,
        seals: r.seals,
        unsealed: r.unsealed,
        problem_count: r.problem_count,
        problems: r
            .problems
            .into_iter()
            .map(|p| VerifyProblem {
                code: p.code.to_owned(),
                transaction_id: p.transaction_id,
                account: p.account,
                message: p.message,
            })
            .collect(),
    })
}

/// Whether the caller may read `account`: the operator any account, a funder its
/// `funder:{id}` account, a site its `site:{id}:…` accounts.
pub fn may_read(caller: &Caller, account: &AccountCode) -> bool {
    match (caller.kind, account.owner()) {
        (OrgKind::Operator, _) => true,
        (OrgKind::Funder, Some(("funder", id))) | (OrgKind::Site, Some(("site", id))) => id == caller.organisation_id,
        _ => false,
    }
}

/// The account a funder or a site reads by default: its own (the bank account for others).
pub fn own_account(caller: &Caller) -> String {
    match caller.kind {
        OrgKind::Funder => format!("funder:{}", caller.organisation_id),
        OrgKind::Site => format!("site:{}:payable", caller.organisation_id),
        _ => "bank".to_owned(),
    }
}

/// An account statement over `[from, to]` with running balance; an account the caller may not
/// read is answered as if it did not exist.
#[tracing::instrument(skip_all, fields(user = caller.user_id, account = code))]
pub async fn statement(
    app: &App,
    caller: &Caller,
    code: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<Statement> {
    caller.require(Act::ReadAccountStatement)?;
    let account: AccountCode = code.parse()?;
    if !may_read(caller, &account) {
        return Err(AppError::NotFound);
    }
    let s = ledger::query::statement(&app.db, &account, from, to).await?;
    Ok(Statement {
        account: s.account.to_string(),
        from: s.from,
        to: s.to,
        opening: s.opening.0,
        closing: s.closing.0,
        lines: s
            .lines
            .into_iter()
            .map(|l| StatementLine {
                transaction_id: l.transaction_id,
                at: l.at,
                kind: l.kind,
                memo: l.memo,
                amount: l.amount.0,
                running_balance: l.running_balance.0,
            })
            .collect(),
    })
}
