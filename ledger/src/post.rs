//! Posting transactions: append-only, idempotent, with running balances updated in the same
//! database transaction as the postings.

use crate::db::{is_unique_violation, placeholder_rows};
use crate::transaction::{content_bytes, content_hash};
use crate::{AccountCode, Cents, Db, LedgerError, NewTransaction, time};
use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use std::collections::{BTreeMap, HashMap};

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

/// Posts several transactions inside the caller's database transaction with a fixed number of
/// statements whatever their number (for group commit; statements whose shape depends on the
/// batch's size are not kept prepared, so as not to push everyday ones out of the cache): the transactions, one update of every
/// account row they touch, the sums of the sharded accounts they debit, the postings. Each
/// transaction's postings and running balances are those [`post_in`] would give, posting them
/// one after the other in this order.
///
/// All or nothing, and nothing is replayed: when a key is already used (or used twice), an
/// account does not exist yet or an account would go below zero, this returns the error and
/// the caller must roll back — then [`post_in`] one by one says which transaction is at fault.
pub async fn post_batch_in(conn: &mut AnyConnection, batch: &[NewTransaction]) -> Result<Vec<Posted>, LedgerError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let ordered = batch.iter().map(NewTransaction::validate).collect::<Result<Vec<_>, _>>()?;
    let ids = insert_transactions(conn, batch).await?;

    // Every account row touched, in lock order (as `post_in` takes them), with its total change.
    let shard = rand::random_range(0..SHARDS);
    let mut rows: BTreeMap<((bool, String), i64), (i64, i64)> = BTreeMap::new();
    for p in ordered.iter().flatten() {
        let (sharded, code) = p.account.lock_key();
        let row = rows.entry(((sharded, code.to_owned()), if sharded { shard } else { 0 })).or_default();
        row.0 += p.amount.0;
        row.1 += 1;
    }
    let wanted: Vec<(&str, i64, i64, i64)> =
        rows.iter().map(|(((_, code), shard), (delta, n))| (code.as_str(), *shard, *delta, *n)).collect();
    let mut updated = update_accounts(conn, &wanted).await?;
    let missing: Vec<(&str, i64, i64, i64)> =
        wanted.iter().copied().filter(|w| !updated.iter().any(|u| u.1 == w.0)).collect();
    if !missing.is_empty() {
        // First use of an account (or of this shard of it): created, then updated.
        create_accounts(conn, &missing).await?;
        updated.extend(update_accounts(conn, &missing).await?);
    }
    // Per account code (one row each in a batch): the row id and its balance before the batch.
    let mut before: HashMap<String, (i64, i64)> = HashMap::with_capacity(rows.len());
    for (id, code, balance) in updated {
        let delta = wanted.iter().find(|w| w.0 == code).map_or(0, |w| w.2);
        before.insert(code, (id, balance - delta));
    }
    if let Some(w) = wanted.iter().find(|w| !before.contains_key(w.0)) {
        return Err(LedgerError::AccountNotFound(w.0.parse()?));
    }

    // A sharded account's balance is the sum of its rows: the sums of those debited, before.
    let debited: Vec<&str> = rows
        .keys()
        .filter(|k| k.0.0)
        .map(|k| k.0.1.as_str())
        .filter(|code| ordered.iter().flatten().any(|p| p.account.as_str() == *code && p.amount.0 > 0))
        .filter(|code| code.parse::<AccountCode>().is_ok_and(|a| a.no_overdraft()))
        .collect();
    let mut sums: HashMap<String, i64> = HashMap::new();
    if !debited.is_empty() {
        let marks: Vec<String> = (1..=debited.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT code, CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM ledger_accounts WHERE code IN ({}) GROUP BY code",
            marks.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(debited.len() == 1);
        for code in &debited {
            q = q.bind(*code);
        }
        for r in q.fetch_all(&mut *conn).await? {
            let code: String = r.try_get(0)?;
            let delta: i64 = ordered.iter().flatten().filter(|p| p.account.as_str() == code).map(|p| p.amount.0).sum();
            sums.insert(code, r.try_get::<i64, _>(1)? - delta);
        }
    }

    // Running balances, posting after posting, and the same overdraft rule as `post_in`.
    let mut posted = Vec::with_capacity(batch.len());
    let mut lines = Vec::new();
    for (t, postings) in ordered.into_iter().enumerate() {
        let mut balances = Vec::new();
        for p in postings {
            let code = p.account.as_str();
            let (account_id, balance) =
                before.get_mut(code).ok_or_else(|| LedgerError::AccountNotFound(p.account.clone()))?;
            *balance += p.amount.0;
            let total = match sums.get_mut(code) {
                Some(sum) => {
                    *sum += p.amount.0;
                    *sum
                }
                None => *balance,
            };
            let checked = !p.account.is_sharded() || p.amount.0 > 0;
            if checked && p.account.no_overdraft() && p.account.nature().natural(total) < 0 {
                return Err(LedgerError::Overdraft(p.account.clone()));
            }
            lines.push((ids[t], *account_id, p.amount.0, *balance));
            if !p.account.is_sharded() {
                balances.push((p.account, Cents(*balance)));
            }
        }
        posted.push(Posted { transaction_id: ids[t], replayed: false, balances });
    }
    insert_postings(conn, &lines).await?;
    Ok(posted)
}

