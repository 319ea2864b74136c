//! Statistical secrecy against real databases, on both engines: in the tables by beneficiary
//! attribute, whole or limited to their largest rows, and in the open-data file.

mod common;
mod secrecy;

use common::*;
use issuer::books::Autonomy;
use ledger::both_engines;
use ledger::testing::TestDb;
use rust_decimal::Decimal;
use secrecy::possible_values;
use statistics::{Cell, Count, Dimension, Period, Rows, Scope, Table};
use std::collections::HashMap;

fn people(table: &Table, column: usize) -> (Vec<Count>, i64) {
    let cells = table
        .rows
        .iter()
        .map(|r| match &r[column] {
            Cell::People(c) => *c,
            other => panic!("not a count of people: {other:?}"),
        })
        .collect();
    let total = match &table.total.as_ref().unwrap()[column] {
        Cell::People(Count::Shown(n)) => *n,
        other => panic!("total: {other:?}"),
    };
    (cells, total)
}

/// Asserts that no hidden count of `truth` (by row label) can be recovered from the table. In a
/// limited table, the last row « Autres … (k) » counts the truth of every row not listed, and a
/// reader knows it counts at least k people when rows are `listed` (each counts someone).
/// `hidden_with`: how many cells after the column must be hidden with a hidden count (what these
/// people did).
fn assert_unrecoverable(
    table: &Table,
    column: usize,
    label_column: usize,
    truth: &HashMap<String, i64>,
    listed: bool,
    hidden_with: usize,
) {
    assert!(!table.withheld);
    let (cells, total) = people(table, column);
    assert_eq!(total, truth.values().sum::<i64>());
    let merged_row = (table.merged_rows > 0).then(|| table.rows.len() - 1);
    let lower: Vec<i64> = (0..cells.len())
        .map(|i| match (listed, Some(i) == merged_row) {
            (false, _) => 0,
            (true, true) => table.merged_rows as i64,
            (true, false) => 1,
        })
        .collect();
    let listed_labels: Vec<String> = table.rows.iter().map(|r| r[label_column].to_french()).collect();
    let possible = possible_values(&cells, &lower, total);
    let mut k = 0;
    for (i, (row, cell)) in table.rows.iter().zip(&cells).enumerate() {
        let label = row[label_column].to_french();
        let value = if Some(i) == merged_row {
            truth.iter().filter(|(l, _)| !listed_labels.contains(l)).map(|(_, v)| v).sum()
        } else {
            truth.get(&label).copied().unwrap_or(0)
        };
        match cell {
            Count::Shown(n) => {
                assert_eq!(*n, value, "{label}");
                assert!(*n >= 5, "{label}: {n} shown");
            }
            _ => {
                assert!(possible[k].contains(&value), "{label}: the truth must remain possible");
                if value > 0 && value < 5 {
                    assert!(possible[k].len() >= 2, "{label} = {value} recoverable: {:?}", possible[k]);
                }
                if value < 5 {
                    assert_eq!(*cell, Count::Suppressed, "{label}");
                }
                // What this row's people did is hidden with them.
                assert!(
                    row[column + 1..=column + hidden_with].iter().all(|c| !matches!(c, Cell::Int(_) | Cell::Money(_))),
                    "{row:?}"
                );
                k += 1;
            }
        }
    }
}

