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

fn script_message(step: Option<&str>, message: &str) -> String {
    match step {
        Some(s) => format!("step {s}: {message}"),
        None => message.to_owned(),
    }
}

impl RuntimeError {
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
