//! What a run records per step and the lines it logs (plain data, always compiled).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How one step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Ran to its end (a `respond` step, or a script that called `respond()`, is ok too).
    Ok,
    /// The flow broke or failed in it (for a condition: in one of its steps).
    Error,
    /// Not run: disabled, in the branch not taken, or after the flow had ended.
    Skipped,
}

/// One step of one run. A run lists every step of the flow in pre-order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTrace {
    /// `"0"`, `"2.then.0"`: the same scheme as [`crate::ValidationError::step`].
    pub index: String,
    /// `map`, `script`, `condition`, `respond`, `fail` or `log`.
    pub step_type: String,
    pub status: StepStatus,
    /// Wall-clock time in the step (a condition includes its branch).
    pub duration_us: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Outbound HTTP requests made by the step (an `http` step, or `http()` in a script), one
    /// per attempt, token requests included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<HttpCallTrace>,
}

/// Longest body excerpt kept in a call's trace, in bytes.
pub const MAX_CALL_EXCERPT_BYTES: usize = 2048;

/// One outbound HTTP request and its answer, as the trace shows it: credentials redacted,
/// bodies cut to [`MAX_CALL_EXCERPT_BYTES`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpCallTrace {
    pub method: String,
    /// The URL with its query string.
    pub url: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// `token` for a request to an OAuth2 token endpoint; absent for the call itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    /// The answer's status; absent when there was no answer (see `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    pub duration_us: u64,
    /// Why there was no usable answer: connection refused, timeout, too large.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A line logged by a `log` step, `print()` (info) or `debug()` (debug).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The step that logged it.
    pub step: String,
    /// `debug`, `info`, `warn` or `error`.
    pub level: String,
    pub message: String,
}

/// Longest snapshot of `vars` kept per step, in bytes of JSON; a larger one is replaced by a
/// string saying so.
pub const MAX_SNAPSHOT_BYTES: usize = 64 * 1024;

/// What `vars` held around one step. Recorded only by flows compiled for a test run
/// ([`crate::Runtime::compile_capturing`]); a production run records nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepSnapshot {
    /// `vars` as the step found it; `None` for a step that did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
    /// `vars` after the step (for a step that ended the flow or broke: as the flow ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
}

/// An event published by an `emit` step or `emit()` during a run. The runtime only collects
/// events; delivering them is the server's business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmittedEvent {
    /// `user.updated`
    pub event_type: String,
    pub payload: serde_json::Value,
    /// The step that emitted it (`"2"`, `"1.then.0"`).
    pub step: String,
}

/// Most events one run may emit (one more is an error).
pub const MAX_EVENTS_PER_RUN: usize = 100;
/// Largest payload of one event, in bytes of JSON.
pub const MAX_EVENT_PAYLOAD_BYTES: usize = 256 * 1024;
/// Largest total of all payloads of one run, in bytes of JSON.
pub const MAX_EVENTS_TOTAL_BYTES: usize = 1024 * 1024;
