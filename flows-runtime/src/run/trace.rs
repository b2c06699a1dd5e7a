//! How a run ended, written down: the [`FlowResult`] (answered, failed, completed, or an
//! error with the step and the place in its snippet, or the limit that stopped it), every
//! step still open closed in the trace, a note for dropped log lines, the snapshots of steps
//! that never reached their end, all in one [`Outcome`]. The trace types themselves are in
//! [`crate::trace`]; the trace is filled as the run goes by [`crate::run_state`].

use std::time::Instant;

use rhai::{EvalAltResult, Position};
use serde_json::Value;

use crate::codegen::FlowInner;
use crate::convert::to_text;
use crate::engine::MAX_VARIABLES;
use crate::guard::TOTAL_SIZE_FACTOR;
use crate::limits::Limits;
use crate::outcome::{FlowResult, Outcome, RuntimeError};
use crate::run_state::{Ended, RunState, Stop, ENDED_TOKEN, MAX_LOG_ENTRIES, TIMEOUT_TOKEN};
use crate::trace::{LogEntry, StepStatus};

/// The outcome of a run from its state, how the program ended (or the panic caught in it),
/// whether the guard stopped it, and `vars` as it ended (when the flow captures).
pub(super) fn finish(
    limits: &Limits,
    mut state: RunState,
    result: std::thread::Result<Result<(), Box<EvalAltResult>>>,
    stopped: Stop,
    final_vars: Option<Value>,
    started: Instant,
) -> Outcome {
    let result = match result {
        // A respond/fail/timeout whose error was swallowed (Rhai lets a closure called by
        // an array method catch it) still decides the result.
        Ok(Ok(())) if state.ended.is_some() || stopped == Stop::Timeout => {
            let token = if stopped == Stop::Timeout {
                TIMEOUT_TOKEN
            } else {
                ENDED_TOKEN
            };
            conclude(
                limits,
                &mut state,
                EvalAltResult::ErrorTerminated(token.into(), Position::NONE),
            )
        }
        Ok(Ok(())) => {
            state.close_stack(StepStatus::Ok, None);
            FlowResult::Completed
        }
        Ok(Err(err)) => conclude(limits, &mut state, *err),
        Err(_) => {
            state.close_stack(
                StepStatus::Error,
                Some("internal error of the flow runtime".to_owned()),
            );
            FlowResult::Error(RuntimeError::Internal {
                message: "a panic was caught while running the flow".to_owned(),
            })
        }
    };
    if state.logs_dropped > 0 {
        let step = state
            .logs
            .last()
            .map(|l| l.step.clone())
            .unwrap_or_default();
        let message = format!(
            "{} more log lines were dropped (at most {MAX_LOG_ENTRIES} are kept)",
            state.logs_dropped
        );
        state.logs.push(LogEntry {
            step,
            level: "warn".to_owned(),
            message,
        });
    }
    let mut snapshots = state.snapshots.take().unwrap_or_default();
    // Steps the flow ended or broke in never reached their end: they left `vars` as the
    // flow ended.
    for snap in &mut snapshots {
        if snap.input.is_some() && snap.output.is_none() {
            snap.output.clone_from(&final_vars);
        }
    }
    Outcome {
        result,
        steps: state.trace,
        logs: state.logs,
        duration: started.elapsed(),
        snapshots,
        events: state.events,
    }
}

/// Turns the error that ended a run into its result, and marks the steps it went through.
fn conclude(limits: &Limits, state: &mut RunState, err: EvalAltResult) -> FlowResult {
    let innermost = state.stack.last().map(|&(n, _)| n);
    let step_index = innermost
        .and_then(|n| state.flow.steps.get(n))
        .map(|s| s.index.clone());
    if let Some(ended) = state.ended.take() {
        return match ended {
            Ended::Responded {
                status,
                headers,
                body,
            } => {
                state.close_stack(StepStatus::Ok, None);
                FlowResult::Responded {
                    status,
                    headers,
                    body,
                }
            }
            Ended::Failed { status, message } => {
                state.close_stack(
                    StepStatus::Error,
                    Some(format!("failed the call with status {status}: {message}")),
                );
                FlowResult::Failed { status, message }
            }
            Ended::Unhandled(caught) => {
                state.close_stack(StepStatus::Ok, None);
                FlowResult::Error(RuntimeError::Script {
                    step: caught.step,
                    message: caught.message,
                })
            }
        };
    }
    let (error, trace_message) = match classify(limits, err.unwrap_inner()) {
        Some(limit) => limit,
        None => {
            let message = describe(&state.flow, innermost, err);
            (
                RuntimeError::Script {
                    step: step_index,
                    message: message.clone(),
                },
                message,
            )
        }
    };
    state.close_stack(StepStatus::Error, Some(trace_message));
    FlowResult::Error(error)
}

