//! Dashboard speed at national scale (bench/stats.sh, `passerelle bench stats`).
//!
//! [`generate`] writes the aggregates that a national deployment would hold — by default 1 000
//! orders of 1 000 books of 10 vouchers (10 million vouchers) and 5 million redemptions, at 5 000
//! sites in every département, communes of residence drawn by population — through the same code
//! that folds real events (the cohort contribution of each book, the flows of each redemption,
//! every level of the aggregates). Dashboards read nothing else, so the raw tables are not
//! generated; only the organisations and orders the queries join are. [`measure`] then times
//! every dashboard request (headline figures and each breakdown as the pages ask for it, for the
//! operator, funders and sites) and reports percentiles; the CSV exports of the long tables are
//! timed apart.

use crate::attributes::{AGE_BANDS, AUTONOMIES};
use crate::breakdown::breakdown;
use crate::cohort::{BookState, Distribution};
use crate::dimension::{Dimension, Rows, SHOWN_ROWS};
use crate::error::StatsError;
use crate::figures::figures;
use crate::fold::{At, Fold};
use crate::measures::{
    AUTONOMY_AFTER, AUTONOMY_BEFORE, AUTONOMY_IMPROVED, AUTONOMY_PAIRS, MEASURES, MINUTES, N, NOT_COMPLETED,
    PROCEDURE_COMPLETED, REFERRED, SKILL_ACQUIRED, VALUE, VOUCHERS, dims, metrics,
};
use crate::period::{Month, Period};
use crate::scope::Scope;
use ledger::{Db, time};
use serde::Serialize;
use sqlx::Row;
use std::time::{Duration, Instant};

/// The size of the generated deployment.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Scale {
    pub orders: u32,
    pub books_per_order: u32,
    pub vouchers_per_book: u32,
    pub redemptions: u64,
    pub sites: u32,
    pub funders: u32,
    /// Months covered, ending with `last_month`.
    pub months: u32,
}

impl Scale {
    /// 10 million vouchers, 5 million redemptions.
    pub fn national() -> Scale {
        Scale {
            orders: 1000,
            books_per_order: 1000,
            vouchers_per_book: 10,
            redemptions: 5_000_000,
            sites: 5000,
            funders: 300,
            months: 24,
        }
    }

    /// A tenth of it, for a quick run.
    pub fn regional() -> Scale {
        Scale { orders: 100, redemptions: 500_000, sites: 500, funders: 30, ..Scale::national() }
    }
}

/// Deterministic pseudo-random numbers (xorshift64*): the same data on both engines.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// Orders whose cells over all orders are added up in memory before being written (a few
/// hundred megabytes at most at national scale).
const ORDERS_PER_FLUSH: u32 = 100;

/// Ids of generated organisations start here, away from anything `init` creates.
const BASE_ID: i64 = 1_000_000;

struct Departement {
    code: String,
    /// (INSEE code, cumulative population)
    communes: Vec<(String, u64)>,
}

impl Departement {
    fn draw(&self, rng: &mut Rng) -> &str {
        let total = self.communes.last().map_or(0, |c| c.1);
        let x = rng.below(total.max(1));
        let i = self.communes.partition_point(|c| c.1 <= x).min(self.communes.len().saturating_sub(1));
        &self.communes[i].0
    }
}

fn departements() -> Vec<Departement> {
    let mut by: std::collections::BTreeMap<String, Vec<(String, u64)>> = std::collections::BTreeMap::new();
    for c in issuer::territory::communes() {
        by.entry(c.departement.clone()).or_default().push((c.insee.to_string(), u64::from(c.population)));
    }
    by.into_iter()
        .map(|(code, mut list)| {
            list.sort();
            let mut acc = 0;
            let communes = list
                .into_iter()
                .map(|(insee, pop)| {
                    acc += pop.max(1);
                    (insee, acc)
                })
                .collect();
            Departement { code, communes }
        })
        .collect()
}

/// What generation wrote.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Generated {
    pub vouchers: u64,
    pub redemptions: u64,
    pub cells: u64,
    pub seconds: f64,
}

