//! Funder invoices and credit notes.
use crate::http::AppState;
use crate::http::authz::Caller;
use crate::http::problem::{ApiError, ApiResult, Json, Path};
use axum::extract::State;
use issuer::invoices::{self, Document};

/// Invoices and credit notes, newest first: all for the operator, its own for a funder. Those the
/// ledger calls for are written first.
#[utoipa::path(get, path = "/api/v1/invoices", tag = "factures", responses((status = 200, body = Vec<Object>)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Document>>> {
    crate::server::write_invoices(&state.db, &state.config).await.map_err(ApiError::internal)?;
    let scope = (!caller.is_operator()).then_some(caller.organisation_id);
    Ok(Json(invoices::list(&state.db, scope).await?))
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
