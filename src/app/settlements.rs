//! Settlements (DESIGN §8): the operator prepares the run of a closed period as a draft,
//! releases or cancels it, downloads its SEPA transfer file and its report, and records the
//! bank's confirmation or return of each payout; a site reads its payouts and its statement of a
//! run; in direct mode each funder sets the account it pays the sites from and downloads its own
//! SEPA file.

use crate::app::{Act, App, AppError, AppResult, Caller};
use crate::audit;
use chrono::{DateTime, NaiveDate, Utc};
use ledger::Cents;
use serde::Serialize;
use settlement::runs::{self, Mode, Payout, PayoutStatus, Run, RunStatus};
use settlement::sepa::Party;
use utoipa::ToSchema;

/// One payout of a run.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayoutView {
    pub id: i64,
    pub site_id: i64,
    /// Direct mode: the funder who pays this part.
    pub funder_id: Option<i64>,
    pub site_name: String,
    pub amount_cents: i64,
    pub iban_masked: String,
    pub end_to_end_id: String,
    /// draft, sent, confirmed or returned
    #[schema(value_type = String)]
    pub status: PayoutStatus,
    /// The bank's reason, for a returned transfer.
    pub return_reason: Option<String>,
}

impl From<Payout> for PayoutView {
    fn from(p: Payout) -> Self {
        PayoutView {
            id: p.id,
            site_id: p.site_id,
            funder_id: p.funder_id,
            site_name: p.site_name,
            amount_cents: p.amount_cents,
            iban_masked: p.iban_masked,
            end_to_end_id: p.end_to_end_id,
            status: p.status,
            return_reason: p.return_reason,
        }
    }
}

/// A settlement run and its payouts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunView {
    pub id: i64,
    /// The day after the previous run's period (none for the first run).
    #[schema(value_type = Option<String>, format = Date)]
    pub period_start: Option<NaiveDate>,
    #[schema(value_type = String, format = Date)]
    pub period_end: NaiveDate,
    /// draft, released or cancelled
    #[schema(value_type = String)]
    pub status: RunStatus,
    /// custody (the operator pays the sites) or direct (each funder pays its share)
    #[schema(value_type = String)]
    pub mode: Mode,
    pub minimum_cents: i64,
    pub created_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
    pub total_cents: i64,
    pub payouts: Vec<PayoutView>,
}

impl From<Run> for RunView {
    fn from(r: Run) -> Self {
        RunView {
            id: r.id,
            period_start: r.period_start,
            period_end: r.period_end,
            status: r.status,
            mode: r.mode,
            minimum_cents: r.minimum_cents,
            created_at: r.created_at,
            released_at: r.released_at,
            total_cents: r.total_cents,
            payouts: r.payouts.into_iter().map(Into::into).collect(),
        }
    }
}

/// Settlement runs, newest period first.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn list(app: &App, caller: &Caller) -> AppResult<Vec<RunView>> {
    caller.require(Act::ListSettlements)?;
    Ok(runs::list(&app.db).await?.into_iter().map(Into::into).collect())
}

/// Prepares the run of the period ending on `period_end` (a draft to inspect; the period must be
/// over). The same period again returns the existing run. `minimum`: the smallest payout
/// (default: the configured one).
#[tracing::instrument(skip_all, fields(user = caller.user_id, period_end = %period_end))]
pub async fn prepare(app: &App, caller: &Caller, period_end: NaiveDate, minimum: Option<Cents>) -> AppResult<RunView> {
    caller.require(Act::PrepareSettlement)?;
    let minimum = minimum.unwrap_or(app.config.settlement_minimum);
    let mut tx = app.db.begin().await?;
    let run = runs::prepare_in(&mut tx, period_end, minimum, app.config.settlement_mode, caller.user()).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "settlement.prepare",
        "settlement",
        run.id,
        serde_json::json!({"period_end": run.period_end, "total_cents": run.total_cents}),
    )
    .await?;
    tx.commit().await?;
    Ok(run.into())
}