/// Writes the aggregates of a deployment of `scale` whose last month is `last_month`, into an
/// initialised, empty database. `progress` is called after each order.
pub async fn generate(
    db: &Db,
    scale: Scale,
    last_month: Month,
    progress: &dyn Fn(u32, u32),
) -> Result<Generated, StatsError> {
    let started = Instant::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let depts = departements();
    let mut months = vec![last_month];
    while months.len() < scale.months.max(1) as usize {
        let m = months[months.len() - 1];
        let prev = if m.month() == 1 { Month::new(m.year() - 1, 12) } else { Month::new(m.year(), m.month() - 1) };
        months.push(prev.unwrap_or(m));
    }
    months.reverse();
    let services: Vec<(String, String, i64, i64)> = {
        let rows = sqlx::query("SELECT code, category, duration_minutes, price_vouchers FROM catalogue_services")
            .fetch_all(db.pool())
            .await?;
        let mut out = Vec::new();
        for r in rows {
            out.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?));
        }
        if out.is_empty() {
            out.push(("DEM-ACCOMP".into(), "aide_demarches_administratives".into(), 60, 1));
        }
        out
    };
    let now = time::to_micros(time::now());

    // The organisations and orders queries join (names, funders' orders).
    let mut tx = db.begin().await?;
    let orgs: Vec<(i64, &str, String)> = (0..scale.funders)
        .map(|f| (BASE_ID + i64::from(f), "funder", format!("Financeur n°{}", f + 1)))
        .chain((0..scale.sites).map(|s| (2 * BASE_ID + i64::from(s), "site", format!("Lieu de médiation n°{}", s + 1))))
        .chain(
            (0..depts.len() as i64 * 5).map(|p| (3 * BASE_ID + p, "prescriber", format!("Prescripteur n°{}", p + 1))),
        )
        .collect();
    for chunk in orgs.chunks(500) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4))
            .collect();
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO organisations (id, kind, name, created_at) VALUES {}",
            values.join(", ")
        )))
        .persistent(false);
        for (id, kind, name) in chunk {
            q = q.bind(*id).bind(*kind).bind(name.clone()).bind(now);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;

    let face = 1000i64;
    let (mut vouchers, mut redemptions, mut cells) = (0u64, 0u64, 0u64);
    // The cells over all orders, added up over up to ORDERS_PER_FLUSH orders.
    let mut all_orders = Fold::default();
    let per_order = scale.redemptions / u64::from(scale.orders.max(1));
    let sites_per_dept = (scale.sites as usize / depts.len()).max(1);
    for o in 0..scale.orders {
        let order_id = BASE_ID + i64::from(o);
        let dept = &depts[o as usize % depts.len()];
        let d_index = o as usize % depts.len();
        let start = rng.below(u64::from(scale.months.saturating_sub(12).max(1))) as usize;
        let funder = BASE_ID + i64::from(o % scale.funders.max(1));
        let cofunder = (o % 3 == 0).then(|| BASE_ID + i64::from((o * 7 + 1) % scale.funders.max(1)));
        let mut tx = db.begin().await?;
        sqlx::query(
            "INSERT INTO orders (id, label, status, books, vouchers_per_book, face_value_cents, valid_from, valid_until, \
             grace_days, territory, unused_policy, issuance_fee_bps, redemption_fee_bps, created_at) \
             VALUES ($1, $2, 'issued', $3, $4, $5, $6, $7, 31, $8, 'refund', 0, 0, $9)",
        )
        .bind(order_id)
        .bind(format!("Pass numérique n°{}", o + 1))
        .bind(i64::from(scale.books_per_order))
        .bind(i64::from(scale.vouchers_per_book))
        .bind(face)
        .bind(months[start].first_day().to_string())
        .bind(months[(start + 11).min(months.len() - 1)].first_day().to_string())
        .bind(dept.code.clone())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for (f, share) in std::iter::once((funder, if cofunder.is_some() { 5000 } else { 10_000 }))
            .chain(cofunder.filter(|c| *c != funder).map(|c| (c, 5000)))
        {
            sqlx::query("INSERT INTO order_funders (order_id, funder_id, share_bps) VALUES ($1, $2, $3)")
                .bind(order_id)
                .bind(f)
                .bind(share)
                .execute(&mut *tx)
                .await?;
        }

        let mut fold = Fold::default();
        let vpb = i64::from(scale.vouchers_per_book);
        let books = i64::from(scale.books_per_order);
        let issued_at = At { month: months[start].to_string(), order: order_id, site: 0 };
        let mut m = [0; MEASURES.len()];
        (m[N], m[VOUCHERS], m[VALUE]) = (books, books * vpb, books * vpb * face);
        fold.flow(metrics::ISSUED, dims::TOTAL, String::new(), &issued_at, &m);
        vouchers += (books * vpb) as u64;
        let site_of = |k: u64| {
            2 * BASE_ID + ((d_index + depts.len() * (k as usize % sites_per_dept)) % scale.sites.max(1) as usize) as i64
        };
        let prescriber_of = |k: u64| 3 * BASE_ID + (d_index * 5) as i64 + (k % 5) as i64;
        // 90 % of the books are assigned, 80 % handed over; their uses share the order's redemptions.
        let distributed = books * 8 / 10;
        let mut uses_left = per_order as i64;
        for b in 0..books {
            let prescriber = prescriber_of(rng.next());
            if b < books * 9 / 10 {
                let at = At { month: months[start + rng.below(3) as usize].to_string(), order: order_id, site: 0 };
                let mut m = [0; MEASURES.len()];
                (m[N], m[VOUCHERS], m[VALUE]) = (1, vpb, vpb * face);
                fold.flow(metrics::ASSIGNED, dims::TOTAL, String::new(), &at, &m);
                fold.flow(metrics::ASSIGNED, dims::PRESCRIBER, prescriber.to_string(), &at, &m);
            }
            if b >= distributed {
                continue;
            }
            let month_index = (start + 1 + rng.below(6) as usize).min(months.len() - 1);
            let (month_start, _) = months[month_index].bounds();
            let at = time::to_micros(month_start) + rng.below(25 * 86_400_000_000) as i64;
            let mut state = BookState {
                order_id,
                vouchers: vpb,
                face,
                distribution: Some(Distribution {
                    at,
                    commune: dept.draw(&mut rng).to_owned(),
                    age_band: AGE_BANDS[rng.below(AGE_BANDS.len() as u64) as usize].0.to_owned(),
                    autonomy: AUTONOMIES[rng.below(AUTONOMIES.len() as u64) as usize].0.to_owned(),
                }),
                prescriber_id: Some(prescriber),
                first_used_at: None,
                first_site_id: None,
                used_vouchers: 0,
                used_value: 0,
            };
            // Passages of this book: the order's redemptions spread over its handed-over books,
            // a fifth of them barely used; a book cannot give more than its vouchers.
            let left_books = distributed - b;
            let fair = (uses_left + left_books - 1) / left_books.max(1);
            let target = if rng.below(5) == 0 { rng.below(3) as i64 } else { fair + 1 };
            let home = site_of(rng.next());
            let mut when = at + rng.below(60 * 86_400_000_000) as i64;
            let (mut used, mut passages) = (0, 0);
            while passages < target && used < vpb && uses_left > passages {
                let (code, category, minutes, price) = &services[rng.below(services.len() as u64) as usize];
                let count = (*price).min(vpb - used).max(1);
                let site = if rng.below(10) < 7 { home } else { site_of(rng.next()) };
                let month = Month::of_micros(when);
                let month = if month > last_month { last_month } else { month };
                let here = At { month: month.to_string(), order: order_id, site };
                let mut m = [0; MEASURES.len()];
                (m[N], m[VOUCHERS], m[VALUE], m[MINUTES]) = (1, count, count * face, *minutes);
                match rng.below(8) {
                    0 => m[PROCEDURE_COMPLETED] = 1,
                    1 => m[SKILL_ACQUIRED] = 1,
                    2 => m[REFERRED] = 1,
                    3 => m[NOT_COMPLETED] = 1,
                    _ => {}
                }
                if rng.below(3) == 0 {
                    let before = 1 + rng.below(3) as i64;
                    let after = (before + rng.below(3) as i64).min(4);
                    (m[AUTONOMY_PAIRS], m[AUTONOMY_BEFORE], m[AUTONOMY_AFTER]) = (1, before, after);
                    m[AUTONOMY_IMPROVED] = i64::from(after > before);
                }
                fold.flow(metrics::REDEEMED, dims::TOTAL, String::new(), &here, &m);
                fold.flow(metrics::REDEEMED, dims::SERVICE, code.clone(), &here, &m);
                fold.flow(metrics::REDEEMED, dims::CATEGORY, category.clone(), &here, &m);
                fold.flow(metrics::REDEEMED, dims::PRESCRIBER, prescriber.to_string(), &here, &m);
                if state.first_used_at.is_none() {
                    state.first_used_at = Some(when);
                    state.first_site_id = Some(site);
                }
                state.used_vouchers += count;
                state.used_value += count * face;
                used += count;
                passages += 1;
                redemptions += 1;
                when += rng.below(20 * 86_400_000_000) as i64;
            }
            uses_left -= passages;
            fold.add_contribution(&state);
        }
        cells += fold.cell_count() as u64;
        // The order's own cells now: they follow the previous order's in key order. Its share of
        // the cells over all orders (most rows) waits, added up over many orders, to be written
        // once in key order instead of rewriting pages all over the table for each order.
        fold.move_all_orders_into(&mut all_orders);
        fold.write(&mut tx).await?;
        tx.commit().await?;
        if (o + 1) % ORDERS_PER_FLUSH == 0 || o + 1 == scale.orders {
            let mut tx = db.begin().await?;
            std::mem::take(&mut all_orders).write(&mut tx).await?;
            tx.commit().await?;
            // As autovacuum would as the table grows: without statistics, PostgreSQL's planner
            // takes the freshly loaded table for empty and may read the wrong index.
            if db.engine() == ledger::Engine::Postgres {
                sqlx::query("ANALYZE stats_cells").execute(db.pool()).await?;
            }
        }
        progress(o + 1, scale.orders);
    }
    // What the engines' automatic maintenance does in a running deployment, done now: the
    // planner's statistics (and on PostgreSQL the visibility map, for index-only scans).
    match db.engine() {
        ledger::Engine::Postgres => sqlx::query("VACUUM ANALYZE stats_cells").execute(db.pool()).await?,
        ledger::Engine::Sqlite => sqlx::query("ANALYZE").execute(db.pool()).await?,
    };
    Ok(Generated { vouchers, redemptions, cells, seconds: started.elapsed().as_secs_f64() })
}

