//! Conversions between JSON values and Rhai values, with a nesting limit (no deep recursion),
//! and the text forms of values (`to_text`, `to_bytes`, `cut_text`).

use base64::Engine as _;
use rhai::{Array, Dynamic, ImmutableString, Map, INT};
use serde_json::{Number, Value};

/// Deepest nesting converted either way (serde_json parses at most 128 levels too).
pub(crate) const MAX_NESTING: usize = 128;

/// JSON to Rhai: null is `()`, integers that fit are `INT`, other numbers floats.
pub(crate) fn to_dynamic(v: &Value) -> Dynamic {
    to_dynamic_at(v, 0)
}

fn to_dynamic_at(v: &Value, depth: usize) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => number_to_dynamic(n),
        Value::String(s) => Dynamic::from(ImmutableString::from(s.as_str())),
        // Values nested deeper than the limit cannot come from parsed JSON; cut them off.
        Value::Array(_) | Value::Object(_) if depth >= MAX_NESTING => Dynamic::UNIT,
        Value::Array(a) => {
            Dynamic::from_array(a.iter().map(|x| to_dynamic_at(x, depth + 1)).collect())
        }
        Value::Object(o) => {
            let mut m = Map::new();
            for (k, x) in o {
                m.insert(k.as_str().into(), to_dynamic_at(x, depth + 1));
            }
            Dynamic::from_map(m)
        }
    }
}

fn number_to_dynamic(n: &Number) -> Dynamic {
    if let Some(i) = n.as_i64() {
        Dynamic::from_int(i as INT)
    } else {
        Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Rhai to JSON: `()` is null, a char a string, a BLOB a base64 string.
/// Fails on values JSON cannot hold (functions, NaN, nesting deeper than [`MAX_NESTING`]).
pub(crate) fn to_json(v: &Dynamic) -> Result<Value, String> {
    to_json_at(v, 0)
}

fn to_json_at(v: &Dynamic, depth: usize) -> Result<Value, String> {
    if depth > MAX_NESTING {
        return Err(format!(
            "the value is nested more than {MAX_NESTING} levels deep"
        ));
    }
    if v.is_shared() {
        let inner = v.flatten_clone();
        if inner.is_shared() {
            return Err("a shared value cannot be converted to JSON".to_owned());
        }
        return to_json_at(&inner, depth);
    }
    if v.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = v.as_int() {
        return Ok(Value::from(i));
    }
    if let Ok(f) = v.as_float() {
        return Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| format!("{f} cannot be written as JSON"));
    }
    if let Ok(c) = v.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    if let Ok(s) = v.as_immutable_string_ref() {
        return Ok(Value::String(s.as_str().to_owned()));
    }
    if let Ok(a) = v.as_array_ref() {
        return array_to_json(&a, depth);
    }
    if let Ok(b) = v.as_blob_ref() {
        return Ok(Value::String(
            base64::engine::general_purpose::STANDARD.encode(&*b),
        ));
    }
    if let Ok(m) = v.as_map_ref() {
        return map_to_json(&m, depth);
    }
    Err(format!(
        "a value of type {} cannot be converted to JSON",
        v.type_name()
    ))
}

/// A map to a JSON object (as [`to_json`] would, without wrapping it in a `Dynamic`).
pub(crate) fn map_to_json(m: &Map, depth: usize) -> Result<Value, String> {
    let mut o = serde_json::Map::new();
    for (k, x) in m.iter() {
        o.insert(k.to_string(), to_json_at(x, depth + 1)?);
    }
    Ok(Value::Object(o))
}

pub(crate) fn array_to_json(a: &[Dynamic], depth: usize) -> Result<Value, String> {
    a.iter()
        .map(|x| to_json_at(x, depth + 1))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// A value as text: a string as is, a char as a string, anything else as compact JSON.
pub(crate) fn to_text(v: &Dynamic) -> String {
    if let Ok(s) = v.as_immutable_string_ref() {
        return s.as_str().to_owned();
    }
    if let Ok(c) = v.as_char() {
        return c.to_string();
    }
    match to_json(v) {
        Ok(j) => j.to_string(),
        Err(_) => format!("<{}>", v.type_name()),
    }
}

/// A string or a BLOB as bytes.
pub(crate) fn to_bytes(v: &Dynamic, what: &str) -> Result<Vec<u8>, String> {
    if let Ok(s) = v.as_immutable_string_ref() {
        return Ok(s.as_bytes().to_vec());
    }
    if let Ok(b) = v.as_blob_ref() {
        return Ok(b.to_vec());
    }
    Err(format!(
        "{what} must be a string or a BLOB, not {}",
        v.type_name()
    ))
}

/// Text cut to at most `max` bytes (at a character boundary), with `…` when cut.
pub(crate) fn cut_text(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", text.get(..cut).unwrap_or_default())
}

/// Rhai array from JSON values.
pub(crate) fn array_of(values: Vec<&Value>) -> Dynamic {
    Dynamic::from_array(values.into_iter().map(to_dynamic).collect::<Array>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip() {
        let v =
            json!({"a": [1, 2.5, "x", null, true], "b": {"c": -7}, "big": 18446744073709551615u64});
        let d = to_dynamic(&v);
        let back = to_json(&d).unwrap();
        assert_eq!(back["a"], json!([1, 2.5, "x", null, true]));
        assert_eq!(back["b"], json!({"c": -7}));
        assert_eq!(back["big"], json!(18446744073709551615.0f64));
    }

    #[test]
    fn rhai_only_values() {
        assert_eq!(to_json(&Dynamic::from_char('x')).unwrap(), json!("x"));
        assert_eq!(
            to_json(&Dynamic::from_blob(vec![1, 2, 3])).unwrap(),
            json!("AQID")
        );
        assert!(to_json(&Dynamic::from_float(f64::NAN)).is_err());
        assert_eq!(
            to_text(&Dynamic::from(ImmutableString::from("plain"))),
            "plain"
        );
        assert_eq!(to_text(&to_dynamic(&json!({"k": [1]}))), r#"{"k":[1]}"#);
    }

    #[test]
    fn nesting_is_bounded() {
        let mut d = Dynamic::from_int(1);
        for _ in 0..=MAX_NESTING + 1 {
            d = Dynamic::from_array(vec![d]);
        }
        assert!(to_json(&d).unwrap_err().contains("nested"));
        let mut v = json!(1);
        for _ in 0..200 {
            v = json!([v]);
        }
        // Cut off rather than overflow the stack.
        let d = to_dynamic(&v);
        assert!(to_json(&d).is_ok());
    }
}
