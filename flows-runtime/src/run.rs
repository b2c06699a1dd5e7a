//! The executor: one engine per [`Runtime`], a fresh scope per run, the per-run state in a
//! thread-local (see `engine`), the deadline checked in `on_progress`.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position, Scope};
use serde_json::Value;

use crate::body::{Body, Input};
use crate::codegen::{compile_with, CompiledFlow, FlowInner};
use crate::convert::{to_dynamic, to_text};
use crate::engine::{
    build_engine, snapshot_of, Ended, Guard, RunState, Stop, ENDED_TOKEN, GUARD, MAX_LOG_ENTRIES,
    MAX_VARIABLES, RUN, TIMEOUT_TOKEN,
};
use crate::guard::TOTAL_SIZE_FACTOR;
use crate::io::HttpClient;
use crate::limits::Limits;
use crate::outcome::{FlowResult, Outcome, RuntimeError};
use crate::trace::{LogEntry, StepSnapshot, StepStatus, StepTrace};
use crate::validate::ValidationError;

/// Stack a run gets: unless the calling thread has this much left, the run moves to a stack of
/// this size, reserved once per thread and reused (memory is committed only as it is used).
pub const RUN_STACK_BYTES: usize = 64 * 1024 * 1024;
/// A thread stack size with which runs stay on the calling thread's own stack.
pub const RECOMMENDED_THREAD_STACK_BYTES: usize = RUN_STACK_BYTES + 4 * 1024 * 1024;

thread_local! {
    static RUN_STACK: RefCell<Option<corosensei::stack::DefaultStack>> = const { RefCell::new(None) };
}

/// Runs `f` with at least [`RUN_STACK_BYTES`] of stack: in place if the thread has that much
/// left, else on this thread's run stack (if that cannot be had, in place anyway).
fn on_run_stack<R>(f: impl FnOnce() -> R) -> R {
    if stacker::remaining_stack().is_some_and(|left| left >= RUN_STACK_BYTES) {
        return f();
    }
    RUN_STACK.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            if slot.is_none() {
                *slot = corosensei::stack::DefaultStack::new(RUN_STACK_BYTES).ok();
            }
            match slot.as_mut() {
                Some(stack) => corosensei::on_stack(stack, f),
                None => f(),
            }
        }
        Err(_) => f(),
    })
}

/// A run given a budget by [`Runtime::try_execute_within`] did not end within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget;

/// Compiles and runs flows. Build one, share it (`Send + Sync`), call it from any thread.
pub struct Runtime {
    engine: Engine,
    limits: Limits,
    http: Option<Arc<dyn HttpClient>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &self.limits)
            .finish()
    }
}

/// Validates and compiles a flow (builds a throw-away engine; prefer [`Runtime::compile`]).
pub fn compile(
    steps: &[crate::model::Step],
    limits: &Limits,
) -> Result<CompiledFlow, Vec<ValidationError>> {
    Runtime::new(limits.clone()).compile(steps)
}

impl Runtime {
    pub fn new(limits: Limits) -> Runtime {
        Runtime {
            engine: build_engine(&limits),
            limits,
            http: None,
        }
    }

    /// Gives flows a way to make HTTP calls (`http` steps, `http()`). Without one, a call
    /// is an error saying HTTP is not available.
    pub fn with_http_client(mut self, client: Arc<dyn HttpClient>) -> Runtime {
        self.http = Some(client);
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Validates the flow and compiles it to one Rhai program. Reports every problem found.
    pub fn compile(
        &self,
        steps: &[crate::model::Step],
    ) -> Result<CompiledFlow, Vec<ValidationError>> {
        compile_with(&self.engine, steps, false)
    }

    /// Like [`Runtime::compile`], for test runs: each run of the flow also records `vars` as
    /// each step found it and left it ([`Outcome::snapshots`], each at most
    /// [`crate::MAX_SNAPSHOT_BYTES`] of JSON). Flows compiled with [`Runtime::compile`] record
    /// nothing and pay nothing for it.
    pub fn compile_capturing(
        &self,
        steps: &[crate::model::Step],
    ) -> Result<CompiledFlow, Vec<ValidationError>> {
        compile_with(&self.engine, steps, true)
    }

    /// Runs a flow for one call. Blocking (call it off the async executor); never panics and
    /// stops at the deadline. `request.raw_body` is the body re-encoded from `input.body`.
    pub fn execute(&self, flow: &CompiledFlow, input: &Input) -> Outcome {
        self.run(flow, input, None)
    }

    /// Like [`Runtime::execute`], with the body's bytes as received, so `request.raw_body` is
    /// exact (needed to check a signature over the body).
    pub fn execute_with_raw_body(
        &self,
        flow: &CompiledFlow,
        input: &Input,
        raw_body: &[u8],
    ) -> Outcome {
        self.run(flow, input, Some(raw_body))
    }

    /// Runs a flow only if it ends within `budget` (shorter than `Limits::max_duration`);
    /// otherwise stops it and returns [`OverBudget`], and the caller runs it again with
    /// [`Runtime::execute_with_raw_body`] where blocking for long is fine. This lets a server
    /// run the many short flows right on its event loop and move only the slow ones to a
    /// blocking thread. Only for flows whose steps have no outside effects (every step of
    /// this crate's model but `http`): the abandoned run is thrown away, as if it never
    /// happened. A flow that [does I/O](CompiledFlow::does_io) is never run here: it gets
    /// [`OverBudget`] at once.
    pub fn try_execute_within(
        &self,
        flow: &CompiledFlow,
        input: &Input,
        raw_body: Option<&[u8]>,
        budget: Duration,
    ) -> Result<Outcome, OverBudget> {
        if flow.does_io() {
            return Err(OverBudget);
        }
        let (outcome, timed_out) = self.run_with(flow, input, raw_body, Some(budget));
        if timed_out && budget < self.limits.max_duration {
            Err(OverBudget)
        } else {
            Ok(outcome)
        }
    }

    fn run(&self, flow: &CompiledFlow, input: &Input, raw_body: Option<&[u8]>) -> Outcome {
        self.run_with(flow, input, raw_body, None).0
    }

    /// Runs a flow; also tells whether it was stopped by its deadline.
    fn run_with(
        &self,
        flow: &CompiledFlow,
        input: &Input,
        raw_body: Option<&[u8]>,
        budget: Option<Duration>,
    ) -> (Outcome, bool) {
        let started = Instant::now();
        let allowed = budget.map_or(self.limits.max_duration, |b| {
            b.min(self.limits.max_duration)
        });
        let deadline = started + allowed;
        // Rhai clones, measures and drops nested values recursively, so a script that nests a
        // value thousands of levels deep needs a deep stack: the whole run gets one.
        let run = || on_run_stack(|| self.run_here(flow, input, raw_body, started, deadline));
        catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|_| {
            (
                internal_outcome("a panic was caught while running the flow", started),
                false,
            )
        })
    }

