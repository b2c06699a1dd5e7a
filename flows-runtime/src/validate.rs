//! Structural validation of a flow: everything that needs neither Rhai nor JSONPath.
//!
//! Always compiled, so the UI can check a document as it is edited. The engine's
//! [`compile`](crate::compile) runs these checks first and then parses every snippet.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{
    ConditionStep, EmitStep, FailStep, ForEachStep, HttpAuth, HttpBodyType, HttpStep, LogStep,
    LookupStep, MapStep, RespondStep, SqlStep, Step, StoreAction, StoreStep, MAX_FOR_EACH_ITEMS,
    MAX_LOOKUP_LIMIT, MAX_SQL_PARAMS, MAX_SQL_ROWS,
};
use crate::template::{parse_template, TemplatePart};
use crate::trace::MAX_EVENT_PAYLOAD_BYTES;

/// Most steps in one flow, counting nested steps.
pub const MAX_STEPS: usize = 500;
/// Most levels of nesting: a top-level step is at depth 1.
pub const MAX_DEPTH: usize = 8;
/// Longest Rhai snippet (code or expression), in bytes.
pub const MAX_SNIPPET_BYTES: usize = 64 * 1024;
/// Longest JSONPath expression, in bytes.
pub const MAX_JSONPATH_BYTES: usize = 4096;
const MAX_NAME_CHARS: usize = 200;
const MAX_FIELD_NAME_BYTES: usize = 256;
const MAX_IDENT_BYTES: usize = 64;

/// One problem in a flow document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationError {
    /// Where in the document: `steps[2].then[0].code`.
    pub path: String,
    /// The step: `2` or `2.then.0`.
    pub step: String,
    /// The field of the step, if the problem is in one: `code`, `fields.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ValidationError {}

/// A step with its place in the flow, in pre-order.
pub(crate) struct Placed<'a> {
    pub step: &'a Step,
    /// `2.then.0`; the error handler's steps are `on_error.0`, ...
    pub index: String,
    /// `steps[2].then[0]`, `on_error[0]`
    pub path: String,
    /// False when the step or one of its ancestors is disabled.
    #[cfg_attr(not(feature = "engine"), allow(dead_code))]
    pub active: bool,
    /// Positions (in the pre-order list) of the steps of each nested list, in the order of
    /// [`Step::branches`]: a condition's `then` and `else`, a try's `steps` and `catch`, a
    /// for-each's `steps`.
    #[cfg_attr(not(feature = "engine"), allow(dead_code))]
    pub branches: Vec<Vec<usize>>,
}

impl Placed<'_> {
    pub fn error(&self, field: Option<&str>, message: impl Into<String>) -> ValidationError {
        let path = match field {
            Some(f) => format!("{}.{f}", self.path),
            None => self.path.clone(),
        };
        ValidationError {
            path,
            step: self.index.clone(),
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    /// The positions of nested list `i` (see [`Placed::branches`]).
    #[cfg(feature = "engine")]
    pub fn branch(&self, i: usize) -> &[usize] {
        self.branches.get(i).map_or(&[], Vec::as_slice)
    }
}

/// A flow flattened in pre-order: its steps, then its error handler's.
pub(crate) struct PlacedFlow<'a> {
    pub steps: Vec<Placed<'a>>,
    /// Positions of the top-level steps of the flow.
    #[cfg_attr(not(feature = "engine"), allow(dead_code))]
    pub top: Vec<usize>,
    /// Positions of the top-level steps of the error handler (`on_error`).
    #[cfg_attr(not(feature = "engine"), allow(dead_code))]
    pub handler: Vec<usize>,
}

/// Flattens the flow in pre-order. Steps nested deeper than [`MAX_DEPTH`] are reported, not listed.
pub(crate) fn place<'a>(
    steps: &'a [Step],
    on_error: &'a [Step],
    errors: &mut Vec<ValidationError>,
) -> PlacedFlow<'a> {
    let mut out = Vec::new();
    let top = place_list(steps, "", "steps", 1, true, &mut out, errors);
    let handler = place_list(on_error, "on_error.", "on_error", 1, true, &mut out, errors);
    PlacedFlow {
        steps: out,
        top,
        handler,
    }
}

