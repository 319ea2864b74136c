//! Orders: a funder's purchase of voucher books — create, confirm, cancel, issue, block the
//! books never handed out, print; and who may see which order.

use crate::app::{Act, App, AppError, AppResult, Caller};
use crate::audit;
use issuer::issuance::IssueSummary;
use issuer::orders::{self, FeeTerms, NewOrder, Order, OrderStatus};
use issuer::organisations::OrgKind;
use serde::Serialize;
use utoipa::ToSchema;

/// One funder's share of an order.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct FunderShareView {
    pub funder_id: i64,
    /// Basis points of the order this funder pays (10 000 = all of it).
    pub share_bps: u32,
}

/// An order as the API shows it (the request body of `POST /api/v1/orders` has the same
/// fields, from `label` to `unused_policy`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderView {
    pub id: i64,
    pub label: String,
    /// draft, confirmed, issuing, issued, cancelled
    pub status: String,
    pub funders: Vec<FunderShareView>,
    pub books: u32,
    pub vouchers_per_book: u32,
    pub face_value_cents: i64,
    pub face_total_cents: i64,
    #[schema(value_type = String, format = Date)]
    pub valid_from: chrono::NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub valid_until: chrono::NaiveDate,
    pub grace_days: u32,
    pub territory: Vec<String>,
    pub allowed_categories: Option<Vec<String>>,
    /// refund or breakage
    pub unused_policy: String,
    pub issuance_fee_bps: u32,
    pub redemption_fee_bps: u32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub issued_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<Order> for OrderView {
    fn from(o: Order) -> Self {
        OrderView {
            id: o.id,
            face_total_cents: o.face_total().0,
            label: o.label,
            status: o.status.as_str().to_owned(),
            funders: o
                .funders
                .into_iter()
                .map(|f| FunderShareView { funder_id: f.funder_id, share_bps: f.share_bps })
                .collect(),
            books: o.books,
            vouchers_per_book: o.vouchers_per_book,
            face_value_cents: o.face_value_cents,
            valid_from: o.valid_from,
            valid_until: o.valid_until,
            grace_days: o.grace_days,
            territory: o.territory.codes().to_vec(),
            allowed_categories: o.allowed_categories.map(|c| c.iter().map(|c| c.slug().to_owned()).collect()),
            unused_policy: o.unused_policy.as_str().to_owned(),
            issuance_fee_bps: o.fees.issuance_fee_bps,
            redemption_fee_bps: o.fees.redemption_fee_bps,
            created_at: o.created_at,
            issued_at: o.issued_at,
        }
    }
}

/// What blocking an order's undistributed books did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Blocked {
    /// Books cancelled because no beneficiary had received them.
    pub books_blocked: u64,
    /// Their value, refunded or kept per the order's policy.
    pub value_cents: i64,
}

/// The order if the caller may see it: the operator sees all, a funder the orders it funds;
/// anything else is answered as if it did not exist.
pub async fn visible(app: &App, caller: &Caller, id: i64) -> AppResult<Order> {
    let order = orders::get(&app.db, id).await?.ok_or(AppError::NotFound)?;
    if caller.is_operator() || (caller.kind == OrgKind::Funder && order.is_funded_by(caller.organisation_id)) {
        Ok(order)
    } else {
        Err(AppError::NotFound)
    }
}

/// Orders: all for the operator, its own for a funder.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn list(app: &App, caller: &Caller) -> AppResult<Vec<OrderView>> {
    caller.require(Act::ListOrders)?;
    let scope = (!caller.is_operator()).then_some(caller.organisation_id);
    Ok(orders::list(&app.db, scope).await?.into_iter().map(Into::into).collect())
}

/// One order.
#[tracing::instrument(skip_all, fields(user = caller.user_id, order = id))]
pub async fn get(app: &App, caller: &Caller, id: i64) -> AppResult<OrderView> {
    caller.require(Act::ReadOrder)?;
    Ok(visible(app, caller, id).await?.into())
}

/// Creates a draft order; the fee terms in force are frozen into it.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn create(app: &App, caller: &Caller, new: &NewOrder) -> AppResult<OrderView> {
    caller.require(Act::CreateOrder)?;
    let fees =
        FeeTerms { issuance_fee_bps: app.config.issuance_fee_bps, redemption_fee_bps: app.config.redemption_fee_bps };
    let mut tx = app.db.begin().await?;
    let order = orders::create(&mut tx, new, fees, caller.user()).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "order.create",
        "order",
        order.id,
        serde_json::json!({"label": order.label, "books": order.books}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(order = order.id, "commande créée");
    Ok(order.into())
}

