//! Funder invoices and credit notes: the list (those the ledger calls for are written first) and
//! each document as a PDF, for the operator and the funder it is addressed to.

use crate::app::{Act, App, AppError, AppResult, Caller};
use chrono::NaiveDate;
use issuer::invoices::{self, Document};
use serde::Serialize;
use utoipa::ToSchema;

/// Who issues the document, frozen into it when written.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = InvoiceSeller)]
pub struct SellerView {
    pub name: String,
    pub siret: Option<String>,
    pub address: String,
    pub vat_number: Option<String>,
    /// VAT on the operator's fee, basis points.
    pub vat_rate_bps: u32,
    /// Days to pay an invoice.
    pub payment_days: u32,
}

/// The funder the document is addressed to.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = InvoiceBuyer)]
pub struct BuyerView {
    pub name: String,
    pub siret: Option<String>,
}

/// An invoice or a credit note.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Invoice)]
pub struct InvoiceView {
    pub id: i64,
    /// invoice or credit_note
    pub kind: String,
    pub reference: String,
    pub funder_id: i64,
    pub order_id: i64,
    #[schema(value_type = String, format = Date)]
    pub issued_on: NaiveDate,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
    pub vouchers: i64,
    pub face_cents: i64,
    pub fee_net_cents: i64,
    pub vat_cents: i64,
    pub total_cents: i64,
    pub vat_rate_bps: u32,
    pub seller: SellerView,
    pub buyer: BuyerView,
}

impl From<Document> for InvoiceView {
    fn from(d: Document) -> Self {
        InvoiceView {
            id: d.id,
            kind: d.kind,
            reference: d.reference,
            funder_id: d.funder_id,
            order_id: d.order_id,
            issued_on: d.issued_on,
            due_on: d.due_on,
            vouchers: d.vouchers,
            face_cents: d.face_cents,
            fee_net_cents: d.fee_net_cents,
            vat_cents: d.vat_cents,
            total_cents: d.total_cents,
            vat_rate_bps: d.vat_rate_bps,
            seller: SellerView {
                name: d.seller.name,
                siret: d.seller.siret,
                address: d.seller.address,
                vat_number: d.seller.vat_number,
                vat_rate_bps: d.seller.vat_rate_bps,
                payment_days: d.seller.payment_days,
            },
            buyer: BuyerView { name: d.buyer.name, siret: d.buyer.siret },
        }
    }
}

/// A document printed: its file name and its bytes.
pub struct InvoicePdf {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Invoices and credit notes, newest first: all for the operator, its own for a funder. Those the
/// ledger calls for are written first.
#[tracing::instrument(skip_all, fields(user = caller.user_id))]
pub async fn list(app: &App, caller: &Caller) -> AppResult<Vec<InvoiceView>> {
    caller.require(Act::ListInvoices)?;
    crate::server::write_invoices(&app.db, &app.config).await.map_err(AppError::internal)?;
    let scope = (!caller.is_operator()).then_some(caller.organisation_id);
    Ok(invoices::list(&app.db, scope).await?.into_iter().map(Into::into).collect())
}

/// One invoice or credit note as a PDF (the operator, the funder it is addressed to).
#[tracing::instrument(skip_all, fields(user = caller.user_id, invoice = id))]
pub async fn pdf(app: &App, caller: &Caller, id: i64) -> AppResult<InvoicePdf> {
    caller.require(Act::PrintInvoice)?;
    let doc = invoices::get(&app.db, id).await?.ok_or(AppError::NotFound)?;
    caller.require_org(doc.funder_id)?;
    let bytes = invoices::pdf(&doc).map_err(AppError::internal)?;
    Ok(InvoicePdf { file_name: format!("{}.pdf", doc.reference), bytes })
}
