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

use crate::body::percent_encode;
use crate::codegen::{Action, FlowInner};
use crate::convert::{to_bytes, to_dynamic};
use crate::convert::{to_json, to_text};
use crate::functions::{self, select_result};
use crate::guard::{guard_total, guard_variable, total_check_due, SizeLimits};
use crate::io::{HttpClient, HttpRequest, HttpResponse, RequestBody};
use crate::limits::Limits;
use crate::model::{HttpAuth, HttpBodyType, HttpMethod, HttpRetries};
use crate::outcome::ResponseBody;
use crate::trace::{
    EmittedEvent, LogEntry, StepSnapshot, StepStatus, StepTrace, MAX_EVENTS_PER_RUN,
    MAX_EVENTS_TOTAL_BYTES, MAX_EVENT_PAYLOAD_BYTES, MAX_SNAPSHOT_BYTES,
};
use crate::validate::header_problem;
use crate::validate::{
    event_type_problem, is_http_url, MAX_HTTP_RESPONSE_BYTES, MAX_HTTP_RETRIES, MAX_HTTP_TIMEOUT_MS,
};

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
    /// How `http` steps and `http()` reach the outside, if they may.
    pub http: Option<Arc<dyn HttpClient>>,
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
    register_http(&mut engine);

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

/// Time an HTTP call may take when its step says nothing.
const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response accepted when the step says nothing.
const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1024 * 1024;
/// Most calls one step keeps in its trace (further ones are made, not shown).
const MAX_TRACED_CALLS_PER_STEP: usize = 50;
/// Longest part of a response body quoted in an error.
const ERROR_EXCERPT_BYTES: usize = 300;

/// One call, as a step or `http()` describes it.
struct CallSpec {
    method: HttpMethod,
    url: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: RequestBody,
    auth: Option<HttpAuth>,
    timeout_ms: Option<u64>,
    retries: HttpRetries,
    max_response_bytes: Option<u64>,
    fail_on_status: bool,
}

fn timeout_stop() -> Box<EvalAltResult> {
    set_stop(Stop::Timeout);
    Box::new(EvalAltResult::ErrorTerminated(
        Dynamic::from(TIMEOUT_TOKEN),
        Position::NONE,
    ))
}

/// Text cut to at most `max` bytes (at a character boundary), with `…` when cut.
pub(crate) fn excerpt(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= max {
        return text.into_owned();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", text.get(..cut).unwrap_or_default())
}

fn perform(spec: CallSpec) -> Res<Dynamic> {
    let what = format!("{} {}", spec.method.as_str(), spec.url);
    if !is_http_url(&spec.url) {
        return Err(format!(
            "http: `{}` is not an http:// or https:// URL with a host",
            spec.url
        )
        .into());
    }
    for (name, value) in &spec.headers {
        if let Some(problem) = header_problem(name, value) {
            return Err(format!("http: {problem}").into());
        }
    }
    let client =
        with_run(|st| Ok(st.http.clone()))?.ok_or("http: HTTP calls are not available here")?;
    let now = Instant::now();
    let deadline = GUARD
        .with(Cell::get)
        .deadline
        .unwrap_or(now + Duration::from_secs(3600));
    if now >= deadline {
        return Err(timeout_stop());
    }
    let step_timeout = spec
        .timeout_ms
        .map_or(DEFAULT_HTTP_TIMEOUT, Duration::from_millis);
    let max_response_bytes = usize::try_from(
        spec.max_response_bytes
            .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES)
            .min(MAX_HTTP_RESPONSE_BYTES),
    )
    .unwrap_or(usize::MAX);
    let exchange = client.send(HttpRequest {
        method: spec.method,
        url: spec.url.clone(),
        query: spec.query,
        headers: spec.headers,
        body: spec.body,
        auth: spec.auth,
        timeout: step_timeout.min(deadline - now),
        deadline,
        retries: spec.retries,
        max_response_bytes,
    });
    with_run(|st| {
        if let Some(t) = st.stack.last().and_then(|&(n, _)| st.trace.get_mut(n)) {
            let room = MAX_TRACED_CALLS_PER_STEP.saturating_sub(t.calls.len());
            t.calls.extend(exchange.calls.into_iter().take(room));
        }
        Ok(())
    })?;
    match exchange.result {
        Err(message) => {
            if Instant::now() >= deadline {
                Err(timeout_stop())
            } else {
                Err(format!("{what}: {message}").into())
            }
        }
        Ok(resp) => {
            if spec.fail_on_status && resp.status >= 400 {
                let body = excerpt(&resp.body, ERROR_EXCERPT_BYTES);
                let body = if body.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {body}")
                };
                Err(format!("{what} answered {}{body}", resp.status).into())
            } else {
                Ok(response_dynamic(resp))
            }
        }
    }
}

