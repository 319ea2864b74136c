//! Preparing a run: the draft of a period's payouts, one per site owed at least the minimum
//! (one per site and funder in direct mode), and the runs the server prepares on a schedule.

use super::{Mode, Run, SettlementError, cutoff, get_in, parse_day};
use chrono::{DateTime, NaiveDate, Utc};
use ledger::{Cents, Db, time};
use redeemer::local_time;
use sqlx::{AnyConnection, Row};

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
