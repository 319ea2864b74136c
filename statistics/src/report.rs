//! What the figures say, in French: the headline lines shown on the dashboards, and the impact
//! report PDF of a funder (or of the operator) for a period — figures, charts, breakdowns and
//! method notes.

use crate::chart::BarChart;
use crate::figures::{Figures, Flow};
use crate::table::Table;
use issuer::pdf::{Canvas, PrintError, Writer, euros};

fn flow(f: &Option<Flow>) -> Option<String> {
    f.as_ref().map(|f| {
        let books = f.books.map(|b| format!("{b} carnet(s), ")).unwrap_or_default();
        format!("{books}{} chèque(s), {}", f.vouchers, euros(f.value.0))
    })
}

/// The headline figures as (label, value) lines; what does not apply to the scope is left out.
pub fn headline(f: &Figures) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut push = |label: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push((label.to_owned(), v));
        }
    };
    push("Émis", flow(&f.issued));
    push("Confiés aux prescripteurs", flow(&f.assigned));
    push("Remis à des personnes", flow(&f.distributed));
    push("Utilisés", flow(&Some(f.redeemed)));
    push("Passages (services rendus)", Some(f.passages.to_string()));
    push("Expirés", flow(&f.expired));
    push("Annulés", flow(&f.cancelled));
    push(
        "Taux d'utilisation des chèques remis",
        Some(f.redemption_rate.map_or_else(|| "—".to_owned(), |r| format!("{} %", r.to_string().replace('.', ",")))),
    );
    push(
        "Délai médian entre la remise et le premier passage",
        Some(f.first_use.median_days.map_or_else(|| "—".to_owned(), |d| format!("{d} jour(s)"))),
    );
    if let Some(b) = f.books {
        push(
            "Carnets remis : jamais utilisés / entamés / terminés",
            Some(format!("{} / {} / {}", b.unused, b.started, b.finished)),
        );
    }
    push("Heures de médiation", Some(f.hours.to_string().replace('.', ",")));
    push("Personnes accompagnées (carnets remis et utilisés)", Some(f.people_reached.to_string()));
    let o = &f.outcomes;
    push(
        "Résultats : démarche aboutie / compétence acquise / orienté / non abouti / non renseigné",
        Some(format!(
            "{} / {} / {} / {} / {}",
            o.procedure_completed, o.skill_acquired, o.referred, o.not_completed, o.not_recorded
        )),
    );
    if let (Some(before), Some(after)) = (o.autonomy_before, o.autonomy_after) {
        push(
            "Autonomie moyenne avant → après (1 à 4)",
            Some(format!(
                "{} → {} ({} passage(s) notés, {} en progrès)",
                before.to_string().replace('.', ","),
                after.to_string().replace('.', ","),
                o.autonomy_pairs,
                o.autonomy_improved
            )),
        );
    }
    out
}

/// Method notes printed with every report and shown under the dashboards.
pub const METHOD: [&str; 6] = [
    "Les chiffres viennent des mêmes écritures que le grand livre, agrégées au fil de l'eau (quelques secondes de décalage).",
    "Émissions, utilisations, expirations et annulations comptent dans le mois où elles ont eu lieu.",
    "Ce qui concerne les personnes (remises, premier passage, carnets entamés, répartitions par âge, autonomie, commune) compte dans le mois de la remise du carnet, avec ce qui s'est passé depuis.",
    "Secret statistique : les effectifs de moins de 5 personnes s'affichent « < 5 », et d'autres cases sont masquées (« secret ») quand elles permettraient de les retrouver par différence.",
    "Aucune donnée nominative n'est enregistrée : ni nom, ni contact des personnes accompagnées.",
    "Tableaux par commune, par département et par lieu : les 50 lignes les plus importantes (personnes, ou passages pour les lieux ; pour les personnes, 5 au moins par ligne), par ordre décroissant, puis une ligne « Autres … » qui additionne toutes les autres, de sorte que le total est exact ; l'export CSV de chaque tableau donne toutes les lignes.",
];

