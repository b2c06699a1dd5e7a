//! Shadow replay: recorded calls of an integration run again against its draft, with no
//! side effects, to compare the answers before publishing
//! (`POST /api/v1/integrations/{slug}/shadow`).

use serde::{Deserialize, Serialize};

use crate::executions::{ExecutionStatus, ResponseSnapshot};

/// Which calls to run again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShadowIn {
    /// The newest this many finished calls (1 to 200; default 20).
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// Only calls received at or after this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Only calls received before this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

pub const fn default_limit() -> u32 {
    20
}

impl Default for ShadowIn {
    fn default() -> Self {
        ShadowIn {
            limit: default_limit(),
            from: None,
            to: None,
        }
    }
}

/// Most calls one shadow replay runs.
pub const MAX_SHADOW_CALLS: u32 = 200;

/// The answers compared, call by call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShadowOut {
    /// `draft`, or `published` when the integration has no draft.
    pub against: String,
    pub total: u32,
    /// Calls the document answered exactly as recorded (status, headers the flow set, body).
    pub same: u32,
    pub different: u32,
    /// Calls with an HTTP request the recording could not answer (not made; see `runs`).
    pub incomplete: u32,
    /// Newest first.
    pub runs: Vec<ShadowRunOut>,
}

/// One recorded call, run again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShadowRunOut {
    pub execution_id: String,
    pub received_at: String,
    /// The version that answered the call back then.
    pub recorded_version: i64,
    /// What the caller got then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<ResponseSnapshot>,
    /// What the document answers now.
    pub shadow: ResponseSnapshot,
    pub shadow_status: ExecutionStatus,
    pub same: bool,
    /// What differs, e.g. `status: 200 → 422`, `body $.total: 3 → 4`, `body $.note: added`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<String>,
    /// HTTP requests answered from the recording.
    pub replayed_calls: u32,
    /// HTTP requests the recording had no (complete) answer for: `METHOD url` and why. They
    /// were not made; the step saw an error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmatched_calls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
