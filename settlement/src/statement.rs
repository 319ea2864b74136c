//! Documents of a settlement run: a statement per site (each redeemed voucher of the period, with
//! totals and the payout) and the operator's settlement report (every payout).

use crate::runs::{self, Payout, Run, SettlementError, cutoff};
use chrono::{DateTime, Duration, Utc};
use issuer::code::VoucherCode;
use issuer::pdf::{Canvas, PrintError, Writer, euros, fr};
use ledger::{Db, time};
use redeemer::local_time;
use serde::Serialize;
use sqlx::Row;

/// One redemption of the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub performed_at: DateTime<Utc>,
    /// Voucher codes, masked except their last characters.
    pub codes: Vec<String>,
    pub service: String,
    pub value_cents: i64,
    pub fee_cents: i64,
}

/// A site's statement for a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub run: Run,
    pub site_id: i64,
    pub site_name: String,
    pub siret: Option<String>,
    pub lines: Vec<Line>,
    pub payout: Option<Payout>,
}

impl Statement {
    pub fn gross_cents(&self) -> i64 {
        self.lines.iter().map(|l| l.value_cents).sum()
    }
    pub fn fee_cents(&self) -> i64 {
        self.lines.iter().map(|l| l.fee_cents).sum()
    }
}

/// `7KQ2-M9XD-3TWP-A` → `••••-••••-3TWP-A`: only the last five characters stay readable.
pub fn mask(code: &str) -> String {
    let keep_from = code.chars().filter(char::is_ascii_alphanumeric).count().saturating_sub(5);
    let mut seen = 0;
    code.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                seen += 1;
                if seen <= keep_from { '•' } else { c }
            } else {
                c
            }
        })
        .collect()
}

/// The statement of `site` for run `run_id`: its redemptions performed in the run's period.
pub async fn statement(db: &Db, run_id: i64, site: i64) -> Result<Statement, SettlementError> {
    let run = runs::get(db, run_id).await?.ok_or(SettlementError::NotFound)?;
    let org = sqlx::query("SELECT name, siret FROM organisations WHERE id = $1 AND kind = 'site'")
        .bind(site)
        .fetch_optional(db.pool())
        .await?
        .ok_or(SettlementError::NotFound)?;
    let from = run.period_start.map_or(0, |d| time::to_micros(cutoff(d - Duration::days(1))));
    let rows = sqlx::query(
        "SELECT r.id, r.performed_at, c.label, r.value_cents, r.fee_cents FROM redemptions r \
         JOIN catalogue_services c ON c.code = r.service_code \
         WHERE r.site_id = $1 AND r.performed_at >= $2 AND r.performed_at < $3 ORDER BY r.performed_at, r.id",
    )
    .bind(site)
    .bind(from)
    .bind(time::to_micros(cutoff(run.period_end)))
    .fetch_all(db.pool())
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let codes: Vec<i64> = sqlx::query_scalar(
            "SELECT v.code FROM redemption_vouchers rv JOIN vouchers v ON v.id = rv.voucher_id WHERE rv.redemption_id = $1 ORDER BY v.id",
        )
        .bind(id)
        .fetch_all(db.pool())
        .await?;
        lines.push(Line {
            performed_at: time::from_micros(r.try_get(1)?),
            codes: codes.into_iter().map(|c| mask(&VoucherCode::from_db(c).display())).collect(),
            service: r.try_get(2)?,
            value_cents: r.try_get(3)?,
            fee_cents: r.try_get(4)?,
        });
    }
    let payout = run.payouts.iter().find(|p| p.site_id == site).cloned();
    Ok(Statement { site_id: site, site_name: org.try_get(0)?, siret: org.try_get(1)?, lines, payout, run })
}

fn period(run: &Run) -> String {
    match run.period_start {
        Some(start) => format!("du {} au {}", fr(start), fr(run.period_end)),
        None => format!("jusqu'au {}", fr(run.period_end)),
    }
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_owned() } else { format!("{}…", s.chars().take(n - 1).collect::<String>()) }
}

/// Draws table pages: a title block on the first page, the header row on every page.
struct Table<'a> {
    w: &'a mut Writer,
    page: Canvas,
    y: f32,
    columns: &'a [(f32, &'a str)],
}

const TOP: f32 = 270.0;
const BOTTOM: f32 = 25.0;
const ROW: f32 = 5.5;

