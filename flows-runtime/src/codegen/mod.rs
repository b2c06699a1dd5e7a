//! Compiling a flow: validate it, check every snippet alone, then generate one Rhai program.
//!
//! Each snippet (script code, condition, `*_expr`) is first compiled on its own, so an error
//! names its step and the line and position inside that snippet. The generated program wraps
//! each step between `__fg_enter(n)` and `__fg_leave(n)` (n: the step's pre-order number),
//! hoists script functions to the top level, and refers to JSONPath expressions by index.
//!
//! This file holds the driver ([`compile_with`]) and what it produces ([`CompiledFlow`] and
//! what the runtime needs of each step); `check` holds the first pass (snippets checked
//! alone), `emit` the second (the program written).

mod check;
mod emit;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use rhai::{Engine, AST};

use crate::jsonpath::JsonPathExpr;
use crate::model::{HttpAuth, HttpBodyType, HttpMethod, HttpRetries, LogLevel, Step};
use crate::outcome::ResponseBody;
use crate::validate::{check_placed, field_path, place, PlacedFlow, ValidationError};

use check::{compile_scope, parse_message, Checker, Snippet};
use emit::{action_call, emit_list, template_code, Code, Gen, HttpCode, Region};

/// A compiled flow: cheap to clone, shareable between threads.
#[derive(Clone)]
pub struct CompiledFlow {
    pub(crate) inner: Arc<FlowInner>,
}

impl std::fmt::Debug for CompiledFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledFlow")
            .field("steps", &self.inner.steps.len())
            .field("source_bytes", &self.inner.source.len())
            .finish()
    }
}

impl CompiledFlow {
    /// The generated Rhai program (deterministic for a given flow).
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// Number of steps, counting nested ones.
    pub fn step_count(&self) -> usize {
        self.inner.steps.len()
    }

    /// Whether runs of this flow record `vars` around each step (see
    /// [`crate::Runtime::compile_capturing`]).
    pub fn captures(&self) -> bool {
        self.inner.capture
    }

    /// Whether the flow may reach the outside world (an enabled `http` step, or a script
    /// mentioning `http`). Such a flow has effects a second run would repeat: run it once, on
    /// a thread that may block, never through [`crate::Runtime::try_execute_within`].
    pub fn does_io(&self) -> bool {
        self.inner.does_io
    }
}

pub(crate) struct FlowInner {
    pub source: String,
    pub ast: AST,
    pub paths: Vec<JsonPathExpr>,
    /// Every step in pre-order, disabled ones included.
    pub steps: Vec<StepMeta>,
    pub regions: Vec<Region>,
    /// Some snippet mentions `raw_body`.
    pub uses_raw_body: bool,
    /// Compiled for a test run: each step records `vars` as it found and left it.
    pub capture: bool,
    /// See [`CompiledFlow::does_io`].
    pub does_io: bool,
}

pub(crate) struct StepMeta {
    pub index: String,
    pub step_type: &'static str,
    pub action: Action,
}

/// What the runtime needs of literal respond/fail/log steps.
pub(crate) enum Action {
    None,
    Respond {
        status: u16,
        headers: BTreeMap<String, String>,
        body: ResponseBody,
    },
    Fail {
        status: u16,
        message: Option<String>,
    },
    Log {
        level: LogLevel,
        message: Option<String>,
    },
    Emit {
        event: String,
        payload: serde_json::Value,
    },
    Http(Box<HttpAction>),
    ForEach {
        max_items: u32,
    },
    Sql {
        connection: String,
        query: String,
        max_rows: u32,
    },
}

/// The fixed parts of an `http` step (the templates and the body expression are code).
pub(crate) struct HttpAction {
    pub method: HttpMethod,
    pub body: Option<serde_json::Value>,
    pub body_type: HttpBodyType,
    pub auth: Option<HttpAuth>,
    pub timeout_ms: Option<u64>,
    pub retries: HttpRetries,
    pub max_response_bytes: Option<u64>,
    pub fail_on_status: bool,
}

/// A position in the generated source traced back to a step.
pub(crate) struct SourcePlace {
    pub step: usize,
    pub field: Option<&'static str>,
    pub line: usize,
    pub column: usize,
}

impl FlowInner {
    pub fn locate(&self, line: usize, column: usize) -> Option<SourcePlace> {
        self.regions
            .iter()
            .find(|r| (r.first_line..=r.last_line).contains(&line))
            .map(|r| SourcePlace {
                step: r.step,
                field: r.field,
                line: r.snippet_line + (line - r.first_line),
                column,
            })
    }

