//! What one run of a flow gives back.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::trace::{EmittedEvent, LogEntry, StepSnapshot, StepStatus, StepTrace};

/// The result of [`crate::Runtime::execute`].
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub result: FlowResult,
    /// Every step of the flow in pre-order, including the ones not run (`skipped`).
    pub steps: Vec<StepTrace>,
    pub logs: Vec<LogEntry>,
    /// Wall-clock time of the whole run.
    pub duration: Duration,
    /// For flows compiled with [`crate::Runtime::compile_capturing`]: `vars` around each
    /// step, parallel to `steps`. Empty otherwise.
    pub snapshots: Vec<StepSnapshot>,
    /// Events emitted by `emit` steps and `emit()`, in order (at most
    /// [`crate::MAX_EVENTS_PER_RUN`]). Kept whatever the result: the server decides whether
    /// an errored run's events are published.
    pub events: Vec<EmittedEvent>,
}

impl Outcome {
    /// The innermost step in which the flow broke or failed, if any.
    pub fn error_step(&self) -> Option<&str> {
        self.steps
            .iter()
            .rev()
            .find(|s| s.status == StepStatus::Error)
            .map(|s| s.index.as_str())
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowResult {
    /// A `respond` step or `respond()` answered the caller.
    Responded {
        status: u16,
        headers: BTreeMap<String, String>,
        body: ResponseBody,
    },
    /// The flow chose to refuse the call (`fail` step or `fail()`).
    Failed { status: u16, message: String },
    /// The flow reached its end without answering.
    Completed,
    /// The flow broke: a script error, a limit, the deadline.
    Error(RuntimeError),
}

/// The body of a response: a Rhai string is text, a BLOB binary, `()` empty, anything else JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseBody {
    Empty,
    Json(serde_json::Value),
    Text(String),
    Binary(Vec<u8>),
}

/// Why a run broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// A script, expression or built-in function raised an error.
    #[error("{}", script_message(step.as_deref(), message))]
    Script {
        step: Option<String>,
        message: String,
    },
    /// The run took longer than `Limits::max_duration` (the trace shows the step).
    #[error("the flow was stopped because it ran longer than its time limit")]
    Timeout,
    /// A resource limit was hit: `operations`, `call levels`, `string size`, `array size`,
    /// `map size`, `variables` (the trace shows the step).
    #[error("the flow was stopped because it exceeded the limit on {what}")]
    LimitExceeded { what: String },
    /// A fault of the runtime itself, not of the flow.
    #[error("internal error of the flow runtime: {message}")]
    Internal { message: String },
}

/// `message` without the ` (`code` line 2, position 5)` or ` (step 1 `code` line 2,
/// position 5)` the runtime adds, and a ` in function `f`` after it.
fn without_place(message: &str) -> &str {
    let is_place = |tail: &str| {
        let Some(rest) = tail.strip_suffix(')') else {
            return false;
        };
        let Some((head, pos)) = rest.rsplit_once(", position ") else {
            return false;
        };
        let Some((_, line)) = head.rsplit_once(" line ") else {
            return false;
        };
        !pos.is_empty()
            && pos.chars().all(|c| c.is_ascii_digit())
            && !line.is_empty()
            && line.chars().all(|c| c.is_ascii_digit())
    };
    for opener in [" (`", " (step "] {
        if let Some(at) = message.rfind(opener) {
            let tail = message.get(at..).unwrap_or_default();
            let place = match tail.find(") in ") {
                Some(end) => tail.get(..=end).unwrap_or_default(),
                None => tail,
            };
            if is_place(place.trim_start()) {
                return message.get(..at).unwrap_or(message);
            }
        }
    }
    message
}

fn script_message(step: Option<&str>, message: &str) -> String {
    match step {
        Some(s) => format!("step {s}: {message}"),
        None => message.to_owned(),
    }
}

impl RuntimeError {
    /// The error as a caller may be told it (a trigger's `error_response`): a script error's
    /// message without the step and its place in the snippet (those are for the designer,
    /// in the execution's trace); the others as they read.
    pub fn caller_message(&self) -> String {
        match self {
            RuntimeError::Script { message, .. } => without_place(message).to_owned(),
            other => other.to_string(),
        }
    }

    /// Stable machine-readable code: `script_error`, `timeout`, `limit_exceeded`, `internal`.
    pub fn code(&self) -> &'static str {
        match self {
            RuntimeError::Script { .. } => "script_error",
            RuntimeError::Timeout => "timeout",
            RuntimeError::LimitExceeded { .. } => "limit_exceeded",
            RuntimeError::Internal { .. } => "internal",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_messages_leave_out_the_place() {
        let script = |m: &str| RuntimeError::Script {
            step: Some("1".into()),
            message: m.into(),
        };
        assert_eq!(
            script("customer is missing (`code` line 1, position 34)").caller_message(),
            "customer is missing"
        );
        assert_eq!(
            script("Division by zero (step 0 `code` line 2, position 11) in function `f`")
                .caller_message(),
            "Division by zero"
        );
        assert_eq!(
            script("a (b) (`code` line x, position 1)").caller_message(),
            "a (b) (`code` line x, position 1)"
        );
        assert_eq!(script("plain").caller_message(), "plain");
        assert_eq!(
            RuntimeError::Timeout.caller_message(),
            RuntimeError::Timeout.to_string()
        );
    }

    #[test]
    fn codes_and_messages() {
        let e = RuntimeError::Script {
            step: Some("2.then.0".into()),
            message: "Division by zero".into(),
        };
        assert_eq!(e.code(), "script_error");
        assert_eq!(e.to_string(), "step 2.then.0: Division by zero");
        assert_eq!(RuntimeError::Timeout.code(), "timeout");
        let e = RuntimeError::LimitExceeded {
            what: "operations".into(),
        };
        assert_eq!(e.code(), "limit_exceeded");
        assert!(e.to_string().contains("operations"));
        assert_eq!(
            RuntimeError::Internal {
                message: "x".into()
            }
            .code(),
            "internal"
        );
    }
}
