//! Books of vouchers: who may see them, assignment to prescribers, hand-over to a beneficiary,
//! cancellation of a lost or stolen book.

use crate::app::{Act, App, AppError, AppResult, Caller, orders};
use crate::audit;
use issuer::books::{self, BeneficiaryProfile, Book, BookSelection};
use issuer::organisations::OrgKind;
use issuer::scan;
use serde::Serialize;
use utoipa::ToSchema;

/// The anonymous profile recorded when a book is handed over.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BeneficiaryProfileView {
    /// moins_de_25, 25_39, 40_54, 55_64, 65_74, 75_et_plus
    pub age_band: String,
    /// INSEE code of the commune of residence.
    #[schema(value_type = String, example = "33063")]
    pub commune_insee: issuer::InseeCode,
    /// excluded, beginner or advanced
    pub autonomy: String,
    pub referral_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookView {
    pub id: i64,
    pub order_id: i64,
    pub number: u32,
    pub serial: String,
    /// issued, assigned, distributed, cancelled
    pub status: String,
    pub prescriber_id: Option<i64>,
    pub assigned_at: Option<chrono::DateTime<chrono::Utc>>,
    pub distributed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub cancelled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The anonymous profile recorded at hand-over (operator and the prescriber only).
    pub profile: Option<BeneficiaryProfileView>,
}

/// One voucher of a book, as its holder or the operator may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VoucherLineView {
    pub position: u32,
    pub code: String,
    /// active, redeemed, expired, cancelled
    pub status: String,
    pub face_value_cents: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookDetail {
    pub book: BookView,
    pub vouchers: Vec<VoucherLineView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Assigned {
    pub assigned: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CancelledView {
    pub book: BookView,
    pub vouchers_cancelled: u64,
    pub value_cents: i64,
    pub ledger_transaction: Option<i64>,
}

/// Which book is handed over: by serial, or by any of its vouchers (scanned or typed).
#[derive(Debug, Clone)]
pub enum BookRef {
    Serial(String),
    Voucher(String),
}

fn view(b: Book, show_profile: bool) -> BookView {
    BookView {
        id: b.id,
        order_id: b.order_id,
        number: b.number,
        serial: b.serial,
        status: b.status.as_str().to_owned(),
        prescriber_id: b.prescriber_id,
        assigned_at: b.assigned_at,
        distributed_at: b.distributed_at,
        cancelled_at: b.cancelled_at,
        profile: b.profile.filter(|_| show_profile).map(|p| BeneficiaryProfileView {
            age_band: p.age_band,
            commune_insee: p.commune_insee,
            autonomy: p.autonomy.as_str().to_owned(),
            referral_reason: p.referral_reason,
        }),
    }
}

/// Whether the caller sees the anonymous profiles (the operator and prescribers).
fn sees_profiles(caller: &Caller) -> bool {
    matches!(caller.kind, OrgKind::Operator | OrgKind::Prescriber)
}

/// The book if the caller may see it: the operator, the prescriber holding it, the funders of
/// its order. Anything else is answered as if it did not exist.
async fn visible(app: &App, caller: &Caller, serial: &str) -> AppResult<Book> {
    let mut conn = app.db.pool().acquire().await?;
    let book = books::by_serial(&mut conn, serial).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    let allowed = match caller.kind {
        OrgKind::Operator => true,
        OrgKind::Prescriber => book.prescriber_id == Some(caller.organisation_id),
        OrgKind::Funder => orders::visible(app, caller, book.order_id).await.is_ok(),
        OrgKind::Site => false,
    };
    if allowed { Ok(book) } else { Err(AppError::NotFound) }
}

/// Books: a prescriber's own (optionally of one order); the books of an order for the operator
/// (all orders when none is given) and its funders. At most `limit` (1 to 5 000, default 500).
#[tracing::instrument(skip_all, fields(user = caller.user_id, order = order_id))]
pub async fn list(app: &App, caller: &Caller, order_id: Option<i64>, limit: Option<i64>) -> AppResult<Vec<BookView>> {
    caller.require(Act::ListBooks)?;
    let limit = limit.unwrap_or(500).clamp(1, 5000);
    let (order, prescriber) = match caller.kind {
        OrgKind::Prescriber => (order_id, Some(caller.organisation_id)),
        OrgKind::Operator => (order_id, None),
        _ => {
            let id = order_id.ok_or_else(|| AppError::invalid("missing_order", "précisez order_id"))?;
            orders::visible(app, caller, id).await?;
            (Some(id), None)
        }
    };
    let show = sees_profiles(caller);
    Ok(books::list(&app.db, order, prescriber, limit).await?.into_iter().map(|b| view(b, show)).collect())
}

/// One book and its vouchers.
#[tracing::instrument(skip_all, fields(user = caller.user_id, book = serial))]
pub async fn get(app: &App, caller: &Caller, serial: &str) -> AppResult<BookDetail> {
    caller.require(Act::ReadBook)?;
    let book = visible(app, caller, serial).await?;
    let mut conn = app.db.pool().acquire().await?;
    let vouchers = books::vouchers(&mut conn, book.id)
        .await?
        .into_iter()
        .map(|v| VoucherLineView {
            position: v.position,
            code: v.code,
            status: v.status,
            face_value_cents: v.face_value_cents,
        })
        .collect();
    Ok(BookDetail { book: view(book, sees_profiles(caller)), vouchers })
}

/// Assigns books to a prescriber organisation.
#[tracing::instrument(skip_all, fields(user = caller.user_id, prescriber = prescriber_id))]
pub async fn assign(app: &App, caller: &Caller, prescriber_id: i64, selection: &BookSelection) -> AppResult<Assigned> {
    caller.require(Act::AssignBooks)?;
    let mut tx = app.db.begin().await?;
    let n = books::assign(&mut tx, selection, prescriber_id).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "books.assign",
        "organisation",
        prescriber_id,
        serde_json::json!({"books": n}),
    )
    .await?;
    tx.commit().await?;
    Ok(Assigned { assigned: n })
}

/// Records the hand-over of one of the caller's books to a beneficiary: no name, no contact,
/// only the anonymous profile.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn hand_over(
    app: &App,
    caller: &Caller,
    book: &BookRef,
    profile: &BeneficiaryProfile,
) -> AppResult<BookView> {
    caller.require(Act::HandOverBook)?;
    let mut tx = app.db.begin().await?;
    let book = match book {
        BookRef::Serial(serial) => books::by_serial(&mut tx, serial).await?,
        BookRef::Voucher(input) => {
            let code = scan::parse(input).map_err(|e| AppError::invalid(e.code(), e.to_string()))?.code();
            books::by_voucher(&mut tx, code).await?
        }
    }
    .filter(|b| b.prescriber_id == Some(caller.organisation_id))
    .ok_or(AppError::NotFound)?;
    let book = books::distribute(&mut tx, book.id, caller.organisation_id, profile, caller.user()).await?;
    audit::record(&mut tx, caller.actor(), "book.distribute", "book", &book.serial, serde_json::json!({})).await?;
    tx.commit().await?;
    tracing::info!(book = %book.serial, "carnet remis");
    Ok(view(book, true))
}