/// A run stopped by a limit or the deadline: the error and the trace's message.
fn classify(limits: &Limits, err: &EvalAltResult) -> Option<(RuntimeError, String)> {
    let limit = |what: &str, message: String| {
        Some((
            RuntimeError::LimitExceeded {
                what: what.to_owned(),
            },
            message,
        ))
    };
    match err {
        EvalAltResult::ErrorTerminated(token, _)
            if token.clone().into_string().ok().as_deref() == Some(TIMEOUT_TOKEN) =>
        {
            Some((
                RuntimeError::Timeout,
                format!(
                    "stopped: the flow ran longer than {} ms",
                    limits.max_duration.as_millis()
                ),
            ))
        }
        EvalAltResult::ErrorTerminated(..) => Some((
            RuntimeError::Internal {
                message: "the run was terminated without a result".to_owned(),
            },
            "stopped without a result".to_owned(),
        )),
        EvalAltResult::ErrorTooManyOperations(..) => limit(
            "operations",
            format!("stopped: more than {} operations", limits.max_operations),
        ),
        EvalAltResult::ErrorStackOverflow(..) => limit(
            "call levels",
            format!(
                "stopped: functions nested more than {} calls deep",
                limits.max_call_levels
            ),
        ),
        EvalAltResult::ErrorTooManyVariables(..) => limit(
            "variables",
            format!("stopped: more than {MAX_VARIABLES} variables"),
        ),
        EvalAltResult::ErrorDataTooLarge(what, ..) => {
            let what = what.to_ascii_lowercase();
            if what.contains("all variables") {
                limit("memory", format!("stopped: the variables together hold more than {TOTAL_SIZE_FACTOR} times the size limits"))
            } else if what.contains("string") {
                limit(
                    "string size",
                    format!("stopped: a string over {} bytes", limits.max_string_bytes),
                )
            } else if what.contains("array") {
                limit(
                    "array size",
                    format!("stopped: an array over {} elements", limits.max_array_len),
                )
            } else if what.contains("map") {
                limit(
                    "map size",
                    format!("stopped: a map over {} entries", limits.max_map_len),
                )
            } else {
                limit("data size", format!("stopped: {what} too large"))
            }
        }
        _ => None,
    }
}

/// An outcome with no trace, for a run that could not be run or whose state was lost.
pub(super) fn internal_outcome(message: &str, started: Instant) -> Outcome {
    Outcome {
        result: FlowResult::Error(RuntimeError::Internal {
            message: message.to_owned(),
        }),
        steps: Vec::new(),
        logs: Vec::new(),
        duration: started.elapsed(),
        snapshots: Vec::new(),
        events: Vec::new(),
    }
}

/// A script error as a sentence, with its place in the step's snippet.
fn describe(flow: &FlowInner, failing: Option<usize>, err: EvalAltResult) -> String {
    let mut err = err;
    let mut in_functions = Vec::new();
    while let EvalAltResult::ErrorInFunctionCall(name, _, inner, _) = err {
        in_functions.push(if name.starts_with("anon$") {
            "a closure".to_owned()
        } else {
            format!("function `{name}`")
        });
        err = *inner;
    }
    let pos = err.take_position();
    let mut text = match &err {
        EvalAltResult::ErrorRuntime(v, _) if v.is_string() => to_text(v),
        EvalAltResult::ErrorRuntime(v, _) => format!("error thrown: {}", to_text(v)),
        other => other.to_string(),
    };
    if let (Some(line), Some(column)) = (pos.line(), pos.position()) {
        if let Some(place) = flow.place_text(line, column, failing) {
            text.push_str(&place);
        }
    }
    if let Some(f) = in_functions.last() {
        text.push_str(&format!(" in {f}"));
    }
    text
}
