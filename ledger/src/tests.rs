//! Ledger tests against real databases, on both engines.

use crate::testing::{TestDb, fixed_time};
use crate::{AccountCode, Cents, LedgerError, NewTransaction, post, query, reverse_in, seal, verify};
use sqlx::AssertSqlSafe;

fn redemption(key: &str, order: i64, site: i64, face: i64, fee: i64) -> NewTransaction {
    let t = NewTransaction::new(key, "redemption", "rachat", fixed_time())
        .debit(AccountCode::order_outstanding(order), Cents(face))
        .credit(AccountCode::site_payable(site), Cents(face - fee));
    if fee > 0 { t.credit(AccountCode::fees(), Cents(fee)) } else { t }
}

fn issuance(key: &str, order: i64, funder: i64, face: i64) -> NewTransaction {
    NewTransaction::new(key, "order_issued", "émission", fixed_time())
        .debit(AccountCode::funder(funder), Cents(face))
        .credit(AccountCode::order_outstanding(order), Cents(face))
}

async fn natural(t: &TestDb, a: AccountCode) -> i64 {
    query::balance(&t.db, &a).await.unwrap().natural.0
}

async fn posting_balances_and_idempotency(t: TestDb) {
    post(&t.db, &issuance("issue-1", 1, 1, 10_000)).await.unwrap();
    let first = post(&t.db, &redemption("r-1", 1, 5, 1000, 50)).await.unwrap();
    assert!(!first.replayed);
    assert_eq!(first.balances.len(), 1, "sharded accounts have no single running balance");
    assert_eq!(first.natural_balance(&AccountCode::site_payable(5)), Some(Cents(950)));
    // Same key, same content: the original comes back, nothing is posted twice.
    let again = post(&t.db, &redemption("r-1", 1, 5, 1000, 50)).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.transaction_id, first.transaction_id);
    assert_eq!(again.balances.len(), 1, "sharded accounts have no single running balance");
    assert_eq!(natural(&t, AccountCode::site_payable(5)).await, 950);
    // Same key, different content: refused.
    let err = post(&t.db, &redemption("r-1", 1, 5, 2000, 50)).await.unwrap_err();
    assert!(matches!(err, LedgerError::IdempotencyConflict(_)), "{err:?}");
    assert_eq!(natural(&t, AccountCode::order_outstanding(1)).await, 9000);
    assert_eq!(natural(&t, AccountCode::fees()).await, 50);
    let tb = query::trial_balance(&t.db, None).await.unwrap();
    assert_eq!(tb.total, Cents(0));
    assert_eq!(tb.accounts.len(), 4);
}

async fn refusals_leave_nothing_behind(t: TestDb) {
    post(&t.db, &issuance("issue-1", 1, 1, 1000)).await.unwrap();
    // Redeeming more than the order holds would overdraw it: refused, rolled back.
    let err = post(&t.db, &redemption("r-big", 1, 5, 5000, 0)).await.unwrap_err();
    assert!(matches!(err, LedgerError::Overdraft(ref a) if *a == AccountCode::order_outstanding(1)), "{err:?}");
    let unbalanced = NewTransaction::new("bad", "test", "", fixed_time())
        .debit(AccountCode::bank(), Cents(10))
        .credit(AccountCode::funder(1), Cents(9));
    assert!(matches!(post(&t.db, &unbalanced).await, Err(LedgerError::Unbalanced(1))));
    assert_eq!(natural(&t, AccountCode::site_payable(5)).await, 0);
    assert_eq!(natural(&t, AccountCode::order_outstanding(1)).await, 1000);
    let report = verify::verify(&t.db).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.transactions, 1);
}

async fn reversal_and_statement(t: TestDb) {
    post(&t.db, &issuance("issue-1", 1, 1, 5000)).await.unwrap();
    let r = post(&t.db, &redemption("r-1", 1, 5, 1000, 0)).await.unwrap();
    let mut tx = t.db.begin().await.unwrap();
    let rev = reverse_in(&mut tx, r.transaction_id, "rev-1", "erreur de service", fixed_time()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(natural(&t, AccountCode::site_payable(5)).await, 0);
    // A retried reversal replays; a second reversal under another key is refused.
    let mut tx = t.db.begin().await.unwrap();
    let again = reverse_in(&mut tx, r.transaction_id, "rev-1", "erreur de service", fixed_time()).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.transaction_id, rev.transaction_id);
    let err = reverse_in(&mut tx, r.transaction_id, "rev-2", "encore", fixed_time()).await.unwrap_err();
    assert!(matches!(err, LedgerError::AlreadyReversed(_)), "{err:?}");
    drop(tx);
    let st = query::statement(&t.db, &AccountCode::site_payable(5), None, None).await.unwrap();
    assert_eq!(st.lines.len(), 2);
    assert_eq!(st.lines[0].running_balance, Cents(1000));
    assert_eq!(st.lines[1].running_balance, Cents(0));
    assert_eq!(st.closing, Cents(0));
}

