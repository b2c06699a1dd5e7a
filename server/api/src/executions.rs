//! Executions: one run of a flow for one incoming call.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    /// Accepted, waiting for a worker (or for its turn in an ordered lane).
    Queued,
    Running,
    /// The flow responded or reached its end.
    Succeeded,
    /// The flow rejected the call on purpose (`fail`).
    Failed,
    /// The flow broke: script error, limit or deadline.
    Errored,
    /// Failed on every attempt its retry policy allows: a dead letter, to inspect and replay.
    Dead,
    /// A dead execution a person chose not to run again (its ordered lane goes on).
    Skipped,
}

impl ExecutionStatus {
    pub const ALL: [ExecutionStatus; 7] = [
        ExecutionStatus::Queued,
        ExecutionStatus::Running,
        ExecutionStatus::Succeeded,
        ExecutionStatus::Failed,
        ExecutionStatus::Errored,
        ExecutionStatus::Dead,
        ExecutionStatus::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Queued => "queued",
            ExecutionStatus::Running => "running",
            ExecutionStatus::Succeeded => "succeeded",
            ExecutionStatus::Failed => "failed",
            ExecutionStatus::Errored => "errored",
            ExecutionStatus::Dead => "dead",
            ExecutionStatus::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            ExecutionStatus::Succeeded
                | ExecutionStatus::Failed
                | ExecutionStatus::Errored
                | ExecutionStatus::Dead
                | ExecutionStatus::Skipped
        )
    }
}

/// What the caller sent (credentials removed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestSnapshot {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `json` (body is the JSON value), `form` (an object), `text`, `base64` or `none`.
    pub body_encoding: String,
    pub body: serde_json::Value,
    /// The credential the call came with (`request.caller` in flows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<CallerSchema>))]
    pub caller: Option<flows_runtime::Caller>,
}

/// The credential a call came with (the schema of `flows_runtime::Caller`).
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct CallerSchema {
    /// `api_key` or `oauth_client`.
    #[schema(rename = "type")]
    kind: String,
    /// The key's or the OAuth client's id.
    id: String,
    /// Its label when the call came in.
    label: String,
}

/// What the caller got (or would have got, for asynchronous calls).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResponseSnapshot {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepOut {
    pub index: String,
    #[serde(rename = "type")]
    pub step_type: String,
    /// `ok`, `error` or `skipped`.
    pub status: String,
    pub duration_us: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Outbound HTTP requests the step made (HTTP steps, `http()`), credentials redacted: each
    /// an HTTP call trace (method, url, attempt, headers, status, body excerpt, duration); see
    /// docs/api.md (Executions).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<flows_runtime::HttpCallTrace>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogOut {
    pub step: String,
    pub level: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecutionOut {
    pub id: String,
    /// The integration's slug.
    pub integration: String,
    pub version: i64,
    pub status: ExecutionStatus,
    /// `sync` (request-response) or `async`.
    pub mode: String,
    /// Arrival order within an ordered trigger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i64>,
    pub received_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    pub attempts: i32,
    /// When a queued retry is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    /// The execution this one replays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<String>,
    /// Ordered triggers with a lane key: the lane this execution ran in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The credential the call came with (absent for open and signature-only triggers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<CallerSchema>))]
    pub caller: Option<flows_runtime::Caller>,
    /// Absent in list answers; present in `GET /executions/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestSnapshot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseSnapshot>,
    #[serde(default)]
    pub steps: Vec<StepOut>,
    #[serde(default)]
    pub logs: Vec<LogOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /t/{trigger path}/executions/{id}`: what a consumer sees of one of its own calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallStatusOut {
    pub execution_id: String,
    pub status: ExecutionStatus,
    pub received_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    pub attempts: i32,
    /// When a queued retry is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    /// Once the execution has ended: the answer the flow gave (or the error answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseSnapshot>,
}

/// `POST /api/v1/executions/{id}/replay` and `POST /api/v1/integrations/{slug}/replay`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReplayIn {
    /// `original` (default): the flow version the call first ran with; `current`: the
    /// published one.
    #[serde(default)]
    pub version: ReplayVersion,
    /// Bulk only: executions in this status (default `dead`; also `failed`, `errored`,
    /// `succeeded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ExecutionStatus>,
    /// Bulk only: received at or after (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub from: Option<String>,
    /// Bulk only: received before (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub to: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReplayVersion {
    #[default]
    Original,
    Current,
}

/// What a replay did: a dead execution goes back to the queue in place (same id, same place
/// in its lane); any other finished one is run again as a new execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplayOut {
    pub execution_id: String,
    /// `requeued` (the same execution) or `new` (a new execution replaying it).
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkReplayOut {
    pub requeued: u64,
    pub created: u64,
}
