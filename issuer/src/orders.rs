//! Orders (DESIGN §3): one or several funders with shares summing to 10 000 basis points,
//! books × vouchers per book at a face value, a validity window with a grace period, a
//! territory, optional allowed categories, the policy for unused value, and the fee terms in
//! force when the order was created. Lifecycle `draft → confirmed → issued` (through `issuing`
//! while vouchers are generated); a draft or confirmed order can be cancelled.

use crate::category::{self, Category};
use crate::error::{IssuerError, Result};
use crate::organisations::OrgKind;
use crate::territory::Territory;
use chrono::NaiveDate;
use ledger::split::WHOLE_BPS;
use ledger::{Cents, time};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Draft,
    Confirmed,
    Issuing,
    Issued,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Draft => "draft",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Issuing => "issuing",
            OrderStatus::Issued => "issued",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Confirmed, Self::Issuing, Self::Issued, Self::Cancelled]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// What happens to the value of vouchers that expire or are cancelled unused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnusedPolicy {
    /// Given back to the funders, by share, as a credit note.
    Refund,
    /// Kept by the operator.
    Breakage,
}

impl UnusedPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            UnusedPolicy::Refund => "refund",
            UnusedPolicy::Breakage => "breakage",
        }
    }
}

/// One funder's part of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunderShare {
    pub funder_id: i64,
    pub share_bps: u32,
}

/// Fee terms, frozen into each order when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FeeTerms {
    pub issuance_fee_bps: u32,
    pub redemption_fee_bps: u32,
}

fn default_vouchers_per_book() -> u32 {
    10
}
fn default_face_value() -> i64 {
    1000
}
/// Days after the last day of validity during which vouchers are still honoured, unless the
/// order says otherwise.
pub const DEFAULT_GRACE_DAYS: u32 = 31;

fn default_grace_days() -> u32 {
    DEFAULT_GRACE_DAYS
}
fn default_policy() -> UnusedPolicy {
    UnusedPolicy::Refund
}

/// An order to create. Defaults: 10 vouchers per book, 10,00 € each, 31 days of grace, refund.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    pub label: String,
    pub funders: Vec<FunderShare>,
    pub books: u32,
    #[serde(default = "default_vouchers_per_book")]
    pub vouchers_per_book: u32,
    #[serde(default = "default_face_value")]
    pub face_value_cents: i64,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    #[serde(default = "default_grace_days")]
    pub grace_days: u32,
    #[serde(default)]
    pub territory: Territory,
    #[serde(default)]
    pub allowed_categories: Option<Vec<Category>>,
    #[serde(default = "default_policy")]
    pub unused_policy: UnusedPolicy,
}

/// A stored order.
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub id: i64,
    pub label: String,
    pub status: OrderStatus,
    pub funders: Vec<FunderShare>,
    pub books: u32,
    pub vouchers_per_book: u32,
    pub face_value_cents: i64,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub grace_days: u32,
    pub territory: Territory,
    pub allowed_categories: Option<Vec<Category>>,
    pub unused_policy: UnusedPolicy,
    pub fees: FeeTerms,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub confirmed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub issued_at: Option<chrono::DateTime<chrono::Utc>>,
    pub cancelled_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Largest order accepted in one go.
pub const MAX_VOUCHERS_PER_ORDER: u64 = 10_000_000;

impl Order {
    pub fn voucher_count(&self) -> u64 {
        u64::from(self.books) * u64::from(self.vouchers_per_book)
    }

    /// Face value of every voucher of the order.
    pub fn face_total(&self) -> Cents {
        Cents(self.voucher_count() as i64 * self.face_value_cents)
    }

    /// The last day a voucher can be redeemed: `valid_until` + grace.
    pub fn last_redemption_day(&self) -> NaiveDate {
        self.valid_until + chrono::Duration::days(i64::from(self.grace_days))
    }

    pub fn weights(&self) -> Vec<u32> {
        self.funders.iter().map(|f| f.share_bps).collect()
    }

    pub fn is_funded_by(&self, funder: i64) -> bool {
        self.funders.iter().any(|f| f.funder_id == funder)
    }
}