    fn run_here(
        &self,
        flow: &CompiledFlow,
        input: &Input,
        raw_body: Option<&[u8]>,
        started: Instant,
        deadline: Instant,
    ) -> (Outcome, bool) {
        let inner = &flow.inner;
        let raw = inner
            .uses_raw_body
            .then(|| raw_body.map_or_else(|| input.body.to_bytes(), <[u8]>::to_vec));
        let request_json = (!inner.paths.is_empty()).then(|| request_json(input, raw.as_deref()));
        let state = RunState {
            flow: Arc::clone(inner),
            request_json,
            trace: inner
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
            measured: HashMap::new(),
            accesses: 0,
            snapshots: inner
                .capture
                .then(|| vec![StepSnapshot::default(); inner.steps.len()]),
            events: Vec::new(),
            events_bytes: 0,
            http: self.http.clone(),
        };
        let previous = match RUN.with(|r| r.try_borrow_mut().map(|mut slot| slot.replace(state))) {
            Ok(p) => p,
            Err(_) => return (internal_outcome("the run state is busy", started), false),
        };
        let guard = Guard {
            deadline: Some(deadline),
            stop: Stop::No,
        };
        let previous_guard = GUARD.with(|g| g.replace(guard));

        let mut scope = Scope::new();
        scope.push_constant("request", request_dynamic(input, raw));
        scope.push("vars", Map::new());
        let result = catch_unwind(AssertUnwindSafe(|| {
            self.engine.run_ast_with_scope(&mut scope, &inner.ast)
        }));
        let final_vars = if inner.capture {
            scope.get("vars").map(snapshot_of)
        } else {
            None
        };
        drop(scope);

        let stopped = GUARD.with(|g| g.replace(previous_guard)).stop;
        let state = RUN.with(|r| {
            r.try_borrow_mut()
                .ok()
                .and_then(|mut slot| std::mem::replace(&mut *slot, previous))
        });
        let Some(mut state) = state else {
            return (internal_outcome("the run state was lost", started), false);
        };
        let result = match result {
            // A respond/fail/timeout whose error was swallowed (Rhai lets a closure called by
            // an array method catch it) still decides the result.
            Ok(Ok(())) if state.ended.is_some() || stopped == Stop::Timeout => {
                let token = if stopped == Stop::Timeout {
                    TIMEOUT_TOKEN
                } else {
                    ENDED_TOKEN
                };
                self.conclude(
                    &mut state,
                    EvalAltResult::ErrorTerminated(token.into(), Position::NONE),
                )
            }
            Ok(Ok(())) => {
                state.close_stack(StepStatus::Ok, None);
                FlowResult::Completed
            }
            Ok(Err(err)) => self.conclude(&mut state, *err),
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
        let outcome = Outcome {
            result,
            steps: state.trace,
            logs: state.logs,
            duration: started.elapsed(),
            snapshots,
            events: state.events,
        };
        (outcome, stopped == Stop::Timeout)
    }

    /// Turns the error that ended a run into its result, and marks the steps it went through.
    fn conclude(&self, state: &mut RunState, err: EvalAltResult) -> FlowResult {
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
            };
        }
        let (error, trace_message) = match self.classify(err.unwrap_inner()) {
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
    fn classify(&self, err: &EvalAltResult) -> Option<(RuntimeError, String)> {
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
                        self.limits.max_duration.as_millis()
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
                format!(
                    "stopped: more than {} operations",
                    self.limits.max_operations
                ),
            ),
            EvalAltResult::ErrorStackOverflow(..) => limit(
                "call levels",
                format!(
                    "stopped: functions nested more than {} calls deep",
                    self.limits.max_call_levels
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
                        format!(
                            "stopped: a string over {} bytes",
                            self.limits.max_string_bytes
                        ),
                    )
                } else if what.contains("array") {
                    limit(
                        "array size",
                        format!(
                            "stopped: an array over {} elements",
                            self.limits.max_array_len
                        ),
                    )
                } else if what.contains("map") {
                    limit(
                        "map size",
                        format!("stopped: a map over {} entries", self.limits.max_map_len),
                    )
                } else {
                    limit("data size", format!("stopped: {what} too large"))
                }
            }
            _ => None,
        }
    }
}

fn internal_outcome(message: &str, started: Instant) -> Outcome {
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
        if let Some(place) = flow.locate(line, column) {
            match (place.field, Some(place.step) == failing) {
                (Some(field), true) => text.push_str(&format!(
                    " (`{field}` line {}, position {})",
                    place.line, place.column
                )),
                (Some(field), false) => {
                    let index = flow.steps.get(place.step).map_or("?", |s| s.index.as_str());
                    text.push_str(&format!(
                        " (step {index} `{field}` line {}, position {})",
                        place.line, place.column
                    ));
                }
                (None, _) => {}
            }
        }
    }
    if let Some(f) = in_functions.last() {
        text.push_str(&format!(" in {f}"));
    }
    text
}

