//! The server's error type: every error with its HTTP status and stable code, in one table
//! (`classify`). `http::error` turns it into an answer.

use flowgate_api::{ErrorBody, ErrorDetail};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Validation {
        message: String,
        details: Vec<ErrorDetail>,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("there is no draft to publish")]
    NoDraft,
    #[error("this integration has never been published: its trigger has no endpoint yet")]
    NotPublished,
    #[error("authentication required")]
    Unauthorized,
    #[error("invalid email or password")]
    BadCredentials,
    #[error("a valid API key is required")]
    InvalidApiKey,
    #[error("this API key has expired")]
    ExpiredApiKey,
    /// A bearer token was needed and none was sent.
    #[error("an access token is required: Authorization: Bearer <token from /oauth/token>")]
    TokenRequired,
    /// The bearer token is forged, expired, of a revoked client or not for this trigger.
    #[error("{0}")]
    InvalidToken(String),
    #[error("the access token lacks the scope `{0}`")]
    InsufficientScope(String),
    #[error("invalid signature: {0}")]
    InvalidSignature(String),
    #[error("too many calls {what}; try again in {retry_after_s} s")]
    RateLimited {
        what: &'static str,
        retry_after_s: u64,
    },
    #[error("your role may not do this")]
    Forbidden,
    /// `GET /t/{path}/executions/{id}` on a trigger whose callers present no credential.
    #[error("calls to this trigger are signed webhooks without a credential; their executions cannot be followed here")]
    NotFollowable,
    #[error("method {0} is not enabled for this trigger")]
    MethodNotAllowed(String),
    #[error("the body is larger than this trigger accepts ({limit} bytes)")]
    PayloadTooLarge { limit: u64 },
    #[error("the body is larger than {limit} bytes")]
    RequestTooLarge { limit: u64 },
    #[error("send the body as application/json")]
    NotJson,
    #[error("the request's headers are larger than {limit} bytes")]
    HeadersTooLarge { limit: usize },
    #[error("content type {0} is not accepted by this trigger")]
    UnsupportedMediaType(String),
    #[error("missing required query parameter `{0}`")]
    MissingQueryParam(String),
    #[error("{message}")]
    InvalidBody { code: &'static str, message: String },
    #[error("the first call with this idempotency key is still running (execution {0}); try again when it has ended")]
    IdempotencyInProgress(String),
    #[error("the server is busy; try again shortly")]
    Busy,
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn validation(message: impl Into<String>, details: Vec<ErrorDetail>) -> Self {
        AppError::Validation {
            message: message.into(),
            details,
        }
    }

    /// The status and the stable code of every error, in one place.
    pub fn classify(&self) -> (u16, &'static str) {
        use AppError::*;
        match self {
            NotFound(_) => (404, "not_found"),
            Validation { .. } => (400, "validation_failed"),
            BadRequest(_) => (400, "bad_request"),
            Conflict(_) => (409, "conflict"),
            NoDraft => (400, "no_draft"),
            NotPublished => (409, "not_published"),
            Unauthorized => (401, "unauthorized"),
            BadCredentials => (401, "invalid_credentials"),
            InvalidApiKey | ExpiredApiKey => (401, "invalid_api_key"),
            TokenRequired | InvalidToken(_) => (401, "invalid_token"),
            InsufficientScope(_) => (403, "insufficient_scope"),
            InvalidSignature(_) => (401, "invalid_signature"),
            RateLimited { .. } => (429, "rate_limited"),
            Forbidden => (403, "forbidden"),
            NotFollowable => (403, "not_followable"),
            MethodNotAllowed(_) => (405, "method_not_allowed"),
            PayloadTooLarge { .. } | RequestTooLarge { .. } => (413, "payload_too_large"),
            NotJson => (415, "unsupported_media_type"),
            HeadersTooLarge { .. } => (431, "headers_too_large"),
            UnsupportedMediaType(_) => (415, "unsupported_media_type"),
            MissingQueryParam(_) => (400, "missing_query_parameter"),
            InvalidBody { code, .. } => (400, code),
            IdempotencyInProgress(_) => (409, "idempotency_in_progress"),
            Busy => (503, "busy"),
            ShuttingDown => (503, "shutting_down"),
            Db(e)
                if matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                (409, "conflict")
            }
            Db(sea_orm::DbErr::RecordNotFound(_)) => (404, "not_found"),
            Db(_) | Internal(_) => (500, "internal"),
        }
    }

    pub fn body(&self) -> ErrorBody {
        let (status, code) = self.classify();
        let message = if status >= 500 && !matches!(self, AppError::Busy | AppError::ShuttingDown) {
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        let mut body = ErrorBody::new(code, message);
        if let AppError::Validation { details, .. } = self {
            body.error.details = details.clone();
        }
        if let AppError::IdempotencyInProgress(id) = self {
            body.error.execution_id = Some(id.clone());
        }
        body
    }
}

pub type AppResult<T> = Result<T, AppError>;
