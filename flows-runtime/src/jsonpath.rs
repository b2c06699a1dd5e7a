//! JSONPath (RFC 9535) through jsonpath-rust, behind one newtype so its API stays in one place.

use jsonpath_rust::parser::model::{JpQuery, Segment, Selector};
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

use crate::body::{Body, Input};
use crate::validate::MAX_JSONPATH_BYTES;

/// A parsed JSONPath expression.
#[derive(Debug, Clone)]
pub(crate) struct JsonPathExpr {
    query: JpQuery,
    /// `$.request...`: never looks at `vars`.
    request_only: bool,
    /// Only names and indexes (`$.a.b[0]`): walked directly, at most one match.
    simple: Option<Vec<Step>>,
}

#[derive(Debug, Clone)]
enum Step {
    Name(String),
    Index(i64),
}

impl JsonPathExpr {
    pub fn parse(expr: &str) -> Result<JsonPathExpr, String> {
        let expr = expr.trim();
        if expr.len() > MAX_JSONPATH_BYTES {
            return Err(format!(
                "the JSONPath is longer than {MAX_JSONPATH_BYTES} bytes"
            ));
        }
        let query = parse_json_path(expr).map_err(|e| format!("invalid JSONPath `{expr}`: {e}"))?;
        let request_only = matches!(
            query.segments.first(),
            Some(Segment::Selector(Selector::Name(n))) if n == "request"
        );
        let simple = query
            .segments
            .iter()
            .map(|seg| match seg {
                Segment::Selector(Selector::Name(n)) => Some(Step::Name(n.clone())),
                Segment::Selector(Selector::Index(i)) => Some(Step::Index(*i)),
                _ => None,
            })
            .collect();
        Ok(JsonPathExpr {
            query,
            request_only,
            simple,
        })
    }

    pub fn request_only(&self) -> bool {
        self.request_only
    }

    /// All the values the expression selects, in document order.
    pub fn select<'a>(&self, root: &'a Value) -> Result<Vec<&'a Value>, String> {
        if let Some(steps) = &self.simple {
            return Ok(walk(steps, root).into_iter().collect());
        }
        js_path_process(&self.query, root)
            .map(|refs| refs.into_iter().map(|r| r.val()).collect())
            .map_err(|e| format!("JSONPath evaluation failed: {e}"))
    }

    /// What a simple `$.request...` path selects, read from the call itself instead of from
    /// the request's JSON view (which costs a copy of the body per run). `None` when the path
    /// needs that view: not simple, not into the request, the whole request, the whole
    /// query or headers, `caller`, `raw_body`, or a body that is not JSON.
    pub fn select_in_call<'a>(&self, input: &'a Input) -> Option<InCall<'a>> {
        let steps = self.simple.as_deref()?;
        let (Step::Name(first), rest) = steps.split_first()? else {
            return None;
        };
        if first != "request" {
            return None;
        }
        let (part, rest) = rest.split_first()?;
        let Step::Name(part) = part else {
            return Some(InCall::Json(None));
        };
        let text = |s: &'a str, rest: &[Step]| Some(InCall::Text(rest.is_empty().then_some(s)));
        match part.as_str() {
            "body" => match &input.body {
                Body::Json(v) => Some(InCall::Json(walk(rest, v))),
                _ => None,
            },
            "method" => text(&input.method, rest),
            "path" => text(&input.path, rest),
            "query" | "headers" => {
                let map = if part == "query" {
                    &input.query
                } else {
                    &input.headers
                };
                match rest.split_first()? {
                    (Step::Name(k), more) => match map.get(k) {
                        Some(v) => text(v, more),
                        None => Some(InCall::Text(None)),
                    },
                    (Step::Index(_), _) => Some(InCall::Text(None)),
                }
            }
            "caller" | "raw_body" => None,
            _ => Some(InCall::Json(None)),
        }
    }
}

/// What [`JsonPathExpr::select_in_call`] found: a JSON value of the body, or a text of the
/// call (method, path, a query parameter, a header); `None` inside: no match.
#[derive(Debug, PartialEq)]
pub(crate) enum InCall<'a> {
    Json(Option<&'a Value>),
    Text(Option<&'a str>),
}

/// Follows names and indexes from `root`: the one value they reach, if any.
fn walk<'a>(steps: &[Step], root: &'a Value) -> Option<&'a Value> {
    let mut at = root;
    for step in steps {
        at = match (step, at) {
            (Step::Name(n), Value::Object(o)) => o.get(n)?,
            (Step::Index(i), Value::Array(a)) => {
                let i = if *i < 0 {
                    i.checked_add(a.len() as i64)?
                } else {
                    *i
                };
                a.get(usize::try_from(i).ok()?)?
            }
            _ => return None,
        };
    }
    Some(at)
}

/// A JSONPath expression for callers outside flows (e.g. picking an idempotency key from a
/// call's body): parsed once, then applied to any JSON value.
#[derive(Debug, Clone)]
pub struct JsonPath(JsonPathExpr);