/// Cancels a lost or stolen book: its active vouchers are cancelled and their value moves per
/// the order's policy.
#[tracing::instrument(skip_all, fields(user = caller.user_id, book = serial))]
pub async fn cancel(app: &App, caller: &Caller, serial: &str, reason: &str) -> AppResult<CancelledView> {
    caller.require(Act::CancelBook)?;
    let book = visible(app, caller, serial).await?;
    let mut tx = app.db.begin().await?;
    let c = books::cancel(&mut tx, book.id, reason).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "book.cancel",
        "book",
        &c.book.serial,
        serde_json::json!({"reason": reason, "value_cents": c.value_cents}),
    )
    .await?;
    tx.commit().await?;
    Ok(CancelledView {
        book: view(c.book, sees_profiles(caller)),
        vouchers_cancelled: c.vouchers_cancelled,
        value_cents: c.value_cents,
        ledger_transaction: c.ledger_transaction,
    })
}

/// The books of one order held by one prescriber (or not handed to any yet), by state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PrescriberTally {
    /// None: books not yet given to a prescriber.
    pub prescriber_id: Option<i64>,
    pub prescriber_name: Option<String>,
    /// Given to the prescriber, not yet to a person.
    pub assigned: u32,
    /// Handed to a person.
    pub distributed: u32,
    /// Cancelled, blocked or expired.
    pub closed: u32,
}

/// An order's books per prescriber (the operator, and the order's funders).
#[tracing::instrument(skip_all, fields(user = caller.user_id, order = order_id))]
pub async fn per_prescriber(app: &App, caller: &Caller, order_id: i64) -> AppResult<Vec<PrescriberTally>> {
    let books = list(app, caller, Some(order_id), Some(5000)).await?;
    let mut tallies: std::collections::BTreeMap<Option<i64>, [u32; 3]> = std::collections::BTreeMap::new();
    for b in &books {
        let slot = tallies.entry(b.prescriber_id).or_default();
        match b.status.as_str() {
            "assigned" => slot[0] += 1,
            "distributed" => slot[1] += 1,
            "cancelled" | "expired" | "blocked" => slot[2] += 1,
            _ => {}
        }
    }
    let mut out = Vec::with_capacity(tallies.len());
    for (prescriber_id, [assigned, distributed, closed]) in tallies {
        // The prescribers holding the caller's own books: their names are the caller's to see.
        let prescriber_name = match prescriber_id {
            Some(p) => issuer::organisations::get(&app.db, p).await?.map(|o| o.name),
            None => None,
        };
        out.push(PrescriberTally { prescriber_id, prescriber_name, assigned, distributed, closed });
    }
    Ok(out)
}
