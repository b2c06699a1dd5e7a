//! The engine every run uses, and the per-run state its native functions reach: a run never
//! leaves its thread, so the state lives in a thread-local set up by [`crate::Runtime`].

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicBlobPackage, BasicFnPackage, BasicIteratorPackage,
    BasicMapPackage, BasicMathPackage, BasicStringPackage, BitFieldPackage, LogicPackage,
    MoreStringPackage, Package,
};
use rhai::{
    Dynamic, Engine, EvalAltResult, ImmutableString, Module, OptimizationLevel, Position, INT,
};
use serde_json::Value;

use crate::codegen::{Action, FlowInner};
use crate::convert::{to_json, to_text};
use crate::functions::{self, select_result};
use crate::guard::{guard_total, guard_variable, total_check_due, SizeLimits};
use crate::limits::Limits;
use crate::outcome::ResponseBody;
use crate::trace::{
    EmittedEvent, LogEntry, StepSnapshot, StepStatus, StepTrace, MAX_EVENTS_PER_RUN,
    MAX_EVENTS_TOTAL_BYTES, MAX_EVENT_PAYLOAD_BYTES, MAX_SNAPSHOT_BYTES,
};
use crate::validate::event_type_problem;
use crate::validate::header_problem;

/// Most log lines kept per run; further ones are counted and dropped.
pub const MAX_LOG_ENTRIES: usize = 1000;
/// Longest log line kept, in bytes (longer ones are cut).
pub const MAX_LOG_MESSAGE_BYTES: usize = 8 * 1024;
/// How often (in operations) the deadline is checked.
const DEADLINE_CHECK_EVERY: u64 = 256;
/// Variables alive at once in a run, and functions defined by one flow.
pub(crate) const MAX_VARIABLES: usize = 256;
const MAX_FUNCTIONS: usize = 256;

pub(crate) const TIMEOUT_TOKEN: &str = "flowgate:timeout";
pub(crate) const ENDED_TOKEN: &str = "flowgate:ended";

type Res<T> = Result<T, Box<EvalAltResult>>;

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

fn set_stop(stop: Stop) {
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
}

pub(crate) struct RunState {
    pub flow: Arc<FlowInner>,
    pub request_json: Option<Value>,
    pub trace: Vec<StepTrace>,
    /// Steps entered and not yet left: (pre-order number, entered at).
    pub stack: Vec<(usize, Instant)>,
    pub logs: Vec<LogEntry>,
    pub logs_dropped: usize,
    pub ended: Option<Ended>,
    /// Variable name -> (accesses since last measured, measure every this many accesses).
    pub measured: HashMap<String, (u32, u32)>,
    /// Variable accesses so far.
    pub accesses: u64,
    /// Flows compiled for capture: `vars` around each step (by pre-order number).
    pub snapshots: Option<Vec<StepSnapshot>>,
    /// Events emitted so far, and the bytes of JSON of their payloads.
    pub events: Vec<EmittedEvent>,
    pub events_bytes: usize,
}

impl RunState {
    /// Closes every step still open: the innermost gets `message`, the ones around it point to it.
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
        let message = if message.len() > MAX_LOG_MESSAGE_BYTES {
            let mut cut = MAX_LOG_MESSAGE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}…", message.get(..cut).unwrap_or_default())
        } else {
            message.to_owned()
        };
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

