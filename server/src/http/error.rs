//! The one mapping of [`AppError`] to an HTTP answer: its status, `Retry-After` where trying
//! again helps, and the JSON error body.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;

use crate::error::AppError;

/// The HTTP status of an error.
pub fn status_of(e: &AppError) -> StatusCode {
    StatusCode::from_u16(e.classify().0).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl actix_web::ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        status_of(self)
    }

    fn error_response(&self) -> HttpResponse {
        let status = status_of(self);
        if status.is_server_error() {
            tracing::error!(error = %self, source = ?std::error::Error::source(self), "request failed");
        }
        let mut resp = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::CONFLICT {
            resp.insert_header((header::RETRY_AFTER, "1"));
        }
        match self {
            AppError::RateLimited { retry_after_s, .. } => {
                resp.insert_header((header::RETRY_AFTER, retry_after_s.to_string()));
            }
            // RFC 6750 §3: what a bearer-token caller needs to know (no error code when it
            // sent no token at all).
            AppError::TokenRequired => {
                resp.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"flowgate\""));
            }
            AppError::InvalidToken(message) => {
                resp.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!(
                        "Bearer realm=\"flowgate\", error=\"invalid_token\", error_description=\"{}\"",
                        message.replace('"', "'")
                    ),
                ));
            }
            AppError::InsufficientScope(scope) => {
                resp.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!(
                        "Bearer realm=\"flowgate\", error=\"insufficient_scope\", scope=\"{scope}\""
                    ),
                ));
            }
            _ => {}
        }
        resp.json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use actix_web::ResponseError;
    use flowgate_api::ErrorDetail;

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
    fn token_errors_say_how_to_authenticate() {
        let resp = AppError::InvalidToken("the access token has expired".into()).error_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let h = resp.headers().get(header::WWW_AUTHENTICATE).unwrap();
        assert_eq!(
            h,
            "Bearer realm=\"flowgate\", error=\"invalid_token\", error_description=\"the access token has expired\""
        );
        let resp = AppError::RateLimited {
            what: "to this trigger",
            retry_after_s: 3,
        }
        .error_response();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers().get(header::RETRY_AFTER).unwrap(), "3");
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
