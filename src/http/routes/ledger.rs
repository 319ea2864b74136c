use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path, Query};
use crate::identity::OrgKind;
use axum::extract::State;
use chrono::{DateTime, Utc};
use ledger::AccountCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub struct AsOf {
    /// Balances counting only transactions up to this instant (RFC 3339).
    as_of: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct BalanceLine {
    account: String,
    nature: String,
    /// Debits minus credits, in cents.
    debit_minus_credit: i64,
    /// What the account holds according to its nature, in cents.
    natural: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TrialBalance {
    as_of: Option<DateTime<Utc>>,
    accounts: Vec<BalanceLine>,
    /// Always zero in a sound ledger.
    total: i64,
}

/// Every account's balance and their total (operator).
#[utoipa::path(get, path = "/api/v1/ledger/trial-balance", tag = "grand livre", params(AsOf), responses((status = 200, body = TrialBalance)))]
pub async fn trial_balance(State(state): State<AppState>, Query(q): Query<AsOf>) -> ApiResult<Json<TrialBalance>> {
    let tb = ledger::query::trial_balance(&state.db, q.as_of).await?;
    Ok(Json(TrialBalance {
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
    }))
}

#[derive(Serialize, ToSchema)]
pub struct VerifyResult {
    ok: bool,
    transactions: u64,
    postings: u64,
    accounts: u64,
    seals: u64,
    unsealed: u64,
    problem_count: u64,
    first_bad_transaction: Option<i64>,
    /// The first problems found (at most 100).
    problems: Vec<LedgerProblemView>,
}

/// One problem found by the ledger check.
#[derive(Serialize, ToSchema)]
pub struct LedgerProblemView {
    /// Stable machine code: `unbalanced`, `content_mismatch`, `seal_mismatch`, …
    code: String,
    transaction_id: Option<i64>,
    account: Option<String>,
    message: String,
}

impl From<ledger::verify::Problem> for LedgerProblemView {
    fn from(p: ledger::verify::Problem) -> Self {
        let ledger::verify::Problem { code, transaction_id, account, message } = p;
        LedgerProblemView { code: code.to_owned(), transaction_id, account, message }
    }
}

/// Recomputes seals, balances and invariants (operator managers).
#[utoipa::path(get, path = "/api/v1/ledger/verify", tag = "grand livre", responses((status = 200, body = VerifyResult)))]
pub async fn verify(State(state): State<AppState>) -> ApiResult<Json<VerifyResult>> {
    let mut r = ledger::verify::verify(&state.db).await?;
    issuer::invariants::check(&state.db, &mut r).await?;
    Ok(Json(VerifyResult {
        ok: r.is_ok(),
        first_bad_transaction: r.first_bad_transaction(),
        transactions: r.transactions,
        postings: r.postings,
        accounts: r.accounts,
        seals: r.seals,
        unsealed: r.unsealed,
        problem_count: r.problem_count,
        problems: r.problems.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct Period {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct StatementLine {
    transaction_id: i64,
    at: DateTime<Utc>,
    kind: String,
    memo: String,
    amount: i64,
    running_balance: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Statement {
    account: String,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    opening: i64,
    closing: i64,
    lines: Vec<StatementLine>,
}

/// An account statement with running balance. The operator reads any account; a funder its
/// `funder:{id}` account; a site its `site:{id}:payable` account.
#[utoipa::path(get, path = "/api/v1/ledger/accounts/{code}/statement", tag = "grand livre", params(Period),
    responses((status = 200, body = Statement), (status = 404, body = crate::http::problem::Problem)))]
pub async fn statement(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(period): Query<Period>,
) -> ApiResult<Json<Statement>> {
    let account: AccountCode = code.parse()?;
    let own = match (caller.kind, account.owner()) {
        (OrgKind::Operator, _) => true,
        (OrgKind::Funder, Some(("funder", id))) | (OrgKind::Site, Some(("site", id))) => id == caller.organisation_id,
        _ => false,
    };
    if !own {
        return Err(ApiError::not_found());
    }
    let s = ledger::query::statement(&state.db, &account, period.from, period.to).await?;
    Ok(Json(Statement {
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
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The view answers exactly the JSON the domain type would.
    #[test]
    fn problem_view_serializes_like_the_domain() {
        for p in [
            ledger::verify::Problem {
                code: "unbalanced",
                transaction_id: Some(12),
                account: Some("funder:3".into()),
                message: "déséquilibre".into(),
            },
            ledger::verify::Problem {
                code: "seal_mismatch",
                transaction_id: None,
                account: None,
                message: "sceau".into(),
            },
        ] {
            assert_eq!(
                serde_json::to_value(LedgerProblemView::from(p.clone())).unwrap(),
                serde_json::to_value(&p).unwrap()
            );
        }
    }
}