    /// Where a position of the program is in a step's snippet, as an error message ends:
    /// `` (`code` line 2, position 5)`` in the `failing` step, or `` (step 1 `code` line 2,
    /// position 5)`` in another; `None` for generated lines.
    pub fn place_text(&self, line: usize, column: usize, failing: Option<usize>) -> Option<String> {
        let place = self.locate(line, column)?;
        let field = place.field?;
        Some(if Some(place.step) == failing {
            format!(
                " (`{field}` line {}, position {})",
                place.line, place.column
            )
        } else {
            let index = self.steps.get(place.step).map_or("?", |s| s.index.as_str());
            format!(
                " (step {index} `{field}` line {}, position {})",
                place.line, place.column
            )
        })
    }
}

/// Compiles a flow with the given engine (the runtime's, so limits and functions match).
/// With `capture`, each step also records `vars` as it found and left it: the calls doing so
/// are added on the lines of the step's enter and leave calls, so line numbers (and the
/// positions errors report) are the same as without.
pub(crate) fn compile_with(
    engine: &Engine,
    steps: &[Step],
    on_error: &[Step],
    capture: bool,
) -> Result<CompiledFlow, Vec<ValidationError>> {
    let mut errors = Vec::new();
    let PlacedFlow {
        steps: placed,
        top,
        handler,
    } = place(steps, on_error, &mut errors);
    check_placed(&placed, &mut errors);

    let mut checker = Checker::new(engine);
    let mut does_io = false;
    // Per placed step: an `http` step's templates as Rhai expressions.
    let mut http_code: Vec<Option<HttpCode>> = Vec::with_capacity(placed.len());
    // Per placed step: a `lookup` step's `where` and a `sql` step's `params` (see `Code::exprs`).
    let mut expr_code: Vec<Vec<(String, String)>> = Vec::with_capacity(placed.len());
    let mut paths: Vec<JsonPathExpr> = Vec::new();
    // Per placed step: its checked snippets (field -> snippet) and JSONPath indexes.
    let mut snippets: Vec<Vec<(&'static str, Snippet)>> = Vec::with_capacity(placed.len());
    let mut path_ids: Vec<Vec<(String, usize)>> = Vec::with_capacity(placed.len());
    for p in &placed {
        let mut mine = Vec::new();
        let mut ids = Vec::new();
        let mut http = None;
        let mut exprs = Vec::new();
        if p.active {
            let mut add =
                |field: &'static str, code: &str, is_expr: bool, checker: &mut Checker<'_>| {
                    if !code.trim().is_empty() {
                        if let Some(s) = checker.snippet(p, field, code, is_expr) {
                            mine.push((field, s));
                        }
                    }
                };
            match p.step {
                Step::Map(m) => {
                    for (name, expr) in &m.fields {
                        match JsonPathExpr::parse(expr) {
                            Ok(jp) => {
                                ids.push((name.clone(), paths.len()));
                                paths.push(jp);
                            }
                            Err(e) => checker.errors.push(p.error(Some(&field_path(name)), e)),
                        }
                    }
                }
                Step::Script(s) => add("code", &s.code, false, &mut checker),
                Step::Condition(c) => add("if", &c.condition, true, &mut checker),
                Step::ForEach(f) => add("items", &f.items, true, &mut checker),
                Step::Try(_) => {}
                Step::Store(s) => {
                    does_io = true;
                    if let Some(x) = &s.record_expr {
                        add("record_expr", x, true, &mut checker);
                    }
                    if let Some(x) = &s.key_expr {
                        add("key_expr", x, true, &mut checker);
                    }
                }
                Step::Sql(s) => {
                    does_io = true;
                    for (i, code) in s.params.iter().enumerate() {
                        if let Some(sn) = checker.snippet(p, "params", code, true) {
                            exprs.push((i.to_string(), sn.body));
                        }
                    }
                }
                Step::Lookup(l) => {
                    does_io = true;
                    if let Some(x) = &l.key_expr {
                        add("key_expr", x, true, &mut checker);
                    }
                    for (field, code) in &l.filter {
                        if let Some(s) = checker.snippet(p, "where", code, true) {
                            exprs.push((field.clone(), s.body));
                        }
                    }
                }
                Step::Respond(_) | Step::Fail(_) | Step::Log(_) | Step::Emit(_) => {
                    if let Some((_, field, Some(e))) = action_call(p.step) {
                        add(field, e, true, &mut checker);
                    }
                }
                Step::Http(h) => {
                    does_io = true;
                    if let Some(x) = &h.body_expr {
                        add("body_expr", x, true, &mut checker);
                    }
                    let url = template_code(&mut checker, p, "url", &h.url, true);
                    let query = h
                        .query
                        .iter()
                        .map(|(k, v)| {
                            (k.clone(), template_code(&mut checker, p, "query", v, false))
                        })
                        .collect();
                    let headers = h
                        .headers
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.to_ascii_lowercase(),
                                template_code(&mut checker, p, "headers", v, false),
                            )
                        })
                        .collect();
                    http = Some(HttpCode {
                        url,
                        query,
                        headers,
                        to: h.to.clone(),
                    });
                }
            }
        }
        http_code.push(http);
        expr_code.push(exprs);
        snippets.push(mine);
        path_ids.push(ids);
    }
    errors.append(&mut checker.errors);
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut gen = Gen::new();
    for (n, mine) in snippets.iter().enumerate() {
        for (field, s) in mine {
            for (text, line) in &s.functions {
                let index = placed.get(n).map_or("?", |p| p.index.as_str());
                gen.glue(n, &format!("// functions of step {index}"));
                gen.lines(n, Some(field), *line, text);
            }
        }
    }
    let code = Code {
        snippets: &snippets,
        path_ids: &path_ids,
        paths: &paths,
        http: &http_code,
        exprs: &expr_code,
    };
    if handler.is_empty() {
        emit_list(&mut gen, &placed, &code, &top, capture);
    } else {
        // The flow's error handler: an error the steps raise (not a limit, not the
        // deadline) runs it with `vars.error`; unless it answers, the error stands.
        let first = handler.first().copied().unwrap_or(0);
        gen.glue(first, "try {");
        emit_list(&mut gen, &placed, &code, &top, capture);
        gen.glue(
            first,
            "} catch (__fg_e) {\nvars.error = __fg_caught(-1, __fg_e);",
        );
        emit_list(&mut gen, &placed, &code, &handler, capture);
        gen.glue(first, "__fg_unhandled();\n}");
    }

    let ast = match engine.compile_with_scope(&compile_scope(), &gen.out) {
        Ok(ast) => ast,
        Err(e) => {
            // Not expected once every snippet compiled alone; report it against its step.
            let p = e.position();
            let place = p.line().and_then(|l| {
                gen.regions
                    .iter()
                    .find(|r| (r.first_line..=r.last_line).contains(&l))
                    .map(|r| r.step)
            });
            let (path, step) = match place.and_then(|s| placed.get(s)) {
                Some(pl) => (pl.path.clone(), pl.index.clone()),
                None => ("steps".to_owned(), String::new()),
            };
            return Err(vec![ValidationError {
                path,
                step,
                field: None,
                message: format!(
                    "the generated program does not compile: {}",
                    parse_message(&e)
                ),
            }]);
        }
    };

    let steps = placed
        .iter()
        .map(|p| StepMeta {
            index: p.index.clone(),
            step_type: p.step.type_name(),
            action: action_of(p.step),
        })
        .collect();
    Ok(CompiledFlow {
        inner: Arc::new(FlowInner {
            source: gen.out,
            ast,
            paths,
            steps,
            regions: gen.regions,
            uses_raw_body: checker.uses_raw_body,
            capture,
            does_io: does_io || checker.calls_out,
        }),
    })
}