/// Cuts a cell to `n` characters.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_owned() } else { s.chars().take(n.saturating_sub(1)).collect::<String>() + "…" }
}

struct Pages {
    w: Writer,
    page: Canvas,
    y: f32,
}

impl Pages {
    fn need(&mut self, height: f32) {
        if self.y - height < 15.0 {
            let full = std::mem::replace(&mut self.page, self.w.canvas());
            self.w.push(full);
            self.y = 280.0;
        }
    }

    fn line(&mut self, size: f32, bold: bool, text: &str) {
        self.need(size * 0.6);
        self.page.fill(0.0);
        self.page.text(15.0, self.y, size, bold, text);
        self.y -= size * 0.5 + 1.5;
    }
}

/// The impact report: `who` (e.g. the funder's name), the period's figures, charts and tables.
pub fn impact_pdf(who: &str, figures: &Figures, charts: &[BarChart], tables: &[Table]) -> Result<Vec<u8>, PrintError> {
    let w = Writer::new(&format!("Rapport d'impact — {who}"))?;
    let page = w.canvas();
    let mut p = Pages { w, page, y: 280.0 };
    p.line(18.0, true, "Rapport d'impact — chèques de médiation numérique");
    p.line(12.0, false, &format!("{who} — {}", figures.period.label()));
    p.y -= 4.0;
    p.line(13.0, true, "Chiffres clés");
    for (label, value) in headline(figures) {
        p.line(9.0, false, &format!("{label} : {value}"));
    }
    for chart in charts {
        p.need(75.0);
        p.y -= 4.0;
        chart.draw(&mut p.page, 15.0, p.y - 65.0, 180.0, 65.0);
        p.y -= 72.0;
    }
    for table in tables {
        p.need(30.0);
        p.y -= 4.0;
        p.line(12.0, true, &table.title);
        let n = table.columns.len().max(1);
        let width = 180.0 / n as f32;
        let chars = ((width / 1.6) as usize).max(6);
        let row = |p: &mut Pages, cells: Vec<String>, bold: bool| {
            p.need(5.0);
            p.page.fill(0.0);
            for (i, c) in cells.iter().enumerate() {
                p.page.text(15.0 + width * i as f32, p.y, 7.0, bold, &cut(c, chars));
            }
            p.y -= 4.2;
        };
        row(&mut p, table.columns.clone(), true);
        if table.withheld {
            p.line(8.0, false, "Tableau non publié : trop peu de personnes pour respecter le secret statistique.");
            continue;
        }
        for r in table.rows.iter().take(60) {
            row(&mut p, r.iter().map(crate::table::Cell::to_french).collect(), false);
        }
        if table.rows.len() > 60 {
            p.line(8.0, false, &format!("… et {} autres lignes (export CSV complet).", table.rows.len() - 60));
        }
        if let Some(total) = &table.total {
            row(&mut p, total.iter().map(crate::table::Cell::to_french).collect(), true);
        }
        for note in &table.notes {
            p.line(7.0, false, note);
        }
    }
    p.need(40.0);
    p.y -= 4.0;
    p.line(12.0, true, "Méthode");
    for note in METHOD {
        // About 110 characters a line at this size.
        let mut rest = note;
        while !rest.is_empty() {
            let cut_at = if rest.chars().count() <= 110 {
                rest.len()
            } else {
                let limit = rest.char_indices().nth(110).map_or(rest.len(), |(i, _)| i);
                rest[..limit].rfind(' ').unwrap_or(limit)
            };
            p.line(8.0, false, rest[..cut_at].trim());
            rest = rest[cut_at..].trim_start();
        }
    }
    let Pages { mut w, page, .. } = p;
    w.push(page);
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_method_states_how_many_rows_long_tables_show() {
        let note = format!("les {} lignes les plus importantes", crate::dimension::SHOWN_ROWS);
        assert!(METHOD.iter().any(|m| m.contains(&note)), "{note}");
    }
}
