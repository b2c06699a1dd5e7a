//! The incoming call as a flow sees it, and how a body is parsed by its content type.

use std::collections::BTreeMap;

use base64::Engine as _;

/// One call of a trigger, as handed to [`crate::Runtime::execute`].
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// `GET`, `POST`, ...
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// Lower-cased names.
    pub headers: BTreeMap<String, String>,
    pub body: Body,
    /// The credential the trigger let the call in with (`request.caller`); `None` for open
    /// and signature-only triggers.
    pub caller: Option<crate::caller::Caller>,
    /// The execution this run belongs to (`None` in test runs): records a run inserts into
    /// the data store get ids derived from it, so a retry does not insert them twice.
    pub execution_id: Option<String>,
}

/// A parsed request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Empty,
    Json(serde_json::Value),
    Form(BTreeMap<String, String>),
    Text(String),
    Binary(Vec<u8>),
}

impl Body {
    /// The body as JSON: `Empty` is null, a form an object of strings, binary a base64 string.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Body::Empty => Value::Null,
            Body::Json(v) => v.clone(),
            Body::Form(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ),
            Body::Text(t) => Value::String(t.clone()),
            Body::Binary(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        }
    }

    /// The body as bytes on the wire, re-encoded (JSON compactly, a form url-encoded).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        match self {
            Body::Empty => Vec::new(),
            Body::Json(v) => serde_json::to_vec(v).unwrap_or_default(),
            Body::Form(m) => m
                .iter()
                .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes(),
            Body::Text(t) => t.clone().into_bytes(),
            Body::Binary(b) => b.clone(),
        }
    }
}

/// Why a body could not be parsed as its content type says. The caller gets a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the body is not valid JSON: {message}")]
    InvalidJson { message: String },
    #[error("the body is not valid UTF-8 text")]
    InvalidText,
    #[error("the form body is not valid UTF-8 once decoded")]
    InvalidForm,
}

impl BodyError {
    /// Stable machine-readable code: `invalid_json`, `invalid_text`, `invalid_form`.
    pub fn code(&self) -> &'static str {
        match self {
            BodyError::InvalidJson { .. } => "invalid_json",
            BodyError::InvalidText => "invalid_text",
            BodyError::InvalidForm => "invalid_form",
        }
    }
}

/// Parses a body by its `Content-Type` (parameters such as `charset` are ignored; text must be UTF-8).
///
/// | content type | body |
/// | --- | --- |
/// | (no bytes) | `Empty` |
/// | `application/json`, `*/*+json` | `Json` |
/// | `application/x-www-form-urlencoded` | `Form` |
/// | `text/*`, `application/xml`, `*/*+xml` | `Text` |
/// | anything else, or none | `Binary` |
pub fn parse_body(content_type: Option<&str>, bytes: &[u8]) -> Result<Body, BodyError> {
    if bytes.is_empty() {
        return Ok(Body::Empty);
    }
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let (kind, subtype) = essence.split_once('/').unwrap_or((essence.as_str(), ""));
    if essence == "application/json" || (!kind.is_empty() && subtype.ends_with("+json")) {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        return serde_json::from_slice(bytes)
            .map(Body::Json)
            .map_err(|e| BodyError::InvalidJson {
                message: e.to_string(),
            });
    }
    if essence == "application/x-www-form-urlencoded" {
        return parse_form(bytes).map(Body::Form);
    }
    if kind == "text"
        || essence == "application/xml"
        || (!kind.is_empty() && subtype.ends_with("+xml"))
    {
        return String::from_utf8(bytes.to_vec())
            .map(Body::Text)
            .map_err(|_| BodyError::InvalidText);
    }
    Ok(Body::Binary(bytes.to_vec()))
}