/// `#{status, ok, headers, body}`: the body is parsed as JSON when the content type says
/// JSON (and it parses), else text when it is UTF-8, else a BLOB; empty is `()`.
fn response_dynamic(resp: HttpResponse) -> Dynamic {
    let is_json = resp
        .headers
        .get("content-type")
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    let body = if resp.body.is_empty() {
        Dynamic::UNIT
    } else if let Some(v) = is_json
        .then(|| serde_json::from_slice::<Value>(&resp.body).ok())
        .flatten()
    {
        to_dynamic(&v)
    } else {
        match String::from_utf8(resp.body) {
            Ok(t) => Dynamic::from(ImmutableString::from(t)),
            Err(e) => Dynamic::from_blob(e.into_bytes()),
        }
    };
    let mut headers = rhai::Map::new();
    for (k, v) in resp.headers {
        headers.insert(k.into(), Dynamic::from(ImmutableString::from(v)));
    }
    let mut m = rhai::Map::new();
    m.insert("status".into(), Dynamic::from(INT::from(resp.status)));
    m.insert(
        "ok".into(),
        Dynamic::from((200..300).contains(&resp.status)),
    );
    m.insert("headers".into(), Dynamic::from_map(headers));
    m.insert("body".into(), body);
    Dynamic::from_map(m)
}

fn literal_body(body_type: HttpBodyType, v: &Value) -> Result<RequestBody, String> {
    Ok(match (body_type, v) {
        (_, Value::Null) => RequestBody::None,
        (HttpBodyType::Json, v) => RequestBody::Json(v.clone()),
        (HttpBodyType::Form, Value::Object(m)) => RequestBody::Form(
            m.iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect(),
        ),
        (HttpBodyType::Text, Value::String(s)) => RequestBody::Text(s.clone()),
        (HttpBodyType::Raw, Value::String(s)) => RequestBody::Raw(s.as_bytes().to_vec()),
        (t, _) => return Err(format!("http: a {t:?} body literal has the wrong shape")),
    })
}

fn dynamic_body(body_type: HttpBodyType, v: &Dynamic) -> Result<RequestBody, String> {
    if v.is_unit() {
        return Ok(RequestBody::None);
    }
    Ok(match body_type {
        HttpBodyType::Json => {
            RequestBody::Json(to_json(v).map_err(|e| format!("http: the body {e}"))?)
        }
        HttpBodyType::Form => {
            let map = v
                .as_map_ref()
                .map_err(|t| format!("http: a form body must be a map, not {t}"))?;
            RequestBody::Form(
                map.iter()
                    .map(|(k, v)| (k.to_string(), to_text(v)))
                    .collect(),
            )
        }
        HttpBodyType::Text => RequestBody::Text(to_text(v)),
        HttpBodyType::Raw => RequestBody::Raw(to_bytes(v, "http: the body")?),
    })
}

fn string_pairs(v: &Dynamic, what: &str, lower: bool) -> Result<Vec<(String, String)>, String> {
    if v.is_unit() {
        return Ok(Vec::new());
    }
    let map = v
        .as_map_ref()
        .map_err(|t| format!("http: `{what}` must be a map, not {t}"))?;
    Ok(map
        .iter()
        .map(|(k, v)| {
            let k = if lower {
                k.to_ascii_lowercase()
            } else {
                k.to_string()
            };
            (k, to_text(v))
        })
        .collect())
}

