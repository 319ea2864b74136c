//! Settlement runs (DESIGN §4, §8), custody mode: at the end of a period, each site whose
//! payable balance at the cut-off reaches the minimum gets one payout. A run is prepared as a
//! draft (nothing moves; it can be inspected), then released: each payout posts
//! `Dr site:S:payable / Cr payouts:in_transit` and the SEPA file can be downloaded. The bank's
//! confirmation posts `Dr payouts:in_transit / Cr bank`; a returned transfer puts the amount
//! back on the site's payable balance and flags its bank details for review.
//!
//! Periods are French local days: a run for the period ending on day D counts everything
//! recorded with a business time before D + 1 at midnight in Paris.

use crate::sepa::{CreditTransfer, Party, SepaError, Transfer};
use chrono::{DateTime, NaiveDate, Utc};
use ledger::{AccountCode, Cents, Db, LedgerError, NewTransaction, time};
use redeemer::bank::{Bic, Iban};
use redeemer::local_time;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    #[error("règlement inconnu")]
    NotFound,
    #[error("la période n'est pas terminée : elle se clôt le {0} à minuit")]
    PeriodNotOver(NaiveDate),
    #[error("le règlement de la période close le {0} n'est ni validé ni annulé")]
    PreviousOpen(NaiveDate),
    #[error("un règlement existe déjà pour une période plus récente (close le {0})")]
    LaterPeriodExists(NaiveDate),
    #[error("{0}")]
    State(String),
    #[error("le montant minimum d'un versement doit être positif")]
    BadMinimum,
    #[error(transparent)]
    Sepa(#[from] SepaError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl SettlementError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            SettlementError::NotFound => "not_found",
            SettlementError::PeriodNotOver(_) => "period_not_over",
            SettlementError::PreviousOpen(_) => "previous_run_open",
            SettlementError::LaterPeriodExists(_) => "later_period_exists",
            SettlementError::State(_) => "invalid_state",
            SettlementError::BadMinimum => "invalid_minimum",
            SettlementError::Sepa(_) => "invalid_sepa",
            SettlementError::Ledger(_) => "ledger_error",
            SettlementError::Db(_) => "database_error",
        }
    }
}

/// Who pays the sites (DESIGN §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Funders pay the operator, the operator pays the sites.
    Custody,
    /// The operator never holds the money: each funder pays the sites its share of the vouchers
    /// it funded, from its own account, with its own SEPA file.
    Direct,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Custody => "custody",
            Mode::Direct => "direct",
        }
    }
    pub fn parse(s: &str) -> Option<Mode> {
        [Mode::Custody, Mode::Direct].into_iter().find(|m| m.as_str() == s)
    }
}

/// One payout of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payout {
    pub id: i64,
    pub site_id: i64,
    /// Direct mode: the funder who pays this part.
    pub funder_id: Option<i64>,
    pub site_name: String,
    pub amount_cents: i64,
    pub iban_masked: String,
    pub end_to_end_id: String,
    /// `draft`, `sent`, `confirmed` or `returned`.
    pub status: String,
    pub return_reason: Option<String>,
}

/// A settlement run and its payouts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub id: i64,
    pub period_start: Option<NaiveDate>,
    pub period_end: NaiveDate,
    /// `draft`, `released` or `cancelled`.
    pub status: String,
    pub mode: Mode,
    pub minimum_cents: i64,
    pub created_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
    pub total_cents: i64,
    pub payouts: Vec<Payout>,
}

impl Run {
    /// The SEPA message identifier of the run.
    pub fn message_id(&self) -> String {
        format!("PSL-R{}-{}", self.id, self.period_end.format("%Y%m%d"))
    }

    /// The text each transfer carries: the period and the site's statement.
    pub fn remittance(&self, payout: &Payout) -> String {
        let from = self.period_start.map(|d| format!("du {} ", d.format("%d/%m/%Y"))).unwrap_or_default();
        format!(
            "Passerelle reglement {from}au {} releve R{}-S{}",
            self.period_end.format("%d/%m/%Y"),
            self.id,
            payout.site_id
        )
    }
}

