//! Statistics and impact (DESIGN §9): headline figures, breakdown tables (JSON or CSV for a French
//! spreadsheet), the impact report PDF, and the public open-data file by commune and month.
//! A funder sees its own orders, a site its own activity, the operator everything or one funder
//! (`?funder=`) or one site (`?site=`).

use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path, Query};
use crate::http::{AppState, download};
use axum::extract::State;
use axum::response::Response;
use issuer::organisations::OrgKind;
use serde::Deserialize;
use statistics::{Dimension, Figures, Month, Period, Rows, Scope, StatsError, Table};
use utoipa::IntoParams;

impl From<StatsError> for ApiError {
    fn from(e: StatsError) -> Self {
        match e {
            StatsError::Db(db) => db.into(),
            StatsError::Period(p) => ApiError::unprocessable("invalid_period", p),
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct StatsQuery {
    /// First month, `AAAA-MM` (default: since the beginning).
    from: Option<String>,
    /// Last month, `AAAA-MM` (default: the current month).
    to: Option<String>,
    /// Operator only: one funder's orders.
    funder: Option<i64>,
    /// Operator only: one site's activity.
    site: Option<i64>,
}

impl StatsQuery {
    pub fn period(&self) -> Result<Period, ApiError> {
        let month = |s: &Option<String>| -> Result<Option<Month>, ApiError> {
            s.as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.parse::<Month>().map_err(|e| ApiError::unprocessable("invalid_period", e)))
                .transpose()
        };
        match (month(&self.from)?, month(&self.to)?) {
            (None, None) => Ok(Period::all()),
            (from, to) => {
                let to = to.unwrap_or_else(|| Month::of(ledger::time::now()));
                let from = from.unwrap_or(to);
                Period::months(from, to).map_err(|e| ApiError::unprocessable("invalid_period", e))
            }
        }
    }

    pub fn scope(&self, caller: &Caller) -> Scope {
        match caller.kind {
            OrgKind::Operator => match self.site {
                Some(id) => Scope::Site { id },
                None => Scope::Operator { funder: self.funder },
            },
            OrgKind::Site => Scope::Site { id: caller.organisation_id },
            _ => Scope::Funder { id: caller.organisation_id },
        }
    }
}

fn dimension(slug: &str) -> Result<Dimension, ApiError> {
    serde_json::from_value(serde_json::Value::from(slug)).map_err(|_| ApiError::not_found())
}

/// Headline figures of the caller's scope over whole months.
#[utoipa::path(get, path = "/api/v1/statistics", tag = "statistiques", params(StatsQuery),
    responses((status = 200, body = Object), (status = 422, body = crate::http::problem::Problem)))]
pub async fn figures(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<StatsQuery>,
) -> ApiResult<Json<Figures>> {
    Ok(Json(statistics::figures(&state.db, q.scope(&caller), q.period()?).await?))
}

/// The largest rows of a long table.
#[derive(Deserialize, IntoParams)]
pub struct TopQuery {
    /// Tables by commune, département and site only: their `top` largest rows (people, or
    /// passages for sites), largest first, then one row « Autres … (k) » adding up the k others;
    /// the total is unchanged. From 1 to 1000; without it, every row. Other tables are always
    /// complete.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    top: Option<String>,
}

/// The most rows `top` may ask for.
const MAX_TOP: u32 = 1000;

impl TopQuery {
    fn rows(&self) -> Result<Rows, ApiError> {
        match self.top.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(Rows::All),
            Some(s) => match s.parse::<u32>() {
                Ok(n) if (1..=MAX_TOP).contains(&n) => Ok(Rows::Top(n)),
                _ => Err(ApiError::unprocessable(
                    "invalid_top",
                    format!("top : un nombre entier de lignes de 1 à {MAX_TOP} est attendu."),
                )),
            },
        }
    }
}

