//! Books after issuance: assignment to a prescriber, hand-over to a beneficiary with an
//! anonymous profile (no name, no contact), cancellation of a lost or stolen book.

use crate::code::VoucherCode;
use crate::error::{IssuerError, Result};
use crate::insee::stored;
use crate::orders::{self, OrderStatus};
use crate::organisations::OrgKind;
use crate::{InseeCode, territory};
use ledger::{Cents, time};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, AssertSqlSafe, Row};

/// Age bands of the anonymous profile.
pub const AGE_BANDS: &[&str] = &["moins_de_25", "25_39", "40_54", "55_64", "65_74", "75_et_plus"];

/// The three profiles of DESIGN §1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Autonomy {
    Excluded,
    Beginner,
    Advanced,
}

impl Autonomy {
    pub fn as_str(self) -> &'static str {
        match self {
            Autonomy::Excluded => "excluded",
            Autonomy::Beginner => "beginner",
            Autonomy::Advanced => "advanced",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Excluded, Self::Beginner, Self::Advanced].into_iter().find(|a| a.as_str() == s)
    }
}

/// What is recorded about the person who receives a book: nothing that identifies them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeneficiaryProfile {
    pub age_band: String,
    /// INSEE code of the commune of residence.
    pub commune_insee: InseeCode,
    pub autonomy: Autonomy,
    #[serde(default)]
    pub referral_reason: Option<String>,
}

