//! Anomaly flags for the operator's review (DESIGN §7): the list with its evidence, and the
//! dismissal of a flag with a comment, recorded in the audit trail.

use crate::app::{Act, App, AppError, AppResult, Caller};
use crate::audit;
use chrono::{DateTime, Utc};
use redeemer::anomalies::{self, Anomaly, AnomalyStatus, DismissError};
use serde::Serialize;
use utoipa::ToSchema;

/// One flag, as the operator sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnomalyView {
    pub id: i64,
    /// burst, book_many_sites, outside_opening_hours, repeated_invalid_codes
    pub kind: String,
    /// The kind in French.
    pub label: String,
    pub site_id: Option<i64>,
    pub site_name: Option<String>,
    pub detected_at: DateTime<Utc>,
    /// What the detector saw (its fields depend on the kind).
    pub evidence: serde_json::Value,
    /// open or dismissed
    #[schema(value_type = String)]
    pub status: AnomalyStatus,
    pub dismissed_by: Option<i64>,
    pub dismissed_at: Option<DateTime<Utc>>,
    pub comment: Option<String>,
}

impl From<Anomaly> for AnomalyView {
    fn from(a: Anomaly) -> Self {
        AnomalyView {
            id: a.id,
            kind: a.kind.as_str().to_owned(),
            label: a.label.to_owned(),
            site_id: a.site_id,
            site_name: a.site_name,
            detected_at: a.detected_at,
            evidence: a.evidence,
            status: a.status,
            dismissed_by: a.dismissed_by,
            dismissed_at: a.dismissed_at,
            comment: a.comment,
        }
    }
}

/// Which flags to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Those still to review (the default).
    Open,
    /// Dismissed ones too.
    All,
}

impl Shown {
    /// `open` (or nothing) and `all`; anything else is a malformed request.
    pub fn parse(status: Option<&str>) -> AppResult<Shown> {
        match status {
            None | Some("open") => Ok(Shown::Open),
            Some("all") => Ok(Shown::All),
            Some(_) => Err(AppError::bad_request("invalid_query", "status attendu : open ou all")),
        }
    }
}

/// Flags newest first, at most `limit` (default 200, at most 1 000).
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn list(app: &App, caller: &Caller, shown: Shown, limit: Option<i64>) -> AppResult<Vec<AnomalyView>> {
    caller.require(Act::ListAnomalies)?;
    let list = anomalies::list(&app.db, shown == Shown::Open, limit.unwrap_or(200)).await?;
    Ok(list.into_iter().map(Into::into).collect())
}

fn refused(e: DismissError) -> AppError {
    match e {
        DismissError::NotFound => AppError::NotFound,
        DismissError::AlreadyDismissed => AppError::conflict("already_dismissed", e.to_string()),
        DismissError::MissingComment => AppError::invalid("missing_comment", e.to_string()),
        DismissError::Db(db) => db.into(),
    }
}

/// Dismisses an open flag with a comment (required); the audit trail keeps who and why.
#[tracing::instrument(skip_all, fields(user = caller.user_id, anomaly = id))]
pub async fn dismiss(app: &App, caller: &Caller, id: i64, comment: &str) -> AppResult<AnomalyView> {
    caller.require(Act::DismissAnomaly)?;
    let mut tx = app.db.begin().await?;
    let done = anomalies::dismiss(&mut tx, id, caller.user(), comment).await.map_err(refused)?;
    audit::record(&mut tx, caller.actor(), "anomaly.dismiss", "anomaly", id, serde_json::json!({"comment": comment}))
        .await?;
    tx.commit().await?;
    Ok(done.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use redeemer::anomalies::Kind;

    /// The view answers exactly the JSON the domain type would.
    #[test]
    fn view_serializes_like_the_domain() {
        for (kind, dismissed) in [
            (Kind::Burst, false),
            (Kind::BookManySites, true),
            (Kind::OutsideOpeningHours, false),
            (Kind::RepeatedInvalidCodes, true),
        ] {
            let a = Anomaly {
                id: 4,
                kind,
                label: kind.label(),
                site_id: (!dismissed).then_some(7),
                site_name: (!dismissed).then(|| "Lieu".to_owned()),
                detected_at: "2026-10-01T08:30:00Z".parse().unwrap(),
                evidence: serde_json::json!({"book": "B-12", "sites": 3, "uses": [{"site_id": 7}]}),
                status: if dismissed { AnomalyStatus::Dismissed } else { AnomalyStatus::Open },
                dismissed_by: dismissed.then_some(2),
                dismissed_at: dismissed.then(|| "2026-10-02T08:30:00Z".parse().unwrap()),
                comment: dismissed.then(|| "Vérifié".to_owned()),
            };
            assert_eq!(serde_json::to_value(AnomalyView::from(a.clone())).unwrap(), serde_json::to_value(&a).unwrap());
        }
    }
}
