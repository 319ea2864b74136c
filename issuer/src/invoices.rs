//! Funder invoices and credit notes (DESIGN §8). Documents follow the ledger: each issuance
//! states what each funder owes (its share of the face value, plus its share of the issuance
//! fee), each refund of unused value (expiry, cancelled book) a credit note. Numbers run without
//! gaps in each series (`F2026`, `AV2026`): the counter moves in the transaction that writes the
//! document, so concurrent writers queue on it and a rolled-back document gives its number back.

use crate::error::{IssuerError, Result};
use crate::orders;
use crate::pdf::{PrintError, Writer, euros, fr};
use chrono::{Duration, NaiveDate};
use ledger::split::split;
use ledger::{Db, time};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

/// Who issues the documents and on which terms (the deployment's configuration), frozen into
/// each document when it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seller {
    pub name: String,
    pub siret: Option<String>,
    pub address: String,
    pub vat_number: Option<String>,
    /// VAT on the operator's fee, basis points (the face value of multi-purpose vouchers is
    /// outside the scope of VAT when they are sold).
    pub vat_rate_bps: u32,
    /// Days to pay an invoice.
    pub payment_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    pub name: String,
    pub siret: Option<String>,
}

/// An invoice or a credit note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    pub id: i64,
    /// `invoice` or `credit_note`.
    pub kind: String,
    pub reference: String,
    pub funder_id: i64,
    pub order_id: i64,
    pub issued_on: NaiveDate,
    pub due_on: Option<NaiveDate>,
    pub vouchers: i64,
    pub face_cents: i64,
    pub fee_net_cents: i64,
    pub vat_cents: i64,
    pub total_cents: i64,
    pub vat_rate_bps: u32,
    pub seller: Seller,
    pub buyer: Buyer,
}

/// Takes the next number of a series; call inside the document's transaction.
pub async fn next_number(conn: &mut AnyConnection, series: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO invoice_counters (series, last_number) VALUES ($1, 1) \
         ON CONFLICT (series) DO UPDATE SET last_number = invoice_counters.last_number + 1 RETURNING last_number",
    )
    .bind(series)
    .fetch_one(&mut *conn)
    .await?)
}

/// The fee without VAT, when the posted fee includes it: rounded half away from zero.
fn fee_net(fee: i64, vat_rate_bps: u32) -> i64 {
    let net = Decimal::from(fee) * Decimal::from(10_000) / Decimal::from(10_000 + i64::from(vat_rate_bps));
    net.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero).try_into().unwrap_or(fee)
}

/// Writes the documents that the ledger calls for and that do not exist yet; returns them.
/// Safe to run again at any time, from several processes.
pub async fn write_pending(db: &Db, seller: &Seller) -> Result<Vec<Document>> {
    let pending: Vec<(i64, String)> = sqlx::query(
        "SELECT t.id, t.kind FROM ledger_transactions t WHERE t.kind IN ('order_issued', 'expiry', 'book_cancelled') \
         AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.source_transaction = t.id) ORDER BY t.id",
    )
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect::<std::result::Result<_, sqlx::Error>>()?;
    let mut written = Vec::new();
    for (tx_id, kind) in pending {
        let mut tx = db.begin().await?;
        // Another process may have written them meanwhile.
        let done: Option<i64> = sqlx::query_scalar("SELECT id FROM invoices WHERE source_transaction = $1")
            .bind(tx_id)
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_some() {
            continue;
        }
        let ids = match write_for_transaction(&mut tx, tx_id, &kind, seller).await {
            Ok(ids) => ids,
            // Another process wrote them between our check and our insert (PostgreSQL reads
            // committed data): its documents stand, ours roll back and give their numbers back.
            Err(IssuerError::Db(e)) if ledger::db::is_unique_violation(&e) => continue,
            Err(e) => return Err(e),
        };
        tx.commit().await?;
        for id in ids {
            written.extend(get(db, id).await?);
        }
    }
    Ok(written)
}