fn validate(new: &NewOrder) -> Result<()> {
    let bad = |code, msg: &str| Err(IssuerError::invalid(code, msg));
    let label = new.label.trim();
    if label.is_empty() || label.chars().count() > 200 {
        return bad("invalid_label", "l'intitulé doit compter de 1 à 200 caractères");
    }
    if new.books == 0 || new.vouchers_per_book == 0 || new.vouchers_per_book > 50 {
        return bad("invalid_quantity", "il faut au moins un carnet, et de 1 à 50 chèques par carnet");
    }
    if u64::from(new.books) * u64::from(new.vouchers_per_book) > MAX_VOUCHERS_PER_ORDER {
        return bad("invalid_quantity", "une commande compte au plus 10 000 000 de chèques");
    }
    if !(1..=100_000).contains(&new.face_value_cents) {
        return bad("invalid_face_value", "la valeur faciale va de 0,01 € à 1 000,00 €");
    }
    if new.valid_until < new.valid_from {
        return bad("invalid_validity", "la fin de validité précède son début");
    }
    let limit = NaiveDate::from_ymd_opt(2150, 12, 31).expect("date");
    if new.valid_until > limit || new.valid_from.year_ce().1 < 2020 {
        return bad("invalid_validity", "dates de validité hors limites (2020 à 2150)");
    }
    if new.grace_days > 365 {
        return bad("invalid_grace", "le délai de grâce est d'au plus 365 jours");
    }
    if new.funders.is_empty() || new.funders.len() > 10 {
        return bad("invalid_shares", "de 1 à 10 financeurs par commande");
    }
    let total: u64 = new.funders.iter().map(|f| u64::from(f.share_bps)).sum();
    if total != u64::from(WHOLE_BPS) || new.funders.iter().any(|f| f.share_bps == 0) {
        return Err(IssuerError::invalid(
            "invalid_shares",
            format!("les parts des financeurs doivent être positives et totaliser 10 000 points de base (ici {total})"),
        ));
    }
    let mut ids: Vec<i64> = new.funders.iter().map(|f| f.funder_id).collect();
    ids.sort();
    ids.dedup();
    if ids.len() != new.funders.len() {
        return bad("invalid_shares", "un financeur apparaît deux fois");
    }
    if matches!(&new.allowed_categories, Some(c) if c.is_empty()) {
        return bad("invalid_categories", "la liste des catégories autorisées est vide");
    }
    Ok(())
}

use chrono::Datelike;

/// Creates a draft order.
pub async fn create(
    conn: &mut AnyConnection,
    new: &NewOrder,
    fees: FeeTerms,
    created_by: Option<i64>,
) -> Result<Order> {
    validate(new)?;
    for f in &new.funders {
        let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM organisations WHERE id = $1")
            .bind(f.funder_id)
            .fetch_optional(&mut *conn)
            .await?;
        if kind.as_deref() != Some(OrgKind::Funder.as_str()) {
            return Err(IssuerError::invalid(
                "unknown_funder",
                format!("l'organisation {} n'est pas un financeur", f.funder_id),
            ));
        }
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO orders (label, status, books, vouchers_per_book, face_value_cents, valid_from, valid_until, grace_days, \
         territory, allowed_categories, unused_policy, issuance_fee_bps, redemption_fee_bps, created_at, created_by) \
         VALUES ($1, 'draft', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(new.label.trim())
    .bind(i64::from(new.books))
    .bind(i64::from(new.vouchers_per_book))
    .bind(new.face_value_cents)
    .bind(new.valid_from.to_string())
    .bind(new.valid_until.to_string())
    .bind(i64::from(new.grace_days))
    .bind(new.territory.to_db())
    .bind(new.allowed_categories.as_deref().map(category::to_db))
    .bind(new.unused_policy.as_str())
    .bind(i64::from(fees.issuance_fee_bps))
    .bind(i64::from(fees.redemption_fee_bps))
    .bind(time::to_micros(time::now()))
    .bind(created_by)
    .fetch_one(&mut *conn)
    .await?;
    for f in &new.funders {
        sqlx::query("INSERT INTO order_funders (order_id, funder_id, share_bps) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(f.funder_id)
            .bind(i64::from(f.share_bps))
            .execute(&mut *conn)
            .await?;
    }
    get_in(conn, id).await?.ok_or(IssuerError::NotFound)
}

const SELECT: &str = "SELECT id, label, status, books, vouchers_per_book, face_value_cents, valid_from, valid_until, grace_days, \
                      territory, allowed_categories, unused_policy, issuance_fee_bps, redemption_fee_bps, created_at, \
                      confirmed_at, issued_at, cancelled_at FROM orders";

fn date(s: &str) -> Result<NaiveDate> {
    s.parse().map_err(|_| IssuerError::Db(sqlx::Error::Decode(format!("bad date {s}").into())))
}

fn from_row(r: &sqlx::any::AnyRow, funders: Vec<FunderShare>) -> Result<Order> {
    let status: String = r.try_get(2)?;
    let policy: String = r.try_get(11)?;
    let categories: Option<String> = r.try_get(10)?;
    let ts = |i: usize| -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        Ok(r.try_get::<Option<i64>, _>(i)?.map(time::from_micros))
    };
    let int = |i: usize| -> Result<u32> { u32::try_from(r.try_get::<i64, _>(i)?).map_err(|_| IssuerError::NotFound) };
    Ok(Order {
        id: r.try_get(0)?,
        label: r.try_get(1)?,
        status: OrderStatus::parse(&status).ok_or(IssuerError::NotFound)?,
        funders,
        books: int(3)?,
        vouchers_per_book: int(4)?,
        face_value_cents: r.try_get(5)?,
        valid_from: date(&r.try_get::<String, _>(6)?)?,
        valid_until: date(&r.try_get::<String, _>(7)?)?,
        grace_days: int(8)?,
        territory: Territory::from_db(&r.try_get::<String, _>(9)?),
        allowed_categories: categories.map(|c| category::from_db(&c)),
        unused_policy: if policy == "breakage" { UnusedPolicy::Breakage } else { UnusedPolicy::Refund },
        fees: FeeTerms { issuance_fee_bps: int(12)?, redemption_fee_bps: int(13)? },
        created_at: time::from_micros(r.try_get(14)?),
        confirmed_at: ts(15)?,
        issued_at: ts(16)?,
        cancelled_at: ts(17)?,
    })
}

async fn funders_of(conn: &mut AnyConnection, order: i64) -> Result<Vec<FunderShare>> {
    let rows = sqlx::query("SELECT funder_id, share_bps FROM order_funders WHERE order_id = $1 ORDER BY funder_id")
        .bind(order)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(FunderShare { funder_id: r.try_get(0)?, share_bps: u32::try_from(r.try_get::<i64, _>(1)?).unwrap_or(0) })
        })
        .collect()
}

