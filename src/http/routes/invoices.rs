//! Funder invoices and credit notes.
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path};
use axum::extract::State;
use chrono::NaiveDate;
use issuer::invoices::{self, Buyer, Document, Seller};
use serde::Serialize;
use utoipa::ToSchema;

/// An invoice or a credit note.
#[derive(Serialize, ToSchema)]
pub struct DocumentView {
    id: i64,
    /// `invoice` or `credit_note`.
    kind: String,
    /// Its number in its series, e.g. `F2026-00001`.
    reference: String,
    funder_id: i64,
    order_id: i64,
    issued_on: NaiveDate,
    /// Invoices only.
    due_on: Option<NaiveDate>,
    vouchers: i64,
    face_cents: i64,
    /// The operator's fee without VAT.
    fee_net_cents: i64,
    vat_cents: i64,
    total_cents: i64,
    /// VAT on the fee, basis points.
    vat_rate_bps: u32,
    seller: SellerView,
    buyer: BuyerView,
}

/// Who issues the documents, on which terms, as written into each one.
#[derive(Serialize, ToSchema)]
pub struct SellerView {
    name: String,
    siret: Option<String>,
    address: String,
    vat_number: Option<String>,
    /// VAT on the operator's fee, basis points.
    vat_rate_bps: u32,
    /// Days to pay an invoice.
    payment_days: u32,
}

/// The funder a document is addressed to.
#[derive(Serialize, ToSchema)]
pub struct BuyerView {
    name: String,
    siret: Option<String>,
}

impl From<Document> for DocumentView {
    fn from(d: Document) -> Self {
        let Document {
            id,
            kind,
            reference,
            funder_id,
            order_id,
            issued_on,
            due_on,
            vouchers,
            face_cents,
            fee_net_cents,
            vat_cents,
            total_cents,
            vat_rate_bps,
            seller,
            buyer,
        } = d;
        let Seller { name, siret, address, vat_number, vat_rate_bps: seller_vat_rate_bps, payment_days } = seller;
        let seller = SellerView { name, siret, address, vat_number, vat_rate_bps: seller_vat_rate_bps, payment_days };
        let Buyer { name, siret } = buyer;
        DocumentView {
            id,
            kind,
            reference,
            funder_id,
            order_id,
            issued_on,
            due_on,
            vouchers,
            face_cents,
            fee_net_cents,
            vat_cents,
            total_cents,
            vat_rate_bps,
            seller,
            buyer: BuyerView { name, siret },
        }
    }
}

/// Invoices and credit notes, newest first: all for the operator, its own for a funder. Those the
/// ledger calls for are written first.
#[utoipa::path(get, path = "/api/v1/invoices", tag = "factures", responses((status = 200, body = Vec<DocumentView>)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<DocumentView>>> {
    crate::server::write_invoices(&state.db, &state.config).await.map_err(ApiError::internal)?;
    let scope = (!caller.is_operator()).then_some(caller.organisation_id);
    Ok(Json(invoices::list(&state.db, scope).await?.into_iter().map(Into::into).collect()))
}

/// One invoice or credit note as a PDF (the operator, the funder it is addressed to).
#[utoipa::path(get, path = "/api/v1/invoices/{id}/pdf", tag = "factures", responses((status = 200, content_type = "application/pdf", body = Vec<u8>)))]
pub async fn pdf(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<axum::response::Response> {
    let doc = invoices::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    caller.require_org(doc.funder_id)?;
    let bytes = invoices::pdf(&doc).map_err(ApiError::internal)?;
    Ok(crate::http::download("application/pdf", &format!("{}.pdf", doc.reference), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The view answers exactly the JSON the domain type would.
    #[test]
    fn view_serializes_like_the_domain() {
        for (kind, due_on, siret) in [
            ("invoice", NaiveDate::from_ymd_opt(2026, 11, 30), Some("12345678200010".to_owned())),
            ("credit_note", None, None),
        ] {
            let d = Document {
                id: 1,
                kind: kind.into(),
                reference: "F2026-00001".into(),
                funder_id: 2,
                order_id: 3,
                issued_on: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
                due_on,
                vouchers: 100,
                face_cents: 200_000,
                fee_net_cents: 5_000,
                vat_cents: 1_000,
                total_cents: 206_000,
                vat_rate_bps: 2000,
                seller: Seller {
                    name: "Passerelle".into(),
                    siret: siret.clone(),
                    address: "1 place de la République".into(),
                    vat_number: siret.as_ref().map(|_| "FR00123456782".to_owned()),
                    vat_rate_bps: 2000,
                    payment_days: 30,
                },
                buyer: Buyer { name: "Département".into(), siret },
            };
            assert_eq!(serde_json::to_value(DocumentView::from(d.clone())).unwrap(), serde_json::to_value(&d).unwrap());
        }
    }
}