/// Latencies of one kind of dashboard request.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub request: String,
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// A CSV export (every row of a long table), timed for the record: not a dashboard request.
    pub export: bool,
}

fn timing(request: String, mut samples: Vec<Duration>, export: bool) -> Timing {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q).ceil() as usize).saturating_sub(1).min(samples.len().saturating_sub(1));
        samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Timing { request, count: samples.len(), p50_ms: at(0.50), p95_ms: at(0.95), max_ms: at(1.0), export }
}

/// Times every dashboard request `rounds` times over the last twelve months: the headline figures
/// and each breakdown as the dashboard asks for it (the long tables limited to their
/// [`SHOWN_ROWS`] largest rows), for the operator, for funders and for sites. The CSV export of
/// each long table (every row, written as CSV) is timed too, on lines of its own marked
/// [`Timing::export`]. Returns one line per kind of request, and the last line for all the
/// dashboard requests together (exports left out).
pub async fn measure(db: &Db, last_month: Month, rounds: usize) -> Result<Vec<Timing>, StatsError> {
    let mut from = last_month;
    for _ in 0..11 {
        from = if from.month() == 1 {
            Month::new(from.year() - 1, 12).unwrap_or(from)
        } else {
            Month::new(from.year(), from.month() - 1).unwrap_or(from)
        };
    }
    let period = Period::months(from, last_month)?;
    let funders: Vec<i64> =
        sqlx::query_scalar("SELECT DISTINCT funder_id FROM order_funders ORDER BY funder_id LIMIT 5")
            .fetch_all(db.pool())
            .await?;
    let sites: Vec<i64> = sqlx::query_scalar("SELECT id FROM organisations WHERE kind = 'site' ORDER BY id LIMIT 5")
        .fetch_all(db.pool())
        .await?;
    let mut scopes = vec![("opérateur", Scope::Operator { funder: None })];
    scopes.extend(funders.iter().map(|f| ("financeur", Scope::Funder { id: *f })));
    scopes.extend(sites.iter().map(|s| ("lieu", Scope::Site { id: *s })));
    let mut kinds: Vec<(String, Vec<Duration>, bool)> = Vec::new();
    let mut all = Vec::new();
    let mut record = |name: String, d: Duration, export: bool| {
        if !export {
            all.push(d);
        }
        match kinds.iter_mut().find(|k| k.0 == name) {
            Some(k) => k.1.push(d),
            None => kinds.push((name, vec![d], export)),
        }
    };
    for _ in 0..rounds {
        for (who, scope) in &scopes {
            let t = Instant::now();
            figures(db, *scope, period).await?;
            record(format!("{who} : chiffres clés"), t.elapsed(), false);
            for dim in Dimension::ALL {
                let title = dim.title().to_lowercase();
                // What the dashboard asks for.
                let rows = if dim.is_long() { Rows::Top(SHOWN_ROWS) } else { Rows::All };
                let t = Instant::now();
                breakdown(db, *scope, period, dim, rows).await?;
                let limited = if dim.is_long() { format!(" ({SHOWN_ROWS} premières lignes)") } else { String::new() };
                record(format!("{who} : {title}{limited}"), t.elapsed(), false);
                if dim.is_long() {
                    let t = Instant::now();
                    let csv = breakdown(db, *scope, period, dim, Rows::All).await?.to_csv();
                    std::hint::black_box(csv);
                    record(format!("{who} : {title}, export CSV (toutes les lignes)"), t.elapsed(), true);
                }
            }
        }
    }
    let mut out: Vec<Timing> = kinds.into_iter().map(|(k, v, export)| timing(k, v, export)).collect();
    out.push(timing("toutes les requêtes du tableau de bord".to_owned(), all, false));
    Ok(out)
}
