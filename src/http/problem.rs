//! Errors at the HTTP edge: every failure becomes `application/problem+json` (RFC 9457) with
//! a stable machine `code` and a French title and detail.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    /// Stable machine-readable reason.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The id of the request, as in the `x-request-id` header of the answer: quote it to the
    /// operator, who finds it on every log line of the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: Option<String>,
    /// Seconds, for 429 answers.
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, title: &'static str, detail: impl Into<Option<String>>) -> Self {
        ApiError { status, code, title, detail: detail.into(), retry_after: None }
    }
    pub fn bad_request(code: &'static str, detail: impl ToString) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "Requête invalide", Some(detail.to_string()))
    }
    pub fn unprocessable(code: &'static str, detail: impl ToString) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, "Données refusées", Some(detail.to_string()))
    }
    pub fn conflict(code: &'static str, detail: impl ToString) -> Self {
        Self::new(StatusCode::CONFLICT, code, "Conflit", Some(detail.to_string()))
    }
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Introuvable",
            Some("Cette ressource n'existe pas ou ne vous est pas accessible.".into()),
        )
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Authentification requise",
            Some("Présentez un jeton d'API valide dans l'en-tête Authorization: Bearer.".into()),
        )
    }
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Accès refusé",
            Some("Votre rôle ne permet pas cette action.".into()),
        )
    }
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Erreur interne",
            Some("L'opération n'a pas abouti ; rien n'a été modifié.".into()),
        )
    }
    pub fn too_many_requests(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Trop de requêtes",
                Some(format!("Réessayez dans {} seconde(s).", retry_after.max(1))),
            )
        }
    }
    pub fn unavailable(err: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %err, "service unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service indisponible",
            Some("Réessayez dans quelques instants.".into()),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            type_: format!("https://passerelle.invalid/problems/{}", self.code),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            code: self.code.to_owned(),
            detail: self.detail,
            request_id: crate::http::request_id::current(),
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (self.status, [(header::CONTENT_TYPE, "application/problem+json")], json).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => ApiError::unavailable(e),
            e => ApiError::internal(e),
        }
    }
}

impl From<ledger::LedgerError> for ApiError {
    fn from(e: ledger::LedgerError) -> Self {
        use ledger::LedgerError as L;
        let code = e.code();
        match e {
            L::Db(db) => db.into(),
            L::Migrate(m) => ApiError::internal(m),
            L::IdempotencyConflict(key) => ApiError::conflict(
                code,
                format!("La clé d'idempotence « {key} » a déjà servi pour une autre opération."),
            ),
            L::AlreadyReversed(id) => ApiError::conflict(code, format!("La transaction {id} a déjà été contrepassée.")),
            L::TransactionNotFound(_) | L::AccountNotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, code, "Introuvable", Some(e.to_string()))
            }
            L::InvalidAccountCode(..) => ApiError::bad_request(code, e),
            L::Overdraft(account) => ApiError::conflict(code, format!("Le compte {account} passerait sous zéro.")),
            other => ApiError::unprocessable(code, other),
        }
    }
}

impl From<crate::identity::organisations::OrganisationError> for ApiError {
    fn from(e: crate::identity::organisations::OrganisationError) -> Self {
        use crate::identity::organisations::OrganisationError as E;
        match e {
            E::SiretTaken(_) => ApiError::conflict("siret_taken", e),
            E::BadName => ApiError::unprocessable("invalid_name", e),
            E::Db(db) => db.into(),
        }
    }
}

impl From<crate::identity::users::UserError> for ApiError {
    fn from(e: crate::identity::users::UserError) -> Self {
        use crate::identity::users::UserError as E;
        match e {
            E::EmailTaken(_) => ApiError::conflict("email_taken", e),
            E::BadEmail => ApiError::unprocessable("invalid_email", e),
            E::BadName => ApiError::unprocessable("invalid_name", e),
            E::Db(db) => db.into(),
        }
    }
}

impl From<settlement::runs::SettlementError> for ApiError {
    fn from(e: settlement::runs::SettlementError) -> Self {
        use settlement::runs::SettlementError as E;
        match e {
            E::NotFound => ApiError::not_found(),
            E::Ledger(l) => l.into(),
            E::Db(db) => db.into(),
            E::State(_) | E::PreviousOpen(_) | E::LaterPeriodExists(_) => ApiError::conflict(e.code(), e),
            E::PeriodNotOver(_) | E::BadMinimum | E::Sepa(_) => ApiError::unprocessable(e.code(), e),
        }
    }
}