fn request_dynamic(input: &Input, raw: Option<Vec<u8>>) -> Dynamic {
    let strings = |m: &BTreeMap<String, String>| -> Dynamic {
        let mut out = Map::new();
        for (k, v) in m {
            out.insert(
                k.as_str().into(),
                Dynamic::from(ImmutableString::from(v.as_str())),
            );
        }
        Dynamic::from_map(out)
    };
    let body = match &input.body {
        Body::Empty => Dynamic::UNIT,
        Body::Json(v) => to_dynamic(v),
        Body::Form(m) => strings(m),
        Body::Text(t) => Dynamic::from(ImmutableString::from(t.as_str())),
        Body::Binary(b) => Dynamic::from_blob(b.clone()),
    };
    let mut m = Map::new();
    m.insert(
        "method".into(),
        Dynamic::from(ImmutableString::from(input.method.as_str())),
    );
    m.insert(
        "path".into(),
        Dynamic::from(ImmutableString::from(input.path.as_str())),
    );
    m.insert("query".into(), strings(&input.query));
    m.insert("headers".into(), strings(&input.headers));
    m.insert("body".into(), body);
    if let Some(raw) = raw {
        let v = match String::from_utf8(raw) {
            Ok(s) => Dynamic::from(ImmutableString::from(s)),
            Err(e) => Dynamic::from_blob(e.into_bytes()),
        };
        m.insert("raw_body".into(), v);
    }
    Dynamic::from_map(m)
}