/// The instant a period ending on `day` closes.
pub fn cutoff(day: NaiveDate) -> DateTime<Utc> {
    local_time::day_bounds(day).1
}

/// Prepares the run of the period ending on `period_end` (a draft: nothing moves). Asking again
/// for the same period returns the existing run.
pub async fn prepare_in(
    conn: &mut AnyConnection,
    period_end: NaiveDate,
    minimum: Cents,
    mode: Mode,
    by: Option<i64>,
) -> Result<Run, SettlementError> {
    if minimum.0 <= 0 {
        return Err(SettlementError::BadMinimum);
    }
    if time::now() < cutoff(period_end) {
        return Err(SettlementError::PeriodNotOver(period_end));
    }
    if let Some(id) = run_for_period(&mut *conn, period_end).await? {
        return get_in(conn, id).await?.ok_or(SettlementError::NotFound);
    }
    let last = sqlx::query(
        "SELECT period_end, status FROM settlement_runs WHERE status <> 'cancelled' ORDER BY period_end DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let mut period_start = None;
    if let Some(last) = last {
        let end: NaiveDate = parse_day(&last.try_get::<String, _>(0)?)?;
        if last.try_get::<String, _>(1)? == "draft" {
            return Err(SettlementError::PreviousOpen(end));
        }
        if end >= period_end {
            return Err(SettlementError::LaterPeriodExists(end));
        }
        period_start = end.succ_opt();
    }
    let now = time::now();
    let run: i64 = sqlx::query_scalar(
        "INSERT INTO settlement_runs (period_end, period_start, status, mode, minimum_cents, created_at, created_by) \
         VALUES ($1, $2, 'draft', $6, $3, $4, $5) RETURNING id",
    )
    .bind(period_end.to_string())
    .bind(period_start.map(|d| d.to_string()))
    .bind(minimum.0)
    .bind(time::to_micros(now))
    .bind(by)
    .bind(mode.as_str())
    .fetch_one(&mut *conn)
    .await?;
    // Every site's payable balance at the cut-off (postings before it, in business time).
    let rows = sqlx::query(
        "SELECT s.organisation_id, s.iban, s.bic, s.account_holder, \
         (SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) FROM ledger_postings p \
          JOIN ledger_accounts a ON a.id = p.account_id JOIN ledger_transactions t ON t.id = p.transaction_id \
          WHERE a.code = 'site:' || CAST(s.organisation_id AS TEXT) || ':payable' AND t.at < $1) \
         FROM sites s WHERE s.bank_review = 0 AND s.iban IS NOT NULL ORDER BY s.organisation_id",
    )
    .bind(time::to_micros(cutoff(period_end)))
    .fetch_all(&mut *conn)
    .await?;
    for r in rows {
        let site: i64 = r.try_get(0)?;
        // Stored debit-positive: a liability owed to the site is negative.
        let owed = -r.try_get::<i64, _>(4)?;
        if owed < minimum.0 {
            continue;
        }
        let parts: Vec<(Option<i64>, i64)> = match mode {
            Mode::Custody => vec![(None, owed)],
            Mode::Direct => {
                let by_funder = owed_by_funders(&mut *conn, site, cutoff(period_end)).await?;
                if by_funder.values().sum::<i64>() != owed {
                    return Err(SettlementError::State(format!(
                        "le lieu n°{site} a déjà été réglé autrement qu'en mode direct : réglez ce règlement en mode custody"
                    )));
                }
                by_funder.into_iter().filter(|(_, a)| *a > 0).map(|(f, a)| (Some(f), a)).collect()
            }
        };
        for (funder, amount) in parts {
            sqlx::query(
                "INSERT INTO payouts (run_id, site_id, funder_id, amount_cents, iban, bic, account_holder, end_to_end_id, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft')",
            )
            .bind(run)
            .bind(site)
            .bind(funder)
            .bind(amount)
            .bind(r.try_get::<String, _>(1)?)
            .bind(r.try_get::<Option<String>, _>(2)?)
            .bind(r.try_get::<Option<String>, _>(3)?.unwrap_or_default())
            .bind(match funder {
                Some(f) => format!("PSL-R{run}-S{site}-F{f}"),
                None => format!("PSL-R{run}-S{site}"),
            })
            .execute(&mut *conn)
            .await?;
        }
    }
    get_in(conn, run).await?.ok_or(SettlementError::NotFound)
}

/// [`prepare_in`] in a transaction of its own.
pub async fn prepare(
    db: &Db,
    period_end: NaiveDate,
    minimum: Cents,
    mode: Mode,
    by: Option<i64>,
) -> Result<Run, SettlementError> {
    let mut tx = db.begin().await?;
    let run = prepare_in(&mut tx, period_end, minimum, mode, by).await?;
    tx.commit().await?;
    Ok(run)
}

/// Direct mode: what each funder owes a site at the cut-off — the net value of the site's
/// redemptions before it, each redemption's part of an order split by the order's shares
/// (largest remainder, as its money was), less the direct payouts already released and not
/// returned.
async fn owed_by_funders(
    conn: &mut AnyConnection,
    site: i64,
    cutoff: DateTime<Utc>,
) -> Result<std::collections::BTreeMap<i64, i64>, SettlementError> {
    use std::collections::BTreeMap;
    let rows = sqlx::query(
        "SELECT rv.redemption_id, v.order_id, CAST(SUM(v.face_value_cents) AS BIGINT), o.redemption_fee_bps \
         FROM redemption_vouchers rv JOIN vouchers v ON v.id = rv.voucher_id JOIN orders o ON o.id = v.order_id \
         WHERE rv.site_id = $1 AND rv.performed_at < $2 GROUP BY rv.redemption_id, v.order_id, o.redemption_fee_bps",
    )
    .bind(site)
    .bind(time::to_micros(cutoff))
    .fetch_all(&mut *conn)
    .await?;
    let mut net_by_order: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for r in rows {
        let (order, amount, bps): (i64, i64, i64) = (r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
        let fee = ledger::split::apply_bps(Cents(amount), u32::try_from(bps).unwrap_or(0))?.0;
        net_by_order.entry(order).or_default().push(amount - fee);
    }
    let mut owed: BTreeMap<i64, i64> = BTreeMap::new();
    for (order, nets) in net_by_order {
        let shares: Vec<(i64, i64)> =
            sqlx::query_as("SELECT funder_id, share_bps FROM order_funders WHERE order_id = $1 ORDER BY funder_id")
                .bind(order)
                .fetch_all(&mut *conn)
                .await?;
        let weights: Vec<u32> = shares.iter().map(|s| u32::try_from(s.1).unwrap_or(0)).collect();
        for net in nets {
            for ((funder, _), part) in shares.iter().zip(ledger::split::split(Cents(net), &weights)?) {
                *owed.entry(*funder).or_default() += part.0;
            }
        }
    }
    let paid = sqlx::query(
        "SELECT funder_id, CAST(SUM(amount_cents) AS BIGINT) FROM payouts WHERE site_id = $1 AND funder_id IS NOT NULL \
         AND status IN ('sent', 'confirmed') GROUP BY funder_id",
    )
    .bind(site)
    .fetch_all(&mut *conn)
    .await?;
    for p in paid {
        *owed.entry(p.try_get(0)?).or_default() -= p.try_get::<i64, _>(1)?;
    }
    Ok(owed)
}

async fn run_for_period(conn: &mut AnyConnection, period_end: NaiveDate) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM settlement_runs WHERE period_end = $1")
        .bind(period_end.to_string())
        .fetch_optional(&mut *conn)
        .await
}

fn parse_day(s: &str) -> Result<NaiveDate, SettlementError> {
    s.parse().map_err(|_| SettlementError::State(format!("date illisible en base : {s}")))
}

/// A run with its payouts.
pub async fn get(db: &Db, id: i64) -> Result<Option<Run>, SettlementError> {
    let mut conn = db.pool().acquire().await?;
    get_in(&mut conn, id).await
}

async fn get_in(conn: &mut AnyConnection, id: i64) -> Result<Option<Run>, SettlementError> {
    let row = sqlx::query(
        "SELECT id, period_start, period_end, status, minimum_cents, created_at, released_at, mode FROM settlement_runs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let payouts = sqlx::query(
        "SELECT p.id, p.site_id, o.name, p.amount_cents, p.iban, p.end_to_end_id, p.status, p.return_reason, p.funder_id \
         FROM payouts p JOIN organisations o ON o.id = p.site_id WHERE p.run_id = $1 ORDER BY p.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|p| {
        let iban: String = p.try_get(4)?;
        Ok(Payout {
            id: p.try_get(0)?,
            site_id: p.try_get(1)?,
            funder_id: p.try_get(8)?,
            site_name: p.try_get(2)?,
            amount_cents: p.try_get(3)?,
            iban_masked: iban.parse::<Iban>().map(|i| i.masked()).unwrap_or_default(),
            end_to_end_id: p.try_get(5)?,
            status: p.try_get(6)?,
            return_reason: p.try_get(7)?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Some(Run {
        id: r.try_get(0)?,
        period_start: r.try_get::<Option<String>, _>(1)?.map(|d| parse_day(&d)).transpose()?,
        period_end: parse_day(&r.try_get::<String, _>(2)?)?,
        status: r.try_get(3)?,
        mode: Mode::parse(&r.try_get::<String, _>(7)?).unwrap_or(Mode::Custody),
        minimum_cents: r.try_get(4)?,
        created_at: time::from_micros(r.try_get(5)?),
        released_at: r.try_get::<Option<i64>, _>(6)?.map(time::from_micros),
        total_cents: payouts.iter().map(|p| p.amount_cents).sum(),
        payouts,
    }))
}

/// The runs, newest period first.
pub async fn list(db: &Db) -> Result<Vec<Run>, SettlementError> {
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM settlement_runs ORDER BY period_end DESC").fetch_all(db.pool()).await?;
    let mut conn = db.pool().acquire().await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(run) = get_in(&mut conn, id).await? {
            out.push(run);
        }
    }
    Ok(out)
}

/// Releases a draft run: every payout is posted and marked sent, in one transaction.
pub async fn release_in(conn: &mut AnyConnection, id: i64, by: Option<i64>) -> Result<Run, SettlementError> {
    let run = get_in(&mut *conn, id).await?.ok_or(SettlementError::NotFound)?;
    if run.status != "draft" {
        return Err(SettlementError::State(format!("le règlement n°{id} est déjà {}", french_status(&run.status))));
    }
    let at = cutoff(run.period_end);
    for p in &run.payouts {
        let t = NewTransaction::new(
            format!("payout:{}", p.id),
            "settlement",
            format!("Versement {} — règlement n°{id}", p.end_to_end_id),
            at,
        )
        .debit(AccountCode::site_payable(p.site_id), Cents(p.amount_cents))
        // Direct mode: the funder pays the site, which settles what it owes for its vouchers.
        .credit(p.funder_id.map_or_else(AccountCode::payouts_in_transit, AccountCode::funder), Cents(p.amount_cents));
        let posted = ledger::post_in(&mut *conn, &t).await?;
        sqlx::query("UPDATE payouts SET status = 'sent', ledger_transaction = $1 WHERE id = $2 AND status = 'draft'")
            .bind(posted.transaction_id)
            .bind(p.id)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("UPDATE settlement_runs SET status = 'released', released_at = $1, released_by = $2 WHERE id = $3")
        .bind(time::to_micros(time::now()))
        .bind(by)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    get_in(conn, id).await?.ok_or(SettlementError::NotFound)
}

/// [`release_in`] in a transaction of its own.
pub async fn release(db: &Db, id: i64, by: Option<i64>) -> Result<Run, SettlementError> {
    let mut tx = db.begin().await?;
    let run = release_in(&mut tx, id, by).await?;
    tx.commit().await?;
    Ok(run)
}

/// Cancels a draft run (nothing had moved); its period can then be prepared again.
pub async fn cancel_in(conn: &mut AnyConnection, id: i64) -> Result<(), SettlementError> {
    let run = get_in(&mut *conn, id).await?.ok_or(SettlementError::NotFound)?;
    if run.status != "draft" {
        return Err(SettlementError::State(format!("le règlement n°{id} est déjà {}", french_status(&run.status))));
    }
    sqlx::query("DELETE FROM payouts WHERE run_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM settlement_runs WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// [`cancel_in`] in a transaction of its own.
pub async fn cancel(db: &Db, id: i64) -> Result<(), SettlementError> {
    let mut tx = db.begin().await?;
    cancel_in(&mut tx, id).await?;
    Ok(tx.commit().await?)
}

fn french_status(s: &str) -> &'static str {
    match s {
        "released" => "validé",
        "cancelled" => "annulé",
        _ => "en préparation",
    }
}

/// The SEPA credit transfer file of a released run. Custody mode: every payout, paid from the
/// operator's account (`debtor`). Direct mode: `funder`'s payouts, paid from its account.
pub async fn sepa_file(db: &Db, id: i64, debtor: &Party, funder: Option<i64>) -> Result<String, SettlementError> {
    let run = get(db, id).await?.ok_or(SettlementError::NotFound)?;
    if run.status != "released" {
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

struct PayoutState {
    site: i64,
    amount: i64,
    status: String,
    posted: Option<i64>,
    funder: Option<i64>,
}

async fn payout_state(conn: &mut AnyConnection, payout: i64) -> Result<PayoutState, SettlementError> {
    let r =
        sqlx::query("SELECT site_id, amount_cents, status, ledger_transaction, funder_id FROM payouts WHERE id = $1")
            .bind(payout)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(SettlementError::NotFound)?;
    Ok(PayoutState {
        site: r.try_get(0)?,
        amount: r.try_get(1)?,
        status: r.try_get(2)?,
        posted: r.try_get(3)?,
        funder: r.try_get(4)?,
    })
}

/// Records the bank's confirmation that a payout left the account (the operator's in custody
/// mode, posting `Dr payouts:in_transit / Cr bank`; the funder's in direct mode, where nothing
/// moves in our accounts).
pub async fn confirm_in(conn: &mut AnyConnection, payout: i64, on: DateTime<Utc>) -> Result<(), SettlementError> {
    let p = payout_state(&mut *conn, payout).await?;
    if p.status != "sent" {
        return Err(SettlementError::State(format!("le versement n°{payout} n'est pas en attente de confirmation")));
    }
    if p.funder.is_none() {
        let t = NewTransaction::new(
            format!("payout-confirmed:{payout}"),
            "payout_confirmed",
            "Virement confirmé par la banque",
            on,
        )
        .debit(AccountCode::payouts_in_transit(), Cents(p.amount))
        .credit(AccountCode::bank(), Cents(p.amount));
        ledger::post_in(&mut *conn, &t).await?;
    }
    sqlx::query("UPDATE payouts SET status = 'confirmed', confirmed_at = $1 WHERE id = $2")
        .bind(time::to_micros(on))
        .bind(payout)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// [`confirm_in`] in a transaction of its own.
pub async fn confirm(db: &Db, payout: i64, on: DateTime<Utc>) -> Result<(), SettlementError> {
    let mut tx = db.begin().await?;
    confirm_in(&mut tx, payout, on).await?;
    Ok(tx.commit().await?)
}

/// Records a transfer returned by the site's bank: the amount goes back on the site's payable
/// balance (paid at a later run) and the site's bank details are flagged for review, which
/// holds its payouts until they are corrected.
pub async fn record_return_in(
    conn: &mut AnyConnection,
    payout: i64,
    reason: &str,
    on: DateTime<Utc>,
) -> Result<(), SettlementError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(SettlementError::State("le motif du retour est obligatoire (500 caractères au plus)".into()));
    }
    let p = payout_state(&mut *conn, payout).await?;
    let key = format!("payout-returned:{payout}");
    let memo = format!("Virement retourné : {reason}");
    match (p.status.as_str(), p.posted, p.funder) {
        // Not yet confirmed, or paid by a funder (direct mode): the settlement posting is
        // reversed (in direct mode the funder owes the amount again).
        ("sent", Some(original), _) | ("confirmed", Some(original), Some(_)) => {
            ledger::reverse_in(&mut *conn, original, &key, &memo, on).await?;
        }
        // Confirmed from our account, then returned: the money is back in the bank.
        ("confirmed", _, None) => {
            let t = NewTransaction::new(key, "payout_returned", memo, on)
                .debit(AccountCode::bank(), Cents(p.amount))
                .credit(AccountCode::site_payable(p.site), Cents(p.amount));
            ledger::post_in(&mut *conn, &t).await?;
        }
        _ => {
            return Err(SettlementError::State(format!("le versement n°{payout} n'a pas été envoyé")));
        }
    }
    sqlx::query("UPDATE payouts SET status = 'returned', returned_at = $1, return_reason = $2 WHERE id = $3")
        .bind(time::to_micros(on))
        .bind(reason)
        .bind(payout)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE sites SET bank_review = 1 WHERE organisation_id = $1").bind(p.site).execute(&mut *conn).await?;
    Ok(())
}

/// [`record_return_in`] in a transaction of its own.
pub async fn record_return(db: &Db, payout: i64, reason: &str, on: DateTime<Utc>) -> Result<(), SettlementError> {
    let mut tx = db.begin().await?;
    record_return_in(&mut tx, payout, reason, on).await?;
    Ok(tx.commit().await?)
}

/// A site's payouts, newest first, with the period they settle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SitePayout {
    pub run_id: i64,
    pub period_end: NaiveDate,
    pub payout: Payout,
}

pub async fn site_payouts(db: &Db, site: i64) -> Result<Vec<SitePayout>, SettlementError> {
    // One line per run: in direct mode a site has one payout per funder in the same run.
    let runs: Vec<i64> =
        sqlx::query_scalar("SELECT DISTINCT run_id FROM payouts WHERE site_id = $1 ORDER BY run_id DESC")
            .bind(site)
            .fetch_all(db.pool())
            .await?;
    let mut out = Vec::with_capacity(runs.len());
    for id in runs {
        if let Some(run) = get(db, id).await? {
            let period_end = run.period_end;
            out.extend(run.payouts.into_iter().filter(|p| p.site_id == site).map(|payout| SitePayout {
                run_id: id,
                period_end,
                payout,
            }));
        }
    }
    Ok(out)
}

/// The length of the periods the server settles on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Calendar months.
    Monthly,
    /// Weeks from Monday to Sunday.
    Weekly,
}

impl Period {
    /// The last day of the latest period that is over on `today`.
    pub fn last_closed_end(self, today: NaiveDate) -> NaiveDate {
        use chrono::Datelike;
        let days_back = match self {
            Period::Monthly => today.day0(),
            Period::Weekly => today.weekday().num_days_from_monday(),
        };
        today - chrono::Duration::days(i64::from(days_back) + 1)
    }
}

/// Prepares the run of the latest closed period if it does not exist yet (the server calls this
/// on a schedule). Returns the new draft, or `None` when there is nothing to do now.
pub async fn prepare_due(db: &Db, period: Period, minimum: Cents, mode: Mode) -> Result<Option<Run>, SettlementError> {
    let end = period.last_closed_end(local_time::day(time::now()));
    if sqlx::query_scalar::<_, i64>("SELECT id FROM settlement_runs WHERE period_end >= $1 AND status <> 'cancelled'")
        .bind(end.to_string())
        .fetch_optional(db.pool())
        .await?
        .is_some()
    {
        return Ok(None);
    }
    match prepare(db, end, minimum, mode, None).await {
        Ok(run) => Ok(Some(run)),
        // The previous run waits for the operator: nothing new until it is released.
        Err(SettlementError::PreviousOpen(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_periods() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(Period::Monthly.last_closed_end(d("2026-11-26")), d("2026-10-31"));
        assert_eq!(Period::Monthly.last_closed_end(d("2026-03-01")), d("2026-02-28"));
        assert_eq!(Period::Monthly.last_closed_end(d("2027-01-01")), d("2026-12-31"));
        // Thursday 26 November 2026: the last full week ended on Sunday the 22nd.
        assert_eq!(Period::Weekly.last_closed_end(d("2026-11-26")), d("2026-11-22"));
        assert_eq!(Period::Weekly.last_closed_end(d("2026-11-23")), d("2026-11-22"));
        assert_eq!(Period::Weekly.last_closed_end(d("2026-11-22")), d("2026-11-15"));
    }
}