impl From<statistics::StatsError> for ApiError {
    fn from(e: statistics::StatsError) -> Self {
        match e {
            statistics::StatsError::Db(db) => db.into(),
            statistics::StatsError::Period(p) => ApiError::unprocessable("invalid_period", p),
        }
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection as J;
        match r {
            J::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Type de contenu non pris en charge",
                Some("Envoyez un corps JSON avec Content-Type: application/json.".into()),
            ),
            J::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Corps trop volumineux",
                Some(b.body_text()),
            ),
            J::JsonSyntaxError(e) => {
                ApiError::bad_request("invalid_json", format!("JSON mal formé : {}", e.body_text()))
            }
            J::JsonDataError(e) => {
                ApiError::unprocessable("invalid_body", format!("Champ invalide : {}", e.body_text()))
            }
            other => ApiError::bad_request("invalid_body", other.body_text()),
        }
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(r: axum::extract::rejection::BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Corps trop volumineux",
                Some(r.body_text()),
            )
        } else {
            ApiError::bad_request("invalid_body", r.body_text())
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", format!("Paramètre invalide : {}", r.body_text()))
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(r: axum::extract::rejection::PathRejection) -> Self {
        ApiError::bad_request("invalid_path", format!("Chemin invalide : {}", r.body_text()))
    }
}

/// `axum::Json` whose rejections are problem documents. Text with the NUL character (`\u0000`)
/// is refused here, once for every route: PostgreSQL cannot store it in text columns.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == "application" && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
            });
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Type de contenu non pris en charge",
                Some("Envoyez un corps JSON avec Content-Type: application/json.".into()),
            ));
        }
        let Bytes(bytes) = Bytes::from_request(req, state).await?;
        if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
            return Err(ApiError::unprocessable(
                "invalid_text",
                "Un texte ne peut pas contenir le caractère nul (U+0000).",
            ));
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(Json(value))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A raw body (a CSV file, a camera frame) whose rejections — too large, cut — are problem
/// documents.
pub struct Bytes(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Bytes {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Bytes(axum::body::Bytes::from_request(req, state).await?))
    }
}

/// `axum::extract::Query` whose rejections are problem documents.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path` whose rejections are problem documents.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

impl From<issuer::IssuerError> for ApiError {
    fn from(e: issuer::IssuerError) -> Self {
        use issuer::IssuerError as E;
        match e {
            E::Invalid { code, message } => ApiError::unprocessable(code, message),
            E::Conflict { code, message } => ApiError::conflict(code, message),
            E::NotFound => ApiError::not_found(),
            E::Ledger(l) => l.into(),
            E::Db(db) => db.into(),
            E::Print(p) => ApiError::internal(p),
        }
    }
}

impl From<redeemer::redeem::RedeemError> for ApiError {
    fn from(e: redeemer::redeem::RedeemError) -> Self {
        use redeemer::redeem::RedeemError as E;
        match e {
            E::Refused(r) if r.code == "already_redeemed" => ApiError::conflict(r.code, r.message),
            E::Refused(r) => ApiError::unprocessable(r.code, r.message),
            // The same key with another request: the request is wrong, not the state (issue 22).
            E::IdempotencyConflict(_) => ApiError::unprocessable("idempotency_conflict", e),
            E::Issuer(i) => i.into(),
            E::Ledger(l) => l.into(),
            E::Db(db) => db.into(),
            E::Interrupted => ApiError::unavailable(e),
        }
    }
}

/// A use case's refusal in one French sentence, for pages and the terminal: the detail of its
/// problem document.
pub fn sentence(e: crate::app::AppError) -> String {
    let problem = ApiError::from(e);
    problem.detail.unwrap_or_else(|| problem.title.to_owned())
}

/// The one mapping of the application's errors to problem documents.
impl From<crate::app::AppError> for ApiError {
    fn from(e: crate::app::AppError) -> Self {
        use crate::app::AppError as E;
        match e {
            E::Forbidden => ApiError::forbidden(),
            E::NotFound => ApiError::not_found(),
            E::Invalid { code, message } => ApiError::unprocessable(code, message),
            E::BadRequest { code, message } => ApiError::bad_request(code, message),
            E::Conflict { code, message } => ApiError::conflict(code, message),
            E::Limited(seconds) => ApiError::too_many_requests(seconds),
            E::Internal(e) => ApiError::internal(e),
            E::Issuer(e) => e.into(),
            E::Redeem(e) => e.into(),
            E::Ledger(e) => e.into(),
            E::Organisation(e) => e.into(),
            E::User(e) => e.into(),
            E::Settlement(e) => e.into(),
            E::Statistics(e) => e.into(),
            E::Print(e) => ApiError::internal(e),
            E::Db(e) => e.into(),
        }
    }
}
