//! Posting transactions: append-only, idempotent, with running balances updated in the same
//! database transaction as the postings.

use crate::db::is_unique_violation;
use crate::transaction::{content_bytes, content_hash};
use crate::{AccountCode, Cents, Db, LedgerError, NewTransaction, time};
use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, AssertSqlSafe, Row};

/// The result of posting: the transaction and the balance of each account it touched.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Posted {
    pub transaction_id: i64,
    /// True when the key had already been posted with the same content.
    pub replayed: bool,
    /// Debit-positive balance, right after this transaction, of each posted account that
    /// belongs to one organisation. Sharded accounts (bank, fees, orders, …) are kept in
    /// shards and have no single running balance: read them with `query::balance`.
    pub balances: Vec<(AccountCode, Cents)>,
}

impl Posted {
    /// The natural balance (what the account's nature says it holds) after this transaction.
    pub fn natural_balance(&self, account: &AccountCode) -> Option<Cents> {
        self.balances.iter().find(|(a, _)| a == account).map(|(a, b)| Cents(a.nature().natural(b.0)))
    }
}

/// Posts a transaction in its own database transaction.
pub async fn post(db: &Db, new: &NewTransaction) -> Result<Posted, LedgerError> {
    let mut tx = db.begin().await?;
    let posted = post_in(&mut tx, new).await?;
    tx.commit().await?;
    Ok(posted)
}

/// Posts a transaction inside the caller's database transaction, so that domain changes and
/// ledger postings commit together. On error the caller must roll back.
pub async fn post_in(conn: &mut AnyConnection, new: &NewTransaction) -> Result<Posted, LedgerError> {
    let ordered = new.validate()?;
    let content = new.content_bytes();
    let hash = content_hash(&content);
    let inserted = sqlx::query(
        "INSERT INTO ledger_transactions (idempotency_key, kind, memo, at, recorded_at, reverses_id, content_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(&new.key)
    .bind(&new.kind)
    .bind(&new.memo)
    .bind(time::to_micros(new.at))
    .bind(time::to_micros(time::now()))
    .bind(new.reverses)
    .bind(&hash)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| match (new.reverses, is_unique_violation(&e)) {
        (Some(original), true) => LedgerError::AlreadyReversed(original),
        _ => LedgerError::Db(e),
    })?;
    let Some(row) = inserted else {
        return replay(conn, &new.key, &hash).await;
    };
    let transaction_id: i64 = row.try_get(0)?;

    let shard = rand::random_range(0..SHARDS);
    let mut lines = Vec::with_capacity(ordered.len());
    for p in &ordered {
        let shard = if p.account.is_sharded() { shard } else { 0 };
        let (account_id, balance) = add_to_account(conn, &p.account, shard, p.amount).await?;
        let total = if p.account.is_sharded() && p.account.no_overdraft() && p.amount.0 > 0 {
            // A debit of a sharded account: its balance is the sum of its rows. (The rows of
            // other transactions in flight are not locked: for orders, the voucher status
            // changes are what stop double spending; this catches a posting beyond the total.)
            sqlx::query_scalar::<_, i64>(
                "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM ledger_accounts WHERE code = $1",
            )
            .bind(p.account.as_str())
            .fetch_one(&mut *conn)
            .await?
        } else {
            balance
        };
        if p.account.no_overdraft() && p.account.nature().natural(total) < 0 {
            return Err(LedgerError::Overdraft(p.account.clone()));
        }
        lines.push((account_id, p.amount.0, balance));
    }
    let mut sql =
        String::from("INSERT INTO ledger_postings (transaction_id, account_id, amount, balance_after) VALUES ");
    for i in 0..lines.len() {
        let b = i * 3;
        sql.push_str(&format!("{}($1, ${}, ${}, ${})", if i > 0 { ", " } else { "" }, b + 2, b + 3, b + 4));
    }
    let mut insert = sqlx::query(AssertSqlSafe(sql)).bind(transaction_id);
    for (account_id, amount, balance) in &lines {
        insert = insert.bind(*account_id).bind(*amount).bind(*balance);
    }
    insert.execute(&mut *conn).await?;

    Ok(Posted {
        transaction_id,
        replayed: false,
        balances: ordered
            .into_iter()
            .zip(lines)
            .filter(|(p, _)| !p.account.is_sharded())
            .map(|(p, (_, _, bal))| (p.account, Cents(bal)))
            .collect(),
    })
}

/// Shared accounts keep their balance in this many rows; a transaction updates one of them,
/// chosen at random, so that concurrent transactions rarely wait for the same row lock.
pub const SHARDS: i64 = 16;