fn place_list<'a>(
    steps: &'a [Step],
    index_prefix: &str,
    path_prefix: &str,
    depth: usize,
    active: bool,
    out: &mut Vec<Placed<'a>>,
    errors: &mut Vec<ValidationError>,
) -> Vec<usize> {
    let mut positions = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        let index = format!("{index_prefix}{i}");
        let path = format!("{path_prefix}[{i}]");
        if depth > MAX_DEPTH {
            errors.push(ValidationError {
                path,
                step: index,
                field: None,
                message: format!("steps are nested more than {MAX_DEPTH} levels deep"),
            });
            continue;
        }
        let pos = out.len();
        positions.push(pos);
        let step_active = active && !step.is_disabled();
        out.push(Placed {
            step,
            index: index.clone(),
            path: path.clone(),
            active: step_active,
            branches: Vec::new(),
        });
        let branches: Vec<Vec<usize>> = step
            .branches()
            .into_iter()
            .map(|(field, list)| {
                place_list(
                    list,
                    &format!("{index}.{field}."),
                    &format!("{path}.{field}"),
                    depth + 1,
                    step_active,
                    out,
                    errors,
                )
            })
            .collect();
        if let Some(p) = out.get_mut(pos) {
            p.branches = branches;
        }
    }
    positions
}

/// Checks a flow's shape: counts, nesting, statuses, names, required and exclusive fields.
/// Snippets (Rhai code, JSONPath) are checked by [`compile`](crate::compile).
pub fn validate_structure(steps: &[Step]) -> Vec<ValidationError> {
    validate_flow_structure(steps, &[])
}

/// [`validate_structure`] of a flow with an error handler (`on_error`).
pub fn validate_flow_structure(steps: &[Step], on_error: &[Step]) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    let placed = place(steps, on_error, &mut errors);
    check_placed(&placed.steps, &mut errors);
    errors
}

pub(crate) fn check_placed(placed: &[Placed<'_>], errors: &mut Vec<ValidationError>) {
    if let Some(p) = placed.get(MAX_STEPS) {
        errors.push(p.error(
            None,
            format!(
                "the flow has {} steps; at most {MAX_STEPS} are allowed",
                placed.len()
            ),
        ));
    }
    for p in placed {
        if let Some(name) = p.step.name() {
            if name.chars().count() > MAX_NAME_CHARS {
                errors.push(p.error(
                    Some("name"),
                    format!("the name is longer than {MAX_NAME_CHARS} characters"),
                ));
            }
        }
        match p.step {
            Step::Map(m) => check_map(p, m, errors),
            Step::Script(s) => check_snippet(p, "code", &s.code, errors),
            Step::Condition(c) => check_condition(p, c, errors),
            Step::Respond(r) => check_respond(p, r, errors),
            Step::Fail(f) => check_fail(p, f, errors),
            Step::Log(l) => check_log(p, l, errors),
            Step::Emit(e) => check_emit(p, e, errors),
            Step::Http(h) => check_http(p, h, errors),
            Step::Try(_) => {}
            Step::ForEach(f) => check_for_each(p, f, errors),
            Step::Store(s) => check_store(p, s, errors),
            Step::Lookup(l) => check_lookup(p, l, errors),
            Step::Sql(s) => check_sql(p, s, errors),
        }
    }
}

/// A plain identifier: `[A-Za-z_][A-Za-z0-9_]*`, at most 64 bytes.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_');
    first_ok
        && s.len() <= MAX_IDENT_BYTES
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.chars().any(|c| c.is_ascii_alphanumeric())
}

/// How a map field is named in paths: `fields.id` or `fields["content-type"]`.
pub(crate) fn field_path(name: &str) -> String {
    if is_identifier(name) {
        format!("fields.{name}")
    } else {
        format!("fields[{}]", serde_json::Value::String(name.to_owned()))
    }
}

fn check_map(p: &Placed<'_>, m: &MapStep, errors: &mut Vec<ValidationError>) {
    match (&m.to, m.merge) {
        (Some(_), true) => errors.push(p.error(Some("to"), "use either `to` or `merge: true`, not both")),
        (None, false) => errors.push(p.error(Some("to"), "`to` is required (or set `merge: true`)")),
        (Some(to), false) if !is_identifier(to) => errors.push(p.error(
            Some("to"),
            format!("`{to}` is not a plain identifier (letters, digits and _, not starting with a digit)"),
        )),
        _ => {}
    }
    if m.fields.is_empty() {
        errors.push(p.error(Some("fields"), "a map step needs at least one field"));
    }
    for (name, path) in &m.fields {
        let field = field_path(name);
        if name.is_empty()
            || name.len() > MAX_FIELD_NAME_BYTES
            || name.chars().any(char::is_control)
        {
            errors.push(p.error(
                Some(&field),
                format!("a field name must have 1 to {MAX_FIELD_NAME_BYTES} bytes and no control characters"),
            ));
        }
        let trimmed = path.trim();
        if trimmed.is_empty() {
            errors.push(p.error(Some(&field), "the JSONPath is empty"));
        } else if !trimmed.starts_with('$') {
            errors.push(p.error(
                Some(&field),
                "a JSONPath starts with `$` (the object {\"request\": .., \"vars\": ..})",
            ));
        } else if path.len() > MAX_JSONPATH_BYTES {
            errors.push(p.error(
                Some(&field),
                format!("the JSONPath is longer than {MAX_JSONPATH_BYTES} bytes"),
            ));
        }
    }
}

