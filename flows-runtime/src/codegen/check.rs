//! The first pass of compiling: each snippet (script code, condition, `*_expr`, a template's
//! `${..}` piece) compiled alone against the runtime's engine, so an error names its step and
//! the line and position inside that snippet; reserved names, `this` and functions defined
//! twice are refused. What passes is kept as a [`Snippet`] for the generator.

use std::collections::HashMap;

use rhai::{Engine, ParseError, Scope};

use crate::scan::{blank_out, line_col, scan};
use crate::validate::{Placed, ValidationError};

/// Names starting with this are reserved for generated code.
const RESERVED_PREFIX: &str = "__fg_";

/// The scope snippets are compiled against: `request` and `vars` exist (as plain variables,
/// so the optimizer cannot fold their values into the AST).
pub(super) fn compile_scope() -> Scope<'static> {
    let mut scope = Scope::new();
    scope.push("request", ());
    scope.push("vars", ());
    scope
}

/// A parse error as a sentence, with its line and position.
pub(super) fn parse_message(e: &ParseError) -> String {
    let p = e.position();
    match (p.line(), p.position()) {
        (Some(l), Some(c)) => format!("{} (line {l}, position {c})", e.err_type()),
        (Some(l), None) => format!("{} (line {l})", e.err_type()),
        _ => e.err_type().to_string(),
    }
}

/// A snippet that compiled alone: what the generator needs of it.
pub(super) struct Snippet {
    /// Text with function definitions blanked out.
    pub body: String,
    /// Function definitions: (text padded to its column, first line in the snippet).
    pub functions: Vec<(String, usize)>,
}

/// Checks the snippets of one flow, collecting every problem.
pub(super) struct Checker<'e> {
    engine: &'e Engine,
    scope: Scope<'static>,
    pub errors: Vec<ValidationError>,
    /// (name, arity, `this` type) -> step index that defines it.
    functions: HashMap<(String, usize, String), String>,
    /// Some snippet mentions `raw_body`.
    pub uses_raw_body: bool,
    /// Some snippet mentions `http`.
    pub calls_out: bool,
}

impl<'e> Checker<'e> {
    pub fn new(engine: &'e Engine) -> Checker<'e> {
        Checker {
            engine,
            scope: compile_scope(),
            errors: Vec::new(),
            functions: HashMap::new(),
            uses_raw_body: false,
            calls_out: false,
        }
    }

    /// Compiles one snippet of step `p` alone; on success, what the generator needs of it.
    pub fn snippet(
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
            if id.name == "http" || id.name.starts_with("store_") {
                // Calls out (HTTP or the data store): such a flow never runs inline.
                self.calls_out = true;
            }
            if id.name == "this" {
                // Items set through `this` escape the size limits (see `guard::guard_variable`).
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