async fn write_for_transaction(conn: &mut AnyConnection, tx_id: i64, kind: &str, seller: &Seller) -> Result<Vec<i64>> {
    let postings = sqlx::query(
        "SELECT a.code, p.amount, t.at FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id \
         JOIN ledger_transactions t ON t.id = p.transaction_id WHERE p.transaction_id = $1 ORDER BY p.id",
    )
    .bind(tx_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut order_id = None;
    let mut outstanding = 0i64;
    let mut funders = Vec::new();
    let mut at = 0i64;
    for p in &postings {
        let code: ledger::AccountCode = p.try_get::<String, _>(0)?.parse()?;
        let amount: i64 = p.try_get(1)?;
        at = p.try_get(2)?;
        match code.owner() {
            Some(("order", id)) => {
                order_id = Some(id);
                outstanding += amount;
            }
            Some(("funder", id)) => funders.push((id, amount)),
            _ => {}
        }
    }
    let Some(order_id) = order_id else { return Ok(Vec::new()) };
    let order = orders::get_in(conn, order_id).await?.ok_or(IssuerError::NotFound)?;
    let issued_on = crate::local_time::day(time::from_micros(at));
    let invoice = kind == "order_issued";
    let face_shares = split(order.face_total(), &order.weights())?;
    let vouchers = (outstanding.abs() / order.face_value_cents.max(1)).max(0);
    let mut ids = Vec::new();
    for (funder, amount) in funders {
        let Some(index) = order.funders.iter().position(|f| f.funder_id == funder) else { continue };
        let (face, fee) = if invoice {
            let face = face_shares[index].0;
            (face, amount - face)
        } else if amount < 0 {
            (-amount, 0)
        } else {
            continue;
        };
        let fee_net = fee_net(fee, seller.vat_rate_bps);
        let (prefix, doc_kind) = if invoice { ("F", "invoice") } else { ("AV", "credit_note") };
        let series = format!("{prefix}{}", issued_on.format("%Y"));
        let number = next_number(conn, &series).await?;
        let buyer = sqlx::query("SELECT name, siret FROM organisations WHERE id = $1")
            .bind(funder)
            .fetch_one(&mut *conn)
            .await?;
        let buyer = Buyer { name: buyer.try_get(0)?, siret: buyer.try_get(1)? };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO invoices (kind, series, number, reference, funder_id, order_id, source_transaction, issued_on, due_on, \
             vouchers, face_cents, fee_net_cents, vat_cents, total_cents, vat_rate_bps, seller, buyer, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
        )
        .bind(doc_kind)
        .bind(&series)
        .bind(number)
        .bind(format!("{series}-{number:05}"))
        .bind(funder)
        .bind(order_id)
        .bind(tx_id)
        .bind(issued_on.to_string())
        .bind(invoice.then(|| (issued_on + Duration::days(i64::from(seller.payment_days))).to_string()))
        .bind(vouchers)
        .bind(face)
        .bind(fee_net)
        .bind(fee - fee_net)
        .bind(face + fee)
        .bind(i64::from(seller.vat_rate_bps))
        .bind(serde_json::to_string(seller).unwrap_or_default())
        .bind(serde_json::to_string(&buyer).unwrap_or_default())
        .bind(time::to_micros(time::now()))
        .fetch_one(&mut *conn)
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

const COLUMNS: &str = "SELECT id, kind, reference, funder_id, order_id, issued_on, due_on, vouchers, face_cents, fee_net_cents, \
                       vat_cents, total_cents, vat_rate_bps, seller, buyer FROM invoices";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Document> {
    let day = |s: String| s.parse::<NaiveDate>().map_err(|_| IssuerError::invalid("invalid_date", s));
    Ok(Document {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        reference: r.try_get(2)?,
        funder_id: r.try_get(3)?,
        order_id: r.try_get(4)?,
        issued_on: day(r.try_get(5)?)?,
        due_on: r.try_get::<Option<String>, _>(6)?.map(day).transpose()?,
        vouchers: r.try_get(7)?,
        face_cents: r.try_get(8)?,
        fee_net_cents: r.try_get(9)?,
        vat_cents: r.try_get(10)?,
        total_cents: r.try_get(11)?,
        vat_rate_bps: u32::try_from(r.try_get::<i64, _>(12)?).unwrap_or(0),
        seller: serde_json::from_str(&r.try_get::<String, _>(13)?)
            .map_err(|e| IssuerError::invalid("invalid_seller", e.to_string()))?,
        buyer: serde_json::from_str(&r.try_get::<String, _>(14)?)
            .map_err(|e| IssuerError::invalid("invalid_buyer", e.to_string()))?,
    })
}

pub async fn get(db: &Db, id: i64) -> Result<Option<Document>> {
    let row =
        sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id = $1"))).bind(id).fetch_optional(db.pool()).await?;
    row.as_ref().map(from_row).transpose()
}

/// Documents, newest first: all, or one funder's.
pub async fn list(db: &Db, funder: Option<i64>) -> Result<Vec<Document>> {
    let rows = match funder {
        Some(f) => sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE funder_id = $1 ORDER BY id DESC"))).bind(f),
        None => sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} ORDER BY id DESC"))),
    }
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The document as a PDF with the mentions French law requires.
pub fn pdf(d: &Document) -> std::result::Result<Vec<u8>, PrintError> {
    let invoice = d.kind == "invoice";
    let title = if invoice { format!("Facture {}", d.reference) } else { format!("Avoir {}", d.reference) };
    let mut w = Writer::new(&title)?;
    let mut c = w.canvas();
    c.fill(0.0);
    let s = &d.seller;
    let mut y = 280.0;
    c.text(15.0, y, 12.0, true, &s.name);
    for line in s.address.lines().chain(s.siret.as_deref().map(|x| format!("SIRET {x}")).iter().map(String::as_str)) {
        y -= 5.0;
        c.text(15.0, y, 9.0, false, line);
    }
    if let Some(v) = &s.vat_number {
        y -= 5.0;
        c.text(15.0, y, 9.0, false, &format!("N° de TVA intracommunautaire : {v}"));
    }
    c.text(120.0, 262.0, 10.0, true, "Client");
    c.text(120.0, 256.0, 10.0, false, &d.buyer.name);
    if let Some(siret) = &d.buyer.siret {
        c.text(120.0, 251.0, 9.0, false, &format!("SIRET {siret}"));
    }
    c.text(15.0, 232.0, 16.0, true, &title);
    c.text(15.0, 225.0, 10.0, false, &format!("Date : {}", fr(d.issued_on)));
    if let Some(due) = d.due_on {
        c.text(80.0, 225.0, 10.0, false, &format!("Échéance : {}", fr(due)));
    }
    c.text(15.0, 219.0, 10.0, false, &format!("Commande n°{}", d.order_id));
    c.text(15.0, 205.0, 9.0, true, "Désignation");
    c.text(165.0, 205.0, 9.0, true, "Montant");
    c.line(15.0, 203.0, 195.0, 203.0);
    let face_line = if invoice {
        format!(
            "Chèques de médiation numérique (bons polyvalents) : quote-part de la valeur faciale de {} chèque(s)",
            d.vouchers
        )
    } else {
        format!("Remboursement de la valeur faciale de chèques non utilisés (quote-part sur {} chèque(s))", d.vouchers)
    };
    let mut y = 197.0;
    for part in wrap(&face_line, 90) {
        c.text(15.0, y, 9.0, false, &part);
        y -= 4.5;
    }
    c.text(165.0, 197.0, 9.0, false, &euros(d.face_cents));
    y -= 3.0;
    if d.fee_net_cents != 0 || d.vat_cents != 0 {
        c.text(15.0, y, 9.0, false, "Frais d'émission (hors taxe)");
        c.text(165.0, y, 9.0, false, &euros(d.fee_net_cents));
        y -= 5.0;
        let rate = Decimal::new(i64::from(d.vat_rate_bps), 2).to_string().replace('.', ",");
        c.text(15.0, y, 9.0, false, &format!("TVA sur les frais ({rate} %)"));
        c.text(165.0, y, 9.0, false, &euros(d.vat_cents));
        y -= 5.0;
    }
    c.line(15.0, y, 195.0, y);
    y -= 6.0;
    c.text(110.0, y, 11.0, true, if invoice { "Total à payer" } else { "Total remboursé" });
    c.text(165.0, y, 11.0, true, &euros(d.total_cents));
    let mut notes = vec![
        "Valeur faciale des bons polyvalents : hors du champ de la TVA lors de leur émission (article 256 ter du CGI)."
            .to_owned(),
    ];
    if d.vat_rate_bps == 0 {
        notes.push("TVA non applicable sur les frais, article 293 B du CGI.".into());
    }
    if invoice {
        notes.push(format!(
            "Paiement à {} jours, au plus tard le {}, par virement. Pas d'escompte pour paiement anticipé.",
            s.payment_days,
            d.due_on.map(fr).unwrap_or_default()
        ));
        notes.push(
            "En cas de retard : pénalités au taux de trois fois le taux d'intérêt légal et indemnité forfaitaire \
             pour frais de recouvrement de 40 € (articles L441-10 et D441-5 du code de commerce)."
                .into(),
        );
    } else {
        notes.push(
            "Le montant de cet avoir est porté au crédit de votre compte auprès de la chambre de compensation.".into(),
        );
    }
    let mut y = 70.0;
    for n in notes {
        for part in wrap(&n, 110) {
            c.text(15.0, y, 8.0, false, &part);
            y -= 4.0;
        }
        y -= 1.5;
    }
    w.push(c);
    Ok(w.finish())
}

/// Splits text into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let last = lines.last_mut().expect("one line");
        if !last.is_empty() && last.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_owned());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_without_vat() {
        assert_eq!(fee_net(1200, 2000), 1000);
        assert_eq!(fee_net(1000, 2000), 833);
        assert_eq!(fee_net(1000, 0), 1000);
        assert_eq!(fee_net(-1200, 2000), -1000);
    }

    #[test]
    fn wrapping() {
        assert_eq!(wrap("un deux trois", 7), vec!["un deux", "trois"]);
    }
}
