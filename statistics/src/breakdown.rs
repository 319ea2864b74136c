//! The breakdown tables of a scope over a period ([`breakdown`]), one per [`Dimension`].

use crate::attributes::{AGE_BANDS, AUTONOMIES, AttributeRow, COHORT_NOTE, attribute_table};
use crate::dimension::{Dimension, Rows};
use crate::error::StatsError;
use crate::figures::{delays, first_use, ratio};
use crate::measures::{
    ACTIVITY, COHORT, MINUTES, Measures, N, STARTED, USED_VOUCHERS, VALUE, VOUCHERS, dims, metrics, minus, sum_all,
};
use crate::period::{Month, Period};
use crate::privacy;
use crate::ranking;
use crate::scope::Scope;
use crate::sums::{Group, largest, sums};
use crate::table::{Cell, Table, text};
use ledger::{Cents, Db};
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use std::collections::{BTreeMap, HashMap};

fn hours(minutes: i64) -> Cell {
    Cell::Decimal(ratio(minutes, 60, 1, 1).unwrap_or_default())
}

async fn names(conn: &mut AnyConnection, ids: impl Iterator<Item = i64>) -> Result<HashMap<i64, String>, StatsError> {
    let ids: Vec<String> = ids.map(|i| i.to_string()).collect();
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows =
            sqlx::query(AssertSqlSafe(format!("SELECT id, name FROM organisations WHERE id IN ({})", chunk.join(","))))
                .persistent(false)
                .fetch_all(&mut *conn)
                .await?;
        for r in rows {
            out.insert(r.try_get(0)?, r.try_get(1)?);
        }
    }
    Ok(out)
}

const ACTIVITY_COLUMNS: [&str; 4] = ["Passages", "Chèques utilisés", "Valeur utilisée (€)", "Heures de médiation"];

fn activity(m: &Measures) -> [Cell; 4] {
    [Cell::Int(m[N]), Cell::Int(m[VOUCHERS]), Cell::Money(Cents(m[VALUE])), hours(m[MINUTES])]
}