pub async fn get_in(conn: &mut AnyConnection, id: i64) -> Result<Option<Order>> {
    let row =
        sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1"))).bind(id).fetch_optional(&mut *conn).await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let funders = funders_of(conn, id).await?;
            Ok(Some(from_row(&r, funders)?))
        }
    }
}

pub async fn get(db: &ledger::Db, id: i64) -> Result<Option<Order>> {
    let mut conn = db.pool().acquire().await?;
    get_in(&mut conn, id).await
}

/// All orders, or those a funder takes part in; newest first.
pub async fn list(db: &ledger::Db, funder: Option<i64>) -> Result<Vec<Order>> {
    let mut conn = db.pool().acquire().await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM orders WHERE $1 IS NULL OR id IN (SELECT order_id FROM order_funders WHERE funder_id = $1) ORDER BY id DESC",
    )
    .bind(funder)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(o) = get_in(&mut conn, id).await? {
            out.push(o);
        }
    }
    Ok(out)
}

/// Moves an order from one status to the next; refuses any other move.
async fn transition(
    conn: &mut AnyConnection,
    id: i64,
    from: &[OrderStatus],
    to: OrderStatus,
    stamp: Option<&str>,
) -> Result<Order> {
    let order = get_in(conn, id).await?.ok_or(IssuerError::NotFound)?;
    if order.status == to {
        return Ok(order);
    }
    if !from.contains(&order.status) {
        return Err(IssuerError::conflict(
            "invalid_order_status",
            format!("la commande {id} est « {} » : impossible de passer à « {} »", order.status.as_str(), to.as_str()),
        ));
    }
    match stamp {
        Some(column) => {
            sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE orders SET status = $1, {column} = $2 WHERE id = $3")))
                .bind(to.as_str())
                .bind(time::to_micros(time::now()))
                .bind(id)
                .execute(&mut *conn)
                .await?
        }
        None => {
            sqlx::query("UPDATE orders SET status = $1 WHERE id = $2")
                .bind(to.as_str())
                .bind(id)
                .execute(&mut *conn)
                .await?
        }
    };
    get_in(conn, id).await?.ok_or(IssuerError::NotFound)
}

pub async fn confirm(conn: &mut AnyConnection, id: i64) -> Result<Order> {
    transition(conn, id, &[OrderStatus::Draft], OrderStatus::Confirmed, Some("confirmed_at")).await
}

pub async fn cancel(conn: &mut AnyConnection, id: i64) -> Result<Order> {
    transition(conn, id, &[OrderStatus::Draft, OrderStatus::Confirmed], OrderStatus::Cancelled, Some("cancelled_at"))
        .await
}

pub(crate) async fn start_issuing(conn: &mut AnyConnection, id: i64) -> Result<Order> {
    transition(conn, id, &[OrderStatus::Confirmed], OrderStatus::Issuing, None).await
}

/// Posts the value of vouchers that will never be used (a cancelled book, expiry) per the
/// order's policy: refunded to its funders by share, or kept as breakage. Nothing is posted for
/// a zero value.
pub(crate) async fn post_unused(
    conn: &mut AnyConnection,
    order: &Order,
    key: String,
    kind: &str,
    memo: String,
    value: Cents,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Option<i64>> {
    if value.0 <= 0 {
        return Ok(None);
    }
    let mut t =
        ledger::NewTransaction::new(key, kind, memo, at).debit(ledger::AccountCode::order_outstanding(order.id), value);
    match order.unused_policy {
        UnusedPolicy::Refund => {
            for (f, part) in order.funders.iter().zip(ledger::split::split(value, &order.weights())?) {
                if part.0 > 0 {
                    t = t.credit(ledger::AccountCode::funder(f.funder_id), part);
                }
            }
        }
        UnusedPolicy::Breakage => t = t.credit(ledger::AccountCode::breakage(), value),
    }
    Ok(Some(ledger::post_in(conn, &t).await?.transaction_id))
}
