//! The state of the run in progress, which native functions reach through a thread-local (a
//! run never leaves its thread): [`RunState`] (the flow, the step trace being filled, logs,
//! events, snapshots, the HTTP client) in `RUN`, and the [`Guard`] `on_progress` reads on
//! every operation in `GUARD`. Also how a run is ended from inside: [`end_run`] (respond or
//! fail) and [`stop_run`] (the deadline). [`crate::run`] installs both before a run and takes
//! them back after.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::{Dynamic, EvalAltResult, Position, INT};
use serde_json::Value;

use crate::codegen::{Action, FlowInner};
use crate::convert::{cut_text, to_json};
use crate::io::HttpClient;
use crate::outcome::ResponseBody;
use crate::trace::{
    EmittedEvent, LogEntry, StepSnapshot, StepStatus, StepTrace, MAX_EVENTS_PER_RUN,
    MAX_EVENTS_TOTAL_BYTES, MAX_EVENT_PAYLOAD_BYTES, MAX_SNAPSHOT_BYTES,
};

/// Most log lines kept per run; further ones are counted and dropped.
pub const MAX_LOG_ENTRIES: usize = 1000;
/// Longest log line kept, in bytes (longer ones are cut).
pub const MAX_LOG_MESSAGE_BYTES: usize = 8 * 1024;

pub(crate) const TIMEOUT_TOKEN: &str = "flowgate:timeout";
pub(crate) const ENDED_TOKEN: &str = "flowgate:ended";

/// What a native function returns.
pub(crate) type Res<T> = Result<T, Box<EvalAltResult>>;

thread_local! {
    pub(crate) static RUN: RefCell<Option<RunState>> = const { RefCell::new(None) };
    pub(crate) static GUARD: Cell<Guard> = const { Cell::new(Guard { deadline: None, stop: Stop::No }) };
}

/// What `on_progress` checks: read on every operation, so it is a `Copy` value in a `Cell`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Guard {
    pub deadline: Option<Instant>,
    /// Sticky: once set, every further operation stops the run (even inside `catch`).
    pub stop: Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    No,
    Ended,
    Timeout,
}

pub(crate) fn set_stop(stop: Stop) {
    GUARD.with(|g| {
        let mut v = g.get();
        v.stop = stop;
        g.set(v);
    });
}

pub(crate) enum Ended {
    Responded {
        status: u16,
        headers: BTreeMap<String, String>,
        body: ResponseBody,
    },
    Failed {
        status: u16,
        message: String,
    },
    /// The error handler (`on_error`) ended without answering: the error it caught stands.
    Unhandled(CaughtError),
}

/// An error a `try` step or the flow's error handler caught.
#[derive(Debug, Clone)]
pub(crate) struct CaughtError {
    pub message: String,
    /// The step it was raised in (`2.then.0`), if any.
    pub step: Option<String>,
}

pub(crate) struct RunState {
    pub flow: Arc<FlowInner>,
    pub request_json: Option<Value>,
    /// The flow's JSONPath values read from the call itself, by index (then `request_json`
    /// is not built).
    pub path_values: Option<Vec<Dynamic>>,
    pub trace: Vec<StepTrace>,
    /// Steps entered and not yet left: (pre-order number, entered at).
    pub stack: Vec<(usize, Instant)>,
    pub logs: Vec<LogEntry>,
    pub logs_dropped: usize,
    pub ended: Option<Ended>,
    /// The last error the flow's error handler caught (what stands if it does not answer).
    pub caught: Option<CaughtError>,
    /// Variables holding containers, and when they are measured next.
    pub measured: Vec<Measured>,
    /// Variable accesses so far.
    pub accesses: u64,
    /// Flows compiled for capture: `vars` around each step (by pre-order number).
    pub snapshots: Option<Vec<StepSnapshot>>,
    /// Events emitted so far, and the bytes of JSON of their payloads.
    pub events: Vec<EmittedEvent>,
    pub events_bytes: usize,
    /// How `http` steps and `http()` reach the outside, if they may.
    pub http: Option<Arc<dyn HttpClient>>,
    /// The data store `store`/`lookup` steps and `store_*()` reach, if there is one.
    pub store: Option<Arc<dyn crate::io::DataStore>>,
    /// The external databases `sql` steps reach, if they may.
    pub sql: Option<Arc<dyn crate::io::SqlClient>>,
    /// The execution (ids of inserted records derive from it).
    pub run_key: Option<String>,
    /// Store writes made so far in this run.
    pub store_writes: u32,
}

