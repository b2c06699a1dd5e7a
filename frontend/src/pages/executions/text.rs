//! An execution in words: short ids, run times, status classes, and the request again as a
//! `curl` command.

use flowgate_api::{ExecutionOut, IntegrationOut, RequestSnapshot, TriggerAuth, REDACTED};

use crate::api::enc;
use crate::format::{how_to_call, parse_time_us, shell_quote, CallTarget};

/// An execution's run time: finished − started, when both exist.
pub fn run_us(e: &ExecutionOut) -> Option<i64> {
    let start = parse_time_us(e.started_at.as_deref()?)?;
    let end = parse_time_us(e.finished_at.as_deref()?)?;
    Some((end - start).max(0))
}

/// UUIDv7 ids start with the time, so calls close together share a prefix: show the end.
pub fn short_id(id: &str) -> String {
    let n = id.chars().count();
    if n <= 12 {
        id.to_owned()
    } else {
        format!("…{}", id.chars().skip(n - 8).collect::<String>())
    }
}

/// `2.then.0` → 1: how deep a step sits in branches.
pub fn step_depth(index: &str) -> usize {
    index
        .split('.')
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .count()
        .saturating_sub(1)
}

pub fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "status-code s2xx",
        300..=399 => "status-code s3xx",
        400..=499 => "status-code s4xx",
        _ => "status-code s5xx",
    }
}

pub fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The request again as a `curl` command line (redacted headers and the never-stored API key
/// are left for the reader to fill in).
pub fn curl_of(origin: &str, r: &RequestSnapshot) -> String {
    let mut url = format!("{origin}{}", r.path);
    if !r.query.is_empty() {
        let q: Vec<String> = r
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        url.push('?');
        url.push_str(&q.join("&"));
    }
    let mut parts = vec![format!("curl -X {} {}", r.method, shell_quote(&url))];
    for (k, v) in &r.headers {
        let lower = k.to_ascii_lowercase();
        if v == REDACTED
            || matches!(
                lower.as_str(),
                "host" | "content-length" | "connection" | "accept-encoding" | "transfer-encoding"
            )
        {
            continue;
        }
        parts.push(format!("-H {}", shell_quote(&format!("{k}: {v}"))));
    }
    parts.push("-H \"X-API-Key: $FLOWGATE_API_KEY\"".to_owned());
    let mut prefix = String::new();
    match (r.body_encoding.as_str(), &r.body) {
        ("none", _) => {}
        ("base64", body) => {
            prefix = format!("printf %s {} | base64 -d | ", shell_quote(&json_text(body)));
            parts.push("--data-binary @-".to_owned());
        }
        ("form", serde_json::Value::Object(m)) => {
            let pairs: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}={}", enc(k), enc(&json_text(v))))
                .collect();
            parts.push(format!("--data-raw {}", shell_quote(&pairs.join("&"))));
        }
        ("json", body) => parts.push(format!("--data-raw {}", shell_quote(&body.to_string()))),
        (_, body) => parts.push(format!("--data-raw {}", shell_quote(&json_text(body)))),
    }
    format!("{prefix}{}", parts.join(" \\\n  "))
}

/// A first call to try, shown when nothing has been called yet: with the credentials the
/// integration's trigger wants.
pub fn example_curl(origin: &str, integration: Option<&IntegrationOut>) -> String {
    let keyed = TriggerAuth::ApiKey { keys: Vec::new() };
    let (method, path, auth) = match integration {
        Some(i) => (
            i.trigger
                .methods
                .first()
                .cloned()
                .unwrap_or_else(|| "POST".into()),
            i.endpoint.clone(),
            &i.trigger.auth,
        ),
        None => ("POST".to_owned(), "/t/your/path".to_owned(), &keyed),
    };
    how_to_call(&CallTarget {
        origin,
        url: &format!("{origin}{path}"),
        method: &method,
        auth,
        body: None,
        consumer: false,
    })
    .script
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn small_helpers() {
        assert_eq!(
            short_id("019a1b2c-0000-7000-8000-00000000abcd"),
            "…0000abcd"
        );
        assert_eq!(step_depth("0"), 0);
        assert_eq!(step_depth("2.then.0"), 1);
        assert_eq!(step_depth("2.else.1.cases.0"), 2);
        let r = RequestSnapshot {
            method: "POST".into(),
            path: "/t/a".into(),
            query: BTreeMap::from([("x".to_owned(), "1 2".to_owned())]),
            headers: BTreeMap::from([
                ("authorization".to_owned(), REDACTED.to_owned()),
                ("content-type".to_owned(), "application/json".to_owned()),
            ]),
            content_type: Some("application/json".into()),
            body_encoding: "json".into(),
            body: serde_json::json!({"a": 1}),
            caller: None,
        };
        assert_eq!(
            curl_of("http://h", &r),
            "curl -X POST 'http://h/t/a?x=1%202' \\\n  -H 'content-type: application/json' \\\n  -H \"X-API-Key: $FLOWGATE_API_KEY\" \\\n  --data-raw '{\"a\":1}'"
        );
    }
}
