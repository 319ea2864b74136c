//! The authorization layer of `/api/v1`: every route names its action in [`ROUTES`]; the
//! middleware authenticates the bearer token and checks that action in the one policy table
//! (`crate::app::policy`) before any handler runs, so a refusal costs no body parsing. A route
//! without a row is refused (deny by default). The use cases check the same table again, for
//! the pages and the CLI that call them directly.

use crate::http::AppState;
use crate::http::problem::ApiError;
use crate::identity::tokens;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{Method, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use crate::app::Caller;
pub use crate::app::policy::{Access, Act};

/// One row of the route table: the action a route performs.
#[derive(Debug, Clone, Copy)]
pub struct RoutePolicy {
    pub method: &'static str,
    pub path: &'static str,
    pub act: Act,
}

impl RoutePolicy {
    /// Who may call the route: the policy of its action.
    pub const fn access(&self) -> Access {
        self.act.access()
    }
}

const fn route(method: &'static str, path: &'static str, act: Act) -> RoutePolicy {
    RoutePolicy { method, path, act }
}

/// Every `/api/v1` route and the action it performs (deny by default: a route without a row is
/// refused).
pub const ROUTES: &[RoutePolicy] = &[
    route("GET", "/api/v1/openapi.json", Act::ReadApiDocument),
    route("GET", "/api/v1/me", Act::ReadMe),
    route("GET", "/api/v1/organisations", Act::ListOrganisations),
    route("POST", "/api/v1/organisations", Act::CreateOrganisation),
    route("GET", "/api/v1/organisations/{id}", Act::ReadOrganisation),
    route("GET", "/api/v1/organisations/{id}/users", Act::ListMembers),
    route("POST", "/api/v1/organisations/{id}/users", Act::InviteMember),
    route("POST", "/api/v1/users/{id}/password-reset", Act::ResetPassword),
    route("GET", "/api/v1/tokens", Act::ListTokens),
    route("POST", "/api/v1/tokens", Act::CreateToken),
    route("DELETE", "/api/v1/tokens/{id}", Act::RevokeToken),
    route("GET", "/api/v1/ledger/trial-balance", Act::ReadTrialBalance),
    route("GET", "/api/v1/ledger/verify", Act::VerifyLedger),
    route("GET", "/api/v1/ledger/accounts/{code}/statement", Act::ReadAccountStatement),
    route("GET", "/api/v1/audit", Act::ReadAuditTrail),
    route("GET", "/api/v1/funders", Act::ListFunders),
    route("POST", "/api/v1/funders", Act::CreateFunder),
    route("GET", "/api/v1/funders/{id}", Act::ReadFunder),
    route("PATCH", "/api/v1/funders/{id}", Act::UpdateFunder),
    route("GET", "/api/v1/funders/{id}/payments", Act::ListFunderPayments),
    route("POST", "/api/v1/funders/{id}/payments", Act::RecordFunderPayment),
    route("GET", "/api/v1/funders/{id}/position", Act::ReadFunderPosition),
    route("GET", "/api/v1/funders/{id}/expiring", Act::ListExpiringVouchers),
    route("GET", "/api/v1/prescribers", Act::ListPrescribers),
    route("POST", "/api/v1/prescribers", Act::CreatePrescriber),
    route("GET", "/api/v1/prescribers/{id}", Act::ReadPrescriber),
    route("PATCH", "/api/v1/prescribers/{id}", Act::UpdatePrescriber),
    route("GET", "/api/v1/orders", Act::ListOrders),
    route("POST", "/api/v1/orders", Act::CreateOrder),
    route("GET", "/api/v1/orders/{id}", Act::ReadOrder),
    route("POST", "/api/v1/orders/{id}/confirm", Act::ConfirmOrder),
    route("POST", "/api/v1/orders/{id}/cancel", Act::CancelOrder),
    route("POST", "/api/v1/orders/{id}/issue", Act::IssueOrder),
    route("POST", "/api/v1/orders/{id}/block", Act::BlockOrder),
    route("GET", "/api/v1/orders/{id}/books.pdf", Act::PrintOrder),
    route("GET", "/api/v1/books", Act::ListBooks),
    route("GET", "/api/v1/books/{serial}", Act::ReadBook),
    route("POST", "/api/v1/books/assign", Act::AssignBooks),
    route("POST", "/api/v1/books/{serial}/cancel", Act::CancelBook),
    route("POST", "/api/v1/distributions", Act::HandOverBook),
    route("GET", "/api/v1/vouchers/{code}", Act::CheckVoucher),
    route("GET", "/api/v1/catalogue", Act::ReadCatalogue),
    route("POST", "/api/v1/catalogue", Act::SaveService),
    route("POST", "/api/v1/catalogue/{code}/retire", Act::RetireService),
    route("GET", "/api/v1/sites", Act::ListSites),
    route("POST", "/api/v1/sites", Act::CreateSite),
    route("POST", "/api/v1/sites/import", Act::ImportSites),
    route("GET", "/api/v1/sites/{id}", Act::ReadSite),
    route("POST", "/api/v1/sites/{id}/places", Act::AddPlace),
    route("PUT", "/api/v1/sites/{id}/services", Act::SetServices),
    route("PUT", "/api/v1/sites/{id}/bank-account", Act::SetSiteBankAccount),
    route("POST", "/api/v1/sites/{id}/accreditation", Act::DecideAccreditation),
    route("POST", "/api/v1/sites/{id}/verify", Act::VerifyVouchers),
    route("POST", "/api/v1/sites/{id}/redemptions", Act::Redeem),
    route("GET", "/api/v1/sites/{id}/redemptions", Act::ListPassages),
    route("POST", "/api/v1/sites/{id}/redemptions/batch", Act::RedeemBatch),
    route("GET", "/api/v1/anomalies", Act::ListAnomalies),
    route("POST", "/api/v1/anomalies/{id}/dismiss", Act::DismissAnomaly),
    route("GET", "/api/v1/invoices", Act::ListInvoices),
    route("GET", "/api/v1/invoices/{id}/pdf", Act::PrintInvoice),
    route("GET", "/api/v1/settlements", Act::ListSettlements),
    route("POST", "/api/v1/settlements", Act::PrepareSettlement),
    route("GET", "/api/v1/settlements/{id}", Act::ReadSettlement),
    route("POST", "/api/v1/settlements/{id}/release", Act::ReleaseSettlement),
    route("POST", "/api/v1/settlements/{id}/cancel", Act::CancelSettlement),
    route("GET", "/api/v1/settlements/{id}/sepa.xml", Act::DownloadSepa),
    route("GET", "/api/v1/settlements/{id}/report.pdf", Act::PrintSettlementReport),
    route("GET", "/api/v1/settlements/{id}/statements/{site}", Act::PrintSiteStatement),
    route("POST", "/api/v1/payouts/{id}/confirm", Act::ConfirmPayout),
    route("POST", "/api/v1/payouts/{id}/return", Act::RecordPayoutReturn),
    route("GET", "/api/v1/sites/{id}/payouts", Act::ListSitePayouts),
    route("GET", "/api/v1/funders/{id}/settlements/{run}/sepa.xml", Act::DownloadFunderSepa),
    route("PUT", "/api/v1/funders/{id}/bank-account", Act::SetFunderBankAccount),
    route("GET", "/api/v1/statistics", Act::ReadFigures),
    route("GET", "/api/v1/statistics/tables/{dimension}", Act::ReadStatisticsTable),
    route("GET", "/api/v1/statistics/tables/{dimension}/csv", Act::DownloadStatisticsTable),
    route("GET", "/api/v1/statistics/report.pdf", Act::PrintImpactReport),
    route("GET", "/api/v1/open-data/communes.csv", Act::DownloadOpenData),
];

pub fn policy_for(method: &Method, path: &str) -> Option<Access> {
    ROUTES.iter().find(|p| p.method == method.as_str() && p.path == path).map(RoutePolicy::access)
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(ApiError::unauthorized)
    }
}

fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The middleware: policy lookup, authentication, role check.
pub async fn authorize(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(path) = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()) else {
        return next.run(req).await;
    };
    if !path.starts_with("/api/v1/") {
        return next.run(req).await;
    }
    let Some(access) = policy_for(req.method(), &path) else {
        tracing::error!(%path, method = %req.method(), "route without an authorization policy");
        return ApiError::forbidden().into_response();
    };
    if access == Access::Public {
        return next.run(req).await;
    }
    let Some(token) = bearer(&req) else {
        return ApiError::unauthorized().into_response();
    };
    let owner = match tokens::authenticate(&state.db, &state.tokens, token).await {
        Ok(Some(owner)) => owner,
        Ok(None) => return ApiError::unauthorized().into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let caller = Caller {
        user_id: owner.user_id,
        organisation_id: owner.organisation_id,
        kind: owner.kind,
        role: owner.role,
        token_id: owner.token_id,
    };
    if !caller.allows(access) {
        return ApiError::forbidden().into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}
