//! Statistics and impact (DESIGN §9): headline figures, breakdown tables (and their CSV for a
//! French spreadsheet), the impact report PDF, and the public open-data file by commune and
//! month. A funder sees its own orders, a site its own activity, the operator everything or one
//! funder's orders or one site's activity.

mod views;

pub use views::{FiguresView, TableView};

use crate::app::{Act, App, AppError, AppResult, Caller};
use issuer::organisations::OrgKind;
use serde::Deserialize;
use statistics::chart::BarChart;
use statistics::{Dimension, Figures, Month, Period, Rows, Scope, Table};
use utoipa::IntoParams;

/// The months and, for the operator, whose activity.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct Filter {
    /// First month, `AAAA-MM` (default: since the beginning).
    pub from: Option<String>,
    /// Last month, `AAAA-MM` (default: the current month).
    pub to: Option<String>,
    /// Operator only: one funder's orders.
    pub funder: Option<i64>,
    /// Operator only: one site's activity.
    pub site: Option<i64>,
}

fn invalid_period(e: impl std::fmt::Display) -> AppError {
    AppError::invalid("invalid_period", e.to_string())
}

impl Filter {
    /// The whole months asked for: none, since the beginning; only `to`, that month; only
    /// `from`, up to the current month.
    pub fn period(&self) -> AppResult<Period> {
        let month = |s: &Option<String>| -> AppResult<Option<Month>> {
            s.as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.parse::<Month>().map_err(invalid_period))
                .transpose()
        };
        match (month(&self.from)?, month(&self.to)?) {
            (None, None) => Ok(Period::all()),
            (from, to) => {
                let to = to.unwrap_or_else(|| Month::of(ledger::time::now()));
                let from = from.unwrap_or(to);
                Period::months(from, to).map_err(invalid_period)
            }
        }
    }

    /// Whose activity `caller` reads: `funder` and `site` count for the operator only.
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

/// The largest rows of a long table.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct Top {
    /// Tables by commune, département and site only: their `top` largest rows (people, or
    /// passages for sites), largest first, then one row « Autres … (k) » adding up the k others;
    /// the total is unchanged. From 1 to 1000; without it, every row. Other tables are always
    /// complete.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub top: Option<String>,
}

/// The most rows `top` may ask for.
pub const MAX_TOP: u32 = 1000;

impl Top {
    /// The largest `n` rows.
    pub fn largest(n: u32) -> Top {
        Top { top: Some(n.to_string()) }
    }

    fn read(&self) -> AppResult<Rows> {
        match self.top.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(Rows::All),
            Some(s) => match s.parse::<u32>() {
                Ok(n) if (1..=MAX_TOP).contains(&n) => Ok(Rows::Top(n)),
                _ => Err(AppError::invalid(
                    "invalid_top",
                    format!("top : un nombre entier de lignes de 1 à {MAX_TOP} est attendu."),
                )),
            },
        }
    }
}

/// The breakdown named `slug` in the API (`month`, `departement`, `commune`, `site`, `service`,
/// `category`, `prescriber`, `autonomy`, `age_band`, `first_use_delay`); any other is not found.
pub fn dimension(slug: &str) -> AppResult<Dimension> {
    serde_json::from_value(serde_json::Value::from(slug)).map_err(|_| AppError::NotFound)
}

/// Headline figures of the caller's scope over whole months.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn figures(app: &App, caller: &Caller, filter: &Filter) -> AppResult<Figures> {
    caller.require(Act::ReadFigures)?;
    Ok(statistics::figures(&app.db, filter.scope(caller), filter.period()?).await?)
}

/// One breakdown table; counts of people under 5 show `< 5`. With `top`, the tables by commune,
/// département and site keep their largest rows and merge the others into one row.
#[tracing::instrument(skip_all, fields(user = caller.user_id, dimension = slug))]
pub async fn table(app: &App, caller: &Caller, slug: &str, filter: &Filter, top: &Top) -> AppResult<Table> {
    caller.require(Act::ReadStatisticsTable)?;
    let (dimension, rows) = (dimension(slug)?, top.read()?);
    Ok(statistics::breakdown(&app.db, filter.scope(caller), filter.period()?, dimension, rows).await?)
}

/// The same table as CSV for a French spreadsheet (UTF-8 with BOM, `;`, decimal comma), with
/// every row.
#[tracing::instrument(skip_all, fields(user = caller.user_id, dimension = slug))]
pub async fn table_csv(app: &App, caller: &Caller, slug: &str, filter: &Filter) -> AppResult<Vec<u8>> {
    caller.require(Act::DownloadStatisticsTable)?;
    let period = filter.period()?;
    let t = statistics::breakdown(&app.db, filter.scope(caller), period, dimension(slug)?, Rows::All).await?;
    Ok(t.to_csv())
}

/// The name the report is made for.
async fn scope_name(app: &App, scope: Scope) -> AppResult<String> {
    let id = match scope {
        Scope::Funder { id } | Scope::Site { id } | Scope::Operator { funder: Some(id) } => id,
        Scope::Operator { funder: None } => return Ok("Ensemble du dispositif".to_owned()),
    };
    Ok(issuer::organisations::get(&app.db, id).await?.map_or_else(|| format!("Organisation n°{id}"), |o| o.name))
}

/// The impact report PDF (funders, the operator): figures, monthly charts, breakdowns (the long
/// ones limited to their largest rows, as on the dashboard), method.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn impact_report(app: &App, caller: &Caller, filter: &Filter) -> AppResult<Vec<u8>> {
    caller.require(Act::PrintImpactReport)?;
    let (scope, period) = (filter.scope(caller), filter.period()?);
    let figures = statistics::figures(&app.db, scope, period).await?;
    let mut tables = Vec::new();
    for d in Dimension::ALL {
        tables.push(statistics::breakdown(&app.db, scope, period, d, Rows::Top(statistics::SHOWN_ROWS)).await?);
    }
    let charts = monthly_charts(&tables[0]);
    let who = scope_name(app, scope).await?;
    Ok(statistics::report::impact_pdf(&who, &figures, &charts, &tables)?)
}

/// The two monthly charts of the dashboards and the report, from the table by month.
pub fn monthly_charts(by_month: &Table) -> Vec<BarChart> {
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

/// The public open-data file by commune and month (docs/open-data.md), CSV: no beneficiary
/// figure under the statistical-secrecy threshold. Public (`Act::DownloadOpenData`): no caller.
#[tracing::instrument(skip_all)]
pub async fn open_data(app: &App, from: Option<String>, to: Option<String>) -> AppResult<Vec<u8>> {
    let period = Filter { from, to, funder: None, site: None }.period()?;
    Ok(statistics::open_data(&app.db, period).await?.to_csv())
}