impl RunState {
    /// The state a run of `flow` starts with: every step skipped until it runs.
    pub fn new(
        flow: Arc<FlowInner>,
        request_json: Option<Value>,
        http: Option<Arc<dyn HttpClient>>,
    ) -> RunState {
        RunState {
            trace: flow
                .steps
                .iter()
                .map(|s| StepTrace {
                    index: s.index.clone(),
                    step_type: s.step_type.to_owned(),
                    status: StepStatus::Skipped,
                    duration_us: 0,
                    error: None,
                    calls: Vec::new(),
                })
                .collect(),
            stack: Vec::new(),
            logs: Vec::new(),
            logs_dropped: 0,
            ended: None,
            caught: None,
            measured: Vec::new(),
            accesses: 0,
            snapshots: flow
                .capture
                .then(|| vec![StepSnapshot::default(); flow.steps.len()]),
            events: Vec::new(),
            events_bytes: 0,
            http,
            store: None,
            sql: None,
            run_key: None,
            store_writes: 0,
            request_json,
            path_values: None,
            flow,
        }
    }

    /// Closes every step still open: the innermost gets `message`, the ones around it point to it.
    /// Closes the steps entered since step `above` (all open steps for `None`) as failed
    /// with `message` (the innermost; the others "did not complete"), for a caught error.
    /// Returns the innermost such step's number.
    pub fn close_above(&mut self, above: Option<usize>, message: &str) -> Option<usize> {
        let innermost = self
            .stack
            .last()
            .map(|&(n, _)| n)
            .filter(|&n| Some(n) != above);
        let innermost_index = innermost
            .and_then(|n| self.trace.get(n))
            .map(|t| t.index.clone());
        let mut first = true;
        while let Some(&(n, at)) = self.stack.last() {
            if Some(n) == above {
                break;
            }
            self.stack.pop();
            if let Some(t) = self.trace.get_mut(n) {
                t.status = StepStatus::Error;
                t.duration_us = micros(at.elapsed());
                t.error = Some(if first {
                    message.to_owned()
                } else {
                    innermost_index
                        .as_ref()
                        .map_or_else(String::new, |i| format!("step {i} did not complete"))
                });
            }
            first = false;
        }
        innermost
    }

    pub fn close_stack(&mut self, status: StepStatus, message: Option<String>) {
        let innermost = self
            .stack
            .last()
            .and_then(|&(n, _)| self.trace.get(n))
            .map(|t| t.index.clone());
        let mut first = true;
        while let Some((n, at)) = self.stack.pop() {
            if let Some(t) = self.trace.get_mut(n) {
                t.status = status;
                t.duration_us = micros(at.elapsed());
                t.error = match (&message, first) {
                    (Some(m), true) => Some(m.clone()),
                    (Some(_), false) => innermost
                        .as_ref()
                        .map(|i| format!("step {i} did not complete")),
                    (None, _) => None,
                };
            }
            first = false;
        }
    }

    fn current_step(&self) -> String {
        self.stack
            .last()
            .and_then(|&(n, _)| self.trace.get(n))
            .map(|t| t.index.clone())
            .unwrap_or_default()
    }

    /// Collects an event (the type already checked), within the per-run caps.
    pub fn emit(&mut self, event_type: String, payload: Value) -> Result<(), String> {
        if self.events.len() >= MAX_EVENTS_PER_RUN {
            return Err(format!(
                "emit: a run may emit at most {MAX_EVENTS_PER_RUN} events"
            ));
        }
        let bytes = serde_json::to_vec(&payload).map_or(0, |v| v.len());
        if bytes > MAX_EVENT_PAYLOAD_BYTES {
            return Err(format!(
                "emit: the payload of `{event_type}` is {bytes} bytes of JSON; at most {MAX_EVENT_PAYLOAD_BYTES} are allowed"
            ));
        }
        if self.events_bytes + bytes > MAX_EVENTS_TOTAL_BYTES {
            return Err(format!(
                "emit: the events of a run may hold at most {MAX_EVENTS_TOTAL_BYTES} bytes of JSON together"
            ));
        }
        self.events_bytes += bytes;
        let step = self.current_step();
        self.events.push(EmittedEvent {
            event_type,
            payload,
            step,
        });
        Ok(())
    }

