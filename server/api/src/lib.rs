//! Wire types of Flowgate's admin API (`/api/v1`), shared by the server and the UI.
//!
//! Versioning rule: within `/api/v1` fields are only ever added (with defaults), never renamed
//! or removed, and error codes are stable.

/// `Debug` for types that carry a secret: every field but the secret ones, which print as
/// `[redacted]`, so a secret never reaches a log through `{:?}`.
macro_rules! debug_redacted {
    ($t:ident { $($f:ident),* } secret { $($s:ident),+ }) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    $(.field(stringify!($f), &self.$f))*
                    $(.field(stringify!($s), &"[redacted]"))+
                    .finish()
            }
        }
    };
}

pub mod error;
pub mod executions;
pub mod integrations;
pub mod keys;
pub mod oauth;
pub mod secrets;
pub mod shadow;
pub mod stats;
pub mod subscriptions;
pub mod tables;
pub mod users;

pub use error::{ErrorBody, ErrorDetail, ErrorInner};
pub use executions::{
    CallStatusOut, ExecutionOut, ExecutionStatus, RequestSnapshot, ResponseSnapshot,
};
pub use integrations::{
    DraftOut, ErrorResponse, IntegrationDoc, IntegrationOut, IntegrationPatch, IntegrationStats,
    PublishIn, QueryParam, RateLimit, SignatureAlgorithm, SignatureEncoding, SignaturePreset,
    TestRequest, TestRunIn, TestRunOut, TestStepOut, TriggerAuth, TriggerDoc, ValidateOut,
};
pub use keys::{KeyCreatedOut, KeyIn, KeyOut, KeyPatch, RotateIn};
pub use oauth::{OauthClientCreatedOut, OauthClientIn, OauthClientOut, TokenOut};
pub use shadow::{ShadowIn, ShadowOut, ShadowRunOut};
pub use stats::{Bucket, IntegrationSeries, OverviewOut, Series};
pub use users::{LoginIn, LoginOut, UserOut, UserPatch};

use serde::{Deserialize, Serialize};

/// The response header naming the execution a consumer call created.
pub const EXECUTION_HEADER: &str = "x-flowgate-execution-id";

/// What a credential reads as wherever it would be shown: traces, execution records, logs.
pub const REDACTED: &str = "[redacted]";

/// Request headers that carry a caller's credentials; recorded executions show them as
/// [`REDACTED`].
pub const CREDENTIAL_HEADERS: &[&str] = &["authorization", "cookie", "proxy-authorization"];

/// Whether a header's value should be treated as a secret: the credential headers,
/// `set-cookie`, `x-api-key`, and any name that says `token` or `secret`.
pub fn sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    CREDENTIAL_HEADERS.contains(&n.as_str())
        || matches!(n.as_str(), "x-api-key" | "set-cookie")
        || n.contains("token")
        || n.contains("secret")
}

/// A page of a list, newest first. `next_cursor` is passed back as `cursor` to get the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_headers() {
        for h in [
            "Authorization",
            "cookie",
            "X-API-Key",
            "x-auth-token",
            "X-Client-Secret",
        ] {
            assert!(sensitive_header(h), "{h}");
        }
        for h in ["content-type", "x-request-id", "accept"] {
            assert!(!sensitive_header(h), "{h}");
        }
    }
}
