//! Executions: what is stored for one call, how a stored call becomes a flow input again, and
//! how a flow's outcome becomes the caller's answer.

use std::collections::BTreeMap;

use base64::Engine as _;
use flowgate_api::executions::{LogOut, StepOut};
use flowgate_api::integrations::{QueryParam, RetryPolicy};
use flowgate_api::{ExecutionStatus, RequestSnapshot, ResponseSnapshot};
use flows_runtime::{Body, FlowResult, Input, Outcome, ResponseBody, StepStatus};
use serde_json::{json, Value};

/// Headers never stored or shown: Flowgate's own credential.
const DROPPED_HEADERS: &[&str] = &["x-api-key"];
/// Headers stored (the flow may need them, e.g. to verify a signature) but redacted in the API.
pub const REDACTED_HEADERS: &[&str] = &["authorization", "cookie", "proxy-authorization"];

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
    pub events: Vec<crate::subscriptions::NewEvent>,
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

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The snapshot stored for a call and the flow input built from it.
pub fn snapshot(
    method: &str,
    path: &str,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    content_type: Option<String>,
    body: &Body,
) -> RequestSnapshot {
    let mut headers = headers;
    for h in DROPPED_HEADERS {
        headers.remove(*h);
    }
    let (body_encoding, body) = match body {
        Body::Empty => ("none", Value::Null),
        Body::Json(v) => ("json", v.clone()),
        Body::Form(m) => ("form", json!(m)),
        Body::Text(t) => ("text", Value::String(t.clone())),
        Body::Binary(b) => (
            "base64",
            Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        ),
    };
    RequestSnapshot {
        method: method.to_owned(),
        path: path.to_owned(),
        query,
        headers,
        content_type,
        body_encoding: body_encoding.to_owned(),
        body,
    }
}

/// Rebuilds the flow input of a stored call.
pub fn input_from_snapshot(s: &RequestSnapshot) -> Result<Input, String> {
    let body = match (s.body_encoding.as_str(), &s.body) {
        ("none", _) => Body::Empty,
        ("json", v) => Body::Json(v.clone()),
        ("form", Value::Object(m)) => Body::Form(
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect(),
        ),
        ("text", Value::String(t)) => Body::Text(t.clone()),
        ("base64", Value::String(b)) => Body::Binary(
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| format!("stored body is not base64: {e}"))?,
        ),
        (enc, _) => return Err(format!("stored body has unknown encoding {enc}")),
    };
    Ok(Input {
        method: s.method.clone(),
        path: s.path.clone(),
        query: s.query.clone(),
        headers: s.headers.clone(),
        body,
    })
}

/// For the API: credentials in headers are shown as `[redacted]`.
pub fn redact(mut s: RequestSnapshot) -> RequestSnapshot {
    for h in REDACTED_HEADERS {
        if let Some(v) = s.headers.get_mut(*h) {
            *v = "[redacted]".to_owned();
        }
    }
    s
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

fn error_answer(status: u16, code: &str, message: &str, execution_id: &str) -> Answer {
    Answer {
        status,
        headers: BTreeMap::new(),
        body: AnswerBody::Json(json!({
            "error": {"code": code, "message": message, "execution_id": execution_id}
        })),
    }
}

/// How a run ended for its execution: the final status, the caller's answer and the error.
pub fn answer_of(id: &str, outcome: &Outcome) -> (ExecutionStatus, Answer, Option<String>) {
    match &outcome.result {
        FlowResult::Responded {
            status,
            headers,
            body,
        } => {
            let body = match body {
                ResponseBody::Empty => AnswerBody::Empty,
                ResponseBody::Json(v) => AnswerBody::Json(v.clone()),
                ResponseBody::Text(t) => AnswerBody::Text(t.clone()),
                ResponseBody::Binary(b) => AnswerBody::Binary(b.clone()),
            };
            let answer = Answer {
                status: *status,
                headers: headers.clone(),
                body,
            };
            (ExecutionStatus::Succeeded, answer, None)
        }
        FlowResult::Completed => (
            ExecutionStatus::Succeeded,
            Answer {
                status: 200,
                headers: BTreeMap::new(),
                body: AnswerBody::Json(json!({"execution_id": id, "status": "succeeded"})),
            },
            None,
        ),
        FlowResult::Failed { status, message } => (
            ExecutionStatus::Failed,
            error_answer(*status, "rejected", message, id),
            Some(message.clone()),
        ),
        FlowResult::Error(e) => (
            ExecutionStatus::Errored,
            error_answer(
                500,
                "flow_failed",
                &format!("the flow failed ({}); see execution {id}", e.code()),
                id,
            ),
            Some(e.to_string()),
        ),
    }
}

/// `ok`, `error` or `skipped`.
pub fn step_status(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Ok => "ok",
        StepStatus::Error => "error",
        StepStatus::Skipped => "skipped",
    }
}