impl BeneficiaryProfile {
    fn validate(&self) -> Result<()> {
        if !AGE_BANDS.contains(&self.age_band.as_str()) {
            return Err(IssuerError::invalid(
                "invalid_age_band",
                format!("tranche d'âge inconnue ; possibles : {}", AGE_BANDS.join(", ")),
            ));
        }
        if territory::commune(self.commune_insee.as_str()).is_none() {
            return Err(IssuerError::invalid(
                "invalid_commune",
                format!("code INSEE de commune inconnu : « {} »", self.commune_insee),
            ));
        }
        if self.referral_reason.as_ref().is_some_and(|r| r.chars().count() > 200) {
            return Err(IssuerError::invalid("invalid_reason", "le motif d'orientation compte au plus 200 caractères"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BookStatus {
    Issued,
    Assigned,
    Distributed,
    Cancelled,
}

impl BookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BookStatus::Issued => "issued",
            BookStatus::Assigned => "assigned",
            BookStatus::Distributed => "distributed",
            BookStatus::Cancelled => "cancelled",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        [Self::Issued, Self::Assigned, Self::Distributed, Self::Cancelled].into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Book {
    pub id: i64,
    pub order_id: i64,
    pub number: u32,
    pub serial: String,
    pub status: BookStatus,
    pub prescriber_id: Option<i64>,
    pub assigned_at: Option<chrono::DateTime<chrono::Utc>>,
    pub distributed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub cancelled_at: Option<chrono::DateTime<chrono::Utc>>,
    pub profile: Option<BeneficiaryProfile>,
}

const SELECT: &str = "SELECT id, order_id, number, serial, status, prescriber_id, assigned_at, distributed_at, cancelled_at, \
                      age_band, commune_insee, autonomy, referral_reason FROM books";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Book> {
    let status: String = r.try_get(4)?;
    let ts = |i: usize| -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        Ok(r.try_get::<Option<i64>, _>(i)?.map(time::from_micros))
    };
    let age: Option<String> = r.try_get(9)?;
    let commune = r.try_get::<Option<String>, _>(10)?.map(|c| c.parse::<InseeCode>()).transpose().map_err(stored)?;
    let autonomy: Option<String> = r.try_get(11)?;
    let profile = match (age, commune, autonomy.as_deref().and_then(Autonomy::parse)) {
        (Some(age_band), Some(commune_insee), Some(autonomy)) => {
            Some(BeneficiaryProfile { age_band, commune_insee, autonomy, referral_reason: r.try_get(12)? })
        }
        _ => None,
    };
    Ok(Book {
        id: r.try_get(0)?,
        order_id: r.try_get(1)?,
        number: u32::try_from(r.try_get::<i64, _>(2)?).unwrap_or(0),
        serial: r.try_get(3)?,
        status: BookStatus::parse(&status).ok_or(IssuerError::NotFound)?,
        prescriber_id: r.try_get(5)?,
        assigned_at: ts(6)?,
        distributed_at: ts(7)?,
        cancelled_at: ts(8)?,
        profile,
    })
}

pub async fn by_serial(conn: &mut AnyConnection, serial: &str) -> Result<Option<Book>> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE serial = $1")))
        .bind(serial.trim().to_uppercase())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<Book>> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1"))).bind(id).fetch_optional(&mut *conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// The book a voucher belongs to.
pub async fn by_voucher(conn: &mut AnyConnection, code: VoucherCode) -> Result<Option<Book>> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = (SELECT book_id FROM vouchers WHERE code = $1)")))
        .bind(code.db())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Books of an order, or held by a prescriber, in serial order (at most `limit`).
pub async fn list(db: &ledger::Db, order: Option<i64>, prescriber: Option<i64>, limit: i64) -> Result<Vec<Book>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE ($1 IS NULL OR order_id = $1) AND ($2 IS NULL OR prescriber_id = $2) ORDER BY order_id, number LIMIT $3"
    )))
    .bind(order)
    .bind(prescriber)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Which books to assign.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum BookSelection {
    Serials { serials: Vec<String> },
    Range { order_id: i64, from: u32, to: u32 },
}

/// Assigns books of an issued order to a prescriber organisation. Books already handed to a
/// beneficiary or cancelled are refused. Returns the number of books assigned.
pub async fn assign(conn: &mut AnyConnection, selection: &BookSelection, prescriber_id: i64) -> Result<u64> {
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM organisations WHERE id = $1")
        .bind(prescriber_id)
        .fetch_optional(&mut *conn)
        .await?;
    if kind.as_deref() != Some(OrgKind::Prescriber.as_str()) {
        return Err(IssuerError::invalid(
            "unknown_prescriber",
            format!("l'organisation {prescriber_id} n'est pas un prescripteur"),
        ));
    }
    let books: Vec<Book> = match selection {
        BookSelection::Serials { serials } => {
            if serials.is_empty() || serials.len() > 10_000 {
                return Err(IssuerError::invalid("invalid_selection", "de 1 à 10 000 numéros de carnet"));
            }
            let mut out = Vec::with_capacity(serials.len());
            for s in serials {
                out.push(
                    by_serial(conn, s)
                        .await?
                        .ok_or_else(|| IssuerError::invalid("unknown_book", format!("carnet inconnu : {s}")))?,
                );
            }
            out
        }
        BookSelection::Range { order_id, from, to } => {
            if from > to || to - from >= 100_000 || *from == 0 {
                return Err(IssuerError::invalid(
                    "invalid_selection",
                    "plage de carnets invalide (de 1 à 100 000 carnets)",
                ));
            }
            let rows = sqlx::query(AssertSqlSafe(format!(
                "{SELECT} WHERE order_id = $1 AND number >= $2 AND number <= $3 ORDER BY number"
            )))
            .bind(order_id)
            .bind(i64::from(*from))
            .bind(i64::from(*to))
            .fetch_all(&mut *conn)
            .await?;
            if rows.len() as u64 != u64::from(to - from + 1) {
                return Err(IssuerError::invalid("unknown_book", "certains carnets de la plage n'existent pas"));
            }
            rows.iter().map(from_row).collect::<Result<_>>()?
        }
    };
    for b in &books {
        let order = orders::get_in(conn, b.order_id).await?.ok_or(IssuerError::NotFound)?;
        if order.status != OrderStatus::Issued {
            return Err(IssuerError::conflict("order_not_issued", format!("la commande {} n'est pas émise", order.id)));
        }
        if !matches!(b.status, BookStatus::Issued | BookStatus::Assigned) {
            return Err(IssuerError::conflict(
                "book_not_assignable",
                format!("le carnet {} est « {} »", b.serial, b.status.as_str()),
            ));
        }
    }
    let now = time::to_micros(time::now());
    for b in &books {
        sqlx::query("UPDATE books SET status = 'assigned', prescriber_id = $1, assigned_at = $2 WHERE id = $3")
            .bind(prescriber_id)
            .bind(now)
            .bind(b.id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(books.len() as u64)
}

/// Records the hand-over of a book by the prescriber that holds it.
pub async fn distribute(
    conn: &mut AnyConnection,
    book_id: i64,
    prescriber_id: i64,
    profile: &BeneficiaryProfile,
    by: Option<i64>,
) -> Result<Book> {
    profile.validate()?;
    let book = by_id(conn, book_id).await?.ok_or(IssuerError::NotFound)?;
    if book.prescriber_id != Some(prescriber_id) {
        return Err(IssuerError::NotFound);
    }
    if book.status != BookStatus::Assigned {
        return Err(IssuerError::conflict(
            "book_not_distributable",
            format!("le carnet {} est « {} »", book.serial, book.status.as_str()),
        ));
    }
    sqlx::query(
        "UPDATE books SET status = 'distributed', distributed_at = $1, distributed_by = $2, age_band = $3, commune_insee = $4, \
         autonomy = $5, referral_reason = $6 WHERE id = $7 AND status = 'assigned'",
    )
    .bind(time::to_micros(time::now()))
    .bind(by)
    .bind(&profile.age_band)
    .bind(profile.commune_insee.as_str())
    .bind(profile.autonomy.as_str())
    .bind(profile.referral_reason.as_deref().map(str::trim).filter(|r| !r.is_empty()))
    .bind(book_id)
    .execute(&mut *conn)
    .await?;
    by_id(conn, book_id).await?.ok_or(IssuerError::NotFound)
}

#[derive(Debug, Clone, Serialize)]
pub struct Cancelled {
    pub book: Book,
    pub vouchers_cancelled: u64,
    pub value_cents: i64,
    pub ledger_transaction: Option<i64>,
}

/// Cancels a lost or stolen book: its active vouchers become cancelled and their value goes back
/// to the funders by share (`refund`) or to breakage, in the same database transaction.
pub async fn cancel(conn: &mut AnyConnection, book_id: i64, reason: &str) -> Result<Cancelled> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(IssuerError::invalid(
            "invalid_reason",
            "indiquez le motif de l'annulation (200 caractères au plus)",
        ));
    }
    let book = by_id(conn, book_id).await?.ok_or(IssuerError::NotFound)?;
    if book.status == BookStatus::Cancelled {
        return Err(IssuerError::conflict("book_cancelled", format!("le carnet {} est déjà annulé", book.serial)));
    }
    let order = orders::get_in(conn, book.order_id).await?.ok_or(IssuerError::NotFound)?;
    if order.status != OrderStatus::Issued {
        return Err(IssuerError::conflict("order_not_issued", format!("la commande {} n'est pas émise", order.id)));
    }
    let now = time::now();
    let done = sqlx::query(
        "UPDATE vouchers SET status = 'cancelled', status_at = $1 WHERE book_id = $2 AND status = 'active'",
    )
    .bind(time::to_micros(now))
    .bind(book_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE books SET status = 'cancelled', cancelled_at = $1, cancel_reason = $2 WHERE id = $3")
        .bind(time::to_micros(now))
        .bind(reason)
        .bind(book_id)
        .execute(&mut *conn)
        .await?;
    let count = done.rows_affected();
    let value = Cents(count as i64 * order.face_value_cents);
    let ledger_transaction = orders::post_unused(
        conn,
        &order,
        format!("book-cancelled:{book_id}"),
        "book_cancelled",
        format!("Annulation du carnet {} — {reason}", book.serial),
        value,
        now,
    )
    .await?;
    let book = by_id(conn, book_id).await?.ok_or(IssuerError::NotFound)?;
    Ok(Cancelled { book, vouchers_cancelled: count, value_cents: value.0, ledger_transaction })
}

/// One voucher of a book, as its holder or the operator may see it.
#[derive(Debug, Clone, Serialize)]
pub struct VoucherLine {
    pub position: u32,
    pub code: String,
    pub status: String,
    pub face_value_cents: i64,
}

pub async fn vouchers(conn: &mut AnyConnection, book_id: i64) -> Result<Vec<VoucherLine>> {
    let rows = sqlx::query(
        "SELECT position, code, status, face_value_cents FROM vouchers WHERE book_id = $1 ORDER BY position",
    )
    .bind(book_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let code: i64 = r.try_get(1)?;
            Ok(VoucherLine {
                position: u32::try_from(r.try_get::<i64, _>(0)?).unwrap_or(0),
                code: VoucherCode::from_db(code).display(),
                status: r.try_get(2)?,
                face_value_cents: r.try_get(3)?,
            })
        })
        .collect()
}
