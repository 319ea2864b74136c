//! Read side: balances now and at a past date, trial balance, account statements.

use crate::{AccountCode, Cents, Db, LedgerError, Nature, time};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

/// One account's balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountBalance {
    pub account: AccountCode,
    pub nature: Nature,
    /// Debits minus credits.
    pub debit_minus_credit: Cents,
    /// What the account holds according to its nature (positive for a liability we owe).
    pub natural: Cents,
}

impl AccountBalance {
    fn new(account: AccountCode, debit_minus_credit: i64) -> Self {
        let nature = account.nature();
        AccountBalance {
            natural: Cents(nature.natural(debit_minus_credit)),
            account,
            nature,
            debit_minus_credit: Cents(debit_minus_credit),
        }
    }
}

/// The current balance of an account (zero for an account never posted to).
pub async fn balance(db: &Db, account: &AccountCode) -> Result<AccountBalance, LedgerError> {
    let value: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM ledger_accounts WHERE code = $1")
            .bind(account.as_str())
            .fetch_one(db.pool())
            .await?;
    Ok(AccountBalance::new(account.clone(), value))
}

/// The balance of an account counting every transaction that happened at or before `at`.
pub async fn balance_at(db: &Db, account: &AccountCode, at: DateTime<Utc>) -> Result<AccountBalance, LedgerError> {
    let value: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) FROM ledger_postings p \
         JOIN ledger_accounts a ON a.id = p.account_id JOIN ledger_transactions t ON t.id = p.transaction_id \
         WHERE a.code = $1 AND t.at <= $2",
    )
    .bind(account.as_str())
    .bind(time::to_micros(at))
    .fetch_one(db.pool())
    .await?;
    Ok(AccountBalance::new(account.clone(), value))
}

/// Every account's balance (now, or at a past date) and their total, which is always zero.
#[derive(Debug, Clone, Serialize)]
pub struct TrialBalance {
    pub as_of: Option<DateTime<Utc>>,
    pub accounts: Vec<AccountBalance>,
    pub total: Cents,
}

pub async fn trial_balance(db: &Db, as_of: Option<DateTime<Utc>>) -> Result<TrialBalance, LedgerError> {
    let rows = match as_of {
        None => {
            sqlx::query("SELECT code, CAST(SUM(balance) AS BIGINT) FROM ledger_accounts GROUP BY code ORDER BY code")
                .fetch_all(db.pool())
                .await?
        }
        Some(at) => {
            sqlx::query(
                "SELECT a.code, CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) FROM ledger_accounts a \
                 JOIN ledger_postings p ON p.account_id = a.id JOIN ledger_transactions t ON t.id = p.transaction_id \
                 WHERE t.at <= $1 GROUP BY a.code ORDER BY a.code",
            )
            .bind(time::to_micros(at))
            .fetch_all(db.pool())
            .await?
        }
    };
    let mut accounts = Vec::with_capacity(rows.len());
    let mut total: i128 = 0;
    for r in rows {
        let code: String = r.try_get(0)?;
        let value: i64 = r.try_get(1)?;
        total += i128::from(value);
        accounts.push(AccountBalance::new(code.parse()?, value));
    }
    let total = Cents(i64::try_from(total).map_err(|_| LedgerError::Overflow)?);
    Ok(TrialBalance { as_of, accounts, total })
}

/// One line of an account statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    pub transaction_id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub memo: String,
    /// Debit-positive amount of the posting.
    pub amount: Cents,
    /// Natural balance after this line.
    pub running_balance: Cents,
}

/// An account statement over `[from, to]` with opening, running and closing natural balances.
#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    pub account: AccountCode,
    pub nature: Nature,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub opening: Cents,
    pub lines: Vec<StatementLine>,
    pub closing: Cents,
}

/// At most this many lines in one statement; narrow the period for more.
pub const STATEMENT_MAX_LINES: i64 = 10_000;

pub async fn statement(
    db: &Db,
    account: &AccountCode,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Statement, LedgerError> {
    let nature = account.nature();
    let from_micros = from.map(time::to_micros).unwrap_or(i64::MIN);
    let to_micros = to.map(time::to_micros).unwrap_or(i64::MAX);
    let opening: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) FROM ledger_postings p \
         JOIN ledger_accounts a ON a.id = p.account_id JOIN ledger_transactions t ON t.id = p.transaction_id \
         WHERE a.code = $1 AND t.at < $2",
    )
    .bind(account.as_str())
    .bind(from_micros)
    .fetch_one(db.pool())
    .await?;
    let rows = sqlx::query(
        "SELECT t.id, t.at, t.kind, t.memo, p.amount FROM ledger_postings p \
         JOIN ledger_accounts a ON a.id = p.account_id JOIN ledger_transactions t ON t.id = p.transaction_id \
         WHERE a.code = $1 AND t.at >= $2 AND t.at <= $3 ORDER BY t.at, t.id, p.id LIMIT $4",
    )
    .bind(account.as_str())
    .bind(from_micros)
    .bind(to_micros)
    .bind(STATEMENT_MAX_LINES)
    .fetch_all(db.pool())
    .await?;
    let mut running = opening;
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows {
        let amount: i64 = r.try_get(4)?;
        running = running.checked_add(amount).ok_or(LedgerError::Overflow)?;
        lines.push(StatementLine {
            transaction_id: r.try_get(0)?,
            at: time::from_micros(r.try_get(1)?),
            kind: r.try_get(2)?,
            memo: r.try_get(3)?,
            amount: Cents(amount),
            running_balance: Cents(nature.natural(running)),
        });
    }
    Ok(Statement {
        account: account.clone(),
        nature,
        from,
        to,
        opening: Cents(nature.natural(opening)),
        closing: Cents(nature.natural(running)),
        lines,
    })
}