impl JsonPath {
    /// Parses an expression; the error says what is wrong with it.
    pub fn parse(expr: &str) -> Result<JsonPath, String> {
        JsonPathExpr::parse(expr).map(JsonPath)
    }

    /// The first value the expression selects, if any.
    pub fn first<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        self.0.select(root).ok()?.into_iter().next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_zero_one_or_many() {
        let root =
            json!({"request": {"body": [{"event": "open"}, {"event": "click"}]}, "vars": {}});
        let p = JsonPathExpr::parse("$.request.body[*].event").unwrap();
        assert!(p.request_only());
        assert_eq!(p.select(&root).unwrap(), [&json!("open"), &json!("click")]);
        let p = JsonPathExpr::parse("$.request.body[?@.event == 'click'].event").unwrap();
        assert_eq!(p.select(&root).unwrap(), [&json!("click")]);
        let p = JsonPathExpr::parse("$.vars.nothing").unwrap();
        assert!(!p.request_only());
        assert!(p.select(&root).unwrap().is_empty());
        let p = JsonPathExpr::parse("$..event").unwrap();
        assert!(!p.request_only());
        assert_eq!(p.select(&root).unwrap().len(), 2);
    }

    #[test]
    fn simple_paths_match_the_general_evaluation() {
        let root = json!({"request": {"body": {"a": [10, {"b": "x"}, 30], "k-y": 1}}});
        for expr in [
            "$.request.body.a[1].b",
            "$.request.body.a[-1]",
            "$.request.body.a[3]",
            "$.request.body.a[-4]",
            "$.request.body['k-y']",
            "$.request.body.a.b",
            "$.request.nothing.deeper",
            "$",
        ] {
            let p = JsonPathExpr::parse(expr).unwrap();
            assert!(p.simple.is_some(), "{expr}");
            let general = JsonPathExpr {
                simple: None,
                ..p.clone()
            };
            assert_eq!(
                p.select(&root).unwrap(),
                general.select(&root).unwrap(),
                "{expr}"
            );
        }
        assert!(JsonPathExpr::parse("$.request.body.a[*]")
            .unwrap()
            .simple
            .is_none());
    }

    #[test]
    fn bad_expressions_are_errors() {
        for bad in [
            "$.request.body[?(",
            "request.body",
            "$[",
            "$.a..",
            &format!("${}", "[".repeat(100)),
        ] {
            assert!(JsonPathExpr::parse(bad).is_err(), "{bad}");
        }
    }

    /// Read from the call itself, a path gives what it gives in the request's JSON view.
    #[test]
    fn paths_read_from_the_call_match_the_json_view() {
        let input = Input {
            method: "POST".into(),
            path: "/t/acme/orders".into(),
            query: [("page".to_owned(), "2".to_owned())].into(),
            headers: [("x-tenant".to_owned(), "acme".to_owned())].into(),
            body: Body::Json(json!({"id": 7, "items": [{"sku": "A"}, {"sku": "B"}], "k-y": null})),
            caller: None,
            execution_id: None,
        };
        let view = json!({"request": {
            "method": "POST", "path": "/t/acme/orders", "query": {"page": "2"},
            "headers": {"x-tenant": "acme"},
            "body": {"id": 7, "items": [{"sku": "A"}, {"sku": "B"}], "k-y": null},
            "caller": null,
        }, "vars": {}});
        for expr in [
            "$.request.body.id",
            "$.request.body",
            "$.request.body.items[1].sku",
            "$.request.body.items[-2].sku",
            "$.request.body.items[5]",
            "$.request.body['k-y']",
            "$.request.body.id.deeper",
            "$.request.method",
            "$.request.method.x",
            "$.request.path",
            "$.request.query.page",
            "$.request.query.missing",
            "$.request.query.page.x",
            "$.request.query[0]",
            "$.request.headers['x-tenant']",
            "$.request.nothing",
            "$.request[0]",
        ] {
            let p = JsonPathExpr::parse(expr).unwrap();
            let from_view = p.select(&view).unwrap();
            let got = p
                .select_in_call(&input)
                .unwrap_or_else(|| panic!("{expr} should be read from the call"));
            let as_json = match got {
                InCall::Json(v) => v.cloned(),
                InCall::Text(t) => t.map(|t| Value::String(t.to_owned())),
            };
            assert_eq!(as_json.as_ref(), from_view.first().copied(), "{expr}");
            assert!(from_view.len() <= 1, "{expr}");
        }
        // These need the JSON view.
        for expr in [
            "$.request",
            "$.request.headers",
            "$.request.caller.id",
            "$.request.raw_body",
            "$.request.body.items[*].sku",
            "$.vars.x",
        ] {
            let p = JsonPathExpr::parse(expr).unwrap();
            assert_eq!(p.select_in_call(&input), None, "{expr}");
        }
        let text = Input {
            body: Body::Text("hi".into()),
            ..input
        };
        let p = JsonPathExpr::parse("$.request.body").unwrap();
        assert_eq!(p.select_in_call(&text), None);
    }
}