impl<'a> Table<'a> {
    fn new(w: &'a mut Writer, title: &str, subtitle: &[String], columns: &'a [(f32, &'a str)]) -> Table<'a> {
        let mut page = w.canvas();
        page.fill(0.0);
        page.text(15.0, TOP + 10.0, 14.0, true, &cut(title, 60));
        let mut y = TOP + 2.0;
        for s in subtitle {
            page.text(15.0, y, 10.0, false, s);
            y -= 5.5;
        }
        let mut t = Table { w, page, y: y - 6.0, columns };
        t.header();
        t
    }

    fn header(&mut self) {
        for (x, h) in self.columns {
            self.page.text(*x, self.y, 9.0, true, h);
        }
        self.page.line(15.0, self.y - 1.8, 195.0, self.y - 1.8);
        self.y -= ROW + 1.0;
    }

    fn row(&mut self, cells: &[String]) {
        if self.y < BOTTOM {
            let next = self.w.canvas();
            let done = std::mem::replace(&mut self.page, next);
            self.w.push(done);
            self.page.fill(0.0);
            self.y = TOP + 5.0;
            self.header();
        }
        for ((x, _), c) in self.columns.iter().zip(cells) {
            self.page.text(*x, self.y, 9.0, false, c);
        }
        self.y -= ROW;
    }

    fn totals(mut self, lines: &[(String, String)]) {
        if self.y < BOTTOM + 8.0 * lines.len() as f32 {
            let next = self.w.canvas();
            let done = std::mem::replace(&mut self.page, next);
            self.w.push(done);
            self.page.fill(0.0);
            self.y = TOP;
        }
        self.page.line(15.0, self.y + 2.5, 195.0, self.y + 2.5);
        self.y -= 3.0;
        for (label, value) in lines {
            self.page.text(110.0, self.y, 10.0, true, label);
            self.page.text(165.0, self.y, 10.0, true, value);
            self.y -= 6.5;
        }
        self.page.text(
            15.0,
            12.0,
            8.0,
            false,
            "Passerelle — chambre de compensation des chèques de médiation numérique",
        );
        let last = std::mem::replace(&mut self.page, self.w.canvas());
        self.w.push(last);
    }
}

/// The statement as a PDF.
pub fn statement_pdf(st: &Statement) -> Result<Vec<u8>, PrintError> {
    let mut w = Writer::new(&format!("Relevé de passages — {}", st.site_name))?;
    let mut subtitle = vec![
        format!("Règlement n°{} — passages {}", st.run.id, period(&st.run)),
        format!("Lieu n°{}{}", st.site_id, st.siret.as_ref().map(|s| format!(" — SIRET {s}")).unwrap_or_default()),
    ];
    subtitle.push(match &st.payout {
        Some(p) => format!("Versement {} : {} ({})", p.end_to_end_id, euros(p.amount_cents), p.status.french()),
        None => "Pas de versement dans ce règlement (montant dû sous le minimum, ou coordonnées bancaires à fournir ou à vérifier).".into(),
    });
    let columns = [(15.0, "Date"), (45.0, "Chèque(s)"), (80.0, "Service"), (145.0, "Montant"), (170.0, "Commission")];
    let mut t = Table::new(&mut w, &format!("Relevé de passages — {}", st.site_name), &subtitle, &columns);
    for l in &st.lines {
        let when = local_time::local(l.performed_at).format("%d/%m/%Y %H:%M").to_string();
        let first = l.codes.first().cloned().unwrap_or_default();
        t.row(&[when, first, cut(&l.service, 32), euros(l.value_cents), euros(l.fee_cents)]);
        // A service paid with several vouchers: one line for each further voucher.
        for code in l.codes.iter().skip(1) {
            t.row(&[String::new(), code.clone(), String::new(), String::new(), String::new()]);
        }
    }
    let gross = st.gross_cents();
    let fee = st.fee_cents();
    t.totals(&[
        (format!("{} passage(s)", st.lines.len()), String::new()),
        ("Montant des chèques".into(), euros(gross)),
        ("Commission".into(), euros(fee)),
        ("Net de la période".into(), euros(gross - fee)),
        ("Versé".into(), euros(st.payout.as_ref().map_or(0, |p| p.amount_cents))),
    ]);
    Ok(w.finish())
}

/// The operator's report of a run: every payout and the total.
pub fn report_pdf(run: &Run) -> Result<Vec<u8>, PrintError> {
    let mut w = Writer::new(&format!("Rapport de règlement n°{}", run.id))?;
    let subtitle = vec![
        format!("Passages {} — règlement {}", period(run), run.status.french()),
        format!("Versement minimum : {}", euros(run.minimum_cents)),
    ];
    let columns = [(15.0, "Versement"), (50.0, "Lieu"), (120.0, "Compte"), (150.0, "Montant"), (175.0, "État")];
    let mut t = Table::new(&mut w, &format!("Rapport de règlement n°{}", run.id), &subtitle, &columns);
    for p in &run.payouts {
        t.row(&[
            p.end_to_end_id.clone(),
            cut(&p.site_name, 36),
            p.iban_masked.clone(),
            euros(p.amount_cents),
            p.status.french().into(),
        ]);
    }
    t.totals(&[
        (format!("{} versement(s)", run.payouts.len()), String::new()),
        ("Total".into(), euros(run.total_cents)),
    ]);
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_masked_but_their_end() {
        assert_eq!(mask("7KQ2-M9XD-3TWP-A"), "••••-••••-3TWP-A");
        assert_eq!(mask("AB"), "AB");
    }
}
