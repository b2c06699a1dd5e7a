//! The execution model: what is stored for one call (accepted, claimed, finished), its lane,
//! and the answer its caller gets. How these are built: `core::conclude`.

use std::collections::BTreeMap;

use base64::Engine as _;
use flowgate_api::{ExecutionStatus, ResponseSnapshot};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Sync,
    Async,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::Async => "async",
        }
    }
}

/// A call accepted for execution, as first written.
#[derive(Debug, Clone)]
pub struct NewExecution {
    pub id: String,
    pub integration_id: String,
    pub slug: String,
    pub version: i64,
    pub mode: Mode,
    pub ordered: bool,
    pub received_at: i64,
    /// The serialized [`RequestSnapshot`].
    pub request: String,
    /// The execution this one replays.
    pub replay_of: Option<String>,
    pub idempotency_key: Option<String>,
    /// Ordered triggers with a lane key: this call's lane (empty: the trigger's one lane).
    pub lane_key: String,
    /// The credential the call came with.
    pub caller: Option<flows_runtime::Caller>,
}

impl NewExecution {
    /// The lane this ordered call runs in.
    pub fn lane(&self) -> String {
        lane_id(&self.integration_id, &self.lane_key)
    }
}

/// A lane's id: the integration id, then `/` and the key for a keyed lane.
pub fn lane_id(integration_id: &str, key: &str) -> String {
    if key.is_empty() {
        integration_id.to_owned()
    } else {
        format!("{integration_id}/{key}")
    }
}

/// The integration id and the key of a lane id.
pub fn split_lane_id(lane: &str) -> (&str, &str) {
    lane.split_once('/').unwrap_or((lane, ""))
}

/// The end state of an execution.
#[derive(Debug, Clone)]
pub struct Finished {
    pub id: String,
    pub status: ExecutionStatus,
    pub started_at: i64,
    pub finished_at: i64,
    pub attempts: i32,
    pub response_status: Option<i32>,
    pub response: Option<String>,
    pub steps: String,
    pub logs: String,
    pub error: Option<String>,
    /// Set when the run failed and will be retried: the row goes back to `queued`.
    pub next_attempt_at: Option<i64>,
    /// A request-response caller waits for this end on another instance: tell it.
    pub notify_waiter: bool,
    /// Events the run emitted: the journal writes their deliveries with this end.
    pub events: Vec<NewEvent>,
}

/// An event a flow run emitted, carried with the run's end to the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: String,
    pub payload: Value,
}

/// A claimed execution that a worker is about to run.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub mode: Mode,
    /// `queued`, or `dead` for a dead letter found at the head of an ordered lane.
    pub status: String,
    pub integration_id: String,
    pub slug: String,
    pub version: i64,
    pub sequence: Option<i64>,
    pub attempts: i32,
    pub request: String,
    /// A retry is due at this time.
    pub next_attempt_at: Option<i64>,
}

/// The answer a flow gives its caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: AnswerBody,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AnswerBody {
    Empty,
    Json(Value),
    Text(String),
    Binary(Vec<u8>),
}

impl Answer {
    /// The answer a stored response gives again (idempotent repeats, callers on another
    /// instance). A string body is text unless the content type says JSON.
    pub fn from_snapshot(snap: ResponseSnapshot) -> Answer {
        let json_type = snap
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .is_none_or(|(_, v)| v.contains("json"));
        let body = match snap.body {
            Value::Null => AnswerBody::Empty,
            Value::String(t) if !json_type => AnswerBody::Text(t),
            v => AnswerBody::Json(v),
        };
        Answer {
            status: snap.status,
            headers: snap.headers,
            body,
        }
    }

    /// What the stored response shows.
    pub fn snapshot(&self) -> ResponseSnapshot {
        let body = match &self.body {
            AnswerBody::Empty => Value::Null,
            AnswerBody::Json(v) => v.clone(),
            AnswerBody::Text(t) => Value::String(t.clone()),
            AnswerBody::Binary(b) => {
                Value::String(base64::engine::general_purpose::STANDARD.encode(b))
            }
        };
        ResponseSnapshot {
            status: self.status,
            headers: self.headers.clone(),
            body,
        }
    }
}

/// The JSON error answer of an execution (`{"error": {code, message, execution_id}}`).
pub fn error_answer(status: u16, code: &str, message: &str, execution_id: &str) -> Answer {
    Answer {
        status,
        headers: BTreeMap::new(),
        body: AnswerBody::Json(json!({
            "error": {"code": code, "message": message, "execution_id": execution_id}
        })),
    }
}