fn parse_form(bytes: &[u8]) -> Result<BTreeMap<String, String>, BodyError> {
    let text = std::str::from_utf8(bytes).map_err(|_| BodyError::InvalidForm)?;
    let mut out = BTreeMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = form_decode(k).ok_or(BodyError::InvalidForm)?;
        let v = form_decode(v).ok_or(BodyError::InvalidForm)?;
        out.insert(k, v);
    }
    Ok(out)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`).
/// With `strict`, a malformed escape is an error; otherwise it is kept as is.
pub(crate) fn percent_decode(s: &str, plus_is_space: bool, strict: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_val);
                let lo = bytes.get(i + 2).copied().and_then(hex_val);
                match (hi, lo) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 3;
                        continue;
                    }
                    _ if strict => return None,
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn form_decode(s: &str) -> Option<String> {
    percent_decode(s, true, false)
}

/// Percent-encodes everything but the RFC 3986 unreserved characters.
pub(crate) fn percent_encode(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn form_encode(s: &str) -> String {
    percent_encode(s.as_bytes()).replace("%20", "+")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_and_json_suffix_types() {
        let b = parse_body(Some("application/json; charset=utf-8"), br#"{"a":[1,2]}"#).unwrap();
        assert_eq!(b, Body::Json(json!({"a": [1, 2]})));
        let b = parse_body(Some("Application/Vnd.Api+JSON"), b"[1]").unwrap();
        assert_eq!(b, Body::Json(json!([1])));
        // A UTF-8 byte order mark is tolerated.
        let b = parse_body(Some("application/json"), b"\xEF\xBB\xBF{}").unwrap();
        assert_eq!(b, Body::Json(json!({})));
        let e = parse_body(Some("application/json"), b"{\"a\":").unwrap_err();
        assert_eq!(e.code(), "invalid_json");
        assert!(
            e.to_string().starts_with("the body is not valid JSON: "),
            "{e}"
        );
    }

    #[test]
    fn forms_decode_plus_and_percent() {
        let b = parse_body(
            Some("application/x-www-form-urlencoded"),
            b"name=Ann+Admin&city=G%C3%B6teborg&flag&x=100%",
        )
        .unwrap();
        let expected = BTreeMap::from([
            ("name".to_owned(), "Ann Admin".to_owned()),
            ("city".to_owned(), "Göteborg".to_owned()),
            ("flag".to_owned(), String::new()),
            ("x".to_owned(), "100%".to_owned()),
        ]);
        assert_eq!(b, Body::Form(expected.clone()));
        assert_eq!(
            b.to_json(),
            json!({"name": "Ann Admin", "city": "Göteborg", "flag": "", "x": "100%"})
        );
        let e = parse_body(Some("application/x-www-form-urlencoded"), b"a=%FF").unwrap_err();
        assert_eq!(e.code(), "invalid_form");
        let e = parse_body(Some("application/x-www-form-urlencoded"), b"a=\xFF").unwrap_err();
        assert_eq!(e, BodyError::InvalidForm);
        // Re-encoding gives a form that parses back to the same fields.
        let again = parse_body(
            Some("application/x-www-form-urlencoded"),
            &Body::Form(expected.clone()).to_bytes(),
        )
        .unwrap();
        assert_eq!(again, Body::Form(expected));
    }

    #[test]
    fn text_types_and_binary() {
        assert_eq!(
            parse_body(Some("text/plain"), b"hi").unwrap(),
            Body::Text("hi".into())
        );
        assert_eq!(
            parse_body(Some("text/csv; charset=utf-8"), b"a,b").unwrap(),
            Body::Text("a,b".into())
        );
        assert_eq!(
            parse_body(Some("application/xml"), b"<x/>").unwrap(),
            Body::Text("<x/>".into())
        );
        assert_eq!(
            parse_body(Some("application/atom+xml"), b"<feed/>").unwrap(),
            Body::Text("<feed/>".into())
        );
        let e = parse_body(Some("text/plain"), b"\xC3\x28").unwrap_err();
        assert_eq!(e.code(), "invalid_text");
        assert_eq!(
            parse_body(Some("application/pdf"), b"%PDF").unwrap(),
            Body::Binary(b"%PDF".to_vec())
        );
        assert_eq!(
            parse_body(None, b"\x00\x01").unwrap(),
            Body::Binary(vec![0, 1])
        );
        assert_eq!(Body::Binary(vec![0, 1]).to_json(), json!("AAE="));
    }

    #[test]
    fn empty_bytes_are_empty_whatever_the_type() {
        for ct in [
            None,
            Some("application/json"),
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            assert_eq!(parse_body(ct, b"").unwrap(), Body::Empty, "{ct:?}");
        }
        assert_eq!(Body::Empty.to_json(), serde_json::Value::Null);
    }

    #[test]
    fn percent_coding() {
        assert_eq!(
            percent_encode("a b&c=d/é~".as_bytes()),
            "a%20b%26c%3Dd%2F%C3%A9~"
        );
        assert_eq!(
            percent_decode("a%20b+c", false, true).as_deref(),
            Some("a b+c")
        );
        assert_eq!(percent_decode("a%2", false, true), None);
        assert_eq!(percent_decode("%C3%A9", false, true).as_deref(), Some("é"));
        assert_eq!(percent_decode("%FF", false, true), None);
    }
}