/// The run as the settlement crate reads it, or not found.
async fn found(app: &App, id: i64) -> AppResult<Run> {
    runs::get(&app.db, id).await?.ok_or(AppError::NotFound)
}

/// A run and its payouts.
#[tracing::instrument(skip_all, fields(user = caller.user_id, run = id))]
pub async fn get(app: &App, caller: &Caller, id: i64) -> AppResult<RunView> {
    caller.require(Act::ReadSettlement)?;
    Ok(found(app, id).await?.into())
}

/// Releases a draft run: the payouts are posted and the SEPA file can be downloaded.
#[tracing::instrument(skip_all, fields(user = caller.user_id, run = id))]
pub async fn release(app: &App, caller: &Caller, id: i64) -> AppResult<RunView> {
    caller.require(Act::ReleaseSettlement)?;
    let mut tx = app.db.begin().await?;
    let run = runs::release_in(&mut tx, id, caller.user()).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "settlement.release",
        "settlement",
        id,
        serde_json::json!({"total_cents": run.total_cents}),
    )
    .await?;
    tx.commit().await?;
    Ok(run.into())
}

/// Cancels a draft run.
#[tracing::instrument(skip_all, fields(user = caller.user_id, run = id))]
pub async fn cancel(app: &App, caller: &Caller, id: i64) -> AppResult<()> {
    caller.require(Act::CancelSettlement)?;
    let mut tx = app.db.begin().await?;
    runs::cancel_in(&mut tx, id).await?;
    audit::record(&mut tx, caller.actor(), "settlement.cancel", "settlement", id, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(())
}

/// The SEPA credit transfer file (pain.001.001.09) of a released run in custody mode, paid from
/// the operator's configured account.
#[tracing::instrument(skip_all, fields(user = caller.user_id, run = id))]
pub async fn sepa(app: &App, caller: &Caller, id: i64) -> AppResult<Vec<u8>> {
    caller.require(Act::DownloadSepa)?;
    let Some((iban, bic)) = app.config.operator_account.clone() else {
        return Err(AppError::invalid(
            "operator_account_missing",
            "Le compte de l'opérateur n'est pas configuré (PASSERELLE_OPERATOR_IBAN, PASSERELLE_OPERATOR_BIC).",
        ));
    };
    let name = issuer::organisations::operator(&app.db).await?.map_or_else(|| "Passerelle".to_owned(), |o| o.name);
    Ok(runs::sepa_file(&app.db, id, &Party { name, iban, bic }, None).await?.into_bytes())
}

/// The operator's report of a run, PDF.
#[tracing::instrument(skip_all, fields(user = caller.user_id, run = id))]
pub async fn report(app: &App, caller: &Caller, id: i64) -> AppResult<Vec<u8>> {
    caller.require(Act::PrintSettlementReport)?;
    Ok(settlement::statement::report_pdf(&found(app, id).await?)?)
}

/// A site's statement for a run, PDF: each voucher redeemed in the period (the operator, the
/// site's members).
#[tracing::instrument(skip_all, fields(user = caller.user_id, run = id, site = site_id))]
pub async fn statement(app: &App, caller: &Caller, id: i64, site_id: i64) -> AppResult<Vec<u8>> {
    caller.require(Act::PrintSiteStatement)?;
    caller.require_org(site_id)?;
    let st = settlement::statement::statement(&app.db, id, site_id).await?;
    Ok(settlement::statement::statement_pdf(&st)?)
}

// ---------------------------------------------------------------------------------------------
// Payouts of released runs.

/// Records the bank's confirmation of a payout, executed `on` (default: now).
#[tracing::instrument(skip_all, fields(user = caller.user_id, payout = id))]
pub async fn confirm(app: &App, caller: &Caller, id: i64, on: Option<DateTime<Utc>>) -> AppResult<()> {
    caller.require(Act::ConfirmPayout)?;
    let mut tx = app.db.begin().await?;
    runs::confirm_in(&mut tx, id, on.unwrap_or_else(ledger::time::now)).await?;
    audit::record(&mut tx, caller.actor(), "payout.confirm", "payout", id, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(())
}

/// Records a returned transfer (the bank's `reason`, e.g. « AC04 compte clôturé »): the amount
/// goes back to the site, whose bank details are flagged for review.
#[tracing::instrument(skip_all, fields(user = caller.user_id, payout = id))]
pub async fn record_return(
    app: &App,
    caller: &Caller,
    id: i64,
    reason: &str,
    on: Option<DateTime<Utc>>,
) -> AppResult<()> {
    caller.require(Act::RecordPayoutReturn)?;
    let mut tx = app.db.begin().await?;
    runs::record_return_in(&mut tx, id, reason, on.unwrap_or_else(ledger::time::now)).await?;
    audit::record(&mut tx, caller.actor(), "payout.return", "payout", id, serde_json::json!({"reason": reason}))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A site's payout, with the run and the period it settles.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SitePayoutView {
    pub run_id: i64,
    /// Last day of the period settled.
    #[schema(value_type = String, format = Date)]
    pub period_end: NaiveDate,
    pub payout: PayoutView,
}

/// A site's payouts, newest first (the site's members, the operator).
#[tracing::instrument(skip_all, fields(user = caller.user_id, site = site_id))]
pub async fn of_site(app: &App, caller: &Caller, site_id: i64) -> AppResult<Vec<SitePayoutView>> {
    caller.require(Act::ListSitePayouts)?;
    caller.require_org(site_id)?;
    Ok(runs::site_payouts(&app.db, site_id)
        .await?
        .into_iter()
        .map(|p| SitePayoutView { run_id: p.run_id, period_end: p.period_end, payout: p.payout.into() })
        .collect())
}

/// Direct mode: the SEPA file a funder sends to its own bank to pay the sites its share of a
/// released run (the operator, the funder).
#[tracing::instrument(skip_all, fields(user = caller.user_id, funder = funder_id, run = run_id))]
pub async fn funder_sepa(app: &App, caller: &Caller, funder_id: i64, run_id: i64) -> AppResult<Vec<u8>> {
    caller.require(Act::DownloadFunderSepa)?;
    caller.require_org(funder_id)?;
    let debtor = runs::funder_account(&app.db, funder_id).await?.ok_or_else(|| {
        AppError::invalid("funder_account_missing", "Le compte bancaire du financeur n'est pas renseigné.")
    })?;
    Ok(runs::sepa_file(&app.db, run_id, &debtor, Some(funder_id)).await?.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact text of the JSON, field order included.
    fn json(v: &impl Serialize) -> String {
        serde_json::to_string(v).unwrap()
    }

    /// The views write the same JSON as the settlement crate's types the API has always sent.
    #[test]
    fn views_keep_the_api_json() {
        let payout = Payout {
            id: 7,
            site_id: 3,
            funder_id: Some(2),
            site_name: "Espace numérique".into(),
            amount_cents: 3000,
            iban_masked: "FR76 •••• 0189".into(),
            end_to_end_id: "PSL-R1-S3".into(),
            status: PayoutStatus::Returned,
            return_reason: Some("AC04 compte clôturé".into()),
        };
        let run = Run {
            id: 1,
            period_start: NaiveDate::from_ymd_opt(2026, 10, 1),
            period_end: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            status: RunStatus::Released,
            mode: Mode::Direct,
            minimum_cents: 500,
            created_at: chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            released_at: None,
            total_cents: 3000,
            payouts: vec![payout.clone()],
        };
        assert_eq!(json(&RunView::from(run.clone())), json(&run));
        let site = runs::SitePayout { run_id: 1, period_end: run.period_end, payout: payout.clone() };
        let view = SitePayoutView { run_id: 1, period_end: run.period_end, payout: payout.into() };
        assert_eq!(json(&view), json(&site));
    }
}
