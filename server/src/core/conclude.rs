//! From a call to a stored request and back (replays and retries run the stored request),
//! and from a flow's outcome to the caller's answer and the execution's end state.

use std::collections::BTreeMap;

use base64::Engine as _;
use flowgate_api::executions::{LogOut, StepOut};
use flowgate_api::{ErrorResponse, ExecutionStatus, RequestSnapshot, CREDENTIAL_HEADERS, REDACTED};
use flows_runtime::{Body, FlowResult, Input, Outcome, ResponseBody, StepStatus};
use serde_json::{json, Value};

use super::execution::{error_answer, Answer, AnswerBody, Finished, NewEvent};

/// Headers never stored or shown: Flowgate's own credential.
const DROPPED_HEADERS: &[&str] = &["x-api-key"];

/// A call as it is stored (the JSON of [`RequestSnapshot`]), written straight from the
/// parsed call: nothing is copied on the way (this runs for every call).
pub struct CallRecord<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a BTreeMap<String, String>,
    pub headers: &'a BTreeMap<String, String>,
    pub content_type: Option<&'a str>,
    pub body: &'a Body,
    pub caller: Option<&'a flows_runtime::Caller>,
}

impl CallRecord<'_> {
    /// The stored request: a [`RequestSnapshot`] in JSON, without Flowgate's own credential.
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string(self)
    }
}

impl serde::Serialize for CallRecord<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        /// The headers minus [`DROPPED_HEADERS`].
        struct Kept<'a>(&'a BTreeMap<String, String>);
        impl serde::Serialize for Kept<'_> {
            fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
                ser.collect_map(
                    self.0
                        .iter()
                        .filter(|(k, _)| !DROPPED_HEADERS.contains(&k.as_str())),
                )
            }
        }
        let fields =
            7 + usize::from(self.caller.is_some()) - usize::from(self.content_type.is_none());
        let mut st = ser.serialize_struct("RequestSnapshot", fields)?;
        st.serialize_field("method", self.method)?;
        st.serialize_field("path", self.path)?;
        st.serialize_field("query", self.query)?;
        st.serialize_field("headers", &Kept(self.headers))?;
        if let Some(ct) = self.content_type {
            st.serialize_field("content_type", ct)?;
        }
        match self.body {
            Body::Empty => {
                st.serialize_field("body_encoding", "none")?;
                st.serialize_field("body", &())?;
            }
            Body::Json(v) => {
                st.serialize_field("body_encoding", "json")?;
                st.serialize_field("body", v)?;
            }
            Body::Form(m) => {
                st.serialize_field("body_encoding", "form")?;
                st.serialize_field("body", m)?;
            }
            Body::Text(t) => {
                st.serialize_field("body_encoding", "text")?;
                st.serialize_field("body", t)?;
            }
            Body::Binary(b) => {
                st.serialize_field("body_encoding", "base64")?;
                st.serialize_field("body", &base64::engine::general_purpose::STANDARD.encode(b))?;
            }
        }
        if let Some(caller) = self.caller {
            st.serialize_field("caller", caller)?;
        }
        st.end()
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
        caller: s.caller.clone(),
        execution_id: None,
    })
}

/// For the API: credentials in headers are shown as `[redacted]`.
pub fn redact(mut s: RequestSnapshot) -> RequestSnapshot {
    for h in CREDENTIAL_HEADERS {
        if let Some(v) = s.headers.get_mut(*h) {
            *v = REDACTED.to_owned();
        }
    }
    s
}

/// How a run ended for its execution: the final status, the caller's answer and the error.
/// `shape`: the trigger's `error_response`, if it has one.
pub fn answer_of(
    id: &str,
    outcome: &Outcome,
    shape: Option<&ErrorResponse>,
) -> (ExecutionStatus, Answer, Option<String>) {
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
            match shape {
                Some(s) => shaped(s, *status, "rejected", message, id),
                None => error_answer(*status, "rejected", message, id),
            },
            Some(message.clone()),
        ),
        FlowResult::Error(e) => (
            ExecutionStatus::Errored,
            match shape {
                // The designer chose to show the error's own text.
                Some(s) => shaped(s, s.status, e.code(), &e.caller_message(), id),
                None => error_answer(
                    500,
                    "flow_failed",
                    &format!("the flow failed ({}); see execution {id}", e.code()),
                    id,
                ),
            },
            Some(e.to_string()),
        ),
    }
}

/// An error answer in the trigger's own shape.
fn shaped(shape: &ErrorResponse, status: u16, code: &str, message: &str, id: &str) -> Answer {
    Answer {
        status,
        headers: BTreeMap::new(),
        body: AnswerBody::Json(shape.render(status, code, message, id)),
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
    (started_at, finished_at): (i64, i64),
    attempts: i32,
    shape: Option<&ErrorResponse>,
) -> (Finished, Answer) {
    let (status, answer, error) = answer_of(id, outcome, shape);
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
            .map(|e| NewEvent {
                event_type: e.event_type.clone(),
                payload: e.payload.clone(),
            })
            .collect(),
    };
    (finished, answer)
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
        let callers = [
            None,
            Some(flows_runtime::Caller {
                kind: flows_runtime::CallerKind::ApiKey,
                id: "k1".into(),
                label: "billing".into(),
            }),
        ];
        for (body, caller) in bodies.into_iter().zip(callers.into_iter().cycle()) {
            let mut headers = BTreeMap::new();
            headers.insert("x-api-key".to_owned(), "secret".to_owned());
            headers.insert("authorization".to_owned(), "HMAC abc".to_owned());
            let record = CallRecord {
                method: "POST",
                path: "/t/a",
                query: &BTreeMap::from([("q".to_owned(), "1".to_owned())]),
                headers: &headers,
                content_type: Some("application/json"),
                body: &body,
                caller: caller.as_ref(),
            };
            let text = record.to_json().unwrap();
            let back: RequestSnapshot = serde_json::from_str(&text).unwrap();
            assert!(!back.headers.contains_key("x-api-key"));
            assert_eq!(back.method, "POST");
            assert_eq!(back.path, "/t/a");
            assert_eq!(back.query["q"], "1");
            assert_eq!(back.content_type.as_deref(), Some("application/json"));
            assert_eq!(back.caller, caller);
            let input = input_from_snapshot(&back).unwrap();
            assert_eq!(input.body, body);
            assert_eq!(input.headers["authorization"], "HMAC abc");
            assert_eq!(redact(back).headers["authorization"], "[redacted]");
        }
    }
}
