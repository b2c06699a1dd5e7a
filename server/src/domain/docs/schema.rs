//! A JSON Schema (2020-12, as OpenAPI 3.1 uses it) inferred from an example value: types,
//! object properties with the keys every example has as `required`, array items merged.

use serde_json::{json, Map, Value};

/// Deeper than this, a value is described as any value.
const MAX_DEPTH: usize = 24;

/// The schema of `sample`.
pub fn infer(sample: &Value) -> Value {
    infer_at(sample, 0)
}

fn infer_at(v: &Value, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return json!({});
    }
    match v {
        Value::Null => json!({"type": "null"}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"type": "integer"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::String(s) => string_schema(s),
        Value::Array(items) => {
            let mut merged: Option<Value> = None;
            for item in items {
                let s = infer_at(item, depth + 1);
                merged = Some(match merged {
                    None => s,
                    Some(m) => merge(m, s),
                });
            }
            match merged {
                Some(items) => json!({"type": "array", "items": items}),
                None => json!({"type": "array"}),
            }
        }
        Value::Object(fields) => {
            let mut props = Map::new();
            for (k, v) in fields {
                props.insert(k.clone(), infer_at(v, depth + 1));
            }
            let required: Vec<Value> = fields.keys().map(|k| Value::String(k.clone())).collect();
            json!({"type": "object", "properties": props, "required": required})
        }
    }
}

fn string_schema(s: &str) -> Value {
    if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
        json!({"type": "string", "format": "date-time"})
    } else if uuid::Uuid::parse_str(s).is_ok() && s.len() == 36 {
        json!({"type": "string", "format": "uuid"})
    } else if s.contains('@') && !s.contains(char::is_whitespace) && s.contains('.') {
        json!({"type": "string", "format": "email"})
    } else if s.starts_with("https://") || s.starts_with("http://") {
        json!({"type": "string", "format": "uri"})
    } else {
        json!({"type": "string"})
    }
}

/// The type names a schema allows.
fn types(s: &Value) -> Vec<String> {
    match s.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// One schema that accepts what `a` and `b` accept: objects merge their properties (a key
/// is required when both require it), arrays their items, integers widen to numbers, other
/// differing types become a type list.
fn merge(a: Value, b: Value) -> Value {
    if a == b {
        return a;
    }
    let (ta, tb) = (types(&a), types(&b));
    if ta == ["object"] && tb == ["object"] {
        return merge_objects(a, b);
    }
    if ta == ["array"] && tb == ["array"] {
        return match (a.get("items").cloned(), b.get("items").cloned()) {
            (Some(x), Some(y)) => json!({"type": "array", "items": merge(x, y)}),
            (Some(x), None) | (None, Some(x)) => json!({"type": "array", "items": x}),
            (None, None) => json!({"type": "array"}),
        };
    }
    let numeric = |t: &[String]| t.iter().all(|t| t == "integer" || t == "number");
    if !ta.is_empty() && !tb.is_empty() && numeric(&ta) && numeric(&tb) {
        return json!({"type": "number"});
    }
    if ta == ["string"] && tb == ["string"] {
        // Different formats: a plain string.
        return json!({"type": "string"});
    }
    // Differing kinds: keep a structured side's shape when the other is null.
    if tb == ["null"] && ta.len() == 1 {
        return with_null(a);
    }
    if ta == ["null"] && tb.len() == 1 {
        return with_null(b);
    }
    let mut all = ta;
    for t in tb {
        if !all.contains(&t) {
            all.push(t);
        }
    }
    if all.is_empty() {
        return json!({});
    }
    json!({"type": all})
}

fn with_null(mut s: Value) -> Value {
    let mut ts = types(&s);
    if !ts.iter().any(|t| t == "null") {
        ts.push("null".into());
    }
    if let Some(o) = s.as_object_mut() {
        o.insert("type".into(), json!(ts));
    }
    s
}

fn merge_objects(a: Value, b: Value) -> Value {
    let props = |s: &Value| s.get("properties").and_then(Value::as_object).cloned();
    let required = |s: &Value| -> Vec<String> {
        s.get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (pa, pb) = (props(&a).unwrap_or_default(), props(&b).unwrap_or_default());
    let (ra, rb) = (required(&a), required(&b));
    let mut merged = pa.clone();
    for (k, v) in pb {
        let m = match merged.remove(&k) {
            Some(existing) => merge(existing, v),
            None => v,
        };
        merged.insert(k, m);
    }
    let req: Vec<Value> = ra
        .iter()
        .filter(|k| rb.contains(k))
        .map(|k| Value::String(k.clone()))
        .collect();
    json!({"type": "object", "properties": merged, "required": req})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_arrays_and_formats() {
        let s = infer(&json!({
            "id": 7,
            "email": "a@example.com",
            "at": "2026-12-03T10:00:00Z",
            "tags": ["x", "y"],
            "score": 1.5
        }));
        assert_eq!(s["type"], "object");
        assert_eq!(s["properties"]["id"]["type"], "integer");
        assert_eq!(s["properties"]["email"]["format"], "email");
        assert_eq!(s["properties"]["at"]["format"], "date-time");
        assert_eq!(s["properties"]["tags"]["items"]["type"], "string");
        assert_eq!(s["properties"]["score"]["type"], "number");
        assert_eq!(s["required"].as_array().map(Vec::len), Some(5));
    }

    #[test]
    fn array_items_merge_and_only_shared_keys_are_required() {
        // A SendGrid-like batch: every event has `event` and `email`, only some `url`.
        let s = infer(&json!([
            {"event": "click", "email": "a@example.com", "url": "https://x.test", "n": 1},
            {"event": "open", "email": "b@example.com", "n": 2.5},
            {"event": "open", "email": "b@example.com", "n": null}
        ]));
        let items = &s["items"];
        assert_eq!(items["type"], "object");
        let mut req: Vec<&str> = items["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        req.sort_unstable();
        assert_eq!(req, ["email", "event", "n"]);
        assert_eq!(items["properties"]["url"]["format"], "uri");
        assert_eq!(items["properties"]["n"]["type"], json!(["number", "null"]));
    }

    #[test]
    fn deep_values_stop_at_the_depth_limit() {
        let mut v = json!(1);
        for _ in 0..100 {
            v = json!({ "a": v });
        }
        let s = infer(&v);
        assert_eq!(s["type"], "object");
    }
}
