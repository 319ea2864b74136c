//! The beneficiary attributes (age band, autonomy) and the tables by beneficiary attribute, under
//! statistical secrecy.

use crate::figures::ratio;
use crate::measures::{Measures, N, STARTED, USED_VALUE, USED_VOUCHERS, VOUCHERS, sum_all};
use crate::privacy::{self, Count};
use crate::table::{Cell, Table, text};
use ledger::Cents;

/// French labels of the age bands, in order.
pub(crate) const AGE_BANDS: [(&str, &str); 6] = [
    ("moins_de_25", "Moins de 25 ans"),
    ("25_39", "25 à 39 ans"),
    ("40_54", "40 à 54 ans"),
    ("55_64", "55 à 64 ans"),
    ("65_74", "65 à 74 ans"),
    ("75_et_plus", "75 ans et plus"),
];

/// French labels of the autonomy levels, in order.
pub(crate) const AUTONOMIES: [(&str, &str); 3] = [
    ("excluded", "N'utilise pas le numérique"),
    ("beginner", "Débute, a besoin d'aide"),
    ("advanced", "Se débrouille, veut progresser"),
];

pub(crate) const COHORT_NOTE: &str = "Personnes : carnets remis pendant la période (une personne par carnet) ; leur utilisation \
                           est comptée depuis la remise, quelle que soit la date des passages.";
const SECRECY_NOTE: &str = "Secret statistique : « < 5 » signale moins de 5 personnes ; « secret » masque une autre \
                            case pour que le total ne permette pas de la retrouver.";

/// One row of a table by beneficiary attribute: its label cells and cohort measures.
pub(crate) struct AttributeRow {
    pub labels: Vec<Cell>,
    pub measures: Measures,
    /// Inhabitants, for per-capita figures.
    pub population: Option<u64>,
    /// For the row « Autres … (k) » of a limited table, k: the rows it merges (0 for others).
    pub merged: u64,
}