fn record_snapshot(vars: &Dynamic, n: INT, output: bool) -> Res<()> {
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

fn micros(d: Duration) -> u64 {
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

/// Ends the run: the error cannot be caught by `try`/`catch`.
fn end_run(ended: Ended) -> Res<()> {
    with_run(|st| {
        st.ended = Some(ended);
        Ok(())
    })?;
    set_stop(Stop::Ended);
    Err(Box::new(EvalAltResult::ErrorTerminated(
        Dynamic::from(ENDED_TOKEN),
        Position::NONE,
    )))
}

fn status_in(status: INT, range: std::ops::RangeInclusive<u16>, what: &str) -> Result<u16, String> {
    u16::try_from(status)
        .ok()
        .filter(|s| range.contains(s))
        .ok_or_else(|| {
            format!(
                "{what}: status {status} is not between {} and {}",
                range.start(),
                range.end()
            )
        })
}

fn response_body(v: &Dynamic) -> Result<ResponseBody, String> {
    if v.is_unit() {
        return Ok(ResponseBody::Empty);
    }
    if let Ok(s) = v.as_immutable_string_ref() {
        return Ok(ResponseBody::Text(s.as_str().to_owned()));
    }
    if let Ok(b) = v.as_blob_ref() {
        return Ok(ResponseBody::Binary(b.to_vec()));
    }
    to_json(v)
        .map(ResponseBody::Json)
        .map_err(|e| format!("respond: the body {e}"))
}

fn response_headers(v: &Dynamic) -> Result<BTreeMap<String, String>, String> {
    let map = v
        .as_map_ref()
        .map_err(|t| format!("respond: headers must be a map, not {t}"))?;
    let mut out = BTreeMap::new();
    for (k, val) in map.iter() {
        let value = if val.is_string()
            || val.is_int()
            || val.is_float()
            || val.is_bool()
            || val.is_char()
        {
            to_text(val)
        } else {
            return Err(format!(
                "respond: header `{k}` must be a string, not {}",
                val.type_name()
            ));
        };
        if let Some(problem) = header_problem(k, &value) {
            return Err(format!("respond: {problem}"));
        }
        out.insert(k.to_ascii_lowercase(), value);
    }
    Ok(out)
}

fn step_action<T>(n: INT, f: impl FnOnce(&Action) -> Result<T, String>) -> Res<T> {
    with_run(|st| {
        let meta = usize::try_from(n)
            .ok()
            .and_then(|n| st.flow.steps.get(n))
            .ok_or("unknown step")?;
        f(&meta.action)
    })
}

fn register_internals(engine: &mut Engine) {
    engine.register_fn("__fg_enter", |n: INT| -> Res<()> {
        with_run(|st| {
            let n = usize::try_from(n).map_err(|_| "bad step")?;
            st.stack.push((n, Instant::now()));
            Ok(())
        })
    });
    engine.register_fn("__fg_leave", |n: INT| -> Res<()> {
        with_run(|st| {
            if let Some((top, at)) = st.stack.pop() {
                if usize::try_from(n).ok() == Some(top) {
                    if let Some(t) = st.trace.get_mut(top) {
                        t.status = StepStatus::Ok;
                        t.duration_us = micros(at.elapsed());
                    }
                } else {
                    st.stack.push((top, at));
                }
            }
            Ok(())
        })
    });
    // Only flows compiled for capture call these (test runs).
    engine.register_fn("__fg_snap_in", |vars: &mut Dynamic, n: INT| -> Res<()> {
        record_snapshot(vars, n, false)
    });
    engine.register_fn("__fg_snap_out", |vars: &mut Dynamic, n: INT| -> Res<()> {
        record_snapshot(vars, n, true)
    });
    engine.register_fn("__fg_bool", |v: Dynamic| -> Res<bool> {
        v.as_bool()
            .map_err(|t| format!("the condition gave {t}, not a boolean (true/false)").into())
    });
    engine.register_fn("__fg_path", |vars: &mut Dynamic, i: INT| -> Res<Dynamic> {
        with_run(|st| {
            let path = usize::try_from(i)
                .ok()
                .and_then(|i| st.flow.paths.get(i))
                .ok_or("unknown JSONPath")?;
            let root = st.request_json.as_mut().ok_or("no request context")?;
            if !path.request_only() {
                let vars =
                    to_json(vars).map_err(|e| format!("vars cannot be read as JSON: {e}"))?;
                if let Value::Object(o) = root {
                    o.insert("vars".to_owned(), vars);
                }
            }
            Ok(select_result(path.select(root)?))
        })
    });
    engine.register_fn("__fg_respond", |n: INT| -> Res<()> {
        let ended = step_action(n, |a| match a {
            Action::Respond {
                status,
                headers,
                body,
            } => Ok(Ended::Responded {
                status: *status,
                headers: headers.clone(),
                body: body.clone(),
            }),
            _ => Err("not a respond step".to_owned()),
        })?;
        end_run(ended)
    });
    engine.register_fn("__fg_respond", |n: INT, body: Dynamic| -> Res<()> {
        let body = response_body(&body)?;
        let ended = step_action(n, |a| match a {
            Action::Respond {
                status, headers, ..
            } => Ok(Ended::Responded {
                status: *status,
                headers: headers.clone(),
                body,
            }),
            _ => Err("not a respond step".to_owned()),
        })?;
        end_run(ended)
    });
    engine.register_fn("__fg_fail", |n: INT| -> Res<()> {
        let ended = step_action(n, |a| match a {
            Action::Fail { status, message } => Ok(Ended::Failed {
                status: *status,
                message: message.clone().unwrap_or_default(),
            }),
            _ => Err("not a fail step".to_owned()),
        })?;
        end_run(ended)
    });
    engine.register_fn("__fg_fail", |n: INT, message: Dynamic| -> Res<()> {
        let message = to_text(&message);
        let ended = step_action(n, |a| match a {
            Action::Fail { status, .. } => Ok(Ended::Failed {
                status: *status,
                message,
            }),
            _ => Err("not a fail step".to_owned()),
        })?;
        end_run(ended)
    });
    engine.register_fn("__fg_log", |n: INT| -> Res<()> {
        with_run(|st| {
            let (level, message) = match usize::try_from(n)
                .ok()
                .and_then(|n| st.flow.steps.get(n))
                .map(|m| &m.action)
            {
                Some(Action::Log { level, message }) => {
                    (level.as_str(), message.clone().unwrap_or_default())
                }
                _ => return Err("not a log step".to_owned()),
            };
            st.log(level, &message);
            Ok(())
        })
    });
    engine.register_fn("__fg_log", |n: INT, message: Dynamic| -> Res<()> {
        let message = to_text(&message);
        with_run(|st| {
            let level = match usize::try_from(n)
                .ok()
                .and_then(|n| st.flow.steps.get(n))
                .map(|m| &m.action)
            {
                Some(Action::Log { level, .. }) => level.as_str(),
                _ => return Err("not a log step".to_owned()),
            };
            st.log(level, &message);
            Ok(())
        })
    });

    engine.register_fn("__fg_emit", |n: INT| -> Res<()> {
        with_run(|st| {
            let (event, payload) = match usize::try_from(n)
                .ok()
                .and_then(|n| st.flow.steps.get(n))
                .map(|m| &m.action)
            {
                Some(Action::Emit { event, payload }) => (event.clone(), payload.clone()),
                _ => return Err("not an emit step".to_owned()),
            };
            st.emit(event, payload)
        })
    });
    engine.register_fn("__fg_emit", |n: INT, payload: Dynamic| -> Res<()> {
        let payload = to_json(&payload).map_err(|e| format!("emit: the payload {e}"))?;
        with_run(|st| {
            let event = match usize::try_from(n)
                .ok()
                .and_then(|n| st.flow.steps.get(n))
                .map(|m| &m.action)
            {
                Some(Action::Emit { event, .. }) => event.clone(),
                _ => return Err("not an emit step".to_owned()),
            };
            st.emit(event, payload)
        })
    });
    engine.register_fn(
        "emit",
        |event: ImmutableString, payload: Dynamic| -> Res<()> {
            if let Some(problem) = event_type_problem(&event) {
                return Err(format!("emit: {problem}").into());
            }
            let payload = to_json(&payload).map_err(|e| format!("emit: the payload {e}"))?;
            with_run(|st| st.emit(event.as_str().to_owned(), payload))
        },
    );

    // What scripts call to end the flow.
    engine.register_fn("respond", |status: INT, body: Dynamic| -> Res<()> {
        let status = status_in(status, 200..=599, "respond")?;
        let body = response_body(&body)?;
        end_run(Ended::Responded {
            status,
            headers: BTreeMap::new(),
            body,
        })
    });
    engine.register_fn(
        "respond",
        |status: INT, body: Dynamic, headers: Dynamic| -> Res<()> {
            let status = status_in(status, 200..=599, "respond")?;
            let body = response_body(&body)?;
            let headers = response_headers(&headers)?;
            end_run(Ended::Responded {
                status,
                headers,
                body,
            })
        },
    );
    engine.register_fn("fail", |status: INT, message: Dynamic| -> Res<()> {
        let status = status_in(status, 400..=599, "fail")?;
        end_run(Ended::Failed {
            status,
            message: to_text(&message),
        })
    });
}

/// The engine: raw, only the packages we want, our functions, every limit set.
pub(crate) fn build_engine(limits: &Limits) -> Engine {
    let mut engine = Engine::new_raw();
    // One module holding every package: function lookups probe each global module in turn.
    let mut lib = Module::new();
    for package in [
        ArithmeticPackage::new().as_shared_module(),
        LogicPackage::new().as_shared_module(),
        BitFieldPackage::new().as_shared_module(),
        BasicMathPackage::new().as_shared_module(),
        BasicStringPackage::new().as_shared_module(),
        MoreStringPackage::new().as_shared_module(),
        BasicIteratorPackage::new().as_shared_module(),
        BasicFnPackage::new().as_shared_module(),
        BasicArrayPackage::new().as_shared_module(),
        BasicBlobPackage::new().as_shared_module(),
        BasicMapPackage::new().as_shared_module(),
    ] {
        lib.combine((*package).clone());
    }
    lib.build_index();
    engine.register_global_module(lib.into());
    functions::register(&mut engine);
    register_internals(&mut engine);

    engine.set_optimization_level(OptimizationLevel::Simple);
    engine.set_max_operations(limits.max_operations);
    engine.set_max_call_levels(limits.max_call_levels);
    engine.set_max_expr_depths(limits.max_expr_depth, limits.max_fn_expr_depth);
    engine.set_max_string_size(limits.max_string_bytes);
    engine.set_max_array_size(limits.max_array_len);
    engine.set_max_map_size(limits.max_map_len);
    engine.set_max_variables(MAX_VARIABLES);
    engine.set_max_functions(MAX_FUNCTIONS);
    engine.set_strict_variables(true);
    engine.disable_symbol("eval");

    engine.on_print(|s| {
        let _ = with_run(|st| {
            st.log("info", s);
            Ok(())
        });
    });
    engine.on_debug(|s, _, _| {
        let _ = with_run(|st| {
            st.log("debug", s);
            Ok(())
        });
    });
    let size_limits = SizeLimits {
        string_bytes: limits.max_string_bytes,
        array_len: limits.max_array_len,
        map_len: limits.max_map_len,
    };
    // `on_var` is marked as a volatile API, not a deprecated one.
    #[allow(deprecated)]
    engine.on_var(move |name, _, ctx| {
        let scope = ctx.scope();
        match scope.get(name) {
            Some(v) if (v.is_map() || v.is_array()) && scope.is_constant(name) != Some(true) => {
                guard_variable(size_limits, name, v)?;
            }
            _ => {}
        }
        if total_check_due() {
            guard_total(size_limits, scope)?;
        }
        Ok(None)
    });
    engine.on_progress(|ops| {
        let guard = GUARD.with(Cell::get);
        match guard.stop {
            Stop::No => {}
            Stop::Ended => return Some(Dynamic::from(ENDED_TOKEN)),
            Stop::Timeout => return Some(Dynamic::from(TIMEOUT_TOKEN)),
        }
        if ops % DEADLINE_CHECK_EVERY != 0 {
            return None;
        }
        match guard.deadline {
            Some(deadline) if Instant::now() >= deadline => {
                set_stop(Stop::Timeout);
                Some(Dynamic::from(TIMEOUT_TOKEN))
            }
            _ => None,
        }
    });
    engine
}
