//! Compiling a flow: validate it, check every snippet alone, then generate one Rhai program.
//!
//! Each snippet (script code, condition, `*_expr`) is first compiled on its own, so an error
//! names its step and the line and position inside that snippet. The generated program wraps
//! each step between `__fg_enter(n)` and `__fg_leave(n)` (n: the step's pre-order number),
//! hoists script functions to the top level, and refers to JSONPath expressions by index.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use rhai::{Engine, ParseError, Scope, AST};

use crate::jsonpath::JsonPathExpr;
use crate::model::{HttpAuth, HttpBodyType, HttpMethod, HttpRetries, LogLevel, Step};
use crate::outcome::ResponseBody;
use crate::scan::{blank_out, line_col, scan};
use crate::template::{parse_template, TemplatePart};
use crate::validate::{check_placed, field_path, place, Placed, ValidationError};

/// Names starting with this are reserved for generated code.
pub(crate) const RESERVED_PREFIX: &str = "__fg_";

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

/// Lines of the generated source that belong to one step (a snippet of it, or glue).
#[derive(Debug, Clone)]
pub(crate) struct Region {
    pub first_line: usize,
    pub last_line: usize,
    pub step: usize,
    /// The snippet's field (`code`, `if`, ...), or `None` for generated glue.
    pub field: Option<&'static str>,
    /// The snippet line shown at `first_line`.
    pub snippet_line: usize,
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
}

/// A Rhai string literal.
pub(crate) fn rhai_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The scope snippets are compiled against: `request` and `vars` exist (as plain variables,
/// so the optimizer cannot fold their values into the AST).
fn compile_scope() -> Scope<'static> {
    let mut scope = Scope::new();
    scope.push("request", ());
    scope.push("vars", ());
    scope
}

fn parse_message(e: &ParseError) -> String {
    let p = e.position();
    match (p.line(), p.position()) {
        (Some(l), Some(c)) => format!("{} (line {l}, position {c})", e.err_type()),
        (Some(l), None) => format!("{} (line {l})", e.err_type()),
        _ => e.err_type().to_string(),
    }
}

/// A snippet that compiled alone: what the generator needs of it.
struct Snippet {
    /// Text with function definitions blanked out.
    body: String,
    /// Function definitions: (text padded to its column, first line in the snippet).
    functions: Vec<(String, usize)>,
}

struct Checker<'e> {
    engine: &'e Engine,
    scope: Scope<'static>,
    errors: Vec<ValidationError>,
    /// (name, arity, `this` type) -> step index that defines it.
    functions: HashMap<(String, usize, String), String>,
    uses_raw_body: bool,
    uses_http: bool,
}

impl Checker<'_> {
    fn snippet(
        &mut self,
        p: &Placed<'_>,
        field: &'static str,
        code: &str,
        is_expr: bool,
    ) -> Option<Snippet> {
        let compiled = if is_expr {
            self.engine.compile_expression_with_scope(&self.scope, code)
        } else {
            self.engine.compile_with_scope(&self.scope, code)
        };
        let ast = match compiled {
            Ok(ast) => ast,
            Err(e) => {
                self.errors.push(p.error(Some(field), parse_message(&e)));
                return None;
            }
        };
        let scanned = scan(code);
        let mut ok = true;
        for id in &scanned.idents {
            if id.name.starts_with(RESERVED_PREFIX) {
                let (l, c) = line_col(code, id.at);
                self.errors.push(p.error(
                    Some(field),
                    format!("names starting with `{RESERVED_PREFIX}` are reserved: `{}` (line {l}, position {c})", id.name),
                ));
                ok = false;
            }
            if id.name == "raw_body" {
                self.uses_raw_body = true;
            }
            if id.name == "http" {
                self.uses_http = true;
            }
            if id.name == "this" {
                // Items set through `this` escape the size limits (see `engine::guard_variable`).
                let (l, c) = line_col(code, id.at);
                self.errors.push(p.error(
                    Some(field),
                    format!("`this` (functions called as methods) is not supported (line {l}, position {c})"),
                ));
                ok = false;
            }
        }
        for f in ast.iter_functions() {
            let key = (
                f.name.to_owned(),
                f.params.len(),
                f.this_type.unwrap_or_default().to_owned(),
            );
            match self.functions.get(&key) {
                Some(other) => {
                    self.errors.push(p.error(
                        Some(field),
                        format!(
                            "function `{}` with {} parameter(s) is already defined in step {other}; functions are shared by the whole flow",
                            f.name,
                            f.params.len()
                        ),
                    ));
                    ok = false;
                }
                None => {
                    self.functions.insert(key, p.index.clone());
                }
            }
        }
        if !ok {
            return None;
        }
        let functions = scanned
            .functions
            .iter()
            .filter_map(|r| {
                let (line, col) = line_col(code, r.start);
                code.get(r.clone())
                    .map(|text| (format!("{}{text}", " ".repeat(col - 1)), line))
            })
            .collect();
        Some(Snippet {
            body: blank_out(code, &scanned.functions),
            functions,
        })
    }
}

