//! One run of a compiled flow against one call: the run's state and guard installed in the
//! thread-locals of [`crate::run_state`], the request put in a fresh scope (`request` as a
//! constant, `vars` empty), the program run (each step's enter/leave and actions happen in
//! the native functions it calls), the state taken back and handed to `trace` for the
//! outcome. Also the two views of the request a run gets: a Rhai value and, for JSONPath,
//! JSON.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use rhai::{Dynamic, Engine, ImmutableString, Map, Scope};
use serde_json::Value;

use crate::body::{Body, Input};
use crate::codegen::{CompiledFlow, FlowInner};
use crate::convert::to_dynamic;
use crate::functions::select_result;
use crate::io::HttpClient;
use crate::jsonpath::InCall;
use crate::limits::Limits;
use crate::outcome::Outcome;
use crate::run_state::{snapshot_of, Guard, RunState, Stop, GUARD, RUN};

use super::trace::{finish, internal_outcome};

/// One call to run: the flow, the call, and when the run started and must end.
pub(super) struct Call<'a> {
    pub flow: &'a CompiledFlow,
    pub input: &'a Input,
    pub raw_body: Option<&'a [u8]>,
    pub started: Instant,
    pub deadline: Instant,
}

/// What a run may reach outside: HTTP and the data store, when the server gave them.
#[derive(Clone, Copy)]
pub(super) struct Io<'a> {
    pub http: Option<&'a Arc<dyn HttpClient>>,
    pub store: Option<&'a Arc<dyn crate::io::DataStore>>,
    pub sql: Option<&'a Arc<dyn crate::io::SqlClient>>,
}

/// Runs the flow once on this thread; also tells whether it was stopped by its deadline.
pub(super) fn run_once(
    engine: &Engine,
    limits: &Limits,
    io: Io<'_>,
    call: &Call<'_>,
) -> (Outcome, bool) {
    let (input, started) = (call.input, call.started);
    let inner = &call.flow.inner;
    let raw = inner.uses_raw_body.then(|| {
        call.raw_body
            .map_or_else(|| input.body.to_bytes(), <[u8]>::to_vec)
    });
    // Map steps' paths: read from the call itself when every one can be (the common
    // `$.request.body.field`), else from one JSON view of the request built for the run.
    let in_call = in_call_values(inner, input);
    let request_json =
        (in_call.is_none() && !inner.paths.is_empty()).then(|| request_json(input, raw.as_deref()));
    let mut state = RunState::new(Arc::clone(inner), request_json, io.http.cloned());
    state.path_values = in_call;
    state.store = io.store.cloned();
    state.sql = io.sql.cloned();
    state.run_key.clone_from(&input.execution_id);
    let previous = match RUN.with(|r| r.try_borrow_mut().map(|mut slot| slot.replace(state))) {
        Ok(p) => p,
        Err(_) => return (internal_outcome("the run state is busy", started), false),
    };
    let guard = Guard {
        deadline: Some(call.deadline),
        stop: Stop::No,
    };
    let previous_guard = GUARD.with(|g| g.replace(guard));

    let mut scope = Scope::new();
    scope.push_constant("request", request_dynamic(input, raw));
    scope.push("vars", Map::new());
    let result = catch_unwind(AssertUnwindSafe(|| {
        engine.run_ast_with_scope(&mut scope, &inner.ast)
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
    let Some(state) = state else {
        return (internal_outcome("the run state was lost", started), false);
    };
    let outcome = finish(limits, state, result, stopped, final_vars, started);
    (outcome, stopped == Stop::Timeout)
}

/// The request as scripts see it: `request.method`, `.path`, `.query`, `.headers`, `.body`
/// (by its kind) and, when the flow mentions it, `.raw_body`.
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
    m.insert(
        "caller".into(),
        input.caller.as_ref().map_or(Dynamic::UNIT, caller_map),
    );
    if let Some(raw) = raw {
        let v = match String::from_utf8(raw) {
            Ok(s) => Dynamic::from(ImmutableString::from(s)),
            Err(e) => Dynamic::from_blob(e.into_bytes()),
        };
        m.insert("raw_body".into(), v);
    }
    Dynamic::from_map(m)
}

/// `request.caller`: `#{type, id, label}`.
fn caller_map(c: &crate::caller::Caller) -> Dynamic {
    let mut m = Map::new();
    for (k, v) in [
        ("type", c.kind.as_str()),
        ("id", c.id.as_str()),
        ("label", c.label.as_str()),
    ] {
        m.insert(k.into(), Dynamic::from(ImmutableString::from(v)));
    }
    Dynamic::from_map(m)
}

/// The value of each of the flow's JSONPath expressions read from the call itself, by index;
/// `None` if the flow has none or one of them needs the request's JSON view.
fn in_call_values(inner: &FlowInner, input: &Input) -> Option<Vec<Dynamic>> {
    if inner.paths.is_empty() {
        return None;
    }
    inner
        .paths
        .iter()
        .map(|p| {
            p.select_in_call(input).map(|found| match found {
                InCall::Json(v) => select_result(v.into_iter().collect()),
                InCall::Text(Some(t)) => Dynamic::from(ImmutableString::from(t)),
                InCall::Text(None) => Dynamic::UNIT,
            })
        })
        .collect()
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
    request.insert(
        "caller".into(),
        serde_json::to_value(&input.caller).unwrap_or_default(),
    );
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