/// Confirms a draft order.
#[tracing::instrument(skip_all, fields(user = caller.user_id, order = id))]
pub async fn confirm(app: &App, caller: &Caller, id: i64) -> AppResult<OrderView> {
    caller.require(Act::ConfirmOrder)?;
    let mut tx = app.db.begin().await?;
    let order = orders::confirm(&mut tx, id).await?;
    audit::record(&mut tx, caller.actor(), "order.confirm", "order", id, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(order.into())
}

/// Cancels a draft or confirmed order.
#[tracing::instrument(skip_all, fields(user = caller.user_id, order = id))]
pub async fn cancel(app: &App, caller: &Caller, id: i64) -> AppResult<OrderView> {
    caller.require(Act::CancelOrder)?;
    let mut tx = app.db.begin().await?;
    let order = orders::cancel(&mut tx, id).await?;
    audit::record(&mut tx, caller.actor(), "order.cancel", "order", id, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(order.into())
}

/// Blocks the books of an issued order that no beneficiary has received yet: they are cancelled
/// and their value refunded or kept per the order's policy (managers of the operator or of one
/// of the order's funders).
#[tracing::instrument(skip_all, fields(user = caller.user_id, order = id))]
pub async fn block(app: &App, caller: &Caller, id: i64) -> AppResult<Blocked> {
    caller.require(Act::BlockOrder)?;
    visible(app, caller, id).await?;
    if !caller.is_manager() {
        return Err(AppError::Forbidden);
    }
    let mut tx = app.db.begin().await?;
    let (books, value) = issuer::expiry::block_undistributed(&mut tx, id).await?;
    audit::record(
        &mut tx,
        caller.actor(),
        "order.block",
        "order",
        id,
        serde_json::json!({"books": books, "value_cents": value.0}),
    )
    .await?;
    tx.commit().await?;
    Ok(Blocked { books_blocked: books, value_cents: value.0 })
}

/// Checks that the caller may issue the order and that it is confirmed, and records the request.
async fn begin_issue(app: &App, caller: &Caller, id: i64) -> AppResult<()> {
    caller.require(Act::IssueOrder)?;
    let order = orders::get(&app.db, id).await?.ok_or(AppError::NotFound)?;
    if !matches!(order.status, OrderStatus::Confirmed | OrderStatus::Issuing | OrderStatus::Issued) {
        return Err(AppError::conflict(
            "invalid_order_status",
            format!("la commande {id} est « {} » : confirmez-la d'abord", order.status.as_str()),
        ));
    }
    let mut tx = app.db.begin().await?;
    audit::record(&mut tx, caller.actor(), "order.issue", "order", id, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(())
}

/// Starts issuing a confirmed order: books and signed vouchers are generated in the background
/// (resumable); the order becomes `issued` when done. Returns the order as it is now.
#[tracing::instrument(skip_all, fields(user = caller.user_id, order = id))]
pub async fn issue(app: &App, caller: &Caller, id: i64) -> AppResult<OrderView> {
    begin_issue(app, caller, id).await?;
    let (db, keys) = (app.db.clone(), app.keys.clone());
    tokio::spawn(async move {
        match issuer::issuance::issue(&db, &keys, id, &|_, _| {}).await {
            Ok(s) => tracing::info!(order = id, vouchers = s.vouchers, "commande émise"),
            Err(e) => tracing::error!(order = id, error = %e, "émission interrompue ; relancez-la pour reprendre"),
        }
    });
    Ok(orders::get(&app.db, id).await?.ok_or(AppError::NotFound)?.into())
}

/// Issues a confirmed order and waits for the end, telling `progress` (vouchers done, total);
/// an interrupted run resumes where it stopped.
#[tracing::instrument(skip_all, fields(user = caller.user_id, order = id))]
pub async fn issue_now(
    app: &App,
    caller: &Caller,
    id: i64,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> AppResult<IssueSummary> {
    begin_issue(app, caller, id).await?;
    Ok(issuer::issuance::issue(&app.db, &app.keys, id, progress).await?)
}

/// Print-ready A4 PDF of an issued order's books, `from` to `to` (at most 100 books a file).
#[tracing::instrument(skip_all, fields(user = caller.user_id, order = id))]
pub async fn print(app: &App, caller: &Caller, id: i64, from: Option<u32>, to: Option<u32>) -> AppResult<Vec<u8>> {
    caller.require(Act::PrintOrder)?;
    visible(app, caller, id).await?;
    Ok(issuer::print_run::render_range(&app.db, id, &app.config.public_url, from, to).await?)
}
