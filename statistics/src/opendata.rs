//! The open-data file: books handed over and vouchers used, by month and commune of residence,
//! for everyone (docs/open-data.md).
//!
//! Each published total can be subtracted from: the month's total (the monthly table) and the
//! commune's total over the file's period (the table by commune). Cells are therefore protected
//! along both: « < 5 » below the threshold, « secret » for the cells hidden so that no hidden
//! value can be recovered in its month or its commune, and the rows of a month or a commune that
//! cannot be protected at all are left out, until nothing changes.

use crate::cohort::departement_of;
use crate::error::StatsError;
use crate::measures::{MEASURES, Measures, N, USED_VALUE, USED_VOUCHERS, VOUCHERS, dims, metrics};
use crate::period::{Month, Period};
use crate::privacy::{self, Count};
use crate::table::{Cell, Table};
use ledger::{Cents, Db};
use sqlx::Row;
use std::collections::BTreeMap;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Shown,
    Suppressed,
    Secret,
    Omitted,
}

/// Protects the grid along months and communes; returns the state of each cell.
fn protect_grid(cells: &[(String, String, i64)]) -> Vec<State> {
    let mut state: Vec<State> =
        cells.iter().map(|c| if c.2 < privacy::THRESHOLD { State::Suppressed } else { State::Shown }).collect();
    let mut groups: BTreeMap<(u8, &str), Vec<usize>> = BTreeMap::new();
    for (i, (month, commune, _)) in cells.iter().enumerate() {
        groups.entry((0, month.as_str())).or_default().push(i);
        groups.entry((1, commune.as_str())).or_default().push(i);
    }
    loop {
        let before = state.clone();
        for members in groups.values() {
            let values: Vec<i64> = members.iter().map(|&i| cells[i].2).collect();
            // Listed cells count at least one person; left-out ones may be empty.
            let lower: Vec<i64> = members.iter().map(|&i| i64::from(state[i] != State::Omitted)).collect();
            let forced: Vec<bool> = members.iter().map(|&i| state[i] != State::Shown).collect();
            match privacy::protect(&values, &lower, &forced, true) {
                Some(out) => {
                    for (&i, c) in members.iter().zip(out) {
                        if state[i] == State::Shown && c == Count::Secret {
                            state[i] = State::Secret;
                        }
                    }
                }
                None => {
                    for &i in members {
                        state[i] = State::Omitted;
                    }
                }
            }
        }
        if state == before {
            return state;
        }
    }
}

/// Books handed over (one per person) and vouchers used since, by month of hand-over and commune
/// of residence, for everyone, under statistical secrecy in both directions. Rows in month then
/// INSEE code order; columns: month, INSEE code, commune, département, people, vouchers handed
/// over, vouchers used, value used.
pub async fn open_data(db: &Db, period: Period) -> Result<Table, StatsError> {
    let (from, to) = period.keys();
    let sql = format!(
        "SELECT month, dim_value, {} FROM stats_cells WHERE metric = $1 AND dim = $2 AND order_id = 0 AND site_id = 0 \
         AND month >= $3 AND month <= $4 GROUP BY month, dim_value ORDER BY month, dim_value",
        MEASURES.iter().map(|m| format!("COALESCE(CAST(SUM({m}) AS BIGINT), 0)")).collect::<Vec<_>>().join(", ")
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(metrics::COHORT)
        .bind(dims::COMMUNE)
        .bind(from)
        .bind(to)
        .fetch_all(db.pool())
        .await?;
    let mut data: Vec<(String, String, Measures)> = Vec::with_capacity(rows.len());
    for r in rows {
        let mut m = [0; MEASURES.len()];
        for (i, v) in m.iter_mut().enumerate() {
            *v = r.try_get(i + 2)?;
        }
        if m[N] > 0 {
            data.push((r.try_get(0)?, r.try_get(1)?, m));
        }
    }
    let grid: Vec<(String, String, i64)> = data.iter().map(|(mo, c, m)| (mo.clone(), c.clone(), m[N])).collect();
    let states = protect_grid(&grid);
    let mut out = Vec::new();
    for ((month, commune, m), state) in data.iter().zip(states) {
        let people = match state {
            State::Omitted => continue,
            State::Shown => Count::Shown(m[N]),
            State::Suppressed => Count::Suppressed,
            State::Secret => Count::Secret,
        };
        let shown = state == State::Shown;
        let c = issuer::territory::commune(commune);
        out.push(vec![
            Cell::Text(month.parse::<Month>().map_or_else(|_| month.clone(), |m| m.to_string())),
            Cell::Text(commune.clone()),
            Cell::Text(c.map_or_else(String::new, |c| c.name.clone())),
            Cell::Text(departement_of(commune)),
            Cell::People(people),
            if shown { Cell::Int(m[VOUCHERS]) } else { Cell::Hidden },
            if shown { Cell::Int(m[USED_VOUCHERS]) } else { Cell::Hidden },
            if shown { Cell::Money(Cents(m[USED_VALUE])) } else { Cell::Hidden },
        ]);
    }
    Ok(Table {
        title: "Chèques de médiation numérique remis et utilisés, par mois et commune de résidence".to_owned(),
        columns: [
            "mois",
            "code_insee",
            "commune",
            "departement",
            "personnes",
            "cheques_remis",
            "cheques_utilises",
            "valeur_utilisee_euros",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows: out,
        total: None,
        notes: vec![
            "Mois de remise du carnet (heure de Paris) ; chèques utilisés depuis la remise.".to_owned(),
            "Secret statistique : « < 5 » moins de 5 personnes ; « secret » case masquée pour protéger une autre ; \
             lignes absentes : mois ou commune qui ne pouvait être protégé autrement."
                .to_owned(),
        ],
        withheld: false,
        merged_rows: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(m: &str, c: &str, n: i64) -> (String, String, i64) {
        (m.to_owned(), c.to_owned(), n)
    }

    #[test]
    fn both_directions_are_protected() {
        // Month 1: A 3, B 20, C 9. Month 2: A 12, B 30.
        let grid =
            vec![cell("1", "A", 3), cell("1", "B", 20), cell("1", "C", 9), cell("2", "A", 12), cell("2", "B", 30)];
        let s = protect_grid(&grid);
        // Month 1: A is under 5, so C (the next smallest) is hidden with it. Commune A's total
        // would then give its month 1 back from month 2: A's month 2 is hidden, then B's month 2
        // (alone hidden in month 2), then B's month 1 (alone hidden in commune B). Commune C has
        // one cell, which its total gives away: it is left out.
        assert_eq!(s, vec![State::Suppressed, State::Secret, State::Omitted, State::Secret, State::Secret]);
    }

    #[test]
    fn a_commune_with_one_small_month_is_left_out() {
        let grid = vec![cell("1", "A", 3), cell("1", "B", 20), cell("1", "C", 20)];
        let s = protect_grid(&grid);
        assert_eq!(s[0], State::Omitted, "A's period total is 3 and A has one month");
    }
}
