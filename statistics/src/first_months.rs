//! How many communes have people in the months of a period, without grouping them: kept in
//! `stats_first_months` (migration 0009) as the aggregates are written ([`count_first_months`]),
//! read by the operator's table by commune (`ranking`). A commune with people in the period is
//! counted once, in its first month of the period.

use crate::error::StatsError;
use ledger::db::placeholder_rows;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use std::collections::{BTreeMap, HashMap};

/// The cells of the operator's table by commune: the cohort over all orders and sites. Written
/// out (not bound) so that both engines see that their partial indexes apply.
pub(crate) const LEVEL: &str = "metric = 'cohort' AND dim = 'commune' AND order_id = 0 AND site_id = 0";

/// Communes per statement when reading communes by name.
pub(crate) const CHUNK: usize = 100;

/// Keeps `stats_first_months` in step with cohort cells of the operator's table by commune about
/// to change by `changes` — (commune, month, change in people) — before they are written, in the
/// same transaction. A commune's months with people, in order, count one each, under the month
/// before (the first under ''): the counts of the months as they were are taken off, those of
/// the months as they will be added.
pub(crate) async fn count_first_months(
    conn: &mut AnyConnection,
    changes: &[(&str, &str, i64)],
) -> Result<(), StatsError> {
    let mut by_commune: BTreeMap<&str, BTreeMap<&str, i64>> = BTreeMap::new();
    for (commune, month, people) in changes.iter().filter(|c| c.2 != 0) {
        *by_commune.entry(commune).or_default().entry(month).or_insert(0) += people;
    }
    let communes: Vec<&str> = by_commune.keys().copied().collect();
    let mut counts: BTreeMap<(String, String), i64> = BTreeMap::new();
    for chunk in communes.chunks(CHUNK) {
        let names = (1..=chunk.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT dim_value, month, n FROM stats_cells WHERE {LEVEL} AND dim_value IN ({names})");
        let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(chunk.len() == CHUNK);
        for c in chunk {
            q = q.bind(*c);
        }
        let mut before: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
        for r in q.fetch_all(&mut *conn).await? {
            before.entry(r.try_get(0)?).or_default().insert(r.try_get(1)?, r.try_get(2)?);
        }
        for commune in chunk {
            let old = before.remove(*commune).unwrap_or_default();
            let mut new = old.clone();
            for (month, people) in &by_commune[commune] {
                *new.entry((*month).to_owned()).or_insert(0) += people;
            }
            for (sign, cells) in [(-1, &old), (1, &new)] {
                let mut previous = String::new();
                for (month, _) in cells.iter().filter(|(_, n)| **n > 0) {
                    *counts.entry((month.clone(), previous)).or_insert(0) += sign;
                    previous = month.clone();
                }
            }
        }
    }
    let counts: Vec<((String, String), i64)> = counts.into_iter().filter(|(_, c)| *c != 0).collect();
    for chunk in counts.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO stats_first_months (month, previous, communes) VALUES {} \
             ON CONFLICT (month, previous) DO UPDATE SET communes = stats_first_months.communes + excluded.communes",
            placeholder_rows(chunk.len(), 3)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(chunk.len() == CHUNK);
        for ((month, previous), c) in chunk {
            q = q.bind(month.as_str()).bind(previous.as_str()).bind(*c);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