pub fn log_out(l: &flows_runtime::LogEntry) -> LogOut {
    LogOut {
        step: l.step.clone(),
        level: l.level.clone(),
        message: l.message.clone(),
    }
}

/// Maps a flow's outcome to its final state and the caller's answer.
pub fn conclude(
    id: &str,
    outcome: &Outcome,
    started_at: i64,
    finished_at: i64,
    attempts: i32,
) -> (Finished, Answer) {
    let (status, answer, error) = answer_of(id, outcome);
    let steps: Vec<StepOut> = outcome
        .steps
        .iter()
        .map(|s| StepOut {
            index: s.index.clone(),
            step_type: s.step_type.clone(),
            status: step_status(s.status).to_owned(),
            duration_us: s.duration_us,
            error: s.error.clone(),
            calls: s.calls.clone(),
        })
        .collect();
    let logs: Vec<LogOut> = outcome.logs.iter().map(log_out).collect();
    let finished = Finished {
        id: id.to_owned(),
        status,
        started_at,
        finished_at,
        attempts,
        response_status: Some(i32::from(answer.status)),
        response: serde_json::to_string(&answer.snapshot()).ok(),
        steps: serde_json::to_string(&steps).unwrap_or_else(|_| "[]".to_owned()),
        logs: serde_json::to_string(&logs).unwrap_or_else(|_| "[]".to_owned()),
        error,
        next_attempt_at: None,
        notify_waiter: false,
        events: outcome
            .events
            .iter()
            .map(|e| crate::subscriptions::NewEvent {
                event_type: e.event_type.clone(),
                payload: e.payload.clone(),
            })
            .collect(),
    };
    (finished, answer)
}

/// Fills in the defaults of a trigger's declared query parameters; the name of a required
/// one that is missing.
pub fn apply_query_params(
    params: &[QueryParam],
    query: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    for p in params {
        if query.contains_key(&p.name) {
            continue;
        }
        match &p.default {
            Some(d) => {
                query.insert(p.name.clone(), d.clone());
            }
            None if p.required => return Err(p.name.clone()),
            None => {}
        }
    }
    Ok(())
}

/// Whether a media range accepts a media type's essence (`text/*` accepts `text/xml`).
pub fn media_matches(range: &str, essence: &str) -> bool {
    if range == "*/*" || range == essence {
        return true;
    }
    match (range.strip_suffix("/*"), essence.split_once('/')) {
        (Some(t), Some((et, _))) => t == et,
        _ => false,
    }
}

/// A body's content type a trigger does not accept (its essence, or `(none)`); `None` when
/// accepted (an empty list accepts anything).
pub fn refused_media_type(accepted: &[String], content_type: Option<&str>) -> Option<String> {
    if accepted.is_empty() {
        return None;
    }
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if accepted.iter().any(|r| media_matches(r, &essence)) {
        None
    } else if essence.is_empty() {
        Some("(none)".to_owned())
    } else {
        Some(essence)
    }
}

/// The end state of an execution that could not even start (its flow or input is gone).
pub fn broken(id: &str, message: String, at: i64, attempts: i32) -> Finished {
    let answer = error_answer(500, "flow_failed", "the flow could not run", id);
    Finished {
        id: id.to_owned(),
        status: ExecutionStatus::Errored,
        started_at: at,
        finished_at: at,
        attempts,
        response_status: Some(500),
        response: serde_json::to_string(&answer.snapshot()).ok(),
        steps: "[]".to_owned(),
        logs: "[]".to_owned(),
        error: Some(message),
        next_attempt_at: None,
        notify_waiter: false,
        events: Vec::new(),
    }
}

/// Whether the retry policy retries this end state (`retry_if`: `error`, `5xx`, `429`, ...).
pub fn retryable(policy: &RetryPolicy, f: &Finished) -> bool {
    policy.retry_if.iter().any(|m| match m.as_str() {
        "error" => f.status == ExecutionStatus::Errored,
        class if class.len() == 3 && class.ends_with("xx") => {
            let digit = class.chars().next().and_then(|c| c.to_digit(10));
            match (digit, f.response_status) {
                (Some(d), Some(st)) if f.status != ExecutionStatus::Errored => {
                    u32::try_from(st / 100).ok() == Some(d)
                }
                _ => false,
            }
        }
        exact => match (exact.parse::<i32>(), f.response_status) {
            (Ok(want), Some(st)) => f.status != ExecutionStatus::Errored && want == st,
            _ => false,
        },
    })
}

/// Delay before retry number `retry` (1 for the first retry): exponential from
/// `initial_delay_ms`, capped at `max_delay_ms`, with "equal jitter" (half fixed, half random)
/// so that executions failing together do not come back together.
pub fn backoff_us(policy: &RetryPolicy, retry: u32, random: f64) -> i64 {
    let exp = retry.saturating_sub(1).min(40);
    let base = policy
        .initial_delay_ms
        .saturating_mul(1u64 << exp)
        .min(policy.max_delay_ms);
    let half = base as f64 / 2.0;
    let ms = half + half * random.clamp(0.0, 1.0);
    (ms * 1000.0) as i64
}