fn action_of(step: &Step) -> Action {
    match step {
        Step::Respond(r) => Action::Respond {
            status: r.status,
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
            body: match &r.body {
                None | Some(serde_json::Value::Null) => ResponseBody::Empty,
                Some(serde_json::Value::String(s)) => ResponseBody::Text(s.clone()),
                Some(v) => ResponseBody::Json(v.clone()),
            },
        },
        Step::Fail(f) => Action::Fail {
            status: f.status,
            message: f.message.clone(),
        },
        Step::Log(l) => Action::Log {
            level: l.level,
            message: l.message.clone(),
        },
        Step::Emit(e) => Action::Emit {
            event: e.event.clone(),
            payload: e.payload.clone().unwrap_or(serde_json::Value::Null),
        },
        Step::Http(h) => Action::Http(Box::new(HttpAction {
            method: h.method,
            body: h.body.clone(),
            body_type: h.body_type,
            auth: h.auth.clone(),
            timeout_ms: h.timeout_ms,
            retries: h.retries.clone().unwrap_or_default(),
            max_response_bytes: h.max_response_bytes,
            fail_on_status: h.fail_on_status,
        })),
        Step::ForEach(f) => Action::ForEach {
            max_items: f.max_items,
        },
        Step::Sql(s) => Action::Sql {
            connection: s.connection.clone(),
            query: s.query.trim().trim_end_matches(';').to_owned(),
            max_rows: s.max_rows,
        },
        _ => Action::None,
    }
}