/// Generated source under construction.
struct Gen {
    out: String,
    /// Number of the next line to write (1-based).
    line: usize,
    regions: Vec<Region>,
}

impl Gen {
    fn lines(&mut self, step: usize, field: Option<&'static str>, snippet_line: usize, text: &str) {
        let first = self.line;
        for l in text.split('\n') {
            self.out.push_str(l);
            self.out.push('\n');
            self.line += 1;
        }
        self.regions.push(Region {
            first_line: first,
            last_line: self.line - 1,
            step,
            field,
            snippet_line,
        });
    }

    fn glue(&mut self, step: usize, text: &str) {
        self.lines(step, None, 1, text);
    }
}

/// Compiles a flow with the given engine (the runtime's, so limits and functions match).
/// With `capture`, each step also records `vars` as it found and left it: the calls doing so
/// are added on the lines of the step's enter and leave calls, so line numbers (and the
/// positions errors report) are the same as without.
pub(crate) fn compile_with(
    engine: &Engine,
    steps: &[Step],
    capture: bool,
) -> Result<CompiledFlow, Vec<ValidationError>> {
    let mut errors = Vec::new();
    let placed = place(steps, &mut errors);
    check_placed(&placed, &mut errors);

    let mut checker = Checker {
        engine,
        scope: compile_scope(),
        errors: Vec::new(),
        functions: HashMap::new(),
        uses_raw_body: false,
        uses_http: false,
    };
    let mut does_io = false;
    // Per placed step: an `http` step's templates as Rhai expressions.
    let mut http_code: Vec<Option<HttpCode>> = Vec::with_capacity(placed.len());
    let mut paths: Vec<JsonPathExpr> = Vec::new();
    // Per placed step: its checked snippets (field -> snippet) and JSONPath indexes.
    let mut snippets: Vec<Vec<(&'static str, Snippet)>> = Vec::with_capacity(placed.len());
    let mut path_ids: Vec<Vec<(String, usize)>> = Vec::with_capacity(placed.len());
    for p in &placed {
        let mut mine = Vec::new();
        let mut ids = Vec::new();
        let mut http = None;
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
                Step::Respond(r) => {
                    if let Some(e) = &r.body_expr {
                        add("body_expr", e, true, &mut checker);
                    }
                }
                Step::Fail(f) => {
                    if let Some(e) = &f.message_expr {
                        add("message_expr", e, true, &mut checker);
                    }
                }
                Step::Log(l) => {
                    if let Some(e) = &l.message_expr {
                        add("message_expr", e, true, &mut checker);
                    }
                }
                Step::Emit(e) => {
                    if let Some(x) = &e.payload_expr {
                        add("payload_expr", x, true, &mut checker);
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
        snippets.push(mine);
        path_ids.push(ids);
    }
    errors.append(&mut checker.errors);
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut gen = Gen {
        out: String::new(),
        line: 1,
        regions: Vec::new(),
    };
    gen.out
        .push_str("// Flowgate flow: generated code, do not edit.\n");
    gen.line += 1;
    for (n, mine) in snippets.iter().enumerate() {
        for (field, s) in mine {
            for (text, line) in &s.functions {
                let index = placed.get(n).map_or("?", |p| p.index.as_str());
                gen.glue(n, &format!("// functions of step {index}"));
                gen.lines(n, Some(field), *line, text);
            }
        }
    }
    let top: Vec<usize> = placed
        .iter()
        .enumerate()
        .filter(|(_, p)| p.depth == 1)
        .map(|(i, _)| i)
        .collect();
    let code = Code {
        snippets: &snippets,
        path_ids: &path_ids,
        http: &http_code,
    };
    emit_list(&mut gen, &placed, &code, &top, capture);

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
            does_io: does_io || checker.uses_http,
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
        _ => Action::None,
    }
}

fn find<'s>(snippets: &'s [(&'static str, Snippet)], field: &str) -> Option<&'s Snippet> {
    snippets.iter().find(|(f, _)| *f == field).map(|(_, s)| s)
}

/// An `http` step's templates as Rhai expressions.
struct HttpCode {
    url: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    to: Option<String>,
}

/// What the generator needs per placed step.
struct Code<'a> {
    snippets: &'a [Vec<(&'static str, Snippet)>],
    path_ids: &'a [Vec<(String, usize)>],
    http: &'a [Option<HttpCode>],
}

/// A template as one Rhai expression (its `${..}` pieces checked like other snippets). In a
/// URL, pieces are percent-encoded, except one at the very start (the base of the URL).
fn template_code(
    checker: &mut Checker<'_>,
    p: &Placed<'_>,
    field: &'static str,
    template: &str,
    url: bool,
) -> String {
    let Ok(parts) = parse_template(template) else {
        return "\"\"".to_owned(); // reported by the structural check
    };
    if parts.is_empty() {
        return "\"\"".to_owned();
    }
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        match part {
            TemplatePart::Text(t) => out.push(rhai_str(t)),
            TemplatePart::Expr(e) => {
                let func = if url && i > 0 {
                    "__fg_piece"
                } else {
                    "__fg_text"
                };
                match checker.snippet(p, field, e, true) {
                    Some(s) => out.push(format!("{func}({})", s.body)),
                    None => out.push("\"\"".to_owned()),
                }
            }
        }
    }
    format!("({})", out.join(" + "))
}

