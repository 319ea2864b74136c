//! Print runs: an order's books rendered as PDF files of at most 100 books each, two files at a
//! time (one per core), so memory stays bounded however large the order.

use crate::code::VoucherCode;
use crate::error::{IssuerError, Result};
use crate::orders::{self, Order, OrderStatus};
use crate::pdf::{Cover, PrintBook, PrintVoucher, render_books};
use crate::token::{self, Payload};
use sqlx::Row;
use std::path::{Path, PathBuf};

/// Largest number of books in one PDF file.
pub const BOOKS_PER_FILE: u32 = 100;
/// Files rendered at the same time.
const PARALLEL_FILES: usize = 2;

/// The cover of an order's books.
pub async fn cover(db: &ledger::Db, order: &Order, public_url: &str) -> Result<Cover> {
    let mut funders = Vec::with_capacity(order.funders.len());
    for f in &order.funders {
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
            .bind(f.funder_id)
            .fetch_optional(db.pool())
            .await?;
        let share = rust_decimal::Decimal::new(i64::from(f.share_bps), 2).normalize();
        funders.push(format!("{} ({} %)", name.unwrap_or_default(), share.to_string().replace('.', ",")));
    }
    let base = public_url.trim_end_matches('/');
    Ok(Cover {
        funders,
        valid_from: order.valid_from,
        valid_until: order.valid_until,
        check_url: format!("{base}/v"),
        sites_url: format!("{base}/lieux"),
        territory: order.territory.describe(),
    })
}

/// Books `from..=to` of an order with their vouchers' QR payloads.
pub async fn books(db: &ledger::Db, order: &Order, public_url: &str, from: u32, to: u32) -> Result<Vec<PrintBook>> {
    let rows = sqlx::query(
        "SELECT b.number, b.serial, v.position, v.code, v.key_number, v.signature FROM books b JOIN vouchers v ON v.book_id = b.id \
         WHERE b.order_id = $1 AND b.number >= $2 AND b.number <= $3 ORDER BY b.number, v.position",
    )
    .bind(order.id)
    .bind(i64::from(from))
    .bind(i64::from(to))
    .fetch_all(db.pool())
    .await?;
    let order_id = u32::try_from(order.id)
        .map_err(|_| IssuerError::invalid("invalid_order", "identifiant de commande trop grand"))?;
    let face = u32::try_from(order.face_value_cents)
        .map_err(|_| IssuerError::invalid("invalid_face_value", "valeur faciale"))?;
    let mut out: Vec<PrintBook> = Vec::new();
    for r in rows {
        let number: i64 = r.try_get(0)?;
        let serial: String = r.try_get(1)?;
        let code = VoucherCode::from_db(r.try_get(3)?);
        let signature: Vec<u8> = r.try_get(5)?;
        let signature: [u8; 64] = signature
            .try_into()
            .map_err(|_| IssuerError::invalid("invalid_signature", "signature stockée illisible"))?;
        let payload = Payload {
            key_number: u16::try_from(r.try_get::<i64, _>(4)?).unwrap_or(0),
            code,
            face_value_cents: face,
            expires_on: order.valid_until,
            order_id,
        };
        let tok =
            token::encode(&payload, &signature).map_err(|e| IssuerError::invalid("invalid_token", e.to_string()))?;
        let voucher = PrintVoucher {
            qr_payload: token::qr_url(public_url, &tok),
            code_display: code.display(),
            face_value_cents: order.face_value_cents,
            position: u32::try_from(r.try_get::<i64, _>(2)?).unwrap_or(0),
            total: order.vouchers_per_book,
        };
        match out.last_mut() {
            Some(b) if b.serial == serial => b.vouchers.push(voucher),
            _ => {
                let _ = number;
                out.push(PrintBook { serial, vouchers: vec![voucher] });
            }
        }
    }
    Ok(out)
}

async fn issued_order(db: &ledger::Db, id: i64) -> Result<Order> {
    let order = orders::get(db, id).await?.ok_or(IssuerError::NotFound)?;
    if order.status != OrderStatus::Issued {
        return Err(IssuerError::conflict(
            "order_not_issued",
            format!("la commande {id} n'est pas émise : rien à imprimer"),
        ));
    }
    Ok(order)
}

fn range(order: &Order, from: Option<u32>, to: Option<u32>) -> Result<(u32, u32)> {
    let from = from.unwrap_or(1);
    let to = to.unwrap_or(order.books);
    if from == 0 || from > to || to > order.books {
        return Err(IssuerError::invalid(
            "invalid_range",
            format!("plage de carnets invalide : de 1 à {}", order.books),
        ));
    }
    Ok((from, to))
}

/// One PDF of books `from..=to` (at most 100), for the API.
pub async fn render_range(
    db: &ledger::Db,
    order_id: i64,
    public_url: &str,
    from: Option<u32>,
    to: Option<u32>,
) -> Result<Vec<u8>> {
    let order = issued_order(db, order_id).await?;
    let (from, to) = range(&order, from, to)?;
    if to - from + 1 > BOOKS_PER_FILE {
        return Err(IssuerError::invalid(
            "range_too_large",
            format!(
                "au plus {BOOKS_PER_FILE} carnets par fichier : précisez from et to (ou utilisez `passerelle order print`)"
            ),
        ));
    }
    let cover = cover(db, &order, public_url).await?;
    let books = books(db, &order, public_url, from, to).await?;
    tokio::task::spawn_blocking(move || render_books(&cover, &books))
        .await
        .map_err(|e| IssuerError::Print(e.to_string()))?
        .map_err(|e| IssuerError::Print(e.to_string()))
}

/// Writes books `from..=to` of an order as files of at most 100 books into `dir`, two at a
/// time. `progress(done_books, total_books)` follows the run. Returns the files written.
pub async fn write_files(
    db: &ledger::Db,
    order_id: i64,
    public_url: &str,
    from: Option<u32>,
    to: Option<u32>,
    dir: &Path,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<Vec<PathBuf>> {
    let order = issued_order(db, order_id).await?;
    let (from, to) = range(&order, from, to)?;
    std::fs::create_dir_all(dir).map_err(|e| IssuerError::Print(format!("{} : {e}", dir.display())))?;
    let cover = cover(db, &order, public_url).await?;
    let total = u64::from(to - from + 1);
    let mut starts: Vec<u32> = (from..=to).step_by(BOOKS_PER_FILE as usize).collect();
    starts.reverse();
    let mut running = tokio::task::JoinSet::new();
    let mut written = Vec::new();
    let mut done = 0u64;
    progress(0, total);
    loop {
        while running.len() < PARALLEL_FILES {
            let Some(start) = starts.pop() else { break };
            let end = (start + BOOKS_PER_FILE - 1).min(to);
            let books = books(db, &order, public_url, start, end).await?;
            let cover = cover.clone();
            let path = dir.join(format!("commande-{order_id}-carnets-{start:05}-{end:05}.pdf"));
            running.spawn_blocking(move || -> Result<(PathBuf, u64)> {
                let pdf = render_books(&cover, &books).map_err(|e| IssuerError::Print(e.to_string()))?;
                std::fs::write(&path, pdf).map_err(|e| IssuerError::Print(format!("{} : {e}", path.display())))?;
                Ok((path, u64::from(end - start + 1)))
            });
        }
        let Some(joined) = running.join_next().await else { break };
        let (path, n) = joined.map_err(|e| IssuerError::Print(e.to_string()))??;
        done += n;
        progress(done, total);
        written.push(path);
    }
    written.sort();
    Ok(written)
}
