//! The engine every run uses: raw, with only the packages we want, our native functions and
//! every limit set, and hooks that reach the run in progress ([`crate::run_state`]): the
//! deadline in `on_progress`, the size guards in `on_var`, `print`/`debug` as log lines. Also
//! the internal functions generated code calls (`__fg_enter`, `__fg_respond`, ...) and the
//! ones that end a flow (`respond`, `fail`) or emit an event (`emit`). The HTTP functions are
//! in [`crate::http_fn`], the pure library functions in [`crate::functions`].

use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::Instant;

use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicBlobPackage, BasicFnPackage, BasicIteratorPackage,
    BasicMapPackage, BasicMathPackage, BasicStringPackage, BitFieldPackage, LogicPackage,
    MoreStringPackage, Package,
};
use rhai::{Dynamic, Engine, ImmutableString, Module, OptimizationLevel, INT};
use serde_json::Value;

use crate::codegen::Action;
use crate::convert::{to_json, to_text};
use crate::functions::{self, select_result};
use crate::guard::{guard_total, guard_variable, total_check_due, SizeLimits};
use crate::http_fn::register_http;
use crate::limits::Limits;
use crate::outcome::ResponseBody;
use crate::run_state::{
    end_run, micros, record_snapshot, set_stop, step_action, with_run, Ended, Res, Stop,
    ENDED_TOKEN, GUARD, TIMEOUT_TOKEN,
};
use crate::trace::StepStatus;
use crate::validate::{event_type_problem, header_problem};

/// How often (in operations) the deadline is checked.
const DEADLINE_CHECK_EVERY: u64 = 256;
/// Variables alive at once in a run, and functions defined by one flow.
pub(crate) const MAX_VARIABLES: usize = 256;
const MAX_FUNCTIONS: usize = 256;

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
    engine.register_fn("__fg_path", |i: INT| -> Res<Dynamic> {
        with_run(|st| {
            let i = usize::try_from(i).map_err(|_| "unknown JSONPath")?;
            if let Some(values) = &st.path_values {
                return Ok(values.get(i).cloned().ok_or("unknown JSONPath")?);
            }
            let path = st
                .flow
                .paths
                .get(i)
                .filter(|p| p.request_only())
                .ok_or("unknown JSONPath")?;
            let root = st.request_json.as_ref().ok_or("no request context")?;
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
        let (level, message) = step_action(n, |a| match a {
            Action::Log { level, message } => Ok((*level, message.clone().unwrap_or_default())),
            _ => Err("not a log step".to_owned()),
        })?;
        with_run(|st| {
            st.log(level.as_str(), &message);
            Ok(())
        })
    });
    engine.register_fn("__fg_log", |n: INT, message: Dynamic| -> Res<()> {
        let message = to_text(&message);
        let level = step_action(n, |a| match a {
            Action::Log { level, .. } => Ok(*level),
            _ => Err("not a log step".to_owned()),
        })?;
        with_run(|st| {
            st.log(level.as_str(), &message);
            Ok(())
        })
    });

    engine.register_fn("__fg_emit", |n: INT| -> Res<()> {
        let (event, payload) = step_action(n, |a| match a {
            Action::Emit { event, payload } => Ok((event.clone(), payload.clone())),
            _ => Err("not an emit step".to_owned()),
        })?;
        with_run(|st| st.emit(event, payload))
    });
    engine.register_fn("__fg_emit", |n: INT, payload: Dynamic| -> Res<()> {
        let payload = to_json(&payload).map_err(|e| format!("emit: the payload {e}"))?;
        let event = step_action(n, |a| match a {
            Action::Emit { event, .. } => Ok(event.clone()),
            _ => Err("not an emit step".to_owned()),
        })?;
        with_run(|st| st.emit(event, payload))
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
    crate::caught::register_caught(&mut engine);
    crate::store_fn::register_store(&mut engine);
    crate::sql_fn::register_sql(&mut engine);

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