/// Adds `amount` to the running balance of an account's shard, creating it on first use.
/// Returns the row id and its new debit-positive balance.
async fn add_to_account(
    conn: &mut AnyConnection,
    account: &AccountCode,
    shard: i64,
    amount: Cents,
) -> Result<(i64, i64), LedgerError> {
    const UPDATE: &str = "UPDATE ledger_accounts SET balance = balance + $1, posting_count = posting_count + 1 \
                          WHERE code = $2 AND shard = $3 RETURNING id, balance";
    for _ in 0..2 {
        let row =
            sqlx::query(UPDATE).bind(amount.0).bind(account.as_str()).bind(shard).fetch_optional(&mut *conn).await?;
        if let Some(row) = row {
            return Ok((row.try_get(0)?, row.try_get(1)?));
        }
        sqlx::query(
            "INSERT INTO ledger_accounts (code, shard, nature, balance, posting_count, created_at) VALUES ($1, $2, $3, 0, 0, $4) \
             ON CONFLICT (code, shard) DO NOTHING",
        )
        .bind(account.as_str())
        .bind(shard)
        .bind(account.nature().as_str())
        .bind(time::to_micros(time::now()))
        .execute(&mut *conn)
        .await?;
    }
    Err(LedgerError::AccountNotFound(account.clone()))
}

async fn replay(conn: &mut AnyConnection, key: &str, hash: &[u8]) -> Result<Posted, LedgerError> {
    let row = sqlx::query("SELECT id, content_hash FROM ledger_transactions WHERE idempotency_key = $1")
        .bind(key)
        .fetch_one(&mut *conn)
        .await?;
    let id: i64 = row.try_get(0)?;
    let stored: Vec<u8> = row.try_get(1)?;
    if stored != hash {
        return Err(LedgerError::IdempotencyConflict(key.to_owned()));
    }
    let rows = sqlx::query(
        "SELECT a.code, p.balance_after FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id \
         WHERE p.transaction_id = $1 ORDER BY p.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut balances = Vec::with_capacity(rows.len());
    for r in rows {
        let code: AccountCode = r.try_get::<String, _>(0)?.parse()?;
        if !code.is_sharded() {
            balances.push((code, Cents(r.try_get(1)?)));
        }
    }
    Ok(Posted { transaction_id: id, replayed: true, balances })
}

/// Reverses a posted transaction with a new transaction of opposite postings that references
/// it. A transaction can be reversed once; reversals themselves cannot be reversed.
pub async fn reverse_in(
    conn: &mut AnyConnection,
    original: i64,
    key: &str,
    memo: &str,
    at: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    let row = sqlx::query("SELECT kind FROM ledger_transactions WHERE id = $1")
        .bind(original)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(LedgerError::TransactionNotFound(original))?;
    let kind: String = row.try_get(0)?;
    if kind == "reversal" {
        return Err(LedgerError::Invalid("a reversal cannot itself be reversed".into()));
    }
    let rows = sqlx::query(
        "SELECT a.code, p.amount FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id \
         WHERE p.transaction_id = $1 ORDER BY p.id",
    )
    .bind(original)
    .fetch_all(&mut *conn)
    .await?;
    let mut new = NewTransaction::new(key, "reversal", memo, at);
    new.reverses = Some(original);
    for r in rows {
        let code: String = r.try_get(0)?;
        let amount: i64 = r.try_get(1)?;
        new = new.credit(code.parse()?, Cents(amount));
    }
    // A retried reversal with the same key is a replay, checked before the one-reversal rule.
    let existing = sqlx::query("SELECT content_hash FROM ledger_transactions WHERE idempotency_key = $1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    if existing.is_some() {
        return replay(conn, key, &content_hash(&new.content_bytes())).await;
    }
    let already = sqlx::query("SELECT id FROM ledger_transactions WHERE reverses_id = $1")
        .bind(original)
        .fetch_optional(&mut *conn)
        .await?;
    if already.is_some() {
        return Err(LedgerError::AlreadyReversed(original));
    }
    post_in(conn, &new).await
}

/// Recomputes a stored transaction's content bytes from its rows.
pub(crate) fn stored_content(
    key: &str,
    kind: &str,
    memo: &str,
    at: i64,
    reverses: Option<i64>,
    postings: &[(String, i64)],
) -> Vec<u8> {
    content_bytes(key, kind, memo, at, reverses, postings.iter().map(|(c, a)| (c.as_str(), *a)))
}
