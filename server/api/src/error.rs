//! The error body every 4xx/5xx answer of Flowgate carries.

use serde::{Deserialize, Serialize};

/// `{"error": {"code": "snake_case_code", "message": "...", "details": [...], "execution_id": "..."}}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorInner,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorInner {
    /// Stable machine-readable code (never renamed).
    pub code: String,
    /// Human-readable explanation, safe to show to the caller.
    pub message: String,
    /// Field-level problems (validation), if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ErrorDetail>,
    /// The execution this error belongs to, for consumer calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
}

/// One field-level problem, e.g. a step that does not compile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Where: `trigger.path`, `steps[2].then[0].code`, ...
    pub path: String,
    /// The step, when the problem is in a step: `"2"`, `"2.then.0"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorInner {
                code: code.into(),
                message: message.into(),
                details: Vec::new(),
                execution_id: None,
            },
        }
    }
}
