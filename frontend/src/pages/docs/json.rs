//! Reading an OpenAPI document's JSON: `$ref`s and plain texts.

use serde_json::Value;

/// How many `$ref` hops are followed before giving up (a loop of references).
const MAX_HOPS: usize = 8;

/// What a local `$ref` (`#/components/schemas/KeyIn`) points to in `doc`.
pub fn resolve_ref<'a>(doc: &'a Value, r: &str) -> Option<&'a Value> {
    let ptr = r.strip_prefix('#')?;
    if ptr.is_empty() {
        return Some(doc);
    }
    doc.pointer(ptr)
}

/// `v`, or what its `$ref` chain ends at (`v` itself when a reference does not resolve).
pub fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    let mut cur = v;
    for _ in 0..MAX_HOPS {
        match cur.get("$ref").and_then(Value::as_str) {
            Some(r) => match resolve_ref(doc, r) {
                Some(next) => cur = next,
                None => return cur,
            },
            None => return cur,
        }
    }
    cur
}

/// `#/components/schemas/KeyIn` → `KeyIn`.
pub fn ref_name(r: &str) -> &str {
    r.rsplit('/').next().unwrap_or(r)
}

/// A string field, or empty.
pub fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A value as one line: strings as they are, anything else as JSON.
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Text with `code` in backticks (as OpenAPI descriptions are written) as (is code, text)
/// pieces; an unclosed backtick stays text.
pub fn code_spans(s: &str) -> Vec<(bool, String)> {
    let parts: Vec<&str> = s.split('`').collect();
    let closed = parts.len() % 2 == 1;
    let mut out: Vec<(bool, String)> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let code = i % 2 == 1 && (closed || i + 1 < parts.len());
        let piece = if i % 2 == 1 && !code {
            format!("`{p}")
        } else {
            (*p).to_owned()
        };
        if piece.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some((false, prev)) if !code => prev.push_str(&piece),
            _ => out.push((code, piece)),
        }
    }
    out
}

/// Paragraphs of a description (blank lines between them).
pub fn paragraphs(s: &str) -> Vec<String> {
    s.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}
