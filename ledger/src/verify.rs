//! `ledger verify`: recomputes seals, balances and invariants from the stored rows and names
//! the first transaction that no longer matches.

use crate::seal::{GENESIS, seal_hash};
use crate::stored::{Filter, page};
use crate::transaction::content_hash;
use crate::{AccountCode, Db, LedgerError};
use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;

/// At most this many problems are listed; the count goes on.
const MAX_LISTED: usize = 100;
const PAGE: i64 = 5_000;

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// Stable machine code: `unbalanced`, `content_mismatch`, `seal_mismatch`, …
    pub code: &'static str,
    pub transaction_id: Option<i64>,
    pub account: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub transactions: u64,
    pub postings: u64,
    pub accounts: u64,
    pub seals: u64,
    pub unsealed: u64,
    pub problem_count: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problem_count == 0
    }

    /// The lowest transaction id named by a problem.
    pub fn first_bad_transaction(&self) -> Option<i64> {
        self.problems.iter().filter_map(|p| p.transaction_id).min()
    }

    /// Records a problem found by a check outside this crate (domain invariants).
    pub fn add(&mut self, code: &'static str, transaction_id: Option<i64>, account: Option<String>, message: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(Problem { code, transaction_id, account, message });
        }
    }
}

struct OpenSeal {
    leaves: Vec<u8>,
    seen: usize,
}