/// One breakdown table of `scope` over `period`: every row, or for a long table
/// ([`Dimension::is_long`]) only its largest ones ([`Rows::Top`]; other tables ignore it). Tables
/// by beneficiary attribute ([`Dimension::is_beneficiary_attribute`]) are under statistical
/// secrecy; every table's total equals the matching headline figure of
/// [`figures`](crate::figures::figures), limited or not.
pub async fn breakdown(
    db: &Db,
    scope: Scope,
    period: Period,
    dimension: Dimension,
    rows: Rows,
) -> Result<Table, StatsError> {
    let mut conn = db.pool().acquire().await?;
    let conn = &mut *conn;
    let title = dimension.title();
    let limit = match rows {
        Rows::Top(n) if dimension.is_long() => Some(n),
        _ => None,
    };
    let simple = |columns: Vec<String>, rows: Vec<Vec<Cell>>, total: Vec<Cell>, notes: Vec<String>| Table {
        title: title.to_owned(),
        columns,
        rows,
        total: Some(total),
        notes,
        withheld: false,
        merged_rows: 0,
    };
    let redemption_note =
        "Passages : services rendus pendant la période ; heures : durée prévue au catalogue.".to_owned();
    Ok(match dimension {
        Dimension::Month => {
            let redeemed = sums(conn, metrics::REDEEMED, dims::TOTAL, scope, period, Group::Month, &ACTIVITY).await?;
            let cohort = sums(conn, metrics::COHORT, dims::TOTAL, scope, period, Group::Month, &[N, VOUCHERS]).await?;
            let mut months: BTreeMap<String, (Measures, Measures)> = BTreeMap::new();
            for (k, m) in redeemed {
                months.entry(k).or_default().0 = m;
            }
            for (k, m) in cohort {
                months.entry(k).or_default().1 = m;
            }
            let row = |label: Cell, r: &Measures, c: &Measures| {
                let mut cells = vec![label, Cell::Int(c[N]), Cell::Int(c[VOUCHERS])];
                cells.extend(activity(r));
                cells
            };
            let rows = months
                .iter()
                .filter(|(_, (r, c))| r.iter().chain(c.iter()).any(|v| *v != 0))
                .map(|(k, (r, c))| row(text(k.parse::<Month>().map_or_else(|_| k.clone(), |m| m.label())), r, c))
                .collect();
            let total =
                row(text("Total"), &sum_all(months.values().map(|v| &v.0)), &sum_all(months.values().map(|v| &v.1)));
            let mut columns = vec!["Mois".to_owned(), "Carnets remis".to_owned(), "Chèques remis".to_owned()];
            columns.extend(ACTIVITY_COLUMNS.map(str::to_owned));
            simple(columns, rows, total, vec![redemption_note, "Carnets remis : dans le mois de la remise.".to_owned()])
        }
        Dimension::Site => {
            // Sites with at least one passage: the largest first when limited, else all of them.
            let (found, rest) = match limit {
                Some(n) => {
                    let top =
                        largest(conn, metrics::REDEEMED, dims::TOTAL, scope, period, Group::Site, &ACTIVITY, N, n)
                            .await?;
                    let rest = minus(&top.totals, top.rows.iter().map(|r| &r.1));
                    let merged = top.groups.saturating_sub(top.rows.len() as u64);
                    (top.rows, (merged > 0).then_some((merged, rest)))
                }
                None => {
                    let all = sums(conn, metrics::REDEEMED, dims::TOTAL, scope, period, Group::Site, &ACTIVITY).await?;
                    (all.into_iter().filter(|(_, m)| m[N] > 0).collect(), None)
                }
            };
            let parsed: Vec<(i64, Measures)> =
                found.into_iter().filter_map(|(k, m)| Some((k.parse().ok()?, m))).collect();
            let names = names(conn, parsed.iter().map(|(id, _)| *id)).await?;
            let mut rows: Vec<(String, Vec<Cell>)> = parsed
                .iter()
                .map(|(id, m)| {
                    let name = names.get(id).cloned().unwrap_or_else(|| format!("Lieu n°{id}"));
                    let mut cells = vec![text(name.clone())];
                    cells.extend(activity(m));
                    (name, cells)
                })
                .collect();
            if limit.is_none() {
                rows.sort_by(|a, b| a.0.cmp(&b.0));
            }
            let mut rows: Vec<Vec<Cell>> = rows.into_iter().map(|r| r.1).collect();
            let mut notes = vec![redemption_note];
            let mut merged_rows = 0;
            if let Some((merged, rest)) = rest {
                let mut cells = vec![text(format!("Autres lieux ({merged})"))];
                cells.extend(activity(&rest));
                rows.push(cells);
                notes.push(limited_note(rows.len() - 1, merged, &LIEUX));
                merged_rows = merged;
            }
            let mut total = vec![text("Total")];
            total.extend(activity(&sum_all(parsed.iter().map(|p| &p.1).chain(rest.iter().map(|r| &r.1)))));
            let mut columns = vec!["Lieu".to_owned()];
            columns.extend(ACTIVITY_COLUMNS.map(str::to_owned));
            Table { merged_rows, ..simple(columns, rows, total, notes) }
        }
        Dimension::Service | Dimension::Category => {
            let dim = if dimension == Dimension::Service { dims::SERVICE } else { dims::CATEGORY };
            let redeemed = sums(conn, metrics::REDEEMED, dim, scope, period, Group::DimValue, &ACTIVITY).await?;
            let labels: HashMap<String, (String, String)> = if dimension == Dimension::Service {
                let rows =
                    sqlx::query("SELECT code, label, category FROM catalogue_services").fetch_all(&mut *conn).await?;
                let mut out = HashMap::new();
                for r in rows {
                    let category: String = r.try_get(2)?;
                    out.insert(r.try_get(0)?, (r.try_get(1)?, category_label(&category)));
                }
                out
            } else {
                HashMap::new()
            };
            let mut rows: Vec<Vec<Cell>> = redeemed
                .iter()
                .filter(|(_, m)| m.iter().any(|v| *v != 0))
                .map(|(k, m)| {
                    let mut cells = if dimension == Dimension::Service {
                        let (label, category) = labels.get(k).cloned().unwrap_or_else(|| (k.clone(), String::new()));
                        vec![text(k.clone()), text(label), text(category)]
                    } else {
                        vec![text(category_label(k))]
                    };
                    cells.extend(activity(m));
                    cells
                })
                .collect();
            rows.sort_by_key(|r| r.first().map(Cell::to_french));
            let mut columns: Vec<String> = if dimension == Dimension::Service {
                vec!["Code".into(), "Service".into(), "Catégorie".into()]
            } else {
                vec!["Catégorie".into()]
            };
            let mut total = vec![text("Total")];
            total.extend(columns.iter().skip(1).map(|_| Cell::Empty));
            total.extend(activity(&sum_all(redeemed.iter().map(|r| &r.1))));
            columns.extend(ACTIVITY_COLUMNS.map(str::to_owned));
            simple(columns, rows, total, vec![redemption_note])
        }
        Dimension::Prescriber => {
            let cohort = sums(conn, metrics::COHORT, dims::PRESCRIBER, scope, period, Group::DimValue, &COHORT).await?;
            let redeemed =
                sums(conn, metrics::REDEEMED, dims::PRESCRIBER, scope, period, Group::DimValue, &ACTIVITY).await?;
            let mut by: BTreeMap<String, (Measures, Measures)> = BTreeMap::new();
            for (k, m) in cohort {
                by.entry(k).or_default().0 = m;
            }
            for (k, m) in redeemed {
                by.entry(k).or_default().1 = m;
            }
            let names = names(conn, by.keys().filter_map(|k| k.parse().ok())).await?;
            let row = |label: Cell, c: &Measures, r: &Measures| {
                let mut cells = vec![
                    label,
                    Cell::Int(c[N]),
                    Cell::Int(c[STARTED]),
                    ratio(c[USED_VOUCHERS], c[VOUCHERS], 100, 1).map_or(Cell::Empty, Cell::Decimal),
                ];
                cells.extend(activity(r));
                cells
            };
            let mut rows: Vec<(String, Vec<Cell>)> = by
                .iter()
                .filter(|(_, (c, r))| c.iter().chain(r.iter()).any(|v| *v != 0))
                .map(|(k, (c, r))| {
                    let name = k
                        .parse::<i64>()
                        .ok()
                        .and_then(|id| names.get(&id).cloned())
                        .unwrap_or_else(|| "Sans prescripteur".to_owned());
                    (name.clone(), row(text(name), c, r))
                })
                .collect();
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            let total = row(text("Total"), &sum_all(by.values().map(|v| &v.0)), &sum_all(by.values().map(|v| &v.1)));
            let mut columns = vec![
                "Prescripteur".to_owned(),
                "Carnets remis".to_owned(),
                "Carnets utilisés".to_owned(),
                "Taux d'utilisation (%)".to_owned(),
            ];
            columns.extend(ACTIVITY_COLUMNS.map(str::to_owned));
            simple(
                columns,
                rows.into_iter().map(|r| r.1).collect(),
                total,
                vec![COHORT_NOTE.to_owned(), redemption_note],
            )
        }
        Dimension::FirstUseDelay => {
            let hist = delays(conn, scope, period).await?;
            let fu = first_use(&hist);
            let rows = fu.buckets.iter().map(|b| vec![text(b.label.clone()), Cell::Int(b.books)]).collect();
            let total = vec![text("Total"), Cell::Int(hist.values().sum())];
            let mut notes = vec![COHORT_NOTE.to_owned()];
            if let Some(m) = fu.median_days {
                notes.push(format!("Délai médian : {m} jour(s)."));
            }
            simple(vec!["Délai".into(), "Carnets".into()], rows, total, notes)
        }
        Dimension::AgeBand | Dimension::Autonomy => {
            let (dim, list, heading) = if dimension == Dimension::AgeBand {
                (dims::AGE_BAND, &AGE_BANDS[..], "Tranche d'âge")
            } else {
                (dims::AUTONOMY, &AUTONOMIES[..], "Autonomie")
            };
            let found: HashMap<String, Measures> =
                sums(conn, metrics::COHORT, dim, scope, period, Group::DimValue, &COHORT).await?.into_iter().collect();
            // Every level is listed, with someone or not.
            let mut rows: Vec<AttributeRow> = list
                .iter()
                .map(|(code, label)| AttributeRow {
                    labels: vec![text(*label)],
                    measures: found.get(*code).copied().unwrap_or_default(),
                    population: None,
                    merged: 0,
                })
                .collect();
            let other = sum_all(found.iter().filter(|(k, _)| !list.iter().any(|(c, _)| c == k)).map(|(_, m)| m));
            if other[N] != 0 {
                rows.push(AttributeRow {
                    labels: vec![text("Non renseigné")],
                    measures: other,
                    population: None,
                    merged: 0,
                });
            }
            attribute_table(title, &[heading], rows, false, false)
        }
        Dimension::Commune | Dimension::Departement => {
            let commune = dimension == Dimension::Commune;
            let dim = if commune { dims::COMMUNE } else { dims::DEPARTEMENT };
            // Places with at least one person: the largest first when limited, else all of them.
            let (found, rest) = match limit {
                Some(n) => {
                    // The operator's table by commune: too many communes to group them all.
                    let ranked = if commune && scope == (Scope::Operator { funder: None }) {
                        ranking::largest_communes(conn, period, &COHORT, n).await?
                    } else {
                        None
                    };
                    let top = match ranked {
                        Some(top) => top,
                        None => {
                            largest(conn, metrics::COHORT, dim, scope, period, Group::DimValue, &COHORT, N, n).await?
                        }
                    };
                    // Rows under the threshold (they come last) go with the others; so does the
                    // smallest kept row if the others would count fewer than 5 people, so that the
                    // merged row is no small count either.
                    let mut kept: Vec<(String, Measures)> =
                        top.rows.into_iter().take_while(|(_, m)| m[N] >= privacy::THRESHOLD).collect();
                    let mut merged = top.groups.saturating_sub(kept.len() as u64);
                    let mut rest = minus(&top.totals, kept.iter().map(|r| &r.1));
                    if merged > 0
                        && rest[N] < privacy::THRESHOLD
                        && let Some((_, smallest)) = kept.pop()
                    {
                        merged += 1;
                        rest = sum_all([&rest, &smallest].into_iter());
                    }
                    (kept, (merged > 0).then_some((merged, rest)))
                }
                None => {
                    let all = sums(conn, metrics::COHORT, dim, scope, period, Group::DimValue, &COHORT).await?;
                    (all.into_iter().filter(|(_, m)| m[N] > 0).collect(), None)
                }
            };
            let mut rows: Vec<AttributeRow> = found
                .into_iter()
                .map(|(code, m)| {
                    let (name, population) = if commune {
                        issuer::territory::commune(&code)
                            .map_or((String::new(), None), |c| (c.name.clone(), Some(u64::from(c.population))))
                    } else {
                        let name = issuer::territory::departement(&code).map_or_else(String::new, |d| d.name.clone());
                        (name, Some(issuer::territory::departement_population(&code)))
                    };
                    AttributeRow { labels: vec![text(code), text(name)], measures: m, population, merged: 0 }
                })
                .collect();
            if limit.is_none() {
                rows.sort_by_key(|r| r.labels.first().map(Cell::to_french));
            }
            let words = if commune { &COMMUNES } else { &DEPARTEMENTS };
            let kept = rows.len();
            if let Some((merged, rest)) = rest {
                rows.push(AttributeRow {
                    labels: vec![text(format!("Autres {} ({merged})", words.plural)), Cell::Empty],
                    measures: rest,
                    population: None,
                    merged,
                });
            }
            let headings: [&str; 2] = if commune { ["Code INSEE", "Commune"] } else { ["Code", "Département"] };
            let mut t = attribute_table(title, &headings, rows, true, true);
            // A withheld table tells nothing of its rows, not even how many were merged.
            if let Some((merged, _)) = rest.filter(|_| !t.withheld) {
                t.notes.push(limited_note(kept, merged, words));
                t.merged_rows = merged;
            }
            t
        }
    })
}

/// How the rows of a long table are named in its notes.
struct Words {
    /// « communes », « départements », « lieux »
    plural: &'static str,
    /// Which rows are kept.
    largest: &'static str,
}

const COMMUNES: Words = Words { plural: "communes", largest: "comptant le plus de personnes (5 au moins)" };
const DEPARTEMENTS: Words = Words { plural: "départements", largest: "comptant le plus de personnes (5 au moins)" };
const LIEUX: Words = Words { plural: "lieux", largest: "ayant le plus de passages" };

/// The note of a limited table: what was kept, in which order, and what the last row merges.
fn limited_note(kept: usize, merged: u64, w: &Words) -> String {
    format!(
        "{kept} ligne(s) détaillée(s) : les {plural} {largest}, par ordre décroissant ; « Autres {plural} \
         ({merged}) » additionne les {merged} autres, et le total est inchangé.",
        plural = w.plural,
        largest = w.largest
    )
}

/// French label of a service category slug.
fn category_label(slug: &str) -> String {
    issuer::category::Category::from_slug(slug).map_or_else(|| slug.to_owned(), |c| c.label().to_owned())
}
