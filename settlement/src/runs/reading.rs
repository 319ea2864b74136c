//! Reading runs: one run with its payouts, the list of runs, a site's payouts.

use super::status::{payout_status, run_status};
use super::{Mode, Payout, Run, SettlementError, parse_day};
use chrono::NaiveDate;
use ledger::{Db, time};
use redeemer::bank::Iban;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// A run with its payouts.
pub async fn get(db: &Db, id: i64) -> Result<Option<Run>, SettlementError> {
    let mut conn = db.pool().acquire().await?;
    get_in(&mut conn, id).await
}

pub(super) async fn get_in(conn: &mut AnyConnection, id: i64) -> Result<Option<Run>, SettlementError> {
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
            status: payout_status(&p.try_get::<String, _>(6)?)?,
            return_reason: p.try_get(7)?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Some(Run {
        id: r.try_get(0)?,
        period_start: r.try_get::<Option<String>, _>(1)?.map(|d| parse_day(&d)).transpose()?,
        period_end: parse_day(&r.try_get::<String, _>(2)?)?,
        status: run_status(&r.try_get::<String, _>(3)?)?,
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
