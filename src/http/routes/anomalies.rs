//! Anomaly flags for operator review (DESIGN §7).
use crate::audit;
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path, Query};
use axum::extract::State;
use chrono::{DateTime, Utc};
use redeemer::anomalies::{self, Anomaly, DismissError, Kind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One anomaly flag, as the operator sees it.
#[derive(Serialize, ToSchema)]
pub struct AnomalyView {
    id: i64,
    kind: AnomalyKindView,
    /// The kind, in French.
    label: String,
    site_id: Option<i64>,
    site_name: Option<String>,
    detected_at: DateTime<Utc>,
    /// What raised the flag; its fields depend on the kind (counts, day, book, sites…).
    evidence: serde_json::Value,
    /// `open` or `dismissed`.
    status: String,
    dismissed_by: Option<i64>,
    dismissed_at: Option<DateTime<Utc>>,
    /// Why the flag was dismissed.
    comment: Option<String>,
}

/// What a flag is about.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKindView {
    /// Far more redemptions in a day than the site's usual volume.
    Burst,
    /// Vouchers of one book redeemed at many sites on the same day.
    BookManySites,
    /// A service recorded while the place was closed.
    OutsideOpeningHours,
    /// Many invalid codes scanned or typed from one account.
    RepeatedInvalidCodes,
}

impl From<Anomaly> for AnomalyView {
    fn from(a: Anomaly) -> Self {
        let Anomaly {
            id,
            kind,
            label,
            site_id,
            site_name,
            detected_at,
            evidence,
            status,
            dismissed_by,
            dismissed_at,
            comment,
        } = a;
        let kind = match kind {
            Kind::Burst => AnomalyKindView::Burst,
            Kind::BookManySites => AnomalyKindView::BookManySites,
            Kind::OutsideOpeningHours => AnomalyKindView::OutsideOpeningHours,
            Kind::RepeatedInvalidCodes => AnomalyKindView::RepeatedInvalidCodes,
        };
        AnomalyView {
            id,
            kind,
            label: label.to_owned(),
            site_id,
            site_name,
            detected_at,
            evidence,
            status,
            dismissed_by,
            dismissed_at,
            comment,
        }
    }
}

impl From<DismissError> for ApiError {
    fn from(e: DismissError) -> Self {
        match e {
            DismissError::NotFound => ApiError::not_found(),
            DismissError::AlreadyDismissed => ApiError::conflict("already_dismissed", e),
            DismissError::MissingComment => ApiError::unprocessable("missing_comment", e),
            DismissError::Db(db) => db.into(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AnomalyQuery {
    /// `open` (default) or `all`.
    status: Option<String>,
    /// At most this many, newest first (default 200).
    limit: Option<i64>,
}

/// Anomaly flags with their evidence, newest first (operator).
#[utoipa::path(get, path = "/api/v1/anomalies", tag = "anomalies", params(AnomalyQuery), responses((status = 200, body = Vec<AnomalyView>)))]
pub async fn list(State(state): State<AppState>, Query(q): Query<AnomalyQuery>) -> ApiResult<Json<Vec<AnomalyView>>> {
    let open_only = match q.status.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(_) => return Err(ApiError::bad_request("invalid_query", "status attendu : open ou all")),
    };
    Ok(Json(anomalies::list(&state.db, open_only, q.limit.unwrap_or(200)).await?.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dismissal {
    /// Why the flag needs no further action (required).
    comment: String,
}

/// Dismisses an anomaly with a comment (operator); the audit trail keeps who and why.
#[utoipa::path(post, path = "/api/v1/anomalies/{id}/dismiss", tag = "anomalies", request_body = Dismissal, responses((status = 200, body = AnomalyView), (status = 409, body = crate::http::problem::Problem)))]
pub async fn dismiss(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Dismissal>,
) -> ApiResult<Json<AnomalyView>> {
    let mut tx = state.db.begin().await?;
    let done = anomalies::dismiss(&mut tx, id, Some(caller.user_id), &b.comment).await?;
    audit::record(&mut tx, caller.actor(), "anomaly.dismiss", "anomaly", id, serde_json::json!({"comment": b.comment}))
        .await?;
    tx.commit().await?;
    Ok(Json(done.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
                status: if dismissed { "dismissed" } else { "open" }.into(),
                dismissed_by: dismissed.then_some(2),
                dismissed_at: dismissed.then(|| "2026-10-02T08:30:00Z".parse().unwrap()),
                comment: dismissed.then(|| "Vérifié".to_owned()),
            };
            assert_eq!(serde_json::to_value(AnomalyView::from(a.clone())).unwrap(), serde_json::to_value(&a).unwrap());
        }
    }
}
