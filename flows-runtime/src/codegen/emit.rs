//! The second pass of compiling: writing the one Rhai program. Each step is wrapped between
//! `__fg_enter(n)` and `__fg_leave(n)` (n: its pre-order number; with capture also
//! `vars.__fg_snap_in(n)` / `__fg_snap_out(n)` on the same lines), JSONPath expressions are
//! referred to by index, templates become string concatenations, and every line written is
//! recorded in a [`Region`] so positions in the program trace back to their step.

use std::fmt::Write as _;

use crate::model::{LookupOrder, Step, StoreAction};
use crate::template::{parse_template, TemplatePart};
use crate::validate::Placed;

use super::check::{Checker, Snippet};

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

/// A Rhai string literal.
pub(super) fn rhai_str(s: &str) -> String {
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

/// Generated source under construction.
pub(super) struct Gen {
    pub out: String,
    /// Number of the next line to write (1-based).
    line: usize,
    pub regions: Vec<Region>,
}

impl Gen {
    /// The program's first line: a note that it is generated.
    pub fn new() -> Gen {
        Gen {
            out: "// Flowgate flow: generated code, do not edit.\n".to_owned(),
            line: 2,
            regions: Vec::new(),
        }
    }

    /// Writes `text` as lines of step `step`: its snippet `field` from line `snippet_line`
    /// of the snippet, or glue (`field` `None`).
    pub fn lines(
        &mut self,
        step: usize,
        field: Option<&'static str>,
        snippet_line: usize,
        text: &str,
    ) {
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

    /// Writes generated lines of step `step`.
    pub fn glue(&mut self, step: usize, text: &str) {
        self.lines(step, None, 1, text);
    }
}

/// For the steps that compile to one internal call taking an optional expression (respond,
/// fail, log, emit): the function, the expression's field and the expression, if given.
pub(super) fn action_call(step: &Step) -> Option<(&'static str, &'static str, Option<&str>)> {
    match step {
        Step::Respond(r) => Some(("__fg_respond", "body_expr", r.body_expr.as_deref())),
        Step::Fail(f) => Some(("__fg_fail", "message_expr", f.message_expr.as_deref())),
        Step::Log(l) => Some(("__fg_log", "message_expr", l.message_expr.as_deref())),
        Step::Emit(e) => Some(("__fg_emit", "payload_expr", e.payload_expr.as_deref())),
        _ => None,
    }
}

fn find<'s>(snippets: &'s [(&'static str, Snippet)], field: &str) -> Option<&'s Snippet> {
    snippets.iter().find(|(f, _)| *f == field).map(|(_, s)| s)
}

/// An `http` step's templates as Rhai expressions.
pub(super) struct HttpCode {
    pub url: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub to: Option<String>,
}

/// What the generator needs per placed step.
pub(super) struct Code<'a> {
    pub snippets: &'a [Vec<(&'static str, Snippet)>],
    pub path_ids: &'a [Vec<(String, usize)>],
    /// The flow's JSONPath expressions, by index.
    pub paths: &'a [crate::jsonpath::JsonPathExpr],
    pub http: &'a [Option<HttpCode>],
    /// Per placed step, expressions that are not snippets of a field of their own: a
    /// `lookup` step's `where` (field -> code) and a `sql` step's `params` (position -> code).
    pub exprs: &'a [Vec<(String, String)>],
}

/// A template as one Rhai expression (its `${..}` pieces checked like other snippets). In a
/// URL, pieces are percent-encoded, except one at the very start (the base of the URL).
pub(super) fn template_code(
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

/// Writes the steps `list` (positions in `placed`), and the branches of conditions among them.
pub(super) fn emit_list(
    gen: &mut Gen,
    placed: &[Placed<'_>],
    code: &Code<'_>,
    list: &[usize],
    capture: bool,
) {
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
                    .map(|(name, i)| {
                        // A path into the request alone needs no look at `vars` (a plain
                        // call is also cheaper than a method call on it).
                        let call = if code.paths.get(*i).is_some_and(|p| p.request_only()) {
                            format!("__fg_path({i})")
                        } else {
                            format!("vars.__fg_path({i})")
                        };
                        format!("    {}: {call}", rhai_str(name))
                    })
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
                    emit_list(gen, placed, code, p.branch(0), capture);
                    gen.glue(n, "} else {");
                    emit_list(gen, placed, code, p.branch(1), capture);
                    gen.glue(n, "}");
                }
            }
            Step::Try(_) => {
                gen.glue(n, "try {");
                emit_list(gen, placed, code, p.branch(0), capture);
                gen.glue(
                    n,
                    &format!("}} catch (__fg_e) {{\nvars.error = __fg_caught({n}, __fg_e);"),
                );
                emit_list(gen, placed, code, p.branch(1), capture);
                gen.glue(n, "}");
            }
            Step::Store(s) => {
                let (func, field) = match s.action {
                    StoreAction::Insert => ("store_insert", "record_expr"),
                    StoreAction::Upsert => ("store_upsert", "record_expr"),
                    StoreAction::Delete => ("store_delete", "key_expr"),
                };
                if let Some(expr) = find(mine, field) {
                    let target = match &s.to {
                        Some(to) => format!("vars[{}] = ", rhai_str(to)),
                        None => String::new(),
                    };
                    gen.glue(n, &format!("{target}{func}({},", rhai_str(&s.table)));
                    gen.lines(n, Some(field), 1, &expr.body);
                    gen.glue(n, ");");
                }
            }
            Step::Lookup(l) => {
                let target = format!("vars[{}] = ", rhai_str(&l.to));
                match find(mine, "key_expr") {
                    Some(expr) => {
                        gen.glue(n, &format!("{target}store_get({},", rhai_str(&l.table)));
                        gen.lines(n, Some("key_expr"), 1, &expr.body);
                        gen.glue(n, ");");
                    }
                    None => {
                        let fields: Vec<String> = code
                            .exprs
                            .get(n)
                            .map(|f| {
                                f.iter()
                                    .map(|(name, body)| format!("{}: ({body})", rhai_str(name)))
                                    .collect()
                            })
                            .unwrap_or_default();
                        let order = match l.order {
                            LookupOrder::Newest => "newest",
                            LookupOrder::Oldest => "oldest",
                        };
                        gen.glue(
                            n,
                            &format!(
                                "{target}store_find({}, #{{{}}}, #{{limit: {}, order: \"{order}\"}});",
                                rhai_str(&l.table),
                                fields.join(", "),
                                l.limit
                            ),
                        );
                    }
                }
            }
            Step::Sql(s) => {
                let params: Vec<String> = code
                    .exprs
                    .get(n)
                    .map(|f| f.iter().map(|(_, body)| format!("({body})")).collect())
                    .unwrap_or_default();
                let target = match &s.to {
                    Some(to) => format!("vars[{}] = ", rhai_str(to)),
                    None => String::new(),
                };
                gen.glue(
                    n,
                    &format!("{target}__fg_sql({n}, [{}]);", params.join(", ")),
                );
            }
            Step::ForEach(f) => {
                if let Some(s) = find(mine, "items") {
                    gen.glue(n, &format!("for (__fg_it, __fg_ix) in __fg_items({n},"));
                    gen.lines(n, Some("items"), 1, &s.body);
                    gen.glue(
                        n,
                        &format!(
                            ") {{\nvars[{}] = __fg_it; vars[{}] = __fg_ix;",
                            rhai_str(&f.item_var),
                            rhai_str(&f.index_var)
                        ),
                    );
                    emit_list(gen, placed, code, p.branch(0), capture);
                    gen.glue(n, "}");
                }
            }
            Step::Respond(_) | Step::Fail(_) | Step::Log(_) | Step::Emit(_) => {
                if let Some((func, field, _)) = action_call(p.step) {
                    emit_action(gen, n, func, find(mine, field), field);
                }
            }
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
