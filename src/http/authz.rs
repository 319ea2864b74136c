//! The one authorization layer of `/api/v1`: every route has an entry in [`POLICIES`]; the
//! middleware authenticates the bearer token and checks the caller's organisation kind and role
//! before any handler runs. A route without an entry is refused (deny by default). Handlers then
//! answer 404 for another organisation's objects through [`Caller::require_org`].

use crate::http::AppState;
use crate::http::problem::ApiError;
use crate::identity::{OrgKind, Role, tokens};
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{Method, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No login (public voucher check, keys, the OpenAPI document).
    Public,
    /// Any signed-in user.
    AnyUser,
    /// Any user of the operator.
    Operator,
    /// Managers of the operator.
    OperatorManager,
    /// The operator's users and the managers of any organisation (their own organisation only).
    OperatorOrManager,
    /// Users of these kinds of organisation (any role), and the operator.
    Kinds(&'static [OrgKind]),
    /// Managers of a site (their own) and managers of the operator.
    SiteManagerOrOperatorManager,
    /// Users of a site, and no one else (scanning is the site's own act).
    SiteMembers,
}

/// One row of the policy table.
#[derive(Debug, Clone, Copy)]
pub struct RoutePolicy {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const fn rule(method: &'static str, path: &'static str, access: Access) -> RoutePolicy {
    RoutePolicy { method, path, access }
}

/// Every `/api/v1` route and who may call it.
pub const POLICIES: &[RoutePolicy] = &[
    rule("GET", "/api/v1/openapi.json", Access::Public),
    rule("GET", "/api/v1/me", Access::AnyUser),
    rule("GET", "/api/v1/organisations", Access::Operator),
    rule("POST", "/api/v1/organisations", Access::OperatorManager),
    rule("GET", "/api/v1/organisations/{id}", Access::AnyUser),
    rule("GET", "/api/v1/organisations/{id}/users", Access::OperatorOrManager),
    rule("POST", "/api/v1/organisations/{id}/users", Access::OperatorOrManager),
    rule("POST", "/api/v1/users/{id}/password-reset", Access::OperatorManager),
    rule("GET", "/api/v1/tokens", Access::AnyUser),
    rule("POST", "/api/v1/tokens", Access::AnyUser),
    rule("DELETE", "/api/v1/tokens/{id}", Access::AnyUser),
    rule("GET", "/api/v1/ledger/trial-balance", Access::Operator),
    rule("GET", "/api/v1/ledger/verify", Access::OperatorManager),
    rule("GET", "/api/v1/ledger/accounts/{code}/statement", Access::Kinds(&[OrgKind::Funder, OrgKind::Site])),
    rule("GET", "/api/v1/audit", Access::OperatorOrManager),
    rule("GET", "/api/v1/funders", Access::Operator),
    rule("POST", "/api/v1/funders", Access::OperatorManager),
    rule("GET", "/api/v1/funders/{id}", Access::Kinds(&[OrgKind::Funder])),
    rule("PATCH", "/api/v1/funders/{id}", Access::OperatorManager),
    rule("GET", "/api/v1/funders/{id}/payments", Access::Kinds(&[OrgKind::Funder])),
    rule("POST", "/api/v1/funders/{id}/payments", Access::OperatorManager),
    rule("GET", "/api/v1/funders/{id}/position", Access::Kinds(&[OrgKind::Funder])),
    rule("GET", "/api/v1/funders/{id}/expiring", Access::Kinds(&[OrgKind::Funder])),
    rule("GET", "/api/v1/prescribers", Access::Operator),
    rule("POST", "/api/v1/prescribers", Access::OperatorManager),
    rule("GET", "/api/v1/prescribers/{id}", Access::Kinds(&[OrgKind::Prescriber])),
    rule("PATCH", "/api/v1/prescribers/{id}", Access::OperatorManager),
    rule("GET", "/api/v1/orders", Access::Kinds(&[OrgKind::Funder])),
    rule("POST", "/api/v1/orders", Access::OperatorManager),
    rule("GET", "/api/v1/orders/{id}", Access::Kinds(&[OrgKind::Funder])),
    rule("POST", "/api/v1/orders/{id}/confirm", Access::OperatorManager),
    rule("POST", "/api/v1/orders/{id}/cancel", Access::OperatorManager),
    rule("POST", "/api/v1/orders/{id}/issue", Access::OperatorManager),
    rule("POST", "/api/v1/orders/{id}/block", Access::Kinds(&[OrgKind::Funder])),
    rule("GET", "/api/v1/orders/{id}/books.pdf", Access::Kinds(&[OrgKind::Funder])),
    rule("GET", "/api/v1/books", Access::Kinds(&[OrgKind::Funder, OrgKind::Prescriber])),
    rule("GET", "/api/v1/books/{serial}", Access::Kinds(&[OrgKind::Funder, OrgKind::Prescriber])),
    rule("POST", "/api/v1/books/assign", Access::Operator),
    rule("POST", "/api/v1/books/{serial}/cancel", Access::Kinds(&[OrgKind::Funder, OrgKind::Prescriber])),
    rule("POST", "/api/v1/distributions", Access::Kinds(&[OrgKind::Prescriber])),
    rule("GET", "/api/v1/vouchers/{code}", Access::Public),
    rule("GET", "/api/v1/catalogue", Access::AnyUser),
    rule("POST", "/api/v1/catalogue", Access::OperatorManager),
    rule("POST", "/api/v1/catalogue/{code}/retire", Access::OperatorManager),
    rule("GET", "/api/v1/sites", Access::Operator),
    rule("POST", "/api/v1/sites", Access::OperatorManager),
    rule("POST", "/api/v1/sites/import", Access::OperatorManager),
    rule("GET", "/api/v1/sites/{id}", Access::Kinds(&[OrgKind::Site])),
    rule("POST", "/api/v1/sites/{id}/places", Access::SiteManagerOrOperatorManager),
    rule("PUT", "/api/v1/sites/{id}/services", Access::SiteManagerOrOperatorManager),
    rule("PUT", "/api/v1/sites/{id}/bank-account", Access::SiteManagerOrOperatorManager),
    rule("POST", "/api/v1/sites/{id}/accreditation", Access::OperatorManager),
    rule("POST", "/api/v1/sites/{id}/verify", Access::SiteMembers),
    rule("POST", "/api/v1/sites/{id}/redemptions", Access::SiteMembers),
    rule("GET", "/api/v1/sites/{id}/redemptions", Access::Kinds(&[OrgKind::Site])),
    rule("POST", "/api/v1/sites/{id}/redemptions/batch", Access::SiteMembers),
    rule("GET", "/api/v1/anomalies", Access::Operator),
    rule("POST", "/api/v1/anomalies/{id}/dismiss", Access::Operator),
    rule("GET", "/api/v1/invoices", Access::Kinds(&[OrgKind::Funder])),
    rule("GET", "/api/v1/invoices/{id}/pdf", Access::Kinds(&[OrgKind::Funder])),
    rule("GET", "/api/v1/settlements", Access::Operator),
    rule("POST", "/api/v1/settlements", Access::OperatorManager),
    rule("GET", "/api/v1/settlements/{id}", Access::Operator),
    rule("POST", "/api/v1/settlements/{id}/release", Access::OperatorManager),
    rule("POST", "/api/v1/settlements/{id}/cancel", Access::OperatorManager),
    rule("GET", "/api/v1/settlements/{id}/sepa.xml", Access::Operator),
    rule("GET", "/api/v1/settlements/{id}/report.pdf", Access::Operator),
    rule("GET", "/api/v1/settlements/{id}/statements/{site}", Access::Kinds(&[OrgKind::Site])),
    rule("POST", "/api/v1/payouts/{id}/confirm", Access::OperatorManager),
    rule("POST", "/api/v1/payouts/{id}/return", Access::OperatorManager),
    rule("GET", "/api/v1/sites/{id}/payouts", Access::Kinds(&[OrgKind::Site])),
    rule("GET", "/api/v1/funders/{id}/settlements/{run}/sepa.xml", Access::Kinds(&[OrgKind::Funder])),
    rule("PUT", "/api/v1/funders/{id}/bank-account", Access::OperatorOrManager),
    rule("GET", "/api/v1/statistics", Access::Kinds(&[OrgKind::Funder, OrgKind::Site])),
    rule("GET", "/api/v1/statistics/tables/{dimension}", Access::Kinds(&[OrgKind::Funder, OrgKind::Site])),
    rule("GET", "/api/v1/statistics/tables/{dimension}/csv", Access::Kinds(&[OrgKind::Funder, OrgKind::Site])),
    rule("GET", "/api/v1/statistics/report.pdf", Access::Kinds(&[OrgKind::Funder])),
    rule("GET", "/api/v1/open-data/communes.csv", Access::Public),
];

pub fn policy_for(method: &Method, path: &str) -> Option<Access> {
    POLICIES.iter().find(|p| p.method == method.as_str() && p.path == path).map(|p| p.access)
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub organisation_id: i64,
    pub kind: OrgKind,
    pub role: Role,
    pub token_id: i64,
}

impl Caller {
    pub fn is_operator(&self) -> bool {
        self.kind == OrgKind::Operator
    }

    /// The caller as recorded in the audit trail.
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor { user_id: Some(self.user_id), organisation_id: Some(self.organisation_id) }
    }

    pub fn is_manager(&self) -> bool {
        self.role == Role::Manager
    }

    /// The operator sees every organisation; others only their own. Anything else is answered
    /// as if it did not exist.
    pub fn require_org(&self, organisation_id: i64) -> Result<(), ApiError> {
        if self.is_operator() || self.organisation_id == organisation_id { Ok(()) } else { Err(ApiError::not_found()) }
    }

    pub fn allows(&self, access: Access) -> bool {
        match access {
            Access::Public | Access::AnyUser => true,
            Access::Operator => self.is_operator(),
            Access::OperatorManager => self.is_operator() && self.is_manager(),
            Access::OperatorOrManager => self.is_operator() || self.is_manager(),
            Access::Kinds(kinds) => self.is_operator() || kinds.contains(&self.kind),
            Access::SiteManagerOrOperatorManager => {
                self.is_manager() && matches!(self.kind, OrgKind::Operator | OrgKind::Site)
            }
            Access::SiteMembers => self.kind == OrgKind::Site,
        }
    }
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
    // A web page asking on behalf of its signed-in user (set only inside this process).
    if let Some(crate::http::pages::console::OnBehalf(caller)) = req.extensions().get().cloned() {
        if !caller.allows(access) {
            return ApiError::forbidden().into_response();
        }
        req.extensions_mut().insert(caller);
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
