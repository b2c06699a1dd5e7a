//! The server's error type and its single mapping to HTTP answers.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
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
    #[error("authentication required")]
    Unauthorized,
    #[error("invalid email or password")]
    BadCredentials,
    #[error("a valid API key is required")]
    InvalidApiKey,
    #[error("your role may not do this")]
    Forbidden,
    #[error("method {0} is not enabled for this trigger")]
    MethodNotAllowed(String),
    #[error("the body is larger than this trigger accepts ({limit} bytes)")]
    PayloadTooLarge { limit: u64 },
    #[error("content type {0} is not accepted by this trigger")]
    UnsupportedMediaType(String),
    #[error("missing required query parameter `{0}`")]
    MissingQueryParam(String),
    #[error("{message}")]
    InvalidBody { code: &'static str, message: String },
    #[error("the first call with this idempotency key is still running (execution {0}); try again when it has ended")]
    IdempotencyInProgress(String),
    #[error("a call with this idempotency key is being accepted right now; try again shortly")]
    IdempotencyRace,
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
    pub fn classify(&self) -> (StatusCode, &'static str) {
        use AppError::*;
        match self {
            NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Validation { .. } => (StatusCode::BAD_REQUEST, "validation_failed"),
            BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            NoDraft => (StatusCode::BAD_REQUEST, "no_draft"),
            Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            BadCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            InvalidApiKey => (StatusCode::UNAUTHORIZED, "invalid_api_key"),
            Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            MissingQueryParam(_) => (StatusCode::BAD_REQUEST, "missing_query_parameter"),
            InvalidBody { code, .. } => (StatusCode::BAD_REQUEST, code),
            IdempotencyInProgress(_) | IdempotencyRace => {
                (StatusCode::CONFLICT, "idempotency_in_progress")
            }
            Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "shutting_down"),
            Db(e)
                if matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                (StatusCode::CONFLICT, "conflict")
            }
            Db(sea_orm::DbErr::RecordNotFound(_)) => (StatusCode::NOT_FOUND, "not_found"),
            Db(_) | Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    pub fn body(&self) -> ErrorBody {
        let (status, code) = self.classify();
        let message = if status.is_server_error()
            && !matches!(self, AppError::Busy | AppError::ShuttingDown)
        {
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

impl actix_web::ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.classify().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, _) = self.classify();
        if status.is_server_error() {
            tracing::error!(error = %self, source = ?std::error::Error::source(self), "request failed");
        }
        let mut resp = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::CONFLICT {
            resp.insert_header((header::RETRY_AFTER, "1"));
        }
        resp.json(self.body())
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use actix_web::ResponseError;

    fn json_of(e: &AppError) -> serde_json::Value {
        let bytes = e.error_response().into_body().try_into_bytes().unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn client_errors_carry_code_and_message() {
        let v = json_of(&AppError::MissingQueryParam("dryRun".into()));
        assert_eq!(v["error"]["code"], "missing_query_parameter");
        assert_eq!(
            v["error"]["message"],
            "missing required query parameter `dryRun`"
        );
        assert_eq!(
            AppError::PayloadTooLarge { limit: 10 }.status_code(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[test]
    fn server_errors_hide_internal_detail() {
        let e = AppError::Internal(anyhow::anyhow!("db password is hunter2"));
        let v = json_of(&e);
        assert_eq!(v["error"]["code"], "internal");
        assert_eq!(v["error"]["message"], "internal error");
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn busy_says_retry_after() {
        let resp = AppError::Busy.error_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers().get(header::RETRY_AFTER).unwrap(), "1");
    }

    #[test]
    fn validation_lists_details() {
        let e = AppError::validation(
            "the integration is invalid",
            vec![ErrorDetail {
                path: "steps[1].code".into(),
                step: Some("1".into()),
                field: Some("code".into()),
                message: "syntax error".into(),
            }],
        );
        let v = json_of(&e);
        assert_eq!(v["error"]["code"], "validation_failed");
        assert_eq!(v["error"]["details"][0]["path"], "steps[1].code");
    }
}
