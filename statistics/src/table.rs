//! Breakdown tables and their CSV form for French spreadsheets (UTF-8 with a byte order mark,
//! `;` between fields, decimal comma, CRLF line ends).

use crate::privacy::Count;
use ledger::Cents;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One cell of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Cell {
    /// A label (name, code, month).
    Text(String),
    /// A count that is never secret (vouchers, passages, books of a prescriber…).
    Int(i64),
    /// A number of people, under statistical secrecy in breakdowns by beneficiary attributes.
    People(Count),
    /// An amount of money.
    Money(Cents),
    /// A rate, a per-capita figure or hours, already rounded.
    Decimal(Decimal),
    /// A figure hidden because it would tell about a hidden count of people: shown « secret ».
    Hidden,
    /// Nothing to show (e.g. a rate over nothing).
    Empty,
}

impl Cell {
    /// The cell as written in a French spreadsheet.
    pub fn to_french(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::People(c) => c.to_string(),
            Cell::Money(c) => money(*c),
            Cell::Decimal(d) => d.to_string().replace('.', ","),
            Cell::Hidden => Count::Secret.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

/// Euros with a decimal comma and no thousands separator, e.g. `1234,50`, `-0,05`.
pub fn money(c: Cents) -> String {
    let sign = if c.0 < 0 { "-" } else { "" };
    let abs = c.0.unsigned_abs();
    format!("{sign}{},{:02}", abs / 100, abs % 100)
}

/// A breakdown table: columns, rows and, when it can be published, the total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// French title, e.g. « Par tranche d'âge ».
    pub title: String,
    /// Column headings, in French.
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// The total row (its first cell reads « Total »).
    pub total: Option<Vec<Cell>>,
    /// Method notes for the reader, in French (secrecy, period semantics).
    pub notes: Vec<String>,
    /// True when the rows were withheld because their counts were too small to publish.
    pub withheld: bool,
    /// How many rows of the whole table the last row (« Autres communes (k) »…) merges when only
    /// the largest were asked for (`Rows::Top`); 0 when the table has every row.
    #[serde(default)]
    pub merged_rows: u64,
}

impl Table {
    /// The table as a CSV file that opens correctly in a French spreadsheet: UTF-8 with BOM,
    /// `;` separator, decimal comma, CRLF. Text that a spreadsheet would run as a formula
    /// (starting with `=`, `+`, `-`, `@`) is prefixed with an apostrophe.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = Vec::from(&b"\xEF\xBB\xBF"[..]);
        {
            let mut w = csv::WriterBuilder::new()
                .delimiter(b';')
                .terminator(csv::Terminator::CRLF)
                .flexible(true)
                .from_writer(&mut out);
            // Writing to memory cannot fail; a failure would only lose the line.
            let _ = w.write_record(self.columns.iter().map(|c| guard(c)));
            for row in self.rows.iter().chain(self.total.iter()) {
                let _ = w.write_record(row.iter().map(|c| match c {
                    Cell::Text(s) => guard(s),
                    other => other.to_french(),
                }));
            }
            let _ = w.flush();
        }
        out
    }
}

fn guard(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() }
}

/// A text cell.
pub(crate) fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_for_french_spreadsheets() {
        let t = Table {
            title: "Par lieu".into(),
            columns: vec!["Lieu".into(), "Passages".into(), "Valeur (€)".into(), "Taux (%)".into(), "Personnes".into()],
            rows: vec![
                vec![
                    Cell::Text("Médiathèque « Le Phare » ; Talence".into()),
                    Cell::Int(3),
                    Cell::Money(Cents(1250)),
                    Cell::Decimal(Decimal::new(125, 1)),
                    Cell::People(Count::Suppressed),
                ],
                vec![
                    Cell::Text("=HYPERLINK(\"x\")".into()),
                    Cell::Int(12),
                    Cell::Money(Cents(5)),
                    Cell::Empty,
                    Cell::Hidden,
                ],
            ],
            total: Some(vec![
                Cell::Text("Total".into()),
                Cell::Int(15),
                Cell::Money(Cents(1255)),
                Cell::Empty,
                Cell::People(Count::Shown(9)),
            ]),
            notes: vec![],
            withheld: false,
            merged_rows: 0,
        };
        let csv = t.to_csv();
        assert!(csv.starts_with(b"\xEF\xBB\xBF"), "UTF-8 byte order mark");
        let text = std::str::from_utf8(&csv[3..]).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), 5, "{text:?}");
        assert_eq!(lines[0], "Lieu;Passages;Valeur (€);Taux (%);Personnes");
        assert_eq!(lines[1], "\"Médiathèque « Le Phare » ; Talence\";3;12,50;12,5;< 5");
        assert_eq!(lines[2], "\"'=HYPERLINK(\"\"x\"\")\";12;0,05;;secret");
        assert_eq!(lines[3], "Total;15;12,55;;9");
        assert_eq!(lines[4], "");
        assert!(!text.replace("\r\n", "").contains('\n'), "CRLF only");
    }

    #[test]
    fn money_has_a_decimal_comma() {
        assert_eq!(money(Cents(0)), "0,00");
        assert_eq!(money(Cents(123_456)), "1234,56");
        assert_eq!(money(Cents(-5)), "-0,05");
        assert_eq!(money(Cents(i64::MIN)), "-92233720368547758,08");
    }
}