fn check_snippet(p: &Placed<'_>, field: &str, code: &str, errors: &mut Vec<ValidationError>) {
    if code.trim().is_empty() {
        errors.push(p.error(Some(field), format!("`{field}` is empty")));
    } else if code.len() > MAX_SNIPPET_BYTES {
        errors.push(p.error(
            Some(field),
            format!("`{field}` is longer than {MAX_SNIPPET_BYTES} bytes"),
        ));
    }
}

/// A value a step takes either as a literal or as an expression: not both, and the
/// expression checked. `literal` is (its field, whether it is given).
fn check_literal_or_expr(
    p: &Placed<'_>,
    (literal, has_literal): (&str, bool),
    (expr_field, expr): (&str, &Option<String>),
    errors: &mut Vec<ValidationError>,
) {
    if has_literal && expr.is_some() {
        errors.push(p.error(
            Some(expr_field),
            format!("use either `{literal}` or `{expr_field}`, not both"),
        ));
    }
    if let Some(expr) = expr {
        check_snippet(p, expr_field, expr, errors);
    }
}

fn check_condition(p: &Placed<'_>, c: &ConditionStep, errors: &mut Vec<ValidationError>) {
    check_snippet(p, "if", &c.condition, errors);
}

/// Why a data store table name is not valid (lower-case letters, digits and `_`, starting
/// with a letter; 1 to 64), if it is not.
pub fn table_name_problem(name: &str) -> Option<String> {
    let ok = name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    (!ok).then(|| {
        format!("`{name}` is not a table name (lower-case letters, digits and _, starting with a letter; at most 64)")
    })
}

fn check_to(p: &Placed<'_>, to: &str, errors: &mut Vec<ValidationError>) {
    if !is_identifier(to) {
        errors.push(p.error(
            Some("to"),
            format!("`{to}` is not a plain identifier (letters, digits and _, not starting with a digit)"),
        ));
    }
}

fn check_store(p: &Placed<'_>, s: &StoreStep, errors: &mut Vec<ValidationError>) {
    if let Some(problem) = table_name_problem(&s.table) {
        errors.push(p.error(Some("table"), problem));
    }
    let (wanted, unwanted) = match s.action {
        StoreAction::Insert | StoreAction::Upsert => {
            (("record_expr", &s.record_expr), ("key_expr", &s.key_expr))
        }
        StoreAction::Delete => (("key_expr", &s.key_expr), ("record_expr", &s.record_expr)),
    };
    match wanted.1 {
        Some(code) => check_snippet(p, wanted.0, code, errors),
        None => errors.push(p.error(
            Some(wanted.0),
            format!("`{}` is required to {}", wanted.0, s.action.as_str()),
        )),
    }
    if unwanted.1.is_some() {
        errors.push(p.error(
            Some(unwanted.0),
            format!("`{}` is not used to {}", unwanted.0, s.action.as_str()),
        ));
    }
    if let Some(to) = &s.to {
        check_to(p, to, errors);
    }
}

fn check_lookup(p: &Placed<'_>, l: &LookupStep, errors: &mut Vec<ValidationError>) {
    if let Some(problem) = table_name_problem(&l.table) {
        errors.push(p.error(Some("table"), problem));
    }
    match (&l.key_expr, l.filter.is_empty()) {
        (Some(code), true) => check_snippet(p, "key_expr", code, errors),
        (None, false) => {
            for (field, code) in &l.filter {
                let at = format!("where.{field}");
                if !is_identifier(field) {
                    errors.push(p.error(
                        Some(&at),
                        format!("`{field}` is not a field name (letters, digits and _)"),
                    ));
                }
                check_snippet(p, &at, code, errors);
            }
        }
        (Some(_), false) => {
            errors.push(p.error(Some("where"), "use either `key_expr` or `where`, not both"))
        }
        (None, true) => errors.push(p.error(
            Some("key_expr"),
            "give `key_expr` (one record by key) or `where` (records by fields)",
        )),
    }
    if l.limit == 0 || l.limit > MAX_LOOKUP_LIMIT {
        errors.push(p.error(
            Some("limit"),
            format!("limit must be 1 to {MAX_LOOKUP_LIMIT}"),
        ));
    }
    check_to(p, &l.to, errors);
}