fn emit_list(gen: &mut Gen, placed: &[Placed<'_>], code: &Code<'_>, list: &[usize], capture: bool) {
    for &n in list {
        let (Some(p), Some(mine), Some(ids)) =
            (placed.get(n), code.snippets.get(n), code.path_ids.get(n))
        else {
            continue;
        };
        let kind = p.step.type_name();
        if !p.active {
            gen.glue(n, &format!("// step {}: {kind} (disabled)", p.index));
            continue;
        }
        if capture {
            gen.glue(
                n,
                &format!(
                    "// step {}: {kind}\n__fg_enter({n}); vars.__fg_snap_in({n});",
                    p.index
                ),
            );
        } else {
            gen.glue(n, &format!("// step {}: {kind}\n__fg_enter({n});", p.index));
        }
        match p.step {
            Step::Map(m) => {
                let fields: Vec<String> = ids
                    .iter()
                    .map(|(name, i)| format!("    {}: vars.__fg_path({i})", rhai_str(name)))
                    .collect();
                let object = format!("#{{\n{}\n}}", fields.join(",\n"));
                match &m.to {
                    Some(to) if !m.merge => {
                        gen.glue(n, &format!("vars[{}] = {object};", rhai_str(to)))
                    }
                    _ => gen.glue(n, &format!("vars.mixin({object});")),
                }
            }
            Step::Script(_) => {
                if let Some(s) = find(mine, "code") {
                    gen.glue(n, "{");
                    gen.lines(n, Some("code"), 1, &s.body);
                    gen.glue(n, "}");
                }
            }
            Step::Condition(_) => {
                if let Some(s) = find(mine, "if") {
                    gen.glue(n, "if __fg_bool(");
                    gen.lines(n, Some("if"), 1, &s.body);
                    gen.glue(n, ") {");
                    emit_list(gen, placed, code, &p.then, capture);
                    gen.glue(n, "} else {");
                    emit_list(gen, placed, code, &p.otherwise, capture);
                    gen.glue(n, "}");
                }
            }
            Step::Respond(_) => {
                emit_action(gen, n, "__fg_respond", find(mine, "body_expr"), "body_expr")
            }
            Step::Fail(_) => emit_action(
                gen,
                n,
                "__fg_fail",
                find(mine, "message_expr"),
                "message_expr",
            ),
            Step::Log(_) => emit_action(
                gen,
                n,
                "__fg_log",
                find(mine, "message_expr"),
                "message_expr",
            ),
            Step::Emit(_) => emit_action(
                gen,
                n,
                "__fg_emit",
                find(mine, "payload_expr"),
                "payload_expr",
            ),
            Step::Http(_) => {
                if let Some(Some(h)) = code.http.get(n) {
                    let entries = |list: &[(String, String)]| {
                        list.iter()
                            .map(|(k, v)| format!("{}: {v}", rhai_str(k)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    let target = match &h.to {
                        Some(to) => format!("vars[{}] = ", rhai_str(to)),
                        None => String::new(),
                    };
                    gen.glue(
                        n,
                        &format!(
                            "{target}__fg_http({n}, #{{url: {}, query: #{{{}}}, headers: #{{{}}}}},",
                            h.url,
                            entries(&h.query),
                            entries(&h.headers)
                        ),
                    );
                    match find(mine, "body_expr") {
                        Some(s) => gen.lines(n, Some("body_expr"), 1, &s.body),
                        None => gen.glue(n, "()"),
                    }
                    gen.glue(n, ");");
                }
            }
        }
        if capture {
            gen.glue(n, &format!("vars.__fg_snap_out({n}); __fg_leave({n});"));
        } else {
            gen.glue(n, &format!("__fg_leave({n});"));
        }
    }
}

fn emit_action(gen: &mut Gen, n: usize, func: &str, expr: Option<&Snippet>, field: &'static str) {
    match expr {
        Some(s) => {
            gen.glue(n, &format!("{func}({n},"));
            gen.lines(n, Some(field), 1, &s.body);
            gen.glue(n, ");");
        }
        None => gen.glue(n, &format!("{func}({n});")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, Runtime};
    use serde_json::json;

    fn compile(v: serde_json::Value) -> Result<CompiledFlow, Vec<ValidationError>> {
        let steps: Vec<Step> = serde_json::from_value(v).unwrap();
        Runtime::new(Limits::default()).compile(&steps)
    }

    fn errors(v: serde_json::Value) -> Vec<ValidationError> {
        match compile(v) {
            Ok(f) => panic!("compiled:\n{}", f.source()),
            Err(e) => e,
        }
    }

    #[test]
    fn reports_every_snippet_error_with_its_step_and_position() {
        let errs = errors(json!([
            {"type": "map", "to": "m", "fields": {"x": "$.request.body[?(", "ok": "$.request.body.id"}},
            {"type": "condition", "if": "request.body.kind == \"a\"", "then": [
                {"type": "log", "message": "fine"},
                {"type": "script", "code": "let a = 1;\nlet x = ;"}
            ], "else": [
                {"type": "respond", "body_expr": "nope + 1"}
            ]},
            {"type": "fail", "status": 400, "message_expr": "request.body."},
            {"type": "script", "code": "vars.total = undefined_thing.len();"},
            {"type": "condition", "if": "(", "then": []}
        ]));
        let got: Vec<(&str, &str, Option<&str>)> = errs
            .iter()
            .map(|e| (e.path.as_str(), e.step.as_str(), e.field.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("steps[0].fields.x", "0", Some("fields.x")),
                ("steps[1].then[1].code", "1.then.1", Some("code")),
                ("steps[1].else[0].body_expr", "1.else.0", Some("body_expr")),
                ("steps[2].message_expr", "2", Some("message_expr")),
                ("steps[3].code", "3", Some("code")),
                ("steps[4].if", "4", Some("if")),
            ],
            "{errs:#?}"
        );
        assert!(
            errs[0].message.contains("invalid JSONPath"),
            "{}",
            errs[0].message
        );
        // The position is inside the snippet, not the generated program.
        assert!(
            errs[1].message.ends_with("(line 2, position 9)"),
            "{}",
            errs[1].message
        );
        assert!(errs[2].message.contains("nope"), "{}", errs[2].message);
        assert!(
            errs[4].message.contains("undefined_thing"),
            "{}",
            errs[4].message
        );
    }

    #[test]
    fn structural_and_snippet_errors_come_together() {
        let errs = errors(json!([
            {"type": "respond", "status": 99},
            {"type": "script", "code": "let x = ;"}
        ]));
        let steps: Vec<&str> = errs.iter().map(|e| e.step.as_str()).collect();
        assert_eq!(steps, ["0", "1"]);
    }

    #[test]
    fn import_eval_and_reserved_names_are_refused() {
        for code in [
            "import \"x\" as y;",
            "eval(\"1\")",
            "__fg_enter(0);",
            "let __fg_x = 1;",
            "fn grow() { this.x = 1; }",
        ] {
            let errs = errors(json!([{"type": "script", "code": code}]));
            assert_eq!(errs.len(), 1, "{code}: {errs:?}");
            assert_eq!(errs[0].path, "steps[0].code");
        }
        let errs = errors(json!([{"type": "script", "code": "let y = 1;\n  __fg_leave(0);"}]));
        assert!(
            errs[0].message.contains("reserved")
                && errs[0].message.contains("(line 2, position 3)"),
            "{errs:?}"
        );
        // In a string it is just text.
        assert!(compile(json!([{"type": "script", "code": "let s = \"__fg_enter\";"}])).is_ok());
    }

    #[test]
    fn deeply_nested_expressions_are_refused_at_compile_time() {
        let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
        let errs = errors(json!([{"type": "script", "code": format!("let x = {deep};")}]));
        assert_eq!(errs[0].field.as_deref(), Some("code"));
        let long = format!("let x = {};", vec!["1"; 5000].join(" + "));
        let errs = errors(json!([{"type": "script", "code": long}]));
        assert_eq!(errs.len(), 1);
    }

    #[test]
    fn functions_are_hoisted_and_must_be_unique() {
        let flow = compile(json!([
            {"type": "condition", "if": "true", "then": [
                {"type": "script", "code": "// helpers\nfn twice(x) { x * 2 }\nvars.a = twice(2);"}
            ]},
            {"type": "script", "code": "vars.b = twice(3);"}
        ]))
        .unwrap();
        let src = flow.source();
        let hoisted = src.find("fn twice(x)").unwrap();
        assert!(hoisted < src.find("__fg_enter(0)").unwrap(), "{src}");
        assert_eq!(src.matches("fn twice").count(), 1);

        let errs = errors(json!([
            {"type": "script", "code": "fn twice(x) { x * 2 }"},
            {"type": "script", "code": "fn twice(y) { y + y }"},
            {"type": "script", "code": "fn twice(a, b) { a }"}
        ]));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].step, "1");
        assert!(
            errs[0].message.contains("already defined in step 0"),
            "{}",
            errs[0].message
        );
    }

    #[test]
    fn generated_source_is_deterministic_and_refers_to_paths_by_index() {
        let doc = json!([
            {"type": "map", "to": "m", "fields": {"b": "$.request.body.b", "a": "$.request.body.a"}},
            {"type": "map", "merge": true, "fields": {"n": "$.vars.m.a"}},
            {"type": "log", "message": "x", "disabled": true},
            {"type": "respond", "status": 201, "body": {"ok": true}}
        ]);
        let a = compile(doc.clone()).unwrap();
        let b = compile(doc).unwrap();
        assert_eq!(a.source(), b.source());
        let src = a.source();
        assert!(!src.contains("$.request"), "{src}");
        assert!(src.contains("vars[\"m\"] = #{"), "{src}");
        assert!(
            src.contains("\"a\": vars.__fg_path(0)") && src.contains("\"b\": vars.__fg_path(1)"),
            "{src}"
        );
        assert!(
            src.contains("vars.mixin(#{") && src.contains("vars.__fg_path(2)"),
            "{src}"
        );
        assert!(src.contains("// step 2: log (disabled)"), "{src}");
        assert!(src.contains("__fg_respond(3);"), "{src}");
        assert_eq!(a.step_count(), 4);
        assert_eq!(a.inner.paths.len(), 3);
    }

    #[test]
    fn identical_closures_in_two_steps_are_fine() {
        let doc = json!([
            {"type": "script", "code": "vars.a = [1, 2].map(|x| x + 1);"},
            {"type": "script", "code": "vars.b = [3].map(|x| x + 1);"},
            {"type": "respond", "body_expr": "vars"}
        ]);
        let steps: Vec<Step> = serde_json::from_value(doc).unwrap();
        let rt = Runtime::new(Limits::default());
        let flow = rt.compile(&steps).unwrap();
        let input = crate::Input {
            method: "GET".into(),
            path: "/".into(),
            query: BTreeMap::new(),
            headers: BTreeMap::new(),
            body: crate::Body::Empty,
        };
        match rt.execute(&flow, &input).result {
            crate::FlowResult::Responded { body, .. } => {
                assert_eq!(body, ResponseBody::Json(json!({"a": [2, 3], "b": [4]})))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn disabled_steps_are_not_compiled() {
        let flow = compile(json!([
            {"type": "script", "code": "this is not rhai", "disabled": true},
            {"type": "condition", "if": "nor this", "disabled": true, "then": [{"type": "script", "code": "("}]}
        ]));
        assert!(flow.is_ok(), "{flow:?}");
    }

    #[test]
    fn compiled_flows_are_cheap_to_share() {
        let flow = compile(json!([{"type": "log", "message": "hi"}])).unwrap();
        let copy = flow.clone();
        assert!(Arc::ptr_eq(&flow.inner, &copy.inner));
        assert_eq!(format!("{copy:?}"), format!("{flow:?}"));
    }

    #[test]
    fn string_literals_are_escaped() {
        assert_eq!(rhai_str("a\"b\\c\nd\u{1}é"), "\"a\\\"b\\\\c\\nd\\u0001é\"");
        let flow = compile(
            json!([{"type": "map", "to": "m", "fields": {"we\"ird\\ key": "$.request.body"}}]),
        )
        .unwrap();
        assert!(
            flow.source()
                .contains(r#""we\"ird\\ key": vars.__fg_path(0)"#),
            "{}",
            flow.source()
        );
    }
}