async fn small_counts_are_secret(t: TestDb) {
    let w = world(&t).await;
    let c = order(
        &t,
        &w,
        serde_json::json!({
            "label": "Pass", "funders": [{"funder_id": w.funders[0], "share_bps": 10000}], "books": 29,
            "vouchers_per_book": 1, "valid_from": "2026-01-01", "valid_until": "2027-12-31", "territory": ["33"],
        }),
    )
    .await;
    assign(&t, &w, c, 1, 29).await;
    // Communes with 12, 7, 4, 3, 2 and 1 people; age bands 15, 6, 4, 3, 1 (none under 25);
    // autonomy 17, 9, 3.
    let communes = [("33063", 12), ("33522", 7), ("33243", 4), ("33318", 3), ("33281", 2), ("33119", 1)];
    let ages = [("65_74", 15), ("75_et_plus", 6), ("55_64", 4), ("40_54", 3), ("25_39", 1)];
    let autonomies = [(Autonomy::Excluded, 17), (Autonomy::Beginner, 9), (Autonomy::Advanced, 3)];
    let expand =
        |list: Vec<(String, usize)>| list.into_iter().flat_map(|(v, n)| std::iter::repeat_n(v, n)).collect::<Vec<_>>();
    let commune_of = expand(communes.iter().map(|(c, n)| (c.to_string(), *n)).collect());
    let age_of = expand(ages.iter().map(|(a, n)| (a.to_string(), *n)).collect());
    let autonomy_of: Vec<Autonomy> = autonomies.iter().flat_map(|(a, n)| std::iter::repeat_n(*a, *n)).collect();
    for i in 0..29 {
        let month = if i % 2 == 0 { "2026-09-01T10:00:00Z" } else { "2026-10-01T10:00:00Z" };
        hand_over(&t, &w, c, i as u32 + 1, (&age_of[i], &commune_of[i], autonomy_of[i]), month).await;
    }
    // A few of them use their voucher.
    for n in [1u32, 2, 13, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29] {
        let code = codes(&t, c, n).await;
        redeem_at(&t, &w, 0, "DEM-ACCOMP", &code, "2026-10-20T10:00:00Z", None).await;
    }
    statistics::refresh(&t.db).await.unwrap();

    let names: HashMap<&str, &str> = [
        ("33063", "Bordeaux"),
        ("33522", "Talence"),
        ("33243", "Libourne"),
        ("33318", "Pessac"),
        ("33281", "Mérignac"),
        ("33119", "Cenon"),
    ]
    .into_iter()
    .collect();
    let by_commune = statistics::breakdown(&t.db, all(), Period::all(), Dimension::Commune, Rows::All).await.unwrap();
    let truth: HashMap<String, i64> = communes.iter().map(|(c, n)| (c.to_string(), *n as i64)).collect();
    assert_unrecoverable(&by_commune, 2, 0, &truth, true, 4);
    assert_eq!(by_commune.rows.len(), 6);
    for row in &by_commune.rows {
        assert_eq!(row[1].to_french(), names[row[0].to_french().as_str()]);
    }
    // Bordeaux: 12 people, 12 vouchers handed over for 267 991 inhabitants.
    let bordeaux = by_commune.rows.iter().find(|r| r[0].to_french() == "33063").unwrap();
    assert_eq!(bordeaux[2], Cell::People(Count::Shown(12)));
    assert_eq!(bordeaux[8], Cell::Int(267_991));
    assert_eq!(bordeaux[9], Cell::Decimal(Decimal::new(0, 1)), "12 × 1000 / 267 991 = 0,04 → 0,0");
    // Used vouchers by commune: those who used theirs.
    let used: Vec<Count> = people(&by_commune, 4).0;
    assert!(used.iter().all(|c| c.shown().is_none_or(|n| n >= 5)), "{used:?}");

    let by_age = statistics::breakdown(&t.db, all(), Period::all(), Dimension::AgeBand, Rows::All).await.unwrap();
    let truth: HashMap<String, i64> =
        [("65 à 74 ans", 15), ("75 ans et plus", 6), ("55 à 64 ans", 4), ("40 à 54 ans", 3), ("25 à 39 ans", 1)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
    assert_eq!(by_age.rows.len(), 6, "every band, « Moins de 25 ans » with nobody");
    assert_unrecoverable(&by_age, 1, 0, &truth, false, 4);
    let by_autonomy = statistics::breakdown(&t.db, all(), Period::all(), Dimension::Autonomy, Rows::All).await.unwrap();
    let truth: HashMap<String, i64> =
        [("N'utilise pas le numérique", 17), ("Débute, a besoin d'aide", 9), ("Se débrouille, veut progresser", 3)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
    assert_unrecoverable(&by_autonomy, 1, 0, &truth, false, 4);
    // 3 is hidden, so 9 goes with it: 29 − 17 would give 12 = 9 + 3 otherwise.
    assert_eq!(people(&by_autonomy, 1).0, vec![Count::Shown(17), Count::Secret, Count::Suppressed]);
    let by_dept = statistics::breakdown(&t.db, all(), Period::all(), Dimension::Departement, Rows::All).await.unwrap();
    assert_eq!(by_dept.rows.len(), 1);
    assert_eq!(by_dept.rows[0][2], Cell::People(Count::Shown(29)));
    assert_eq!(by_dept.rows[0][1], Cell::Text("Gironde".into()));

    // The open-data file: no count of people under 5 in it.
    let open = statistics::open_data(&t.db, Period::all()).await.unwrap();
    assert!(!open.rows.is_empty());
    for row in &open.rows {
        match &row[4] {
            Cell::People(Count::Shown(n)) => assert!(*n >= 5, "{row:?}"),
            Cell::People(_) => assert!(row[5..].iter().all(|c| *c == Cell::Hidden), "{row:?}"),
            other => panic!("{other:?}"),
        }
    }
    // Each month's cells: the month total is public, nothing hidden can be recovered from it.
    let month_totals = statistics::breakdown(&t.db, all(), Period::all(), Dimension::Month, Rows::All).await.unwrap();
    for (label, m) in [("septembre 2026", "2026-09"), ("octobre 2026", "2026-10")] {
        let total = match month_totals.rows.iter().find(|r| r[0].to_french() == label).unwrap()[1] {
            Cell::Int(n) => n,
            _ => unreachable!(),
        };
        let cells: Vec<Count> = open
            .rows
            .iter()
            .filter(|r| r[0].to_french() == m)
            .map(|r| match r[4] {
                Cell::People(c) => c,
                _ => unreachable!(),
            })
            .collect();
        // Left-out rows are unknown to the reader: one more hidden cell, from 0 up.
        let listed: i64 = cells.iter().filter_map(|c| c.shown()).sum();
        let hidden = cells.iter().filter(|c| c.shown().is_none()).count();
        assert!(hidden == 0 && listed == total || hidden >= 2 || listed < total, "{m}: {cells:?} of {total}");
    }
    let csv = String::from_utf8(open.to_csv()).unwrap();
    assert!(csv.starts_with("\u{feff}mois;code_insee;commune;departement;personnes;"), "{csv}");
}

/// The long tables limited to their largest rows: the database keeps the largest, one row merges
/// the others, the total is that of the whole table, and secrecy holds as in the whole table.
async fn limited_tables_keep_the_total_and_the_secret(t: TestDb) {
    let w = world(&t).await;
    // People by commune, and how many of them used their voucher.
    let communes = [
        ("33063", 14, 8),
        ("33522", 9, 3),
        ("33243", 7, 6),
        ("33318", 6, 2),
        ("33281", 5, 4),
        ("33119", 2, 1),
        ("33039", 1, 0),
    ];
    let books: u32 = communes.iter().map(|c| c.1).sum();
    let c = order(
        &t,
        &w,
        serde_json::json!({
            "label": "Pass", "funders": [{"funder_id": w.funders[0], "share_bps": 10000}], "books": books,
            "vouchers_per_book": 1, "valid_from": "2026-01-01", "valid_until": "2027-12-31", "territory": ["33"],
        }),
    )
    .await;
    assign(&t, &w, c, 1, books).await;
    let mut n = 0;
    let mut passages = 0;
    for (commune, people, started) in communes {
        for i in 0..people {
            n += 1;
            hand_over(&t, &w, c, n, ("65_74", commune, Autonomy::Beginner), "2026-09-01T10:00:00Z").await;
            if i < started {
                // Two passages at Talence for one at Bordeaux.
                let site = usize::from(passages % 3 == 2);
                redeem_at(&t, &w, site, "DEM-ACCOMP", &codes(&t, c, n).await, "2026-10-20T10:00:00Z", None).await;
                passages += 1;
            }
        }
    }
    statistics::refresh(&t.db).await.unwrap();
    let table = |d: Dimension, rows: Rows| statistics::breakdown(&t.db, all(), Period::all(), d, rows);
    let text = |cell: &Cell| cell.to_french();

    // By commune: the whole table, then the 3 largest and « Autres communes (4) ».
    let full = table(Dimension::Commune, Rows::All).await.unwrap();
    assert_eq!((full.rows.len(), full.merged_rows), (7, 0));
    let top3 = table(Dimension::Commune, Rows::Top(3)).await.unwrap();
    let labels: Vec<String> = top3.rows.iter().map(|r| text(&r[0])).collect();
    assert_eq!(labels, ["33063", "33522", "33243", "Autres communes (4)"], "largest first");
    assert_eq!(top3.rows[0][1], Cell::Text("Bordeaux".into()));
    assert_eq!(top3.merged_rows, 4);
    assert_eq!(top3.total, full.total, "the total of the whole table");
    assert_eq!(top3.columns, full.columns);
    let others = &top3.rows[3];
    // 6 + 5 + 2 + 1 people with one voucher each, 2 + 4 + 1 + 0 of them used it.
    assert_eq!(
        others[2..6],
        [Cell::People(Count::Shown(14)), Cell::Int(14), Cell::People(Count::Shown(7)), Cell::Int(7)]
    );
    assert_eq!(others[8..], [Cell::Empty, Cell::Empty, Cell::Empty], "no population for merged communes");
    // Each kept row is the whole table's (what secrecy hides may differ: other rows around).
    for row in &top3.rows[..3] {
        assert!(full.rows.iter().any(|r| r[..4] == row[..4]), "{row:?}");
    }
    assert!(top3.notes.iter().any(|n| n.contains("3 ligne(s) détaillée(s)") && n.contains("Autres communes (4)")));

    // Secrecy: the people who used a voucher are hidden where fewer than 5, in the limited table
    // as in the whole one, and nothing hidden can be recovered.
    let people_truth: HashMap<String, i64> = communes.iter().map(|c| (c.0.to_owned(), i64::from(c.1))).collect();
    let started_truth: HashMap<String, i64> = communes.iter().map(|c| (c.0.to_owned(), i64::from(c.2))).collect();
    for limited in [&full, &top3] {
        assert_unrecoverable(limited, 2, 0, &people_truth, true, 4);
        assert_unrecoverable(limited, 4, 0, &started_truth, false, 2);
    }
    assert!(people(&top3, 4).0.iter().any(|c| c.shown().is_none()), "something to protect: {:?}", top3.rows);

    // With room for 10 rows: only rows of 5 people or more are kept, and the smallest of them
    // goes with the others, which would count fewer than 5 people (2 + 1).
    let top10 = table(Dimension::Commune, Rows::Top(10)).await.unwrap();
    let labels: Vec<String> = top10.rows.iter().map(|r| text(&r[0])).collect();
    assert_eq!(labels, ["33063", "33522", "33243", "33318", "Autres communes (3)"]);
    assert_eq!(top10.rows[4][2], Cell::People(Count::Shown(8)));
    assert_eq!(top10.total, full.total);
    assert_unrecoverable(&top10, 2, 0, &people_truth, true, 4);
    assert_unrecoverable(&top10, 4, 0, &started_truth, false, 2);
    // Every row of 5 people or more: nothing left out, no merged row.
    let departements = table(Dimension::Departement, Rows::Top(10)).await.unwrap();
    assert_eq!(departements, table(Dimension::Departement, Rows::All).await.unwrap());
    // Other tables are always whole.
    assert_eq!(
        table(Dimension::AgeBand, Rows::Top(1)).await.unwrap(),
        table(Dimension::AgeBand, Rows::All).await.unwrap()
    );
    assert_eq!(table(Dimension::Month, Rows::Top(1)).await.unwrap(), table(Dimension::Month, Rows::All).await.unwrap());

    // By site (no secrecy): the merged row is the row left out, cell for cell.
    let sites = table(Dimension::Site, Rows::All).await.unwrap();
    assert_eq!(sites.rows.len(), 2);
    let top1 = table(Dimension::Site, Rows::Top(1)).await.unwrap();
    assert_eq!(top1.rows.len(), 2);
    assert_eq!(top1.rows[0][0], Cell::Text("Médiathèque de Talence".into()), "16 passages out of 24");
    assert_eq!(top1.rows[0][1], Cell::Int(16));
    assert_eq!(top1.rows[1][0], Cell::Text("Autres lieux (1)".into()));
    let bordeaux = sites.rows.iter().find(|r| r[0] != top1.rows[0][0]).unwrap();
    assert_eq!(top1.rows[1][1..], bordeaux[1..]);
    assert_eq!(top1.total, sites.total);
    assert_eq!(top1.merged_rows, 1);
    // Nothing kept: one row, the total.
    let none = table(Dimension::Site, Rows::Top(0)).await.unwrap();
    assert_eq!(none.rows.len(), 1);
    assert_eq!(none.rows[0][0], Cell::Text("Autres lieux (2)".into()));
    assert_eq!(none.rows[0][1..], none.total.as_ref().unwrap()[1..]);
    // A funder's limited table reads its own orders only: the CAF funds nothing here.
    let caf =
        statistics::breakdown(&t.db, Scope::Funder { id: w.funders[1] }, Period::all(), Dimension::Site, Rows::Top(1))
            .await
            .unwrap();
    assert!(caf.rows.is_empty() && caf.merged_rows == 0, "{caf:?}");
    let gironde = statistics::breakdown(
        &t.db,
        Scope::Funder { id: w.funders[0] },
        Period::all(),
        Dimension::Commune,
        Rows::Top(3),
    )
    .await
    .unwrap();
    assert_eq!(gironde.rows, top3.rows);
}

both_engines!(small_counts_are_secret, limited_tables_keep_the_total_and_the_secret);
