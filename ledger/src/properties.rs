//! Property tests: random sequences of transactions, posted from many tasks at once on the same
//! hot accounts, always leave exact balances, a zero trial balance and a valid chain.

use crate::testing::{TestDb, fixed_time};
use crate::{AccountCode, Cents, LedgerError, NewTransaction, post, query, seal, verify};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::collections::HashMap;

#[derive(Debug, Clone)]
enum Op {
    Pay {
        funder: i64,
        amount: i64,
    },
    Issue {
        order: i64,
        funder: i64,
        amount: i64,
    },
    Redeem {
        order: i64,
        site: i64,
        amount: i64,
        fee: i64,
    },
    Settle {
        site: i64,
        amount: i64,
    },
    /// Re-post an earlier transaction of the same lane with its key (a client retry).
    Retry,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1i64..4, 1i64..100_000).prop_map(|(funder, amount)| Op::Pay { funder, amount }),
        (1i64..4, 1i64..4, 1i64..100_000).prop_map(|(order, funder, amount)| Op::Issue { order, funder, amount }),
        (1i64..4, 1i64..5, 1i64..5_000, 0i64..100)
            .prop_map(|(order, site, amount, fee)| { Op::Redeem { order, site, amount: amount + fee, fee } }),
        (1i64..5, 1i64..5_000).prop_map(|(site, amount)| Op::Settle { site, amount }),
        Just(Op::Retry),
    ]
}

fn to_transaction(op: &Op, key: String) -> Option<NewTransaction> {
    let t = NewTransaction::new(key, "test", "", fixed_time());
    Some(match *op {
        Op::Pay { funder, amount } => {
            t.debit(AccountCode::bank(), Cents(amount)).credit(AccountCode::funder(funder), Cents(amount))
        }
        Op::Issue { order, funder, amount } => t
            .debit(AccountCode::funder(funder), Cents(amount))
            .credit(AccountCode::order_outstanding(order), Cents(amount)),
        Op::Redeem { order, site, amount, fee } => {
            let t = t
                .debit(AccountCode::order_outstanding(order), Cents(amount))
                .credit(AccountCode::site_payable(site), Cents(amount - fee));
            if fee > 0 { t.credit(AccountCode::fees(), Cents(fee)) } else { t }
        }
        Op::Settle { site, amount } => t
            .debit(AccountCode::site_payable(site), Cents(amount))
            .credit(AccountCode::payouts_in_transit(), Cents(amount)),
        Op::Retry => return None,
    })
}

async fn run_case(t: &TestDb, case: usize, lanes: Vec<Vec<Op>>) -> Result<(), TestCaseError> {
    let mut handles = Vec::new();
    for (lane, ops) in lanes.into_iter().enumerate() {
        let db = t.db.clone();
        handles.push(tokio::spawn(async move {
            let mut done: Vec<(NewTransaction, Result<crate::Posted, LedgerError>)> = Vec::new();
            let mut posted: Vec<NewTransaction> = Vec::new();
            for (i, op) in ops.iter().enumerate() {
                let tx = match to_transaction(op, format!("c{case}-l{lane}-{i}")) {
                    Some(tx) => tx,
                    None => match posted.last() {
                        Some(previous) => previous.clone(),
                        None => continue,
                    },
                };
                let result = post(&db, &tx).await;
                posted.push(tx.clone());
                done.push((tx, result));
            }
            done
        }));
    }
    let mut expected: HashMap<AccountCode, i64> = HashMap::new();
    for h in handles {
        for (tx, result) in h.await.expect("lane") {
            match result {
                Ok(p) if !p.replayed => {
                    for posting in &tx.postings {
                        *expected.entry(posting.account.clone()).or_default() += posting.amount.0;
                    }
                }
                Ok(_) => {}
                Err(LedgerError::Overdraft(a)) => prop_assert!(a.no_overdraft()),
                Err(e) => return Err(TestCaseError::fail(format!("unexpected error {e}"))),
            }
        }
    }
    let tb = query::trial_balance(&t.db, None).await.expect("trial balance");
    prop_assert_eq!(tb.total, Cents(0));
    for a in &tb.accounts {
        // Balances accumulate across cases on the same database; compare the totals below.
        if a.account.no_overdraft() {
            prop_assert!(a.natural.0 >= 0, "{} went below zero", a.account);
        }
    }
    MODEL.with(|m| {
        let mut model = m.borrow_mut();
        for (a, v) in expected {
            *model.entry(a).or_default() += v;
        }
    });
    Ok(())
}

thread_local! {
    static MODEL: std::cell::RefCell<HashMap<AccountCode, i64>> = std::cell::RefCell::new(HashMap::new());
}

async fn random_concurrent_sequences(t: TestDb) {
    let handle = tokio::runtime::Handle::current();
    let strategy = proptest::collection::vec(proptest::collection::vec(op(), 1..12), 2..8);
    let case = std::sync::atomic::AtomicUsize::new(0);
    tokio::task::block_in_place(|| {
        MODEL.with(|m| m.borrow_mut().clear());
        let mut runner = TestRunner::new(Config { cases: 24, failure_persistence: None, ..Config::default() });
        runner
            .run(&strategy, |lanes| {
                let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                handle.block_on(run_case(&t, n, lanes))?;
                let model = MODEL.with(|m| m.borrow().clone());
                for (account, value) in model {
                    let stored = handle.block_on(query::balance(&t.db, &account)).expect("balance");
                    prop_assert_eq!(stored.debit_minus_credit.0, value, "balance of {}", account);
                }
                let sealed = handle.block_on(seal::seal_all(&t.db, 7));
                prop_assert!(sealed.is_ok());
                let report = handle.block_on(verify::verify(&t.db)).expect("verify");
                prop_assert!(report.is_ok(), "{:?}", report.problems);
                prop_assert_eq!(report.unsealed, 0);
                Ok(())
            })
            .expect("property holds");
    });
}

crate::both_engines!(random_concurrent_sequences);