fn check_sql(p: &Placed<'_>, s: &SqlStep, errors: &mut Vec<ValidationError>) {
    if let Some(problem) = secret_name_problem(&s.connection) {
        errors.push(p.error(Some("connection"), problem));
    }
    let query = s.query.trim().trim_end_matches(';');
    if query.trim().is_empty() {
        errors.push(p.error(Some("query"), "`query` is empty"));
    } else if s.query.len() > MAX_SNIPPET_BYTES {
        errors.push(p.error(
            Some("query"),
            format!("`query` is longer than {MAX_SNIPPET_BYTES} bytes"),
        ));
    } else if query.contains(';') {
        errors.push(p.error(Some("query"), "one statement only (no `;` inside)"));
    }
    if s.params.len() > MAX_SQL_PARAMS {
        errors.push(p.error(
            Some("params"),
            format!("at most {MAX_SQL_PARAMS} parameters"),
        ));
    }
    for (i, code) in s.params.iter().enumerate() {
        check_snippet(p, &format!("params[{i}]"), code, errors);
    }
    if s.max_rows == 0 || s.max_rows > MAX_SQL_ROWS {
        errors.push(p.error(
            Some("max_rows"),
            format!("max_rows must be 1 to {MAX_SQL_ROWS}"),
        ));
    }
    if let Some(to) = &s.to {
        check_to(p, to, errors);
    }
}

fn check_for_each(p: &Placed<'_>, f: &ForEachStep, errors: &mut Vec<ValidationError>) {
    check_snippet(p, "items", &f.items, errors);
    for (field, name) in [("as", &f.item_var), ("index_as", &f.index_var)] {
        if !is_identifier(name) || name.starts_with("__fg") {
            errors.push(p.error(
                Some(field),
                format!("`{name}` is not a plain identifier (letters, digits and _, not starting with a digit)"),
            ));
        }
    }
    if f.item_var == f.index_var {
        errors.push(p.error(Some("index_as"), "`as` and `index_as` must differ"));
    }
    if f.max_items == 0 || f.max_items > MAX_FOR_EACH_ITEMS {
        errors.push(p.error(
            Some("max_items"),
            format!("max_items must be 1 to {MAX_FOR_EACH_ITEMS}"),
        ));
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn check_respond(p: &Placed<'_>, r: &RespondStep, errors: &mut Vec<ValidationError>) {
    if !(200..=599).contains(&r.status) {
        errors.push(p.error(
            Some("status"),
            format!("status {} is not between 200 and 599", r.status),
        ));
    }
    check_literal_or_expr(
        p,
        ("body", r.body.is_some()),
        ("body_expr", &r.body_expr),
        errors,
    );
    for (name, value) in &r.headers {
        if let Some(problem) = header_problem(name, value) {
            errors.push(p.error(Some(&format!("headers.{name}")), problem));
        }
    }
}

/// Why a response header cannot be sent, if it cannot.
pub fn header_problem(name: &str, value: &str) -> Option<String> {
    if name.is_empty() || !name.chars().all(is_token_char) {
        return Some(format!("`{name}` is not a valid header name"));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Some(format!(
            "the value of header `{name}` contains control characters"
        ));
    }
    None
}

fn check_message(
    p: &Placed<'_>,
    message: &Option<String>,
    message_expr: &Option<String>,
    errors: &mut Vec<ValidationError>,
) {
    match (message, message_expr) {
        (Some(_), Some(_)) => errors.push(p.error(
            Some("message_expr"),
            "use either `message` or `message_expr`, not both",
        )),
        (None, None) => {
            errors.push(p.error(Some("message"), "`message` or `message_expr` is required"))
        }
        (None, Some(expr)) => check_snippet(p, "message_expr", expr, errors),
        (Some(_), None) => {}
    }
}

fn check_fail(p: &Placed<'_>, f: &FailStep, errors: &mut Vec<ValidationError>) {
    if !(400..=599).contains(&f.status) {
        errors.push(p.error(
            Some("status"),
            format!("status {} is not between 400 and 599", f.status),
        ));
    }
    check_message(p, &f.message, &f.message_expr, errors);
}

fn check_log(p: &Placed<'_>, l: &LogStep, errors: &mut Vec<ValidationError>) {
    check_message(p, &l.message, &l.message_expr, errors);
}

/// Longest event type, in characters.
pub const MAX_EVENT_TYPE_CHARS: usize = 128;

/// Why `event` is not a valid event type, if it is not: 1 to 128 characters, dot-separated
/// non-empty segments of letters, digits, `_` and `-` (`customer.created`). The one rule for
/// emit steps, subscription patterns and the UI.
pub fn event_type_problem(event: &str) -> Option<String> {
    if event.is_empty() || event.len() > MAX_EVENT_TYPE_CHARS {
        return Some(format!(
            "an event type has 1 to {MAX_EVENT_TYPE_CHARS} characters"
        ));
    }
    if event.split('.').any(|seg| {
        seg.is_empty()
            || !seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    }) {
        return Some(format!(
            "`{event}` is not a valid event type: use dot-separated words of letters, digits, `_` and `-` (e.g. `user.updated`)"
        ));
    }
    None
}

fn check_emit(p: &Placed<'_>, e: &EmitStep, errors: &mut Vec<ValidationError>) {
    if let Some(problem) = event_type_problem(&e.event) {
        errors.push(p.error(Some("event"), problem));
    }
    check_literal_or_expr(
        p,
        ("payload", e.payload.is_some()),
        ("payload_expr", &e.payload_expr),
        errors,
    );
    if let Some(payload) = &e.payload {
        if serde_json::to_vec(payload).map_or(0, |v| v.len()) > MAX_EVENT_PAYLOAD_BYTES {
            errors.push(p.error(
                Some("payload"),
                format!(
                    "the payload is larger than {} bytes of JSON",
                    MAX_EVENT_PAYLOAD_BYTES
                ),
            ));
        }
    }
}

/// Longest time an HTTP step may allow one attempt, in milliseconds.
pub const MAX_HTTP_TIMEOUT_MS: u64 = 300_000;
/// Largest response an HTTP step may accept, in bytes.
pub const MAX_HTTP_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;
/// Most retries of one HTTP call.
pub const MAX_HTTP_RETRIES: u32 = 5;

/// Why a secret name is not valid (letters, digits, `.`, `_`, `-`; 1 to 128), if it is not.
pub fn secret_name_problem(name: &str) -> Option<String> {
    if name.is_empty()
        || name.len() > 128
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Some(format!(
            "`{name}` is not a valid secret name: 1 to 128 letters, digits, `.`, `_` and `-`"
        ))
    } else {
        None
    }
}

/// Whether a URL starts with `http://` or `https://` and names a host.
pub fn is_http_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        url.get(8..)
    } else if lower.starts_with("http://") {
        url.get(7..)
    } else {
        None
    };
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
}

