//! Bar charts drawn on the server: as SVG for the web pages and with the same geometry into the
//! PDF impact report. Every bar carries its value in writing, so the chart reads without colour.

use crate::table::{Cell, Table};
use issuer::pdf::Canvas;

/// One series of labelled values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarChart {
    pub title: String,
    pub bars: Vec<(String, i64)>,
}

/// A month label (« janvier 2026 ») in short form (« janv. 26 »); other labels as they are.
fn short(label: &str) -> String {
    match label.rsplit_once(' ') {
        Some((month, year)) if year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()) => {
            let m: String = month.chars().take(4).collect();
            let dot = if m.chars().count() < month.chars().count() { "." } else { "" };
            format!("{m}{dot} {}", &year[2..])
        }
        _ => label.to_owned(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl BarChart {
    /// The values of column `column` of a table (its rows, not its total), labelled by its first
    /// column; cells that are not whole numbers count as zero.
    pub fn from_table(title: &str, table: &Table, column: usize) -> BarChart {
        let bars = table
            .rows
            .iter()
            .map(|row| {
                let label = row.first().map(Cell::to_french).unwrap_or_default();
                let value = match row.get(column) {
                    Some(Cell::Int(n)) => *n,
                    _ => 0,
                };
                (short(&label), value)
            })
            .collect();
        BarChart { title: title.to_owned(), bars }
    }

    fn max(&self) -> i64 {
        self.bars.iter().map(|b| b.1).max().unwrap_or(0).max(1)
    }

    /// An accessible SVG image (role img, title and description listing every value).
    pub fn to_svg(&self) -> String {
        let (w, h, top, bottom, left) = (720.0_f64, 260.0_f64, 28.0_f64, 40.0_f64, 10.0_f64);
        let n = self.bars.len().max(1) as f64;
        let slot = (w - 2.0 * left) / n;
        let bar = (slot * 0.7).min(60.0);
        let max = self.max() as f64;
        let desc: Vec<String> = self.bars.iter().map(|(l, v)| format!("{l} : {v}")).collect();
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-labelledby=\"c-t c-d\" class=\"chart\">\
             <title id=\"c-t\">{}</title><desc id=\"c-d\">{}</desc>\
             <line x1=\"{left}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"#1a1a1a\"/>",
            escape(&self.title),
            escape(&desc.join(" ; ")),
            y = h - bottom,
            x2 = w - left,
        );
        for (i, (label, value)) in self.bars.iter().enumerate() {
            let height = (h - top - bottom) * (*value as f64) / max;
            let x = left + slot * i as f64 + (slot - bar) / 2.0;
            let y = h - bottom - height;
            let cx = x + bar / 2.0;
            out.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{height:.1}\" fill=\"#0b4f9c\"/>\
                 <text x=\"{cx:.1}\" y=\"{ty:.1}\" font-size=\"13\" text-anchor=\"middle\" fill=\"#1a1a1a\">{value}</text>\
                 <text x=\"{cx:.1}\" y=\"{ly:.1}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#1a1a1a\">{}</text>",
                escape(label),
                ty = y - 5.0,
                ly = h - bottom + 18.0,
            ));
        }
        out.push_str("</svg>");
        out
    }

    /// The same chart on a PDF page, in the box (`x`, `y`) lower-left, `w` × `h` millimetres.
    pub fn draw(&self, c: &mut Canvas, x: f32, y: f32, w: f32, h: f32) {
        let (top, bottom) = (8.0_f32, 8.0_f32);
        c.fill(0.0);
        c.text(x, y + h - 4.0, 11.0, true, &self.title);
        c.line(x, y + bottom, x + w, y + bottom);
        let n = self.bars.len().max(1) as f32;
        let slot = w / n;
        let bar = (slot * 0.7).min(14.0);
        let max = self.max() as f32;
        for (i, (label, value)) in self.bars.iter().enumerate() {
            let height = (h - top - bottom - 6.0) * (*value as f32) / max;
            let bx = x + slot * i as f32 + (slot - bar) / 2.0;
            c.fill(0.25);
            c.rect(bx, y + bottom, bar, height);
            c.fill(0.0);
            let size = if n > 12.0 { 5.5 } else { 7.0 };
            c.text(bx, y + bottom + height + 1.5, size, false, &value.to_string());
            c.text(bx, y + 2.0, size, false, label);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            title: "Par mois".into(),
            columns: vec!["Mois".into(), "Chèques".into()],
            rows: vec![
                vec![Cell::Text("janvier 2026".into()), Cell::Int(12)],
                vec![Cell::Text("février 2026".into()), Cell::Int(30)],
                vec![Cell::Text("<mars> 2026".into()), Cell::Hidden],
            ],
            total: Some(vec![Cell::Text("Total".into()), Cell::Int(42)]),
            notes: Vec::new(),
            withheld: false,
            merged_rows: 0,
        }
    }

    #[test]
    fn bars_carry_their_values_in_writing() {
        let chart = BarChart::from_table("Chèques utilisés par mois", &table(), 1);
        assert_eq!(chart.bars, vec![("janv. 26".into(), 12), ("févr. 26".into(), 30), ("<mar. 26".into(), 0)]);
        let svg = chart.to_svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("role=\"img\"") && svg.contains("<title id=\"c-t\">Chèques utilisés par mois</title>"));
        assert!(svg.contains(">30</text>") && svg.contains(">févr. 26</text>"));
        assert!(svg.contains("janv. 26 : 12 ; févr. 26 : 30"), "values listed in the description");
        assert!(!svg.contains("<mar") || svg.contains("&lt;mar"), "labels are escaped");
        // The highest bar fills the height; others in proportion.
        assert_eq!(svg.matches("<rect").count(), 3);
    }
}
