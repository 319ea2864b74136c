//! Statistics and impact (DESIGN §9): headline figures, breakdown tables (JSON or CSV for a French
//! spreadsheet), the impact report PDF, and the public open-data file by commune and month —
//! adapters of `crate::app::statistics`. A funder sees its own orders, a site its own activity,
//! the operator everything or one funder (`?funder=`) or one site (`?site=`).

use crate::app::statistics::{self, FiguresView, Filter, TableView, Top};
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json, Path, Problem, Query};
use crate::http::{AppState, download};
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

/// Headline figures of the caller's scope over whole months.
#[utoipa::path(get, path = "/api/v1/statistics", tag = "statistiques", params(Filter),
    responses((status = 200, body = FiguresView), (status = 422, body = Problem)))]
pub async fn figures(
    State(app): State<AppState>,
    caller: Caller,
    Query(filter): Query<Filter>,
) -> ApiResult<Json<FiguresView>> {
    Ok(Json(statistics::figures(&app, &caller, &filter).await?.into()))
}

/// One breakdown table (`month`, `departement`, `commune`, `site`, `service`, `category`,
/// `prescriber`, `autonomy`, `age_band`, `first_use_delay`); counts of people under 5 show `< 5`.
/// With `top`, the tables by commune, département and site keep their largest rows and merge the
/// others into one row (`merged_rows` tells how many); the CSV export always has every row.
#[utoipa::path(get, path = "/api/v1/statistics/tables/{dimension}", tag = "statistiques", params(Filter, Top),
    responses((status = 200, body = TableView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn table(
    State(app): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    Query(filter): Query<Filter>,
    Query(top): Query<Top>,
) -> ApiResult<Json<TableView>> {
    Ok(Json(statistics::table(&app, &caller, &slug, &filter, &top).await?.into()))
}

/// The same table as CSV for a French spreadsheet (UTF-8 with BOM, `;`, decimal comma), with
/// every row.
#[utoipa::path(get, path = "/api/v1/statistics/tables/{dimension}/csv", tag = "statistiques", params(Filter),
    responses((status = 200, content_type = "text/csv", description = "CSV")))]
pub async fn table_csv(
    State(app): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    Query(filter): Query<Filter>,
) -> ApiResult<Response> {
    let csv = statistics::table_csv(&app, &caller, &slug, &filter).await?;
    Ok(download("text/csv; charset=utf-8", &format!("statistiques-{slug}.csv"), csv))
}

/// The impact report (funders, the operator): figures, monthly charts, breakdowns (the long ones
/// limited to their largest rows, as on the dashboard), method.
#[utoipa::path(get, path = "/api/v1/statistics/report.pdf", operation_id = "impact_report_pdf", tag = "statistiques", params(Filter),
    responses((status = 200, content_type = "application/pdf", description = "PDF")))]
pub async fn report(State(app): State<AppState>, caller: Caller, Query(filter): Query<Filter>) -> ApiResult<Response> {
    let pdf = statistics::impact_report(&app, &caller, &filter).await?;
    Ok(download("application/pdf", "rapport-impact.pdf", pdf))
}

#[derive(Deserialize, IntoParams)]
pub struct OpenDataQuery {
    /// First month, `AAAA-MM`.
    from: Option<String>,
    /// Last month, `AAAA-MM`.
    to: Option<String>,
}

/// The public open-data file by commune and month (docs/open-data.md): no beneficiary figure
/// under the statistical-secrecy threshold.
#[utoipa::path(get, path = "/api/v1/open-data/communes.csv", tag = "statistiques", params(OpenDataQuery),
    responses((status = 200, content_type = "text/csv", description = "CSV")))]
pub async fn open_data(State(app): State<AppState>, Query(q): Query<OpenDataQuery>) -> ApiResult<Response> {
    let csv = statistics::open_data(&app, q.from, q.to).await?;
    Ok(download("text/csv; charset=utf-8", "passerelle-communes-mois.csv", csv))
}
