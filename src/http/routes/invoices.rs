//! Funder invoices and credit notes — adapters of `crate::app::invoices`.

use crate::app::invoices::{self, InvoiceView};
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiResult, Json, Path, Problem};
use axum::extract::State;

/// Invoices and credit notes, newest first: all for the operator, its own for a funder. Those the
/// ledger calls for are written first.
#[utoipa::path(get, path = "/api/v1/invoices", operation_id = "list_invoices", tag = "factures", responses((status = 200, body = Vec<InvoiceView>)))]
pub async fn list(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<InvoiceView>>> {
    Ok(Json(invoices::list(&app, &caller).await?))
}

/// One invoice or credit note as a PDF (the operator, the funder it is addressed to).
#[utoipa::path(get, path = "/api/v1/invoices/{id}/pdf", tag = "factures",
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem)))]
pub async fn pdf(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<axum::response::Response> {
    let doc = invoices::pdf(&app, &caller, id).await?;
    Ok(crate::http::download("application/pdf", &doc.file_name, doc.bytes))
}