/// The options map of `http(method, url, options)`.
fn options_spec(method: &str, url: &str, options: &rhai::Map) -> Result<CallSpec, String> {
    const KNOWN: &[&str] = &[
        "query",
        "headers",
        "body",
        "body_type",
        "auth",
        "timeout_ms",
        "retries",
        "max_response_bytes",
        "fail_on_status",
    ];
    if let Some(k) = options.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!(
            "http: unknown option `{k}` (known: {})",
            KNOWN.join(", ")
        ));
    }
    let method = HttpMethod::parse(method).ok_or_else(|| {
        format!("http: `{method}` is not a method (GET, POST, PUT, PATCH or DELETE)")
    })?;
    let get = |k: &str| options.get(k).cloned().unwrap_or(Dynamic::UNIT);
    let json_of = |k: &str| -> Result<Option<Value>, String> {
        let v = get(k);
        if v.is_unit() {
            Ok(None)
        } else {
            to_json(&v)
                .map(Some)
                .map_err(|e| format!("http: `{k}` {e}"))
        }
    };
    let body_type = match json_of("body_type")? {
        None => HttpBodyType::Json,
        Some(v) => serde_json::from_value(v)
            .map_err(|_| "http: `body_type` is json, form, text or raw".to_owned())?,
    };
    let auth = match json_of("auth")? {
        None => None,
        Some(v) => {
            Some(serde_json::from_value::<HttpAuth>(v).map_err(|e| format!("http: `auth`: {e}"))?)
        }
    };
    let retries = match json_of("retries")? {
        None => HttpRetries::default(),
        Some(v) => {
            serde_json::from_value::<HttpRetries>(v).map_err(|e| format!("http: `retries`: {e}"))?
        }
    };
    if retries.max > MAX_HTTP_RETRIES {
        return Err(format!("http: at most {MAX_HTTP_RETRIES} retries"));
    }
    let positive = |k: &str, max: u64| -> Result<Option<u64>, String> {
        let v = get(k);
        if v.is_unit() {
            return Ok(None);
        }
        v.as_int()
            .ok()
            .and_then(|i| u64::try_from(i).ok())
            .filter(|&i| i >= 1 && i <= max)
            .map(Some)
            .ok_or_else(|| format!("http: `{k}` is a number between 1 and {max}"))
    };
    let fail_on_status = match get("fail_on_status") {
        v if v.is_unit() => false,
        v => v
            .as_bool()
            .map_err(|t| format!("http: `fail_on_status` must be true or false, not {t}"))?,
    };
    Ok(CallSpec {
        method,
        url: url.to_owned(),
        query: string_pairs(&get("query"), "query", false)?,
        headers: string_pairs(&get("headers"), "headers", true)?,
        body: dynamic_body(body_type, &get("body"))?,
        auth,
        timeout_ms: positive("timeout_ms", MAX_HTTP_TIMEOUT_MS)?,
        retries,
        max_response_bytes: positive("max_response_bytes", MAX_HTTP_RESPONSE_BYTES)?,
        fail_on_status,
    })
}

fn register_http(engine: &mut Engine) {
    engine.register_fn("__fg_text", |v: Dynamic| -> ImmutableString {
        to_text(&v).into()
    });
    engine.register_fn("__fg_piece", |v: Dynamic| -> ImmutableString {
        percent_encode(to_text(&v).as_bytes()).into()
    });
    engine.register_fn(
        "__fg_http",
        |n: INT, parts: rhai::Map, body: Dynamic| -> Res<Dynamic> {
            let spec = step_action(n, |a| match a {
                Action::Http(h) => {
                    let get = |k: &str| parts.get(k).cloned().unwrap_or(Dynamic::UNIT);
                    let body = match (&h.body, body.is_unit()) {
                        (Some(literal), true) => literal_body(h.body_type, literal)?,
                        _ => dynamic_body(h.body_type, &body)?,
                    };
                    Ok(CallSpec {
                        method: h.method,
                        url: to_text(&get("url")),
                        query: string_pairs(&get("query"), "query", false)?,
                        headers: string_pairs(&get("headers"), "headers", true)?,
                        body,
                        auth: h.auth.clone(),
                        timeout_ms: h.timeout_ms,
                        retries: h.retries.clone(),
                        max_response_bytes: h.max_response_bytes,
                        fail_on_status: h.fail_on_status,
                    })
                }
                _ => Err("not an http step".to_owned()),
            })?;
            perform(spec)
        },
    );
    engine.register_fn(
        "http",
        |method: ImmutableString, url: ImmutableString| -> Res<Dynamic> {
            perform(options_spec(&method, &url, &rhai::Map::new())?)
        },
    );
    engine.register_fn(
        "http",
        |method: ImmutableString, url: ImmutableString, options: rhai::Map| -> Res<Dynamic> {
            perform(options_spec(&method, &url, &options)?)
        },
    );
}