async fn balances_at_a_past_date(t: TestDb) {
    let day = chrono::Duration::days(1);
    let d0 = fixed_time() - day * 10;
    post(
        &t.db,
        &NewTransaction::new("p1", "funder_payment", "", d0)
            .debit(AccountCode::bank(), Cents(700))
            .credit(AccountCode::funder(1), Cents(700)),
    )
    .await
    .unwrap();
    post(
        &t.db,
        &NewTransaction::new("p2", "funder_payment", "", d0 + day * 5)
            .debit(AccountCode::bank(), Cents(300))
            .credit(AccountCode::funder(1), Cents(300)),
    )
    .await
    .unwrap();
    let db = &t.db;
    let at = |d| async move { query::balance_at(db, &AccountCode::bank(), d).await.unwrap().natural.0 };
    assert_eq!(at(d0 - day).await, 0);
    assert_eq!(at(d0 + day).await, 700);
    assert_eq!(at(d0 + day * 6).await, 1000);
    let tb = query::trial_balance(&t.db, Some(d0 + day)).await.unwrap();
    assert_eq!(tb.total, Cents(0));
    assert_eq!(tb.accounts.iter().find(|a| a.account == AccountCode::funder(1)).unwrap().natural, Cents(-700));
    let st = query::statement(&t.db, &AccountCode::bank(), Some(d0 + day), None).await.unwrap();
    assert_eq!(st.opening, Cents(700));
    assert_eq!(st.lines.len(), 1);
    assert_eq!(st.closing, Cents(1000));
}

async fn verify_names_a_tampered_posting(t: TestDb) {
    post(&t.db, &issuance("issue-1", 1, 1, 10_000)).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(post(&t.db, &redemption(&format!("r-{i}"), 1, 2, 1000, 10)).await.unwrap().transaction_id);
    }
    assert_eq!(seal::seal_all(&t.db, 3).await.unwrap(), 6);
    post(&t.db, &redemption("r-late", 1, 2, 1000, 10)).await.unwrap();
    let clean = verify::verify(&t.db).await.unwrap();
    assert!(clean.is_ok(), "{clean:?}");
    assert_eq!((clean.seals, clean.unsealed), (2, 1));

    // Someone with database access rewrites one posting, working around the append-only guard.
    let target = ids[2];
    let disable = match t.db.engine() {
        crate::Engine::Sqlite => "DROP TRIGGER ledger_postings_no_update",
        crate::Engine::Postgres => "ALTER TABLE ledger_postings DISABLE TRIGGER ledger_postings_append_only",
    };
    sqlx::query(disable).execute(t.db.pool()).await.unwrap();
    let sql = format!(
        "UPDATE ledger_postings SET amount = amount + 100 WHERE id = (SELECT MIN(id) FROM ledger_postings WHERE transaction_id = {target})"
    );
    sqlx::query(AssertSqlSafe(sql)).execute(t.db.pool()).await.unwrap();
    let report = verify::verify(&t.db).await.unwrap();
    assert!(!report.is_ok());
    assert_eq!(report.first_bad_transaction(), Some(target), "{report:?}");
    assert!(report.problems.iter().any(|p| p.code == "seal_mismatch" && p.transaction_id == Some(target)));
}

async fn append_only_is_enforced_by_the_database(t: TestDb) {
    post(&t.db, &issuance("issue-1", 1, 1, 1000)).await.unwrap();
    assert!(sqlx::query("UPDATE ledger_postings SET amount = 1").execute(t.db.pool()).await.is_err());
    assert!(sqlx::query("DELETE FROM ledger_postings").execute(t.db.pool()).await.is_err());
    assert!(sqlx::query("UPDATE ledger_transactions SET memo = 'x'").execute(t.db.pool()).await.is_err());
    assert!(sqlx::query("DELETE FROM ledger_transactions").execute(t.db.pool()).await.is_err());
    seal::seal_all(&t.db, 100).await.unwrap();
    assert!(sqlx::query("UPDATE ledger_transactions SET seal_id = NULL").execute(t.db.pool()).await.is_err());
}

async fn concurrent_writers_on_hot_accounts(t: TestDb) {
    post(&t.db, &issuance("issue-1", 1, 1, 10_000_000)).await.unwrap();
    let mut tasks = Vec::new();
    for task in 0..16 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let key = format!("r-{task}-{i}");
                post(&db, &redemption(&key, 1, 1 + task % 3, 1000, 25)).await.unwrap();
                // Every fourth request is a retry of the same key.
                if i % 4 == 0 {
                    assert!(post(&db, &redemption(&key, 1, 1 + task % 3, 1000, 25)).await.unwrap().replayed);
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(natural(&t, AccountCode::fees()).await, 16 * 25 * 25);
    assert_eq!(natural(&t, AccountCode::order_outstanding(1)).await, 10_000_000 - 16 * 25 * 1000);
    seal::seal_all(&t.db, 97).await.unwrap();
    let report = verify::verify(&t.db).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.transactions, 1 + 16 * 25);
}