fn check_template(p: &Placed<'_>, field: &str, template: &str, errors: &mut Vec<ValidationError>) {
    match parse_template(template) {
        Err(e) => errors.push(p.error(Some(field), e)),
        Ok(parts) => {
            for part in parts {
                if let TemplatePart::Expr(e) = part {
                    if e.len() > MAX_SNIPPET_BYTES {
                        errors.push(p.error(
                            Some(field),
                            format!("an expression is longer than {MAX_SNIPPET_BYTES} bytes"),
                        ));
                    }
                }
            }
        }
    }
}

/// An optional number of a step that, when given, is between 1 and `max`.
fn check_between_1_and(
    p: &Placed<'_>,
    field: &str,
    value: Option<u64>,
    max: u64,
    errors: &mut Vec<ValidationError>,
) {
    if value.is_some_and(|v| v == 0 || v > max) {
        errors.push(p.error(Some(field), format!("`{field}` is between 1 and {max}")));
    }
}

fn check_http(p: &Placed<'_>, h: &HttpStep, errors: &mut Vec<ValidationError>) {
    if h.url.trim().is_empty() {
        errors.push(p.error(Some("url"), "`url` is required"));
    } else {
        check_template(p, "url", &h.url, errors);
        // A URL starting with text must start with the scheme; one starting with `${..}`
        // is checked when it runs.
        if let Ok(parts) = parse_template(&h.url) {
            if let Some(TemplatePart::Text(t)) = parts.first() {
                let whole = parts.len() == 1;
                let l = t.to_ascii_lowercase();
                let ok = if whole {
                    is_http_url(t)
                } else {
                    l.starts_with("http://") || l.starts_with("https://")
                };
                if !ok {
                    errors.push(p.error(
                        Some("url"),
                        "the URL must start with http:// or https:// and name a host",
                    ));
                }
            }
        }
    }
    for (name, value) in &h.query {
        let field = format!("query.{name}");
        if name.is_empty() {
            errors.push(p.error(Some(&field), "a query parameter needs a name"));
        }
        check_template(p, &field, value, errors);
    }
    for (name, value) in &h.headers {
        let field = format!("headers.{name}");
        if let Some(problem) = header_problem(name, "") {
            errors.push(p.error(Some(&field), problem));
        }
        check_template(p, &field, value, errors);
    }
    check_literal_or_expr(
        p,
        ("body", h.body.is_some()),
        ("body_expr", &h.body_expr),
        errors,
    );
    if let Some(body) = &h.body {
        let problem = match (h.body_type, body) {
            (HttpBodyType::Form, serde_json::Value::Object(_)) => None,
            (HttpBodyType::Form, _) => Some("a `form` body is an object of fields"),
            (HttpBodyType::Text | HttpBodyType::Raw, serde_json::Value::String(_)) => None,
            (HttpBodyType::Text | HttpBodyType::Raw, _) => {
                Some("a `text` or `raw` body literal is a string")
            }
            (HttpBodyType::Json, _) => None,
        };
        if let Some(problem) = problem {
            errors.push(p.error(Some("body"), problem));
        }
    }
    if let Some(auth) = &h.auth {
        for (field, name) in auth.secrets() {
            if let Some(problem) = secret_name_problem(name) {
                errors.push(p.error(Some(&format!("auth.{field}")), problem));
            }
        }
        match auth {
            HttpAuth::Basic { username, .. } if username.contains(':') => errors.push(p.error(
                Some("auth.username"),
                "a basic auth user name cannot contain `:`",
            )),
            HttpAuth::SecretHeader { header, .. } => {
                if let Some(problem) = header_problem(header, "") {
                    errors.push(p.error(Some("auth.header"), problem));
                }
            }
            HttpAuth::OAuth2ClientCredentials {
                token_url,
                client_id,
                ..
            } => {
                if !is_http_url(token_url) {
                    errors.push(p.error(
                        Some("auth.token_url"),
                        "the token URL must start with http:// or https:// and name a host",
                    ));
                }
                if client_id.is_empty() {
                    errors.push(p.error(Some("auth.client_id"), "`client_id` is required"));
                }
            }
            _ => {}
        }
    }
    check_between_1_and(p, "timeout_ms", h.timeout_ms, MAX_HTTP_TIMEOUT_MS, errors);
    if let Some(r) = &h.retries {
        if r.max > MAX_HTTP_RETRIES {
            errors.push(p.error(
                Some("retries.max"),
                format!("at most {MAX_HTTP_RETRIES} retries"),
            ));
        }
        if r.delay_ms.is_some_and(|d| d > MAX_HTTP_TIMEOUT_MS)
            || r.max_delay_ms.is_some_and(|d| d > MAX_HTTP_TIMEOUT_MS)
        {
            errors.push(p.error(
                Some("retries"),
                format!("retry delays are at most {MAX_HTTP_TIMEOUT_MS} ms"),
            ));
        }
    }
    check_between_1_and(
        p,
        "max_response_bytes",
        h.max_response_bytes,
        MAX_HTTP_RESPONSE_BYTES,
        errors,
    );
    if let Some(to) = &h.to {
        if !is_identifier(to) {
            errors.push(p.error(
                Some("to"),
                format!("`{to}` is not a plain identifier (letters, digits and _, not starting with a digit)"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn steps(v: serde_json::Value) -> Vec<Step> {
        serde_json::from_value(v).unwrap()
    }

    fn nest(depth: usize) -> serde_json::Value {
        let mut v = json!({"type": "log", "message": "deep"});
        for _ in 1..depth {
            v = json!({"type": "condition", "if": "true", "then": [v]});
        }
        json!([v])
    }

    #[test]
    fn reports_every_structural_problem_with_its_path() {
        let errs = validate_structure(&steps(json!([
            {"type": "map", "to": "not an ident", "fields": {"a": "request.body"}},
            {"type": "map", "to": "x", "merge": true, "fields": {}},
            {"type": "script", "code": "  "},
            {"type": "condition", "if": "true", "then": [
                {"type": "respond", "status": 99, "body": 1, "body_expr": "2", "headers": {"bad name": "v", "x-ok": "a\nb"}}
            ], "else": [
                {"type": "fail", "status": 302, "message": "m", "message_expr": "\"m\""},
                {"type": "log"}
            ]}
        ])));
        let got: Vec<(&str, &str, Option<&str>)> = errs
            .iter()
            .map(|e| (e.path.as_str(), e.step.as_str(), e.field.as_deref()))
            .collect();
        let expected = [
            ("steps[0].to", "0", Some("to")),
            ("steps[0].fields.a", "0", Some("fields.a")),
            ("steps[1].to", "1", Some("to")),
            ("steps[1].fields", "1", Some("fields")),
            ("steps[2].code", "2", Some("code")),
            ("steps[3].then[0].status", "3.then.0", Some("status")),
            ("steps[3].then[0].body_expr", "3.then.0", Some("body_expr")),
            (
                "steps[3].then[0].headers.bad name",
                "3.then.0",
                Some("headers.bad name"),
            ),
            (
                "steps[3].then[0].headers.x-ok",
                "3.then.0",
                Some("headers.x-ok"),
            ),
            ("steps[3].else[0].status", "3.else.0", Some("status")),
            (
                "steps[3].else[0].message_expr",
                "3.else.0",
                Some("message_expr"),
            ),
            ("steps[3].else[1].message", "3.else.1", Some("message")),
        ];
        assert_eq!(got, expected, "{errs:#?}");
        assert!(errs[5].message.contains("99"));
    }

    #[test]
    fn nesting_is_limited_to_eight_levels() {
        assert!(validate_structure(&steps(nest(MAX_DEPTH))).is_empty());
        let errs = validate_structure(&steps(nest(MAX_DEPTH + 1)));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(
            errs[0].step,
            "0.then.0.then.0.then.0.then.0.then.0.then.0.then.0.then.0"
        );
        assert!(errs[0].message.contains("nested"));
    }

    #[test]
    fn step_count_is_limited() {
        let many: Vec<serde_json::Value> = (0..=MAX_STEPS)
            .map(|i| json!({"type": "log", "message": format!("{i}")}))
            .collect();
        let errs = validate_structure(&steps(json!(many)));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].step, "500");
        assert!(errs[0].message.contains("501 steps"), "{}", errs[0].message);
        let ok: Vec<serde_json::Value> = many.into_iter().take(MAX_STEPS).collect();
        assert!(validate_structure(&steps(json!(ok))).is_empty());
    }

    #[test]
    fn placement_is_pre_order() {
        let s = steps(json!([
            {"type": "condition", "if": "true", "disabled": true,
             "then": [{"type": "log", "message": "a"}],
             "else": [{"type": "log", "message": "b"}]},
            {"type": "try", "steps": [{"type": "log", "message": "t"}],
             "catch": [{"type": "for_each", "items": "[1]", "steps": [{"type": "log", "message": "f"}]}]},
            {"type": "log", "message": "c"}
        ]));
        let handler = steps(json!([{"type": "log", "message": "h"}]));
        let mut errors = Vec::new();
        let placed = place(&s, &handler, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let idx: Vec<&str> = placed.steps.iter().map(|p| p.index.as_str()).collect();
        assert_eq!(
            idx,
            [
                "0",
                "0.then.0",
                "0.else.0",
                "1",
                "1.steps.0",
                "1.catch.0",
                "1.catch.0.steps.0",
                "2",
                "on_error.0"
            ]
        );
        assert_eq!(placed.steps[0].branches, [vec![1], vec![2]]);
        assert_eq!(placed.steps[3].branches, [vec![4], vec![5]]);
        assert_eq!(placed.steps[5].branches, [vec![6]]);
        assert_eq!(placed.steps[2].path, "steps[0].else[0]");
        assert_eq!(placed.steps[6].path, "steps[1].catch[0].steps[0]");
        assert_eq!(placed.steps[8].path, "on_error[0]");
        assert_eq!(placed.top, [0, 3, 7]);
        assert_eq!(placed.handler, [8]);
        let active: Vec<bool> = placed.steps.iter().map(|p| p.active).collect();
        assert_eq!(
            active,
            [false, false, false, true, true, true, true, true, true]
        );
    }

    #[test]
    fn store_and_lookup_steps_are_checked() {
        let errs = validate_structure(&steps(json!([
            {"type": "store", "table": "Events", "record_expr": "x", "key_expr": "k"},
            {"type": "store", "table": "events", "action": "delete", "record_expr": "x", "to": "1a"},
            {"type": "lookup", "table": "events", "to": "x"},
            {"type": "lookup", "table": "events", "key_expr": "k", "where": {"a": "1"}, "to": "x", "limit": 0},
            {"type": "lookup", "table": "events", "where": {"not ok": "1", "b": ""}, "to": "x"},
            {"type": "store", "table": "events", "action": "upsert", "record_expr": "request.body", "to": "ids"},
            {"type": "lookup", "table": "events", "where": {"email": "vars.m.email"}, "order": "oldest", "limit": 10, "to": "found"}
        ])));
        let got: Vec<(&str, Option<&str>)> = errs
            .iter()
            .map(|e| (e.step.as_str(), e.field.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("0", Some("table")),
                ("0", Some("key_expr")),
                ("1", Some("key_expr")),
                ("1", Some("record_expr")),
                ("1", Some("to")),
                ("2", Some("key_expr")),
                ("3", Some("where")),
                ("3", Some("limit")),
                ("4", Some("where.b")),
                ("4", Some("where.not ok")),
            ],
            "{errs:#?}"
        );
    }

    #[test]
    fn for_each_steps_are_checked() {
        let errs = validate_structure(&steps(json!([
            {"type": "for_each", "items": "", "as": "1x", "index_as": "i", "max_items": 0},
            {"type": "for_each", "items": "[]", "as": "i", "index_as": "i", "max_items": 100001},
            {"type": "for_each", "items": "[]", "as": "__fg_it"},
            {"type": "for_each", "items": "request.body", "as": "event", "index_as": "n", "max_items": 5}
        ])));
        let got: Vec<(&str, Option<&str>)> = errs
            .iter()
            .map(|e| (e.step.as_str(), e.field.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("0", Some("items")),
                ("0", Some("as")),
                ("0", Some("max_items")),
                ("1", Some("index_as")),
                ("1", Some("max_items")),
                ("2", Some("as")),
            ],
            "{errs:#?}"
        );
    }

    #[test]
    fn emit_steps_are_checked() {
        let errs = validate_structure(&steps(json!([
            {"type": "emit", "event": "user.updated", "payload_expr": "#{a: 1}"},
            {"type": "emit", "event": "User_2-x.y"},
            {"type": "emit", "event": "", "payload": 1},
            {"type": "emit", "event": "user updated"},
            {"type": "emit", "event": "a".repeat(129)},
            {"type": "emit", "event": "ok", "payload": 1, "payload_expr": "2"},
            {"type": "emit", "event": "ok", "payload_expr": " "}
        ])));
        let got: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            got,
            [
                "steps[2].event",
                "steps[3].event",
                "steps[4].event",
                "steps[5].payload_expr",
                "steps[6].payload_expr"
            ],
            "{errs:#?}"
        );
        assert!(
            errs[1].message.contains("user.updated"),
            "{}",
            errs[1].message
        );
        assert!(event_type_problem(&"a".repeat(128)).is_none());
        // Empty segments match no subscription pattern but `*`, so they are refused here too.
        for bad in ["order.", ".order", "a..b", "a b", ""] {
            assert!(event_type_problem(bad).is_some(), "{bad:?} passed");
        }
        assert!(event_type_problem("customer.created_v2-x").is_none());
    }

    #[test]
    fn http_steps_are_checked() {
        let errs = validate_structure(&steps(json!([
            {"type": "http", "url": "https://id.example.com/users/${vars.m.id}", "to": "user"},
            {"type": "http", "url": "${vars.base}/users"},
            {"type": "http", "url": "https://${vars.host}/x"},
            {"type": "http", "url": "ftp://x/y"},
            {"type": "http", "url": "https://x/${vars.id"},
            {"type": "http", "url": ""},
            {"type": "http", "url": "https://x", "headers": {"bad name": "v"}, "query": {"": "1"}},
            {"type": "http", "url": "https://x", "body": 1, "body_expr": "2"},
            {"type": "http", "url": "https://x", "body": [1], "body_type": "form"},
            {"type": "http", "url": "https://x", "auth": {"type": "bearer", "token_secret": "no spaces"}},
            {"type": "http", "url": "https://x", "auth": {"type": "oauth2_client_credentials", "token_url": "/token", "client_id": "", "client_secret_secret": "s"}},
            {"type": "http", "url": "https://x", "timeout_ms": 0, "retries": {"max": 6}, "max_response_bytes": 0, "to": "a-b"}
        ])));
        let got: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            got,
            [
                "steps[3].url",
                "steps[4].url",
                "steps[5].url",
                "steps[6].query.",
                "steps[6].headers.bad name",
                "steps[7].body_expr",
                "steps[8].body",
                "steps[9].auth.token_secret",
                "steps[10].auth.token_url",
                "steps[10].auth.client_id",
                "steps[11].timeout_ms",
                "steps[11].retries.max",
                "steps[11].max_response_bytes",
                "steps[11].to",
            ],
            "{errs:#?}"
        );
        assert!(is_http_url("http://localhost:8080"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("https:///x"));
    }

    #[test]
    fn identifiers() {
        for ok in ["mapped", "_x", "a1", "Total_2"] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a b", "_", "__", "é"] {
            assert!(!is_identifier(bad), "{bad}");
        }
        assert_eq!(field_path("id"), "fields.id");
        assert_eq!(field_path("content-type"), "fields[\"content-type\"]");
    }
}
