//! JSONPath (RFC 9535) through jsonpath-rust, behind one newtype so its API stays in one place.

use jsonpath_rust::parser::model::{JpQuery, Segment, Selector};
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

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
            let mut at = root;
            for step in steps {
                let next = match (step, at) {
                    (Step::Name(n), Value::Object(o)) => o.get(n),
                    (Step::Index(i), Value::Array(a)) => {
                        let i = if *i < 0 {
                            i.checked_add(a.len() as i64)
                        } else {
                            Some(*i)
                        };
                        i.and_then(|i| usize::try_from(i).ok())
                            .and_then(|i| a.get(i))
                    }
                    _ => None,
                };
                match next {
                    Some(v) => at = v,
                    None => return Ok(Vec::new()),
                }
            }
            return Ok(vec![at]);
        }
        js_path_process(&self.query, root)
            .map(|refs| refs.into_iter().map(|r| r.val()).collect())
            .map_err(|e| format!("JSONPath evaluation failed: {e}"))
    }
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
}