/// Rows of every posting, in posting order: (key, account, amount, balance after).
async fn postings(t: &TestDb) -> Vec<(String, String, i64, i64)> {
    sqlx::query_as(
        "SELECT tr.idempotency_key, a.code, p.amount, p.balance_after FROM ledger_postings p \
         JOIN ledger_transactions tr ON tr.id = p.transaction_id JOIN ledger_accounts a ON a.id = p.account_id \
         WHERE a.code NOT IN ('fees', 'bank') AND a.code NOT LIKE 'order:%' ORDER BY p.id",
    )
    .fetch_all(t.db.pool())
    .await
    .unwrap()
}

async fn batch_posting_matches_one_by_one(t: TestDb) {
    let other = match t.db.engine() {
        crate::Engine::Sqlite => crate::testing::sqlite().await,
        crate::Engine::Postgres => crate::testing::postgres().await,
    };
    let batch: Vec<NewTransaction> = (0..12)
        .map(|i| redemption(&format!("r-{i}"), 1 + i % 2, 5 + i % 3, 1000 + i * 10, if i % 4 == 0 { 0 } else { 25 }))
        .collect();
    for db in [&t, &other] {
        post(&db.db, &issuance("issue-1", 1, 1, 100_000)).await.unwrap();
        post(&db.db, &issuance("issue-2", 2, 1, 100_000)).await.unwrap();
        // Every account exists before a batch (the first posting on an account creates it).
        post(&db.db, &redemption("first", 1, 5, 500, 10)).await.unwrap();
        post(&db.db, &redemption("first-6", 1, 6, 500, 10)).await.unwrap();
        post(&db.db, &redemption("first-7", 2, 7, 500, 10)).await.unwrap();
    }
    let mut tx = t.db.begin().await.unwrap();
    let together = crate::post_batch_in(&mut tx, &batch).await.unwrap();
    tx.commit().await.unwrap();
    let mut one_by_one = Vec::new();
    for b in &batch {
        one_by_one.push(post(&other.db, b).await.unwrap());
    }
    assert_eq!(together.len(), batch.len());
    for (a, b) in together.iter().zip(&one_by_one) {
        assert_eq!(a.balances, b.balances, "running balances of each transaction");
        assert!(!a.replayed);
    }
    assert_eq!(postings(&t).await, postings(&other).await, "same postings, same balances after");
    for db in [&t, &other] {
        assert_eq!(natural(db, AccountCode::fees()).await, natural(&other, AccountCode::fees()).await);
        assert_eq!(
            natural(db, AccountCode::order_outstanding(1)).await,
            natural(&other, AccountCode::order_outstanding(1)).await
        );
        let report = verify::verify(&db.db).await.unwrap();
        assert!(report.is_ok(), "{report:?}");
    }
    // An account's first posting creates it, in a batch as one by one.
    let mut tx = t.db.begin().await.unwrap();
    let fresh = crate::post_batch_in(&mut tx, &[redemption("new-0", 2, 42, 300, 20)]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(fresh[0].natural_balance(&AccountCode::site_payable(42)), Some(Cents(280)));
    // The batch is all or nothing: a key already used, a key twice, an overdraft — each refuses
    // the whole batch, and the caller rolls back.
    let used = vec![redemption("new-1", 1, 5, 100, 0), redemption("r-3", 1, 5, 100, 0)];
    let twice = vec![redemption("new-2", 1, 5, 100, 0), redemption("new-2", 1, 5, 100, 0)];
    let overdraft = vec![redemption("new-3", 1, 5, 100, 0), redemption("new-4", 2, 5, 10_000_000, 0)];
    type Expected = fn(&LedgerError) -> bool;
    let checks: [(&[NewTransaction], Expected); 3] = [
        (&used, |e| matches!(e, LedgerError::IdempotencyConflict(k) if k == "r-3")),
        (&twice, |e| matches!(e, LedgerError::IdempotencyConflict(k) if k == "new-2")),
        (&overdraft, |e| matches!(e, LedgerError::Overdraft(a) if *a == AccountCode::order_outstanding(2))),
    ];
    let before = postings(&t).await;
    for (batch, expected) in checks {
        let mut tx = t.db.begin().await.unwrap();
        let err = crate::post_batch_in(&mut tx, batch).await.unwrap_err();
        assert!(expected(&err), "{err:?}");
        drop(tx);
    }
    assert_eq!(postings(&t).await, before, "nothing left behind");
    assert!(verify::verify(&t.db).await.unwrap().is_ok());
}

crate::both_engines!(
    batch_posting_matches_one_by_one,
    posting_balances_and_idempotency,
    refusals_leave_nothing_behind,
    reversal_and_statement,
    balances_at_a_past_date,
    verify_names_a_tampered_posting,
    append_only_is_enforced_by_the_database,
    concurrent_writers_on_hot_accounts,
);