/// Adds `(code, shard, delta, postings)` to each account row in one statement; the rows found,
/// as `(id, code, balance after)`. Rows are listed in lock order.
async fn update_accounts(
    conn: &mut AnyConnection,
    rows: &[(&str, i64, i64, i64)],
) -> Result<Vec<(i64, String, i64)>, LedgerError> {
    let selects: Vec<String> = (0..rows.len())
        .map(|i| {
            let b = i * 4;
            format!("SELECT ${} AS code, ${} AS shard, ${} AS delta, ${} AS n", b + 1, b + 2, b + 3, b + 4)
        })
        .collect();
    let sql = format!(
        "UPDATE ledger_accounts SET balance = ledger_accounts.balance + d.delta, \
         posting_count = ledger_accounts.posting_count + d.n FROM ({}) AS d \
         WHERE ledger_accounts.code = d.code AND ledger_accounts.shard = d.shard \
         RETURNING ledger_accounts.id, ledger_accounts.code, ledger_accounts.balance",
        selects.join(" UNION ALL ")
    );
    let mut update = sqlx::query(AssertSqlSafe(sql)).persistent(rows.len() <= 3);
    for (code, shard, delta, n) in rows {
        update = update.bind(*code).bind(*shard).bind(*delta).bind(*n);
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in update.fetch_all(&mut *conn).await? {
        out.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
    }
    Ok(out)
}

/// Creates account rows at a zero balance (those that exist meanwhile are left alone).
async fn create_accounts(conn: &mut AnyConnection, rows: &[(&str, i64, i64, i64)]) -> Result<(), LedgerError> {
    let values: Vec<String> = (0..rows.len())
        .map(|i| {
            let b = i * 3;
            format!("(${}, ${}, ${}, 0, 0, ${})", b + 1, b + 2, b + 3, rows.len() * 3 + 1)
        })
        .collect();
    let sql = format!(
        "INSERT INTO ledger_accounts (code, shard, nature, balance, posting_count, created_at) VALUES {} \
         ON CONFLICT (code, shard) DO NOTHING",
        values.join(", ")
    );
    let mut insert = sqlx::query(AssertSqlSafe(sql)).persistent(false);
    for (code, shard, _, _) in rows {
        let account: AccountCode = code.parse()?;
        insert = insert.bind(*code).bind(*shard).bind(account.nature().as_str());
    }
    insert.bind(time::to_micros(time::now())).execute(&mut *conn).await?;
    Ok(())
}

/// Inserts the transactions of a batch; their ids in the batch's order. Refuses a key already
/// used (or used twice in the batch).
async fn insert_transactions(conn: &mut AnyConnection, batch: &[NewTransaction]) -> Result<Vec<i64>, LedgerError> {
    let recorded_at = time::to_micros(time::now());
    let sql = format!(
        "INSERT INTO ledger_transactions (idempotency_key, kind, memo, at, recorded_at, reverses_id, content_hash) \
         VALUES {} ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key",
        placeholder_rows(batch.len(), 7)
    );
    let mut insert = sqlx::query(AssertSqlSafe(sql)).persistent(batch.len() == 1);
    for t in batch {
        insert = insert
            .bind(t.key.as_str())
            .bind(t.kind.as_str())
            .bind(t.memo.as_str())
            .bind(time::to_micros(t.at))
            .bind(recorded_at)
            .bind(t.reverses)
            .bind(content_hash(&t.content_bytes()));
    }
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(batch.len());
    for r in insert.fetch_all(&mut *conn).await? {
        ids.insert(r.try_get(1)?, r.try_get(0)?);
    }
    let mut out = Vec::with_capacity(batch.len());
    for t in batch {
        // A key used twice in the batch was inserted once: the second one is refused here.
        match ids.remove(&t.key) {
            Some(id) => out.push(id),
            None => return Err(LedgerError::IdempotencyConflict(t.key.clone())),
        }
    }
    Ok(out)
}

/// Inserts postings `(transaction, account row, amount, balance after)`, many per statement.
async fn insert_postings(conn: &mut AnyConnection, lines: &[(i64, i64, i64, i64)]) -> Result<(), LedgerError> {
    for chunk in lines.chunks(1000) {
        let sql = format!(
            "INSERT INTO ledger_postings (transaction_id, account_id, amount, balance_after) VALUES {}",
            placeholder_rows(chunk.len(), 4)
        );
        let mut insert = sqlx::query(AssertSqlSafe(sql)).persistent(chunk.len() <= 3);
        for (transaction, account, amount, balance) in chunk {
            insert = insert.bind(*transaction).bind(*account).bind(*amount).bind(*balance);
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
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