/// `{"request": ..}`, the root of map steps' JSONPath (`vars` is added when a path needs it).
fn request_json(input: &Input, raw: Option<&[u8]>) -> Value {
    let mut request = serde_json::Map::new();
    request.insert("method".into(), Value::String(input.method.clone()));
    request.insert("path".into(), Value::String(input.path.clone()));
    request.insert(
        "query".into(),
        serde_json::to_value(&input.query).unwrap_or_default(),
    );
    request.insert(
        "headers".into(),
        serde_json::to_value(&input.headers).unwrap_or_default(),
    );
    request.insert("body".into(), input.body.to_json());
    if let Some(raw) = raw {
        let v = match std::str::from_utf8(raw) {
            Ok(s) => Value::String(s.to_owned()),
            Err(_) => Body::Binary(raw.to_vec()).to_json(),
        };
        request.insert("raw_body".into(), v);
    }
    let mut root = serde_json::Map::new();
    root.insert("request".into(), Value::Object(request));
    root.insert("vars".into(), Value::Object(serde_json::Map::new()));
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::engine::MAX_LOG_MESSAGE_BYTES;
    use crate::model::Step;
    use crate::outcome::ResponseBody;

    fn runtime() -> Runtime {
        Runtime::new(Limits::default())
    }

    fn input(body: Body) -> Input {
        Input {
            method: "POST".into(),
            path: "/t/acme/x".into(),
            query: BTreeMap::from([("country".to_owned(), "SE".to_owned())]),
            headers: BTreeMap::from([("x-test".to_owned(), "yes".to_owned())]),
            body,
        }
    }

    fn run_with(doc: serde_json::Value, body: Body) -> Outcome {
        let steps: Vec<Step> = serde_json::from_value(doc).unwrap();
        let rt = runtime();
        let flow = rt.compile(&steps).unwrap_or_else(|e| panic!("{e:#?}"));
        rt.execute(&flow, &input(body))
    }

    fn run(doc: serde_json::Value) -> Outcome {
        run_with(
            doc,
            Body::Json(json!({"id": "A1", "items": [{"t": "x"}, {"t": "y"}], "one": [{"t": "z"}]})),
        )
    }

    fn statuses(o: &Outcome) -> Vec<(&str, StepStatus)> {
        o.steps
            .iter()
            .map(|s| (s.index.as_str(), s.status))
            .collect()
    }

    fn answered(o: &Outcome) -> (u16, &BTreeMap<String, String>, &ResponseBody) {
        match &o.result {
            FlowResult::Responded {
                status,
                headers,
                body,
            } => (*status, headers, body),
            other => panic!("not responded: {other:?} {:?}", o.steps),
        }
    }

    /// Answers every request with what `answer` gives, and remembers the requests.
    struct FakeClient {
        seen: std::sync::Mutex<Vec<crate::HttpRequest>>,
        answer: fn(&crate::HttpRequest) -> Result<crate::HttpResponse, String>,
    }

    impl crate::HttpClient for FakeClient {
        fn send(&self, request: crate::HttpRequest) -> crate::HttpExchange {
            let result = (self.answer)(&request);
            let call = crate::HttpCallTrace {
                method: request.method.as_str().to_owned(),
                url: request.url.clone(),
                attempt: 1,
                status: result.as_ref().ok().map(|r| r.status),
                ..Default::default()
            };
            self.seen.lock().unwrap().push(request);
            crate::HttpExchange {
                result,
                calls: vec![call],
            }
        }
    }

    fn json_answer(status: u16, body: serde_json::Value) -> crate::HttpResponse {
        crate::HttpResponse {
            status,
            headers: BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]),
            body: body.to_string().into_bytes(),
        }
    }

    fn with_client(
        answer: fn(&crate::HttpRequest) -> Result<crate::HttpResponse, String>,
    ) -> (Runtime, Arc<FakeClient>) {
        let client = Arc::new(FakeClient {
            seen: std::sync::Mutex::new(Vec::new()),
            answer,
        });
        let rt = runtime().with_http_client(client.clone());
        (rt, client)
    }

    fn run_on(rt: &Runtime, doc: serde_json::Value) -> Outcome {
        let steps: Vec<Step> = serde_json::from_value(doc).unwrap();
        let flow = rt.compile(&steps).unwrap_or_else(|e| panic!("{e:#?}"));
        rt.execute(&flow, &input(Body::Json(json!({"id": "a b/c", "n": 2}))))
    }

    #[test]
    fn http_step_sends_templates_and_stores_the_answer() {
        let (rt, client) = with_client(|r| {
            Ok(json_answer(
                200,
                json!({"got": r.url, "method": r.method.as_str()}),
            ))
        });
        let o = run_on(
            &rt,
            json!([
                {"type": "http", "method": "PATCH", "url": "https://api.example.com/users/${request.body.id}?x=1",
                 "query": {"n": "${request.body.n + 1}", "fixed": "v"}, "headers": {"X-Trace": "t-${request.body.n}"},
                 "body_expr": "#{id: request.body.id}", "to": "user",
                 "auth": {"type": "bearer", "token_secret": "tok"}, "timeout_ms": 1500,
                 "retries": {"max": 2}},
                {"type": "http", "method": "POST", "url": "${\"https://b.example.com\"}/form/${request.body.id}",
                 "body": {"a": 1, "b": "x"}, "body_type": "form"},
                {"type": "respond", "body_expr": "vars.user"}
            ]),
        );
        assert_eq!(
            answered(&o).2,
            &ResponseBody::Json(json!({
                "status": 200, "ok": true,
                "headers": {"content-type": "application/json"},
                "body": {"got": "https://api.example.com/users/a%20b%2Fc?x=1", "method": "PATCH"}
            }))
        );
        let seen = client.seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        let r = &seen[0];
        assert_eq!(
            r.query,
            [
                ("fixed".to_owned(), "v".to_owned()),
                ("n".to_owned(), "3".to_owned())
            ]
        );
        assert_eq!(r.headers, [("x-trace".to_owned(), "t-2".to_owned())]);
        assert_eq!(r.body, crate::RequestBody::Json(json!({"id": "a b/c"})));
        assert_eq!(
            r.auth,
            Some(crate::model::HttpAuth::Bearer {
                token_secret: "tok".into()
            })
        );
        assert_eq!(r.timeout, Duration::from_millis(1500));
        assert_eq!(r.retries.max, 2);
        assert_eq!(r.max_response_bytes, 1024 * 1024);
        // The base at the start of a URL is not encoded; later pieces are.
        assert_eq!(seen[1].url, "https://b.example.com/form/a%20b%2Fc");
        assert_eq!(
            seen[1].body,
            crate::RequestBody::Form(vec![("a".into(), "1".into()), ("b".into(), "x".into())])
        );
        // Each step's trace lists its calls.
        assert_eq!(o.steps[0].calls.len(), 1);
        assert_eq!(o.steps[0].calls[0].method, "PATCH");
        assert_eq!(o.steps[1].calls.len(), 1);
        assert!(o.steps[2].calls.is_empty());
    }

    #[test]
    fn http_status_fails_the_flow_unless_told_otherwise() {
        let (rt, _) = with_client(|_| Ok(json_answer(404, json!({"message": "no such user"}))));
        let o = run_on(
            &rt,
            json!([{"type": "http", "url": "https://id.example.com/users/1", "to": "u"}]),
        );
        match &o.result {
            FlowResult::Error(RuntimeError::Script { step, message }) => {
                assert_eq!(step.as_deref(), Some("0"));
                assert!(
                    message.starts_with(
                        r#"GET https://id.example.com/users/1 answered 404: {"message":"no such user"}"#
                    ),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(o.steps[0].status, StepStatus::Error);
        assert_eq!(o.steps[0].calls.len(), 1);
        let o = run_on(
            &rt,
            json!([
                {"type": "http", "url": "https://id.example.com/users/1", "to": "u", "fail_on_status": false},
                {"type": "respond", "body_expr": "[vars.u.status, vars.u.ok, vars.u.body.message]"}
            ]),
        );
        assert_eq!(
            answered(&o).2,
            &ResponseBody::Json(json!([404, false, "no such user"]))
        );
        // A transport error breaks the flow with the client's message.
        let (rt, _) = with_client(|_| Err("connection refused".into()));
        match run_on(
            &rt,
            json!([{"type": "http", "url": "http://127.0.0.1:9/x"}]),
        )
        .result
        {
            FlowResult::Error(e) => {
                assert!(
                    e.to_string()
                        .contains("GET http://127.0.0.1:9/x: connection refused"),
                    "{e}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn http_function_takes_options() {
        let (rt, client) = with_client(|r| match r.method {
            crate::model::HttpMethod::Delete => Ok(crate::HttpResponse {
                status: 500,
                headers: BTreeMap::new(),
                body: b"boom".to_vec(),
            }),
            _ => Ok(crate::HttpResponse {
                status: 201,
                headers: BTreeMap::from([("content-type".into(), "text/plain".into())]),
                body: b"made".to_vec(),
            }),
        });
        let o = run_on(
            &rt,
            json!([{"type": "script", "code": r#"
                let a = http("post", "https://x.example.com/a", #{body: "hi", body_type: "text",
                    headers: #{"X-A": 1}, query: #{q: "1"}, auth: #{type: "secret_header", header: "x-key", secret: "k"},
                    timeout_ms: 50, max_response_bytes: 10});
                let b = http("DELETE", "https://x.example.com/b");
                let c = "none";
                try { http("DELETE", "https://x.example.com/b", #{fail_on_status: true}); } catch (e) { c = e; }
                respond(200, [a.status, a.body, b.status, b.body, c]);
            "#}]),
        );
        assert_eq!(
            answered(&o).2,
            &ResponseBody::Json(json!([
                201,
                "made",
                500,
                "boom",
                "DELETE https://x.example.com/b answered 500: boom"
            ]))
        );
        let seen = client.seen.lock().unwrap();
        assert_eq!(seen[0].method, crate::model::HttpMethod::Post);
        assert_eq!(seen[0].body, crate::RequestBody::Text("hi".into()));
        assert_eq!(seen[0].headers, [("x-a".to_owned(), "1".to_owned())]);
        assert_eq!(seen[0].timeout, Duration::from_millis(50));
        assert_eq!(seen[0].max_response_bytes, 10);
        assert_eq!(o.steps[0].calls.len(), 3);
        for (code, needle) in [
            (
                r#"http("GET", "https://x", #{bogus: 1})"#,
                "unknown option `bogus`",
            ),
            (r#"http("TRACE", "https://x")"#, "`TRACE` is not a method"),
            (
                r#"http("GET", "ftp://x")"#,
                "is not an http:// or https:// URL",
            ),
            (
                r#"http("GET", "https://x", #{auth: #{type: "bearer"}})"#,
                "http: `auth`",
            ),
            (
                r#"http("GET", "https://x", #{retries: #{max: 9}})"#,
                "at most 5 retries",
            ),
            (
                r#"http("GET", "https://x", #{timeout_ms: 0})"#,
                "`timeout_ms` is a number between 1",
            ),
        ] {
            match run_on(&rt, json!([{"type": "script", "code": code}])).result {
                FlowResult::Error(e) => assert!(e.to_string().contains(needle), "{code}: {e}"),
                other => panic!("{code}: {other:?}"),
            }
        }
    }

    #[test]
    fn flows_with_io_are_marked_and_never_run_within_a_budget() {
        let (rt, client) = with_client(|_| Ok(json_answer(200, json!({}))));
        let compile = |doc: serde_json::Value| {
            let steps: Vec<Step> = serde_json::from_value(doc).unwrap();
            rt.compile(&steps).unwrap()
        };
        let plain = compile(json!([{"type": "log", "message": "x"}]));
        let step = compile(json!([{"type": "http", "url": "https://x"}]));
        let script =
            compile(json!([{"type": "script", "code": "let r = http(\"GET\", \"https://x\");"}]));
        let off = compile(json!([{"type": "http", "url": "https://x", "disabled": true}]));
        assert!(!plain.does_io() && step.does_io() && script.does_io() && !off.does_io());
        let inp = input(Body::Empty);
        for flow in [&step, &script] {
            assert_eq!(
                rt.try_execute_within(flow, &inp, None, Duration::from_secs(1)),
                Err(OverBudget)
            );
        }
        assert!(client.seen.lock().unwrap().is_empty());
        assert!(rt
            .try_execute_within(&plain, &inp, None, Duration::from_secs(1))
            .is_ok());
        // Without a client, HTTP is an error, not a crash.
        let o = runtime().execute(&step, &inp);
        match o.result {
            FlowResult::Error(e) => assert!(e.to_string().contains("not available"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // the fake client blocks like a real one
    fn http_timeout_never_exceeds_the_time_left() {
        let limits = Limits {
            max_duration: Duration::from_millis(300),
            ..Limits::default()
        };
        let client = Arc::new(FakeClient {
            seen: std::sync::Mutex::new(Vec::new()),
            answer: |r| {
                std::thread::sleep(r.timeout);
                Err("timed out".into())
            },
        });
        let rt = Runtime::new(limits).with_http_client(client.clone());
        let steps: Vec<Step> = serde_json::from_value(
            json!([{"type": "http", "url": "https://slow.example.com", "timeout_ms": 60000}]),
        )
        .unwrap();
        let flow = rt.compile(&steps).unwrap();
        let o = rt.execute(&flow, &input(Body::Empty));
        assert_eq!(o.result, FlowResult::Error(RuntimeError::Timeout));
        let seen = client.seen.lock().unwrap();
        assert!(
            seen[0].timeout <= Duration::from_millis(300),
            "{:?}",
            seen[0].timeout
        );
        assert!(o.duration < Duration::from_millis(1000), "{:?}", o.duration);
    }

    #[test]
    fn emit_steps_and_function_collect_events() {
        let o = run(json!([
            {"type": "emit", "event": "user.updated", "payload_expr": "#{id: request.body.id}"},
            {"type": "condition", "if": "true", "then": [
                {"type": "emit", "event": "lit", "payload": {"a": [1]}},
                {"type": "emit", "event": "nothing"}
            ]},
            {"type": "script", "code": "emit(\"user.seen\", [request.body.id, 2]);"},
            {"type": "emit", "event": "off", "disabled": true},
            {"type": "respond", "status": 200}
        ]));
        assert_eq!(answered(&o).0, 200);
        let got: Vec<(&str, &serde_json::Value, &str)> = o
            .events
            .iter()
            .map(|e| (e.event_type.as_str(), &e.payload, e.step.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("user.updated", &json!({"id": "A1"}), "0"),
                ("lit", &json!({"a": [1]}), "1.then.0"),
                ("nothing", &json!(null), "1.then.1"),
                ("user.seen", &json!(["A1", 2]), "2"),
            ]
        );
        assert_eq!(o.steps[2].step_type, "emit");
        // A flow that does not emit has no events.
        assert!(run(json!([{"type": "log", "message": "x"}]))
            .events
            .is_empty());
    }

    #[test]
    fn emit_errors_are_clear() {
        let err = |doc: serde_json::Value| match run(doc).result {
            FlowResult::Error(e) => e.to_string(),
            other => panic!("{other:?}"),
        };
        let e = err(json!([{"type": "script", "code": "emit(\"bad type!\", 1);"}]));
        assert!(
            e.contains("emit: `bad type!` is not a valid event type"),
            "{e}"
        );
        let e = err(json!([{"type": "script", "code": "for i in 0..101 { emit(\"e\", i); }"}]));
        assert!(e.contains("at most 100 events"), "{e}");
        let e = err(
            json!([{"type": "script", "code": "let s = \"\"; s.pad(300000, 'x'); emit(\"e\", s);"}]),
        );
        assert!(e.contains("at most 262144 are allowed"), "{e}");
        let e = err(
            json!([{"type": "script", "code": "let s = \"\"; s.pad(200000, 'x'); for i in 0..6 { emit(\"e\", s); }"}]),
        );
        assert!(e.contains("1048576 bytes of JSON together"), "{e}");
        let e = err(json!([{"type": "emit", "event": "e", "payload_expr": "|x| x"}]));
        assert!(e.contains("emit: the payload"), "{e}");
        // Catchable like other function errors.
        let o = run(
            json!([{"type": "script", "code": "try { emit(\"a b\", 1) } catch (e) { respond(200, \"caught\") }"}]),
        );
        assert_eq!(answered(&o).2, &ResponseBody::Text("caught".into()));
    }

    #[test]
    fn respond_and_fail_cannot_be_caught() {
        for code in [
            r#"try { respond(201, "a") } catch (e) { vars.caught = e }"#,
            r#"try { [1, 2].map(|x| respond(201, "a")) } catch (e) { vars.caught = e }"#,
            r#"fn answer() { respond(201, "a") } try { answer() } catch (e) { vars.caught = e }"#,
            r#"let f = || respond(201, "a"); try { f.call() } catch { }"#,
        ] {
            let o = run(json!([
                {"type": "script", "code": code},
                {"type": "respond", "status": 500, "body": "reached"}
            ]));
            assert_eq!(answered(&o).0, 201, "{code}");
            assert_eq!(
                statuses(&o),
                [("0", StepStatus::Ok), ("1", StepStatus::Skipped)],
                "{code}"
            );
        }
        let o = run(json!([
            {"type": "script", "code": r#"try { [1].for_each(|x| fail(409, "taken")) } catch (e) { respond(200, "caught") }"#}
        ]));
        assert_eq!(
            o.result,
            FlowResult::Failed {
                status: 409,
                message: "taken".into()
            }
        );
        assert_eq!(
            o.steps[0].error.as_deref(),
            Some("failed the call with status 409: taken")
        );
    }

    #[test]
    fn respond_forms() {
        let o = run(
            json!([{"type": "script", "code": r#"respond(202, #{ok: true}, #{"X-Trace": "t1", retry: 3})"#}]),
        );
        let (status, headers, body) = answered(&o);
        assert_eq!(status, 202);
        assert_eq!(
            headers,
            &BTreeMap::from([
                ("retry".into(), "3".into()),
                ("x-trace".into(), "t1".into())
            ])
        );
        assert_eq!(body, &ResponseBody::Json(json!({"ok": true})));
        let cases = [
            (
                json!({"type": "respond", "body_expr": "\"plain\""}),
                ResponseBody::Text("plain".into()),
            ),
            (
                json!({"type": "respond", "body_expr": "base64_decode_blob(\"AAE=\")"}),
                ResponseBody::Binary(vec![0, 1]),
            ),
            (
                json!({"type": "respond", "body_expr": "()"}),
                ResponseBody::Empty,
            ),
            (
                json!({"type": "respond", "body_expr": "[1, 2.5]"}),
                ResponseBody::Json(json!([1, 2.5])),
            ),
            (
                json!({"type": "respond", "body": "literal text"}),
                ResponseBody::Text("literal text".into()),
            ),
            (
                json!({"type": "respond", "body": null}),
                ResponseBody::Empty,
            ),
            (json!({"type": "respond"}), ResponseBody::Empty),
            (
                json!({"type": "respond", "body": {"n": [1]}, "headers": {"X-A": "b"}}),
                ResponseBody::Json(json!({"n": [1]})),
            ),
        ];
        for (step, expected) in cases {
            let o = run(json!([step.clone()]));
            assert_eq!(answered(&o).2, &expected, "{step}");
        }
        let o =
            run(json!([{"type": "respond", "status": 201, "body": {}, "headers": {"X-A": "b"}}]));
        assert_eq!(answered(&o).0, 201);
        assert_eq!(
            answered(&o).1,
            &BTreeMap::from([("x-a".into(), "b".into())])
        );
    }

    #[test]
    fn bad_respond_and_fail_arguments_are_script_errors() {
        for (code, needle) in [
            (
                "respond(99, 1)",
                "respond: status 99 is not between 200 and 599",
            ),
            (
                "fail(302, \"x\")",
                "fail: status 302 is not between 400 and 599",
            ),
            (
                "respond(200, 1, #{\"bad name\": \"v\"})",
                "not a valid header name",
            ),
            ("respond(200, 1, #{a: [1]})", "header `a` must be a string"),
            ("respond(200, 1, 5)", "headers must be a map"),
        ] {
            let o = run(json!([{"type": "script", "code": code}]));
            match &o.result {
                FlowResult::Error(RuntimeError::Script { step, message }) => {
                    assert_eq!(step.as_deref(), Some("0"));
                    assert!(message.contains(needle), "{code}: {message}");
                }
                other => panic!("{code}: {other:?}"),
            }
        }
    }

    #[test]
    fn trace_marks_ok_error_and_skipped_steps() {
        let o = run(json!([
            {"type": "log", "message": "start"},
            {"type": "condition", "if": "request.body.id == \"A1\"",
             "then": [{"type": "script", "code": "vars.x = 1;"}],
             "else": [{"type": "log", "message": "never"}]},
            {"type": "log", "message": "disabled", "disabled": true},
            {"type": "condition", "if": "true", "then": [
                {"type": "script", "code": "let a = 1;\nlet b = a / 0;"}
            ]},
            {"type": "log", "message": "not reached"}
        ]));
        assert_eq!(
            statuses(&o),
            [
                ("0", StepStatus::Ok),
                ("1", StepStatus::Ok),
                ("1.then.0", StepStatus::Ok),
                ("1.else.0", StepStatus::Skipped),
                ("2", StepStatus::Skipped),
                ("3", StepStatus::Error),
                ("3.then.0", StepStatus::Error),
                ("4", StepStatus::Skipped),
            ]
        );
        let err = o.steps[6].error.as_deref().unwrap();
        assert!(
            err.starts_with("Division by zero") && err.ends_with("(`code` line 2, position 11)"),
            "{err}"
        );
        assert_eq!(
            o.steps[5].error.as_deref(),
            Some("step 3.then.0 did not complete")
        );
        assert_eq!(o.error_step(), Some("3.then.0"));
        match &o.result {
            FlowResult::Error(e @ RuntimeError::Script { step, .. }) => {
                assert_eq!(step.as_deref(), Some("3.then.0"));
                assert!(
                    e.to_string().starts_with("step 3.then.0: Division by zero"),
                    "{e}"
                );
            }
            other => panic!("{other:?}"),
        }
        let types: Vec<&str> = o.steps.iter().map(|s| s.step_type.as_str()).collect();
        assert_eq!(
            types,
            [
                "log",
                "condition",
                "script",
                "log",
                "log",
                "condition",
                "script",
                "log"
            ]
        );
    }

    #[test]
    fn errors_in_functions_point_at_their_definition() {
        let o = run(json!([
            {"type": "script", "code": "fn half(x) {\n  x / 0\n}"},
            {"type": "script", "code": "vars.h = half(4);"}
        ]));
        match &o.result {
            FlowResult::Error(RuntimeError::Script { step, message }) => {
                assert_eq!(step.as_deref(), Some("1"));
                assert!(
                    message.contains("(step 0 `code` line 2, position 5) in function `half`"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn conditions_need_booleans() {
        let o = run(json!([{"type": "condition", "if": "request.body.id", "then": []}]));
        match &o.result {
            FlowResult::Error(RuntimeError::Script { message, .. }) => {
                assert!(
                    message.starts_with("the condition gave string, not a boolean"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fail_steps() {
        let o = run(json!([{"type": "fail", "status": 422, "message": "email is required"}]));
        assert_eq!(
            o.result,
            FlowResult::Failed {
                status: 422,
                message: "email is required".into()
            }
        );
        assert_eq!(o.steps[0].status, StepStatus::Error);
        let o = run(
            json!([{"type": "fail", "status": 503, "message_expr": "`no ${request.body.id}`"}]),
        );
        assert_eq!(
            o.result,
            FlowResult::Failed {
                status: 503,
                message: "no A1".into()
            }
        );
        let o = run(json!([{"type": "fail", "status": 400, "message_expr": "#{why: 1}"}]));
        assert_eq!(
            o.result,
            FlowResult::Failed {
                status: 400,
                message: r#"{"why":1}"#.into()
            }
        );
    }

    #[test]
    fn return_ends_the_flow_as_completed() {
        let o = run(json!([
            {"type": "script", "code": "if true { return; }\nvars.x = 1;"},
            {"type": "log", "message": "not reached"}
        ]));
        assert_eq!(o.result, FlowResult::Completed);
        assert_eq!(
            statuses(&o),
            [("0", StepStatus::Ok), ("1", StepStatus::Skipped)]
        );
    }

    #[test]
    fn logs_from_steps_print_and_debug() {
        let o = run(json!([
            {"type": "log", "message": "plain"},
            {"type": "log", "level": "warn", "message_expr": "`id ${request.body.id}`"},
            {"type": "condition", "if": "true", "then": [
                {"type": "script", "code": "print(\"printed\"); debug(\"dbg\");"}
            ]},
            {"type": "log", "level": "error", "message_expr": "#{a: 1}"}
        ]));
        assert_eq!(o.result, FlowResult::Completed);
        let logs: Vec<(&str, &str, &str)> = o
            .logs
            .iter()
            .map(|l| (l.step.as_str(), l.level.as_str(), l.message.as_str()))
            .collect();
        assert_eq!(
            logs,
            [
                ("0", "info", "plain"),
                ("1", "warn", "id A1"),
                ("2.then.0", "info", "printed"),
                ("2.then.0", "debug", "\"dbg\""),
                ("3", "error", r#"{"a":1}"#),
            ]
        );
    }

    #[test]
    fn logs_are_capped() {
        let o = run(json!([{"type": "script", "code": "for i in 0..1500 { print(i) }"}]));
        assert_eq!(o.logs.len(), MAX_LOG_ENTRIES + 1);
        assert_eq!(o.logs[MAX_LOG_ENTRIES].level, "warn");
        assert!(
            o.logs[MAX_LOG_ENTRIES]
                .message
                .starts_with("500 more log lines were dropped"),
            "{:?}",
            o.logs.last()
        );
        let o =
            run(json!([{"type": "script", "code": "let s = \"é\"; s.pad(10000, 'é'); print(s);"}]));
        assert!(
            o.logs[0].message.len() <= MAX_LOG_MESSAGE_BYTES + 3
                && o.logs[0].message.ends_with('…')
        );
    }

    #[test]
    fn request_context_for_every_body() {
        let expr = "#{m: request.method, p: request.path, q: request.query.country, h: request.headers[\"x-test\"], t: type_of(request.body), b: request.body}";
        let doc = json!([{"type": "respond", "body_expr": expr}]);
        let cases = [
            (Body::Empty, "()", json!(null)),
            (Body::Json(json!({"a": [1]})), "map", json!({"a": [1]})),
            (Body::Json(json!([1, "x"])), "array", json!([1, "x"])),
            (
                Body::Form(BTreeMap::from([("k".into(), "v".into())])),
                "map",
                json!({"k": "v"}),
            ),
            (Body::Text("<x/>".into()), "string", json!("<x/>")),
            (Body::Binary(vec![1, 2]), "blob", json!("AQI=")),
        ];
        for (body, kind, value) in cases {
            let o = run_with(doc.clone(), body);
            let expected = json!({"m": "POST", "p": "/t/acme/x", "q": "SE", "h": "yes", "t": kind, "b": value});
            assert_eq!(answered(&o).2, &ResponseBody::Json(expected), "{kind}");
        }
        let o = run(json!([{"type": "script", "code": "request.body.id = 5;"}]));
        assert!(
            matches!(o.result, FlowResult::Error(RuntimeError::Script { .. })),
            "request is constant: {:?}",
            o.result
        );
    }

    #[test]
    fn map_step_results_and_merge() {
        let o = run(json!([
            {"type": "map", "to": "m", "fields": {
                "none": "$.request.body.missing",
                "one": "$.request.body.id",
                "one_of_wildcard": "$.request.body.one[*].t",
                "many": "$.request.body.items[*].t",
                "query": "$.request.query.country",
                "header": "$.request.headers['x-test']"
            }},
            {"type": "map", "merge": true, "fields": {"first": "$.vars.m.many[0]", "id": "$.vars.m.one"}},
            {"type": "respond", "body_expr": "vars"}
        ]));
        assert_eq!(
            answered(&o).2,
            &ResponseBody::Json(json!({
                "m": {"none": null, "one": "A1", "one_of_wildcard": "z", "many": ["x", "y"], "query": "SE", "header": "yes"},
                "first": "x",
                "id": "A1"
            }))
        );
    }

    #[test]
    fn raw_body_is_exact_when_given_and_re_encoded_otherwise() {
        let steps: Vec<Step> =
            serde_json::from_value(json!([{"type": "respond", "body_expr": "request.raw_body"}]))
                .unwrap();
        let rt = runtime();
        let flow = rt.compile(&steps).unwrap();
        let raw = br#"{"b": 1,  "a": 2}"#;
        let inp = input(Body::Json(serde_json::from_slice(raw).unwrap()));
        let o = rt.execute_with_raw_body(&flow, &inp, raw);
        assert_eq!(
            answered(&o).2,
            &ResponseBody::Text(r#"{"b": 1,  "a": 2}"#.into())
        );
        let o = rt.execute(&flow, &inp);
        assert_eq!(
            answered(&o).2,
            &ResponseBody::Text(r#"{"a":2,"b":1}"#.into())
        );
        let o = rt.execute_with_raw_body(&flow, &input(Body::Binary(vec![0xff])), &[0xff]);
        assert_eq!(answered(&o).2, &ResponseBody::Binary(vec![0xff]));
        // A flow that never mentions raw_body does not get it.
        let steps: Vec<Step> =
            serde_json::from_value(json!([{"type": "respond", "body_expr": "request.keys()"}]))
                .unwrap();
        let flow = rt.compile(&steps).unwrap();
        assert_eq!(
            answered(&rt.execute(&flow, &inp)).2,
            &ResponseBody::Json(json!(["body", "headers", "method", "path", "query"]))
        );
    }

    #[test]
    fn capture_records_vars_around_each_step_and_only_when_asked() {
        let doc = json!([
            {"type": "map", "to": "m", "fields": {"id": "$.request.body.id"}},
            {"type": "condition", "if": "vars.m.id == \"A1\"",
             "then": [{"type": "script", "code": "vars.x = 1;"}],
             "else": [{"type": "log", "message": "never"}]},
            {"type": "log", "message": "off", "disabled": true},
            {"type": "script", "code": "vars.y = 2;\nlet a = 1 / 0;"},
            {"type": "respond", "body_expr": "vars"}
        ]);
        let steps: Vec<Step> = serde_json::from_value(doc).unwrap();
        let rt = runtime();
        let plain = rt.compile(&steps).unwrap();
        let captured = rt.compile_capturing(&steps).unwrap();
        assert!(!plain.captures() && captured.captures());
        // Production flows are untouched: no capture calls in their program.
        assert!(!plain.source().contains("__fg_snap"), "{}", plain.source());
        assert!(captured.source().contains("vars.__fg_snap_in(0)"));
        assert_eq!(
            plain.source().lines().count(),
            captured.source().lines().count()
        );
        let inp = input(Body::Json(json!({"id": "A1"})));
        let o = rt.execute(&plain, &inp);
        assert!(o.snapshots.is_empty());
        let c = rt.execute(&captured, &inp);
        // Same result, same trace, same error position.
        assert_eq!(c.result, o.result);
        assert_eq!(statuses(&c), statuses(&o));
        assert_eq!(c.steps[5].error, o.steps[5].error);
        assert_eq!(c.snapshots.len(), c.steps.len());
        let snap = |i: usize| (c.snapshots[i].input.clone(), c.snapshots[i].output.clone());
        assert_eq!(snap(0), (Some(json!({})), Some(json!({"m": {"id": "A1"}}))));
        assert_eq!(
            snap(1),
            (
                Some(json!({"m": {"id": "A1"}})),
                Some(json!({"m": {"id": "A1"}, "x": 1}))
            )
        );
        assert_eq!(
            snap(2),
            (
                Some(json!({"m": {"id": "A1"}})),
                Some(json!({"m": {"id": "A1"}, "x": 1}))
            )
        );
        assert_eq!(snap(3), (None, None), "branch not taken");
        assert_eq!(snap(4), (None, None), "disabled");
        // The step the flow broke in shows vars as the flow ended.
        assert_eq!(
            snap(5),
            (
                Some(json!({"m": {"id": "A1"}, "x": 1})),
                Some(json!({"m": {"id": "A1"}, "x": 1, "y": 2}))
            )
        );
        assert_eq!(snap(6), (None, None), "not reached");

        // A step that responds ends the flow: its output is vars as it ended.
        let steps: Vec<Step> = serde_json::from_value(json!([
            {"type": "script", "code": "vars.a = 1; respond(201, vars);"}
        ]))
        .unwrap();
        let c = rt.execute(&rt.compile_capturing(&steps).unwrap(), &inp);
        assert_eq!(answered(&c).0, 201);
        assert_eq!(c.snapshots[0].input, Some(json!({})));
        assert_eq!(c.snapshots[0].output, Some(json!({"a": 1})));

        // Large snapshots are replaced by a note.
        let steps: Vec<Step> = serde_json::from_value(json!([
            {"type": "script", "code": "let s = \"\"; s.pad(70000, 'x'); vars.big = s;"}
        ]))
        .unwrap();
        let c = rt.execute(&rt.compile_capturing(&steps).unwrap(), &inp);
        assert_eq!(c.result, FlowResult::Completed);
        assert_eq!(c.snapshots[0].input, Some(json!({})));
        let out = c.snapshots[0].output.clone().unwrap();
        assert!(
            out.as_str()
                .unwrap()
                .starts_with("(truncated: vars is larger than 65536"),
            "{out}"
        );
    }

    #[test]
    fn one_runtime_serves_many_threads() {
        let rt = Arc::new(runtime());
        let steps: Vec<Step> = serde_json::from_value(json!([
            {"type": "map", "to": "m", "fields": {"n": "$.request.body.n"}},
            {"type": "script", "code": "if vars.m.n % 2 == 0 { respond(200, vars.m.n * 10) } else { fail(400, `odd ${vars.m.n}`) }"}
        ]))
        .unwrap();
        let flow = rt.compile(&steps).unwrap();
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (rt, flow) = (Arc::clone(&rt), flow.clone());
                std::thread::spawn(move || {
                    for i in 0..200 {
                        let n = t * 1000 + i;
                        let o = rt.execute(&flow, &input(Body::Json(json!({"n": n}))));
                        let expected = if n % 2 == 0 {
                            FlowResult::Responded {
                                status: 200,
                                headers: BTreeMap::new(),
                                body: ResponseBody::Json(json!(n * 10)),
                            }
                        } else {
                            FlowResult::Failed {
                                status: 400,
                                message: format!("odd {n}"),
                            }
                        };
                        assert_eq!(o.result, expected);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}