/// Builds a table by beneficiary attribute with statistical secrecy. `listed`: rows appear only
/// because someone is in them (communes, départements), so a reader knows each counts at least
/// one person.
pub(crate) fn attribute_table(
    title: &str,
    label_columns: &[&str],
    rows: Vec<AttributeRow>,
    listed: bool,
    per_capita: bool,
) -> Table {
    let mut columns: Vec<String> = label_columns.iter().map(|c| (*c).to_owned()).collect();
    columns.extend(
        [
            "Personnes (carnets remis)",
            "Chèques remis",
            "Personnes ayant utilisé un chèque",
            "Chèques utilisés",
            "Valeur utilisée (€)",
            "Taux d'utilisation (%)",
        ]
        .map(str::to_owned),
    );
    if per_capita {
        columns.extend(
            ["Population", "Chèques remis pour 1 000 habitants", "Chèques utilisés pour 1 000 habitants"]
                .map(str::to_owned),
        );
    }
    let people: Vec<i64> = rows.iter().map(|r| r.measures[N]).collect();
    let started: Vec<i64> = rows.iter().map(|r| r.measures[STARTED]).collect();
    // What a reader knows without the count: a listed row counts someone, a merged row someone
    // in each row it merges.
    let lower: Vec<i64> =
        rows.iter().map(|r| if listed { i64::try_from(r.merged.max(1)).unwrap_or(i64::MAX) } else { 0 }).collect();
    let protected = privacy::protect(&people, &lower, &vec![false; rows.len()], false).and_then(|p| {
        let forced: Vec<bool> = p.iter().map(|c| c.shown().is_none()).collect();
        privacy::protect(&started, &vec![0; rows.len()], &forced, false).map(|s| (p, s))
    });
    let t = sum_all(rows.iter().map(|r| &r.measures));
    let mut total = vec![text("Total")];
    total.extend(label_columns.iter().skip(1).map(|_| Cell::Empty));
    total.extend([
        Cell::People(Count::Shown(t[N])),
        Cell::Int(t[VOUCHERS]),
        Cell::People(Count::Shown(t[STARTED])),
        Cell::Int(t[USED_VOUCHERS]),
        Cell::Money(Cents(t[USED_VALUE])),
        ratio(t[USED_VOUCHERS], t[VOUCHERS], 100, 1).map_or(Cell::Empty, Cell::Decimal),
    ]);
    if per_capita {
        total.extend([Cell::Empty, Cell::Empty, Cell::Empty]);
    }
    let mut notes = vec![COHORT_NOTE.to_owned(), SECRECY_NOTE.to_owned()];
    let Some((p, s)) = protected else {
        notes.push("Effectifs trop faibles : le détail n'est pas publié.".to_owned());
        return Table {
            title: title.to_owned(),
            columns,
            rows: Vec::new(),
            total: Some(total),
            notes,
            withheld: true,
            merged_rows: 0,
        };
    };
    let out = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let m = r.measures;
            let (people_shown, started_shown) = (p[i].shown().is_some(), s[i].shown().is_some());
            let or_hidden = |shown: bool, c: Cell| if shown { c } else { Cell::Hidden };
            let mut cells = r.labels;
            cells.extend([
                Cell::People(p[i]),
                or_hidden(people_shown, Cell::Int(m[VOUCHERS])),
                Cell::People(s[i]),
                or_hidden(started_shown, Cell::Int(m[USED_VOUCHERS])),
                or_hidden(started_shown, Cell::Money(Cents(m[USED_VALUE]))),
                or_hidden(
                    people_shown && started_shown,
                    ratio(m[USED_VOUCHERS], m[VOUCHERS], 100, 1).map_or(Cell::Empty, Cell::Decimal),
                ),
            ]);
            if per_capita {
                let pop = r.population.unwrap_or(0) as i64;
                cells.push(if pop > 0 { Cell::Int(pop) } else { Cell::Empty });
                cells
                    .push(or_hidden(people_shown, ratio(m[VOUCHERS], pop, 1000, 1).map_or(Cell::Empty, Cell::Decimal)));
                cells.push(or_hidden(
                    started_shown,
                    ratio(m[USED_VOUCHERS], pop, 1000, 1).map_or(Cell::Empty, Cell::Decimal),
                ));
            }
            cells
        })
        .collect();
    Table { title: title.to_owned(), columns, rows: out, total: Some(total), notes, withheld: false, merged_rows: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measures::MEASURES;

    #[test]
    fn attribute_tables_hide_small_rows_and_what_gives_them_away() {
        let row = |label: &str, people: i64, started: i64| {
            let mut m = [0; MEASURES.len()];
            (m[N], m[VOUCHERS], m[STARTED], m[USED_VOUCHERS], m[USED_VALUE]) =
                (people, people * 10, started, started * 3, started * 3000);
            AttributeRow { labels: vec![text(label)], measures: m, population: Some(1000), merged: 0 }
        };
        let t = attribute_table(
            "x",
            &["Commune"],
            vec![row("A", 2, 1), row("B", 30, 20), row("C", 8, 6), row("D", 50, 40)],
            true,
            true,
        );
        assert!(!t.withheld);
        let a = &t.rows[0];
        assert_eq!(a[1], Cell::People(Count::Suppressed));
        assert!(a[2..].iter().all(|c| matches!(c, Cell::Hidden | Cell::People(_) | Cell::Int(1000))), "{a:?}");
        // C is the next smallest: hidden so that A is not the total minus the others.
        assert_eq!(t.rows[2][1], Cell::People(Count::Secret));
        assert_eq!(t.rows[2][2], Cell::Hidden);
        assert_eq!(t.rows[1][1], Cell::People(Count::Shown(30)));
        assert_eq!(t.total.as_ref().unwrap()[1], Cell::People(Count::Shown(90)));
        let lone = attribute_table("x", &["Commune"], vec![row("A", 3, 1)], true, false);
        assert!(lone.withheld && lone.rows.is_empty());
    }
}
