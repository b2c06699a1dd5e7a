//! An integration's endpoint as its published OpenAPI document describes it: Flowgate's
//! summary (`x-flowgate`), read tolerantly, then what a caller needs from it: how to
//! authenticate, the call's behaviour in words, and `curl` examples per method.

use flowgate_api::{SignatureAlgorithm, SignatureEncoding, SignaturePreset, TriggerAuth};
use serde_json::Value;

use super::openapi::{full_path, text, Operation, Param};
use crate::api::enc;
use crate::format::{fmt_bytes, fmt_rate, how_to_call, preset_label, CallTarget};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignatureInfo {
    pub preset: String,
    pub header: Option<String>,
    pub algorithm: Option<String>,
    pub encoding: Option<String>,
    pub prefix: Option<String>,
    pub timestamp_header: Option<String>,
    pub description: Option<String>,
    pub tolerance_s: Option<u64>,
}

/// The `x-flowgate` summary (fields missing from it read as empty).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub slug: String,
    pub name: String,
    pub version: Option<String>,
    pub endpoint: String,
    pub methods: Vec<String>,
    /// `api_key`, `oauth2`, `signature`, `none`; empty when unknown.
    pub auth: String,
    pub api_key_header: String,
    pub token_url: Option<String>,
    pub scope: Option<String>,
    pub signature: Option<SignatureInfo>,
    /// `api_key` or `oauth2`: needed beside a signature.
    pub also_requires: Option<String>,
    pub request_response: Option<bool>,
    pub timeout_ms: Option<u64>,
    pub ordered: bool,
    pub lane_key: Option<String>,
    pub max_body_bytes: Option<u64>,
    pub content_types: Vec<String>,
    pub idempotency_header: Option<String>,
    pub rate_limit: Option<(u32, u32)>,
}