    pub fn log(&mut self, level: &str, message: &str) {
        if self.logs.len() >= MAX_LOG_ENTRIES {
            self.logs_dropped += 1;
            return;
        }
        let message = cut_text(message, MAX_LOG_MESSAGE_BYTES);
        let step = self.current_step();
        self.logs.push(LogEntry {
            step,
            level: level.to_owned(),
            message,
        });
    }
}

/// `vars` as JSON for a snapshot, replaced by a string saying so when larger than
/// [`MAX_SNAPSHOT_BYTES`] (or not representable).
pub(crate) fn snapshot_of(vars: &Dynamic) -> Value {
    /// Takes bytes until the cap, then refuses (so a huge value is not written out in full).
    struct Capped(usize);
    impl std::io::Write for Capped {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            if self.0 > MAX_SNAPSHOT_BYTES {
                Err(std::io::Error::other("too large"))
            } else {
                Ok(buf.len())
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    match to_json(vars) {
        Ok(v) => {
            if serde_json::to_writer(Capped(0), &v).is_ok() {
                v
            } else {
                Value::String(format!(
                    "(truncated: vars is larger than {MAX_SNAPSHOT_BYTES} bytes of JSON)"
                ))
            }
        }
        Err(e) => Value::String(format!("(vars cannot be shown as JSON: {e})")),
    }
}

/// Records `vars` as step `n` found it, or (`output`) left it, if the flow captures.
pub(crate) fn record_snapshot(vars: &Dynamic, n: INT, output: bool) -> Res<()> {
    with_run(|st| {
        let slot = usize::try_from(n)
            .ok()
            .and_then(|n| st.snapshots.as_mut()?.get_mut(n));
        if let Some(slot) = slot {
            let v = Some(snapshot_of(vars));
            if output {
                slot.output = v;
            } else {
                slot.input = v;
            }
        }
        Ok(())
    })
}

pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

pub(crate) fn with_run<T>(f: impl FnOnce(&mut RunState) -> Result<T, String>) -> Res<T> {
    RUN.with(|r| match r.try_borrow_mut() {
        Ok(mut slot) => match slot.as_mut() {
            Some(state) => f(state).map_err(Into::into),
            None => Err("this function is only available while a flow runs".into()),
        },
        Err(_) => Err("the run state is busy".into()),
    })
}

/// Stops the run for good (every further operation stops it too, even inside `catch`) and
/// gives the error that ends it now.
fn stop_run(stop: Stop, token: &'static str) -> Box<EvalAltResult> {
    set_stop(stop);
    Box::new(EvalAltResult::ErrorTerminated(
        Dynamic::from(token),
        Position::NONE,
    ))
}

/// Stops the run at its deadline.
pub(crate) fn stop_at_deadline() -> Box<EvalAltResult> {
    stop_run(Stop::Timeout, TIMEOUT_TOKEN)
}

/// Now, and the run's deadline (an hour away outside a run); stops the run if it has passed.
/// For calls out of the flow, which must end by then.
pub(crate) fn time_left() -> Res<(Instant, Instant)> {
    let now = Instant::now();
    let deadline = GUARD
        .with(Cell::get)
        .deadline
        .unwrap_or(now + Duration::from_secs(3600));
    if now >= deadline {
        return Err(stop_at_deadline());
    }
    Ok((now, deadline))
}

/// Ends the run: the error cannot be caught by `try`/`catch`.
pub(crate) fn end_run(ended: Ended) -> Res<()> {
    with_run(|st| {
        st.ended = Some(ended);
        Ok(())
    })?;
    Err(stop_run(Stop::Ended, ENDED_TOKEN))
}

/// What the runtime knows of step `n` (its pre-order number) of the running flow.
pub(crate) fn step_action<T>(n: INT, f: impl FnOnce(&Action) -> Result<T, String>) -> Res<T> {
    with_run(|st| {
        let meta = usize::try_from(n)
            .ok()
            .and_then(|n| st.flow.steps.get(n))
            .ok_or("unknown step")?;
        f(&meta.action)
    })
}

/// When a variable holding a container was last measured (see `guard::guard_variable`).
#[derive(Debug)]
pub(crate) struct Measured {
    pub name: String,
    /// Accesses since.
    pub seen: u32,
    /// It is measured again after this many.
    pub every: u32,
}