/// Applies the retry policy to a failed asynchronous run: back to `queued` with a due time
/// while attempts remain, else `dead`. Successes and non-retryable failures stay as they are.
pub fn apply_retry_policy(policy: &RetryPolicy, mut f: Finished, now: i64) -> Finished {
    if !retryable(policy, &f) {
        return f;
    }
    let attempts = u32::try_from(f.attempts).unwrap_or(0);
    if attempts < policy.max_attempts.max(1) {
        let delay = backoff_us(policy, attempts, rand::random::<f64>());
        f.status = ExecutionStatus::Queued;
        f.next_attempt_at = Some(now + delay);
    } else {
        f.status = ExecutionStatus::Dead;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_round_trips_every_body_kind() {
        let bodies = [
            Body::Empty,
            Body::Json(json!({"a": [1, 2]})),
            Body::Form(BTreeMap::from([("k".to_owned(), "v w".to_owned())])),
            Body::Text("<x/>".to_owned()),
            Body::Binary(vec![0, 159, 146, 150]),
        ];
        for body in bodies {
            let mut headers = BTreeMap::new();
            headers.insert("x-api-key".to_owned(), "secret".to_owned());
            headers.insert("authorization".to_owned(), "HMAC abc".to_owned());
            let s = snapshot("POST", "/t/a", BTreeMap::new(), headers, None, &body);
            assert!(!s.headers.contains_key("x-api-key"));
            let text = serde_json::to_string(&s).unwrap();
            let back: RequestSnapshot = serde_json::from_str(&text).unwrap();
            let input = input_from_snapshot(&back).unwrap();
            assert_eq!(input.body, body);
            assert_eq!(input.headers["authorization"], "HMAC abc");
            assert_eq!(redact(back).headers["authorization"], "[redacted]");
        }
    }

    fn ended(status: ExecutionStatus, response_status: i32, attempts: i32) -> Finished {
        Finished {
            id: "x".to_owned(),
            status,
            started_at: 0,
            finished_at: 0,
            attempts,
            response_status: Some(response_status),
            response: None,
            steps: "[]".to_owned(),
            logs: "[]".to_owned(),
            error: None,
            next_attempt_at: None,
            notify_waiter: false,
            events: Vec::new(),
        }
    }

    #[test]
    fn retry_if_matches_errors_classes_and_statuses() {
        let mut p = RetryPolicy::default();
        assert!(retryable(&p, &ended(ExecutionStatus::Errored, 500, 1)));
        assert!(retryable(&p, &ended(ExecutionStatus::Failed, 503, 1)));
        assert!(retryable(&p, &ended(ExecutionStatus::Succeeded, 502, 1)));
        assert!(!retryable(&p, &ended(ExecutionStatus::Failed, 400, 1)));
        assert!(!retryable(&p, &ended(ExecutionStatus::Succeeded, 200, 1)));
        p.retry_if = vec!["429".to_owned()];
        assert!(retryable(&p, &ended(ExecutionStatus::Failed, 429, 1)));
        assert!(!retryable(&p, &ended(ExecutionStatus::Errored, 500, 1)));
        assert!(!retryable(&p, &ended(ExecutionStatus::Failed, 503, 1)));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        let p = RetryPolicy {
            initial_delay_ms: 1_000,
            max_delay_ms: 5_000,
            ..RetryPolicy::default()
        };
        assert_eq!(backoff_us(&p, 1, 0.0), 500_000);
        assert_eq!(backoff_us(&p, 1, 1.0), 1_000_000);
        assert_eq!(backoff_us(&p, 2, 1.0), 2_000_000);
        assert_eq!(backoff_us(&p, 3, 0.5), 3_000_000);
        assert_eq!(backoff_us(&p, 10, 1.0), 5_000_000);
        assert_eq!(backoff_us(&p, u32::MAX, 1.0), 5_000_000);
    }

    #[test]
    fn failures_are_retried_then_dead() {
        let p = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let f = apply_retry_policy(&p, ended(ExecutionStatus::Errored, 500, 1), 10);
        assert_eq!(f.status, ExecutionStatus::Queued);
        assert!(f.next_attempt_at.is_some_and(|t| t >= 10 + 500_000));
        let f = apply_retry_policy(&p, ended(ExecutionStatus::Errored, 500, 3), 10);
        assert_eq!(f.status, ExecutionStatus::Dead);
        assert_eq!(f.next_attempt_at, None);
        let f = apply_retry_policy(&p, ended(ExecutionStatus::Failed, 422, 1), 10);
        assert_eq!(f.status, ExecutionStatus::Failed);
    }
}