fn opt_text(v: &Value, key: &str) -> Option<String> {
    Some(text(v, key)).filter(|s| !s.trim().is_empty())
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn number(v: &Value, key: &str) -> Option<u64> {
    let x = v.get(key)?;
    x.as_u64()
        .or_else(|| x.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        .or_else(|| x.as_str().and_then(|s| s.trim().parse().ok()))
}

/// The summary of `doc`, filled in from the standard parts where `x-flowgate` lacks it.
pub fn summary(doc: &Value, ops: &[Operation]) -> Summary {
    let x = doc.get("x-flowgate").cloned().unwrap_or(Value::Null);
    let signature = x
        .get("signature")
        .filter(|s| s.is_object())
        .map(|s| SignatureInfo {
            preset: text(s, "preset"),
            header: opt_text(s, "header"),
            algorithm: opt_text(s, "algorithm"),
            encoding: opt_text(s, "encoding"),
            prefix: opt_text(s, "prefix"),
            timestamp_header: opt_text(s, "timestamp_header"),
            description: opt_text(s, "description"),
            tolerance_s: number(s, "tolerance_s"),
        });
    let rate_limit = x.get("rate_limit").and_then(|r| {
        let per = u32::try_from(number(r, "per_second")?).ok()?;
        let burst = number(r, "burst")
            .and_then(|b| u32::try_from(b).ok())
            .unwrap_or(per);
        Some((per, burst))
    });
    let mut methods: Vec<String> = strings(&x, "methods")
        .into_iter()
        .map(|m| m.to_uppercase())
        .collect();
    if methods.is_empty() {
        methods = ops.iter().map(|o| o.method.clone()).collect();
        methods.dedup();
    }
    let endpoint = opt_text(&x, "endpoint").unwrap_or_else(|| {
        let server = doc
            .get("servers")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .map(|s| text(s, "url"))
            .unwrap_or_default();
        let path = ops.first().map(|o| o.path.clone()).unwrap_or_default();
        if server.starts_with("http") {
            format!("{}{path}", server.trim_end_matches('/'))
        } else {
            full_path(doc, &path)
        }
    });
    let version = match x.get("version") {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => doc
            .pointer("/info/version")
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    let mut content_types = strings(&x, "content_types");
    if content_types.is_empty() {
        content_types = ops
            .first()
            .map(Operation::content_types)
            .unwrap_or_default();
    }
    Summary {
        slug: text(&x, "slug"),
        name: opt_text(&x, "name").unwrap_or_else(|| {
            doc.pointer("/info/title")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        }),
        version,
        endpoint,
        methods,
        auth: text(&x, "auth"),
        api_key_header: opt_text(&x, "api_key_header").unwrap_or_else(|| "X-API-Key".to_owned()),
        token_url: opt_text(&x, "token_url"),
        scope: opt_text(&x, "scope"),
        signature,
        also_requires: opt_text(&x, "also_requires"),
        request_response: x.get("request_response").and_then(Value::as_bool),
        timeout_ms: number(&x, "timeout_ms"),
        ordered: x.get("ordered").and_then(Value::as_bool).unwrap_or(false),
        lane_key: opt_text(&x, "lane_key"),
        max_body_bytes: number(&x, "max_body_bytes"),
        content_types,
        idempotency_header: opt_text(&x, "idempotency_header"),
        rate_limit,
    }
}

fn parse_enum<T: serde::de::DeserializeOwned>(s: Option<&str>) -> Option<T> {
    serde_json::from_value(Value::String(s?.to_owned())).ok()
}

/// The trigger's auth as the snippets know it (no key, client or secret names: a consumer
/// has their own), or `None` when the document does not say.
pub fn trigger_auth(s: &Summary) -> Option<TriggerAuth> {
    let also = s.also_requires.as_deref();
    // A placeholder: "one of these is needed", without naming any.
    let one = || vec![String::new()];
    Some(match s.auth.as_str() {
        "none" => TriggerAuth::None,
        "api_key" => TriggerAuth::ApiKey { keys: Vec::new() },
        "oauth2" => TriggerAuth::Oauth2 {
            clients: Vec::new(),
            keys: Vec::new(),
            scope: s.scope.clone(),
        },
        "signature" => {
            let sig = s.signature.clone().unwrap_or_default();
            TriggerAuth::Signature {
                preset: parse_enum::<SignaturePreset>(Some(&sig.preset))
                    .unwrap_or(SignaturePreset::Generic),
                secret: String::new(),
                tolerance_s: sig.tolerance_s.unwrap_or(300),
                header: sig.header.clone(),
                algorithm: parse_enum::<SignatureAlgorithm>(sig.algorithm.as_deref()),
                encoding: parse_enum::<SignatureEncoding>(sig.encoding.as_deref()),
                prefix: sig.prefix.clone(),
                timestamp_header: sig.timestamp_header.clone(),
                keys: if also == Some("api_key") {
                    one()
                } else {
                    Vec::new()
                },
                clients: if also == Some("oauth2") {
                    one()
                } else {
                    Vec::new()
                },
            }
        }
        _ => return None,
    })
}

/// The kind of credential in a few words, for the heading of the auth section.
pub fn auth_title(s: &Summary) -> String {
    match s.auth.as_str() {
        "none" => "No credentials: anyone with the URL may call it".to_owned(),
        "api_key" => format!("An API key, in the {} header", s.api_key_header),
        "oauth2" => "An OAuth2 access token (client credentials)".to_owned(),
        "signature" => {
            let preset = s
                .signature
                .as_ref()
                .and_then(|g| parse_enum::<SignaturePreset>(Some(&g.preset)))
                .map(preset_label)
                .unwrap_or("HMAC");
            let mut t = format!("A signed body: {preset}");
            match s.also_requires.as_deref() {
                Some("api_key") => t.push_str(", plus an API key"),
                Some("oauth2") => t.push_str(", plus an OAuth2 access token"),
                _ => {}
            }
            t
        }
        "" => "Not stated".to_owned(),
        other => other.to_owned(),
    }
}

/// What the caller sends, in sentences.
pub fn auth_words(s: &Summary, origin: &str) -> Vec<String> {
    let Some(auth) = trigger_auth(s) else {
        return Vec::new();
    };
    let mut what = how_to_call(&CallTarget {
        origin,
        url: &s.endpoint,
        method: s.methods.first().map(String::as_str).unwrap_or("POST"),
        auth: &auth,
        body: None,
        consumer: true,
    })
    .what;
    if let Some(t) = &s.token_url {
        if matches!(s.auth.as_str(), "oauth2") || s.also_requires.as_deref() == Some("oauth2") {
            what.push(format!("Token URL: {t}"));
        }
    }
    if s.signature
        .as_ref()
        .is_some_and(|g| g.tolerance_s.is_none())
    {
        // The document does not say how far a timestamp may be off: do not guess.
        what.retain(|w| !w.starts_with("The timestamp must be within"));
    }
    if let Some(d) = s.signature.as_ref().and_then(|g| g.description.clone()) {
        what.push(d);
    }
    what
}

/// The call's behaviour, as (label, sentence) pairs; what the document's own description
/// (`described`) already says is left out.
pub fn facts(s: &Summary, described: &str) -> Vec<(&'static str, String)> {
    let said = |words: &[&str]| words.iter().any(|w| described.contains(w));
    let mut out = Vec::new();
    match s.request_response {
        _ if said(&["the flow's answer", "202 Accepted", "`202`"]) => {}
        Some(true) => out.push((
            "Answer",
            match s.timeout_ms {
                Some(ms) => format!(
                    "The call waits for the flow's answer, up to {}.",
                    crate::format::fmt_ms(ms as i64)
                ),
                None => "The call waits for the flow's answer.".to_owned(),
            },
        )),
        Some(false) => out.push((
            "Answer",
            "202 Accepted at once: the call is queued (never lost) and runs in the background, retried if it fails."
                .to_owned(),
        )),
        None => {}
    }
    if s.ordered && !said(&["arrival order"]) {
        out.push((
            "Order",
            match &s.lane_key {
                Some(k) => {
                    format!("Calls with the same {k} run one at a time, in the order they arrive.")
                }
                None => "Calls run one at a time, in the order they arrive.".to_owned(),
            },
        ));
    }
    if let Some(n) = s.max_body_bytes {
        out.push((
            "Body size",
            format!("At most {}; a larger body gets 413.", fmt_bytes(n as usize)),
        ));
    }
    out.push((
        "Content types",
        if s.content_types.is_empty() {
            "Any.".to_owned()
        } else {
            s.content_types.join(", ")
        },
    ));
    if let Some(h) = s
        .idempotency_header
        .as_ref()
        .filter(|h| !said(&[h.as_str()]))
    {
        out.push((
            "Idempotency",
            format!("Send a unique key in the {h} header: a call sent again with the same key gets the first call's answer instead of running twice."),
        ));
    }
    if let Some((per, burst)) = s.rate_limit.filter(|_| !said(&["429"])) {
        out.push((
            "Rate limit",
            format!(
                "At most {}; more get 429 with a Retry-After header.",
                fmt_rate(per, burst)
            ),
        ));
    }
    if let Some(v) = &s.version {
        out.push(("Version", format!("Published version {v}.")));
    }
    out
}

/// The endpoint with its required query parameters (their default, else a placeholder).
pub fn example_url(endpoint: &str, params: &[Param]) -> String {
    let q: Vec<String> = params
        .iter()
        .filter(|p| p.location == "query" && p.required)
        .map(|p| {
            let v = p
                .default
                .clone()
                .or_else(|| p.example.clone())
                .unwrap_or_else(|| "VALUE".to_owned());
            format!("{}={}", enc(&p.name), enc(&v))
        })
        .collect();
    if q.is_empty() {
        endpoint.to_owned()
    } else {
        let sep = if endpoint.contains('?') { '&' } else { '?' };
        format!("{endpoint}{sep}{}", q.join("&"))
    }
}

/// A `curl` example per method: (method, script).
pub fn examples(
    s: &Summary,
    params: &[Param],
    body: Option<&Value>,
    origin: &str,
) -> Vec<(String, String)> {
    let auth = trigger_auth(s).unwrap_or(TriggerAuth::None);
    let url = example_url(&s.endpoint, params);
    let body = body.and_then(|b| serde_json::to_string(b).ok());
    s.methods
        .iter()
        .map(|m| {
            let how = how_to_call(&CallTarget {
                origin,
                url: &url,
                method: m,
                auth: &auth,
                body: body.as_deref(),
                consumer: true,
            });
            (m.clone(), how.script)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "openapi": "3.1.0",
            "info": {"title": "Create customer", "version": "3"},
            "x-flowgate": {
                "slug": "create-customer", "name": "Create customer", "version": 3,
                "endpoint": "http://h/t/acme/customers", "methods": ["post", "PUT"],
                "auth": "signature", "api_key_header": "X-API-Key",
                "signature": {"preset": "github", "header": "X-Hub-Signature-256"},
                "also_requires": "api_key", "request_response": true, "timeout_ms": 30000,
                "ordered": true, "lane_key": "$.customerId", "max_body_bytes": 1048576,
                "content_types": ["application/json"], "idempotency_header": "Idempotency-Key",
                "rate_limit": {"per_second": 10, "burst": 20}
            },
            "paths": {"/t/acme/customers": {"post": {"responses": {}}}}
        })
    }

    fn param(name: &str, required: bool, default: Option<&str>) -> Param {
        Param {
            name: name.into(),
            location: "query".into(),
            required,
            default: default.map(str::to_owned),
            description: String::new(),
            type_label: "string".into(),
            example: None,
        }
    }

    #[test]
    fn the_summary_is_read_tolerantly() {
        let d = doc();
        let s = summary(&d, &[]);
        assert_eq!(s.methods, ["POST", "PUT"]);
        assert_eq!(s.version.as_deref(), Some("3"));
        assert_eq!(s.rate_limit, Some((10, 20)));
        assert_eq!(s.timeout_ms, Some(30_000));
        assert_eq!(
            s.signature.as_ref().map(|g| g.preset.as_str()),
            Some("github")
        );

        // Nothing but the standard parts.
        let bare = json!({"info": {"title": "T"}, "servers": [{"url": "http://h/"}],
            "paths": {"/t/x": {"get": {"responses": {}}}}});
        let ops = super::super::openapi::operations(&bare);
        let s = summary(&bare, &ops);
        assert_eq!(
            (s.name.as_str(), s.endpoint.as_str()),
            ("T", "http://h/t/x")
        );
        assert_eq!(s.methods, ["GET"]);
        assert!(trigger_auth(&s).is_none());
        assert_eq!(auth_title(&s), "Not stated");
        let odd = json!({"x-flowgate": {"timeout_ms": "250", "rate_limit": {"per_second": -1}, "methods": "POST"}});
        let s = summary(&odd, &[]);
        assert_eq!(s.timeout_ms, Some(250));
        assert_eq!(s.rate_limit, None);
        assert!(s.methods.is_empty());
    }

    #[test]
    fn auth_becomes_words_and_snippets() {
        let s = summary(&doc(), &[]);
        assert_eq!(auth_title(&s), "A signed body: GitHub, plus an API key");
        let words = auth_words(&s, "http://h").join(" ");
        assert!(words.contains("X-Hub-Signature-256"), "{words}");
        assert!(words.contains("your API key"), "{words}");
        let ex = examples(
            &s,
            &[param("tenant", true, Some("acme"))],
            Some(&json!({"id": 1})),
            "http://h",
        );
        assert_eq!(ex.len(), 2);
        let (m, script) = &ex[0];
        assert_eq!(m, "POST");
        assert!(
            script.contains("'http://h/t/acme/customers?tenant=acme'"),
            "{script}"
        );
        assert!(script.contains(r#"BODY='{"id":1}'"#), "{script}");
        assert!(script.contains("X-API-Key: $FLOWGATE_API_KEY"), "{script}");

        let key = Summary {
            auth: "api_key".into(),
            endpoint: "http://h/t/k".into(),
            methods: vec!["GET".into()],
            api_key_header: "X-API-Key".into(),
            ..Default::default()
        };
        assert_eq!(auth_title(&key), "An API key, in the X-API-Key header");
        let ex = examples(&key, &[param("q", false, None)], None, "http://h");
        assert!(
            ex[0].1.contains("curl -X GET 'http://h/t/k'"),
            "{}",
            ex[0].1
        );

        let oauth = Summary {
            auth: "oauth2".into(),
            scope: Some("orders:write".into()),
            token_url: Some("http://h/oauth/token".into()),
            endpoint: "http://h/t/o".into(),
            methods: vec!["POST".into()],
            ..Default::default()
        };
        let words = auth_words(&oauth, "http://h");
        assert!(words.iter().any(|w| w.contains("orders:write")));
        assert!(words.iter().any(|w| w == "Token URL: http://h/oauth/token"));
    }

    #[test]
    fn facts_and_urls() {
        let s = summary(&doc(), &[]);
        let f = facts(&s, "");
        let text: Vec<String> = f.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        assert!(
            text.contains(
                &"Answer: The call waits for the flow's answer, up to 30.0 s.".to_owned()
            ),
            "{text:?}"
        );
        assert!(text
            .iter()
            .any(|t| t.starts_with("Order: Calls with the same $.customerId")));
        assert!(text.contains(&"Body size: At most 1.0 MB; a larger body gets 413.".to_owned()));
        assert!(text
            .iter()
            .any(|t| t.starts_with("Idempotency: Send a unique key in the Idempotency-Key")));
        assert!(text.iter().any(|t| t.contains("10 calls/s, bursts of 20")));
        // What the description says is not said twice.
        let described = "The caller waits for the flow's answer, up to 30000 ms.\n\nCalls with the same `$.customerId` run one at a time, in arrival order.\n\nA call sent again with the same `Idempotency-Key` header…\n\nmore get `429`";
        let short: Vec<&str> = facts(&s, described).into_iter().map(|(k, _)| k).collect();
        assert_eq!(short, ["Body size", "Content types", "Version"]);
        assert_eq!(
            example_url(
                "http://h/t/x",
                &[param("a b", true, None), param("c", false, Some("1"))]
            ),
            "http://h/t/x?a%20b=VALUE"
        );
        assert_eq!(
            example_url("http://h/t/x?z=1", &[param("a", true, Some("2"))]),
            "http://h/t/x?z=1&a=2"
        );
    }
}