/// One breakdown table (`month`, `departement`, `commune`, `site`, `service`, `category`,
/// `prescriber`, `autonomy`, `age_band`, `first_use_delay`); counts of people under 5 show `< 5`.
/// With `top`, the tables by commune, département and site keep their largest rows and merge the
/// others into one row (`merged_rows` tells how many); the CSV export always has every row.
#[utoipa::path(get, path = "/api/v1/statistics/tables/{dimension}", tag = "statistiques", params(StatsQuery, TopQuery),
    responses((status = 200, body = Object), (status = 404, body = crate::http::problem::Problem),
        (status = 422, body = crate::http::problem::Problem)))]
pub async fn table(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    Query(q): Query<StatsQuery>,
    Query(top): Query<TopQuery>,
) -> ApiResult<Json<Table>> {
    let (dimension, rows) = (dimension(&slug)?, top.rows()?);
    Ok(Json(statistics::breakdown(&state.db, q.scope(&caller), q.period()?, dimension, rows).await?))
}

/// The same table as CSV for a French spreadsheet (UTF-8 with BOM, `;`, decimal comma), with
/// every row.
#[utoipa::path(get, path = "/api/v1/statistics/tables/{dimension}/csv", tag = "statistiques", params(StatsQuery),
    responses((status = 200, content_type = "text/csv", description = "CSV")))]
pub async fn table_csv(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    Query(q): Query<StatsQuery>,
) -> ApiResult<Response> {
    let period = q.period()?;
    let t = statistics::breakdown(&state.db, q.scope(&caller), period, dimension(&slug)?, Rows::All).await?;
    Ok(download("text/csv; charset=utf-8", &format!("statistiques-{slug}.csv"), t.to_csv()))
}

/// The name the report is made for.
async fn scope_name(state: &AppState, scope: Scope) -> ApiResult<String> {
    let id = match scope {
        Scope::Funder { id } | Scope::Site { id } | Scope::Operator { funder: Some(id) } => id,
        Scope::Operator { funder: None } => return Ok("Ensemble du dispositif".to_owned()),
    };
    Ok(issuer::organisations::get(&state.db, id).await?.map_or_else(|| format!("Organisation n°{id}"), |o| o.name))
}

/// The impact report (funders, the operator): figures, monthly charts, breakdowns (the long ones
/// limited to their largest rows, as on the dashboard), method.
#[utoipa::path(get, path = "/api/v1/statistics/report.pdf", tag = "statistiques", params(StatsQuery),
    responses((status = 200, content_type = "application/pdf", description = "PDF")))]
pub async fn report(State(state): State<AppState>, caller: Caller, Query(q): Query<StatsQuery>) -> ApiResult<Response> {
    let (scope, period) = (q.scope(&caller), q.period()?);
    let figures = statistics::figures(&state.db, scope, period).await?;
    let mut tables = Vec::new();
    for d in Dimension::ALL {
        tables.push(statistics::breakdown(&state.db, scope, period, d, Rows::Top(statistics::SHOWN_ROWS)).await?);
    }
    let charts = monthly_charts(&tables[0]);
    let who = scope_name(&state, scope).await?;
    let pdf = statistics::report::impact_pdf(&who, &figures, &charts, &tables).map_err(ApiError::internal)?;
    Ok(download("application/pdf", "rapport-impact.pdf", pdf))
}

/// The two monthly charts of the dashboards and the report, from the table by month.
pub fn monthly_charts(by_month: &Table) -> Vec<statistics::chart::BarChart> {
    use statistics::chart::BarChart;
    let column = |name: &str| by_month.columns.iter().position(|c| c == name);
    let mut charts = Vec::new();
    if let Some(i) = column("Chèques remis") {
        charts.push(BarChart::from_table("Chèques remis aux personnes, par mois de remise", by_month, i));
    }
    if let Some(i) = column("Chèques utilisés") {
        charts.push(BarChart::from_table("Chèques utilisés, par mois du passage", by_month, i));
    }
    charts
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
pub async fn open_data(State(state): State<AppState>, Query(q): Query<OpenDataQuery>) -> ApiResult<Response> {
    let period = StatsQuery { from: q.from, to: q.to, funder: None, site: None }.period()?;
    let t = statistics::open_data(&state.db, period).await?;
    Ok(download("text/csv; charset=utf-8", "passerelle-communes-mois.csv", t.to_csv()))
}