/// Verifies the whole ledger inside one consistent snapshot.
pub async fn verify(db: &Db) -> Result<VerifyReport, LedgerError> {
    let mut snap = db.begin_snapshot().await?;
    let mut report = VerifyReport::default();

    // 1. Seals: the chain links and each seal's hash.
    let mut seals: HashMap<i64, OpenSeal> = HashMap::new();
    let mut prev = GENESIS.to_vec();
    let mut expected_id = 1;
    let rows = sqlx::query("SELECT id, prev_hash, hash, leaves, tx_count FROM ledger_seals ORDER BY id")
        .fetch_all(&mut *snap)
        .await?;
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let prev_hash: Vec<u8> = r.try_get(1)?;
        let hash: Vec<u8> = r.try_get(2)?;
        let leaves: Vec<u8> = r.try_get(3)?;
        let count: i64 = r.try_get(4)?;
        report.seals += 1;
        if id != expected_id {
            report.add("seal_gap", None, None, format!("seal {expected_id} is missing; found seal {id}"));
        }
        if prev_hash != prev {
            report.add("seal_chain_broken", None, None, format!("seal {id} does not follow the previous seal"));
        }
        if seal_hash(id, &prev_hash, &leaves).as_slice() != hash.as_slice() {
            report.add("seal_hash_mismatch", None, None, format!("seal {id}: its hash does not match its content"));
        }
        if leaves.len() as i64 != count * 32 {
            report.add(
                "seal_hash_mismatch",
                None,
                None,
                format!("seal {id}: {count} transactions announced, leaves differ"),
            );
        }
        prev = hash;
        expected_id = id + 1;
        seals.insert(id, OpenSeal { leaves, seen: 0 });
    }

    // 2. Transactions: balance, content against its stored hash, and its place in its seal.
    let mut after = 0;
    loop {
        let batch = page(&mut snap, Filter::All, after, PAGE).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for t in &batch {
            report.transactions += 1;
            let sum: i128 = t.postings.iter().map(|(_, a)| i128::from(*a)).sum();
            if t.postings.len() < 2 {
                report.add(
                    "too_few_postings",
                    Some(t.id),
                    None,
                    format!("transaction {} has {} posting(s)", t.id, t.postings.len()),
                );
            }
            if sum != 0 {
                report.add(
                    "unbalanced",
                    Some(t.id),
                    None,
                    format!("transaction {}: postings sum to {sum} cents", t.id),
                );
            }
            if t.postings.iter().any(|(_, a)| *a == 0) {
                report.add("zero_posting", Some(t.id), None, format!("transaction {} has a zero posting", t.id));
            }
            if content_hash(&t.content) != t.content_hash {
                report.add(
                    "content_mismatch",
                    Some(t.id),
                    None,
                    format!("transaction {}: stored bytes no longer match its hash", t.id),
                );
            }
            match t.seal_id {
                None => report.unsealed += 1,
                Some(s) => match seals.get_mut(&s) {
                    None => report.add(
                        "seal_missing",
                        Some(t.id),
                        None,
                        format!("transaction {} names missing seal {s}", t.id),
                    ),
                    Some(open) => {
                        let i = open.seen * 32;
                        if open.leaves.get(i..i + 32) != Some(t.leaf().as_slice()) {
                            report.add(
                                "seal_mismatch",
                                Some(t.id),
                                None,
                                format!("transaction {} no longer matches seal {s}", t.id),
                            );
                        }
                        open.seen += 1;
                    }
                },
            }
        }
    }
    let mut incomplete: Vec<_> =
        seals.iter().filter(|(_, o)| o.seen * 32 != o.leaves.len()).map(|(id, _)| *id).collect();
    incomplete.sort();
    for id in incomplete {
        report.add("seal_mismatch", None, None, format!("seal {id}: the transactions it covers are not all there"));
    }

    // 3. Postings in recording order: each running balance.
    let mut sums: HashMap<i64, (i64, i64)> = HashMap::new();
    let mut after = 0;
    loop {
        let rows = sqlx::query(
            "SELECT id, transaction_id, account_id, amount, balance_after FROM ledger_postings WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(PAGE)
        .fetch_all(&mut *snap)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get(0)?;
        for r in rows {
            report.postings += 1;
            let tx: i64 = r.try_get(1)?;
            let account: i64 = r.try_get(2)?;
            let amount: i64 = r.try_get(3)?;
            let after_balance: i64 = r.try_get(4)?;
            let entry = sums.entry(account).or_insert((0, 0));
            entry.0 = entry.0.saturating_add(amount);
            entry.1 += 1;
            if entry.0 != after_balance {
                report.add(
                    "running_balance_mismatch",
                    Some(tx),
                    None,
                    format!("transaction {tx}: running balance of account #{account} does not follow"),
                );
            }
        }
    }

    // 4. Accounts: each stored (shard) balance and count against its postings; then, per
    //    account code, no overdraft; and a zero total.
    let rows = sqlx::query("SELECT id, code, balance, posting_count FROM ledger_accounts ORDER BY code, shard")
        .fetch_all(&mut *snap)
        .await?;
    let mut total: i128 = 0;
    let mut by_code: Vec<(String, i64)> = Vec::new();
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let code: String = r.try_get(1)?;
        let balance: i64 = r.try_get(2)?;
        let count: i64 = r.try_get(3)?;
        total += i128::from(balance);
        let (sum, n) = sums.get(&id).copied().unwrap_or((0, 0));
        if sum != balance || n != count {
            report.add(
                "balance_mismatch",
                None,
                Some(code.clone()),
                format!("account {code}: stored balance {balance} but postings sum to {sum}"),
            );
        }
        match by_code.last_mut() {
            Some((c, b)) if *c == code => *b = b.saturating_add(balance),
            _ => by_code.push((code, balance)),
        }
    }
    for (code, balance) in by_code {
        report.accounts += 1;
        match code.parse::<AccountCode>() {
            Ok(a) if a.no_overdraft() && a.nature().natural(balance) < 0 => {
                report.add("overdraft", None, Some(code.clone()), format!("account {code} is below zero"));
            }
            Ok(_) => {}
            Err(_) => report.add(
                "invalid_account",
                None,
                Some(code.clone()),
                format!("account code {code:?} is not in the chart"),
            ),
        }
    }
    if total != 0 {
        report.add("trial_balance_not_zero", None, None, format!("the trial balance sums to {total} cents"));
    }
    snap.rollback().await?;
    Ok(report)
}
