//! A table page's filter (in the URL: `?field=F&value=V`) and the paths it asks: a page of
//! records, and the export files with the same filter. Pure, unit-tested on the host.

use crate::api::{enc, BASE};

/// Records per page (the server's default).
pub const PAGE: usize = 50;
/// The most records one request may ask for.
pub const MAX_LIMIT: usize = 500;

/// Records whose `field` (the key field or an indexed one) equals `value`; both empty: all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub field: String,
    pub value: String,
}

impl Filter {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let field = get("field")
            .map(|v| v.trim().to_owned())
            .unwrap_or_default();
        let value = get("value").unwrap_or_default();
        if field.is_empty() || value.is_empty() {
            return Filter::default();
        }
        Filter { field, value }
    }

    pub fn is_set(&self) -> bool {
        !self.field.is_empty() && !self.value.is_empty()
    }

    /// `field=F&value=V`, empty when nothing is filtered.
    fn params(&self) -> Option<String> {
        self.is_set()
            .then(|| format!("field={}&value={}", enc(&self.field), enc(&self.value)))
    }

    /// The page's query string (`?field=…&value=…`), empty when nothing is filtered.
    pub fn to_query(&self) -> String {
        self.params().map(|p| format!("?{p}")).unwrap_or_default()
    }
}

/// `/tables/{name}`, the table's page in the UI (and its path under the API).
pub fn table_path(name: &str) -> String {
    format!("/tables/{}", enc(name))
}

/// A page of records (API path, without `/api/v1`), newest first.
pub fn records_path(name: &str, filter: &Filter, limit: usize, cursor: Option<&str>) -> String {
    let mut q = vec![format!("limit={limit}")];
    q.extend(filter.params());
    if let Some(c) = cursor {
        q.push(format!("cursor={}", enc(c)));
    }
    format!("{}/records?{}", table_path(name), q.join("&"))
}

/// The export file with the same filter (a full URL path: a link the browser downloads with
/// the session cookie).
pub fn export_href(name: &str, filter: &Filter, format: &str) -> String {
    let mut q = vec![format!("format={format}")];
    q.extend(filter.params());
    format!("{BASE}{}/export?{}", table_path(name), q.join("&"))
}

/// The indexed fields as typed: split at commas, spaces and semicolons, each once.
pub fn parse_fields(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in text
        .split([',', ' ', ';', '\n', '\t'])
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        if !out.iter().any(|x| x == f) {
            out.push(f.to_owned());
        }
    }
    out
}

/// A record's data on one line, at most `max` characters (`…` when cut).
pub fn preview(data: &serde_json::Value, max: usize) -> String {
    let text = serde_json::to_string(data).unwrap_or_default();
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// An execution id short enough for a table cell: its last 8 characters.
pub fn short_id(id: &str) -> String {
    let n = id.chars().count();
    if n <= 12 {
        id.to_owned()
    } else {
        format!("…{}", id.chars().skip(n - 8).collect::<String>())
    }
}

/// `a; b (c; d)` → `a`, `b (c; d)`: the problems the server joined, each whole (a problem's
/// own explanation in parentheses may hold a `; `).
fn split_outside_parens(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ';' if depth == 0 && s[i + 1..].starts_with(' ') => {
                parts.push(&s[start..i]);
                start = i + 2;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// The server's error split into its problems (it joins several with `; `), each a sentence
/// that names the form's field rather than the wire's (`indexed_fields:` → `Indexed fields:`).
pub fn problems(message: &str) -> Vec<String> {
    const LABELS: [(&str, &str); 3] = [
        ("indexed_fields:", "Indexed fields:"),
        ("key_field:", "Key field:"),
        ("description:", "Description:"),
    ];
    split_outside_parens(message)
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let named = LABELS.iter().find_map(|(wire, label)| {
                p.strip_prefix(wire).map(|rest| format!("{label}{rest}"))
            });
            crate::format::sentence(&named.unwrap_or_else(|| p.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_in_the_url() {
        let f = Filter::from_lookup(|k| match k {
            "field" => Some(" sg_message_id ".into()),
            "value" => Some("a b&c".into()),
            _ => None,
        });
        assert_eq!(f.field, "sg_message_id");
        assert_eq!(f.to_query(), "?field=sg_message_id&value=a%20b%26c");
        // A field without a value (or the other way round) filters nothing.
        let half = Filter::from_lookup(|k| (k == "field").then(|| "x".into()));
        assert_eq!(half, Filter::default());
        assert_eq!(half.to_query(), "");
    }

    #[test]
    fn paths() {
        let f = Filter {
            field: "sg_message_id".into(),
            value: "m.1".into(),
        };
        assert_eq!(
            records_path("email_events", &Filter::default(), 50, None),
            "/tables/email_events/records?limit=50"
        );
        assert_eq!(
            records_path("email_events", &f, 50, Some("17_ab")),
            "/tables/email_events/records?limit=50&field=sg_message_id&value=m.1&cursor=17_ab"
        );
        assert_eq!(
            export_href("email_events", &f, "csv"),
            "/api/v1/tables/email_events/export?format=csv&field=sg_message_id&value=m.1"
        );
        assert_eq!(
            export_href("t", &Filter::default(), "json"),
            "/api/v1/tables/t/export?format=json"
        );
    }

    #[test]
    fn typed_fields_and_previews() {
        assert_eq!(
            parse_fields(" sg_message_id, event;event  email\n"),
            ["sg_message_id", "event", "email"]
        );
        assert!(parse_fields(" , ").is_empty());
        let v = serde_json::json!({"a": "é".repeat(10)});
        assert_eq!(preview(&v, 100), r#"{"a":"éééééééééé"}"#);
        assert_eq!(preview(&v, 8), r#"{"a":"é…"#);
        assert_eq!(short_id("0123456789abcdef"), "…89abcdef");
        assert_eq!(short_id("short"), "short");
    }

    #[test]
    fn server_problems_in_words() {
        assert_eq!(
            problems("`Bad-Name` is not a table name; indexed_fields: at most 8"),
            [
                "`Bad-Name` is not a table name.",
                "Indexed fields: at most 8."
            ]
        );
        assert_eq!(
            problems("`A` is not a table name (lower-case letters; at most 64); key_field: `1x` is not a field name (letters)"),
            [
                "`A` is not a table name (lower-case letters; at most 64).",
                "Key field: `1x` is not a field name (letters)."
            ]
        );
        assert_eq!(
            problems("a table named `t` exists already"),
            ["A table named `t` exists already."]
        );
    }
}
