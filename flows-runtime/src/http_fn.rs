//! The HTTP calls of a flow, as script functions: `http(method, url[, options])` and the
//! `__fg_http` call an `http` step compiles to. Both describe the call as a `CallSpec`
//! (from the options map, or from the step's fixed parts and its templates), and `perform`
//! hands it to the [`HttpClient`](crate::io::HttpClient) the server gave the runtime,
//! within the flow's deadline, and records each attempt in the step's trace. Also
//! `__fg_text` and `__fg_piece`, which compiled templates call.

use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine, ImmutableString, INT};
use serde_json::Value;

use crate::body::percent_encode;
use crate::codegen::Action;
use crate::convert::{cut_text, to_bytes, to_dynamic, to_json, to_text};
use crate::io::{HttpRequest, HttpResponse, RequestBody};
use crate::model::{HttpAuth, HttpBodyType, HttpMethod, HttpRetries};
use crate::run_state::{step_action, stop_at_deadline, time_left, with_run, Res};
use crate::validate::{
    header_problem, is_http_url, MAX_HTTP_RESPONSE_BYTES, MAX_HTTP_RETRIES, MAX_HTTP_TIMEOUT_MS,
};

/// Time an HTTP call may take when its step says nothing.
const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response accepted when the step says nothing.
const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1024 * 1024;
/// Most calls one step keeps in its trace (further ones are made, not shown).
const MAX_TRACED_CALLS_PER_STEP: usize = 50;
/// Longest part of a response body quoted in an error.
const ERROR_EXCERPT_BYTES: usize = 300;

/// One call, as a step or `http()` describes it.
struct CallSpec {
    method: HttpMethod,
    url: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: RequestBody,
    auth: Option<HttpAuth>,
    timeout_ms: Option<u64>,
    retries: HttpRetries,
    max_response_bytes: Option<u64>,
    fail_on_status: bool,
}

/// Makes one call: checks the URL and the headers, cuts the timeout to the flow's time left,
/// sends it through the run's client and records its attempts in the current step's trace.
/// The answer is `#{status, ok, headers, body}`; with `fail_on_status`, a status of 400 or
/// more is an error quoting the start of the body.
fn perform(spec: CallSpec) -> Res<Dynamic> {
    let what = format!("{} {}", spec.method.as_str(), spec.url);
    if !is_http_url(&spec.url) {
        return Err(format!(
            "http: `{}` is not an http:// or https:// URL with a host",
            spec.url
        )
        .into());
    }
    for (name, value) in &spec.headers {
        if let Some(problem) = header_problem(name, value) {
            return Err(format!("http: {problem}").into());
        }
    }
    let client =
        with_run(|st| Ok(st.http.clone()))?.ok_or("http: HTTP calls are not available here")?;
    let (now, deadline) = time_left()?;
    let step_timeout = spec
        .timeout_ms
        .map_or(DEFAULT_HTTP_TIMEOUT, Duration::from_millis);
    let max_response_bytes = usize::try_from(
        spec.max_response_bytes
            .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES)
            .min(MAX_HTTP_RESPONSE_BYTES),
    )
    .unwrap_or(usize::MAX);
    let exchange = client.send(HttpRequest {
        method: spec.method,
        url: spec.url.clone(),
        query: spec.query,
        headers: spec.headers,
        body: spec.body,
        auth: spec.auth,
        timeout: step_timeout.min(deadline - now),
        deadline,
        retries: spec.retries,
        max_response_bytes,
    });
    with_run(|st| {
        if let Some(t) = st.stack.last().and_then(|&(n, _)| st.trace.get_mut(n)) {
            let room = MAX_TRACED_CALLS_PER_STEP.saturating_sub(t.calls.len());
            t.calls.extend(exchange.calls.into_iter().take(room));
        }
        Ok(())
    })?;
    match exchange.result {
        Err(message) => {
            if Instant::now() >= deadline {
                Err(stop_at_deadline())
            } else {
                Err(format!("{what}: {message}").into())
            }
        }
        Ok(resp) => {
            if spec.fail_on_status && resp.status >= 400 {
                let body = cut_text(&String::from_utf8_lossy(&resp.body), ERROR_EXCERPT_BYTES);
                let body = if body.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {body}")
                };
                Err(format!("{what} answered {}{body}", resp.status).into())
            } else {
                Ok(response_dynamic(resp))
            }
        }
    }
}

/// `#{status, ok, headers, body}`: the body is parsed as JSON when the content type says
/// JSON (and it parses), else text when it is UTF-8, else a BLOB; empty is `()`.
fn response_dynamic(resp: HttpResponse) -> Dynamic {
    let is_json = resp
        .headers
        .get("content-type")
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    let body = if resp.body.is_empty() {
        Dynamic::UNIT
    } else if let Some(v) = is_json
        .then(|| serde_json::from_slice::<Value>(&resp.body).ok())
        .flatten()
    {
        to_dynamic(&v)
    } else {
        match String::from_utf8(resp.body) {
            Ok(t) => Dynamic::from(ImmutableString::from(t)),
            Err(e) => Dynamic::from_blob(e.into_bytes()),
        }
    };
    let mut headers = rhai::Map::new();
    for (k, v) in resp.headers {
        headers.insert(k.into(), Dynamic::from(ImmutableString::from(v)));
    }
    let mut m = rhai::Map::new();
    m.insert("status".into(), Dynamic::from(INT::from(resp.status)));
    m.insert(
        "ok".into(),
        Dynamic::from((200..300).contains(&resp.status)),
    );
    m.insert("headers".into(), Dynamic::from_map(headers));
    m.insert("body".into(), body);
    Dynamic::from_map(m)
}

fn literal_body(body_type: HttpBodyType, v: &Value) -> Result<RequestBody, String> {
    Ok(match (body_type, v) {
        (_, Value::Null) => RequestBody::None,
        (HttpBodyType::Json, v) => RequestBody::Json(v.clone()),
        (HttpBodyType::Form, Value::Object(m)) => RequestBody::Form(
            m.iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect(),
        ),
        (HttpBodyType::Text, Value::String(s)) => RequestBody::Text(s.clone()),
        (HttpBodyType::Raw, Value::String(s)) => RequestBody::Raw(s.as_bytes().to_vec()),
        (t, _) => return Err(format!("http: a {t:?} body literal has the wrong shape")),
    })
}

fn dynamic_body(body_type: HttpBodyType, v: &Dynamic) -> Result<RequestBody, String> {
    if v.is_unit() {
        return Ok(RequestBody::None);
    }
    Ok(match body_type {
        HttpBodyType::Json => {
            RequestBody::Json(to_json(v).map_err(|e| format!("http: the body {e}"))?)
        }
        HttpBodyType::Form => {
            let map = v
                .as_map_ref()
                .map_err(|t| format!("http: a form body must be a map, not {t}"))?;
            RequestBody::Form(
                map.iter()
                    .map(|(k, v)| (k.to_string(), to_text(v)))
                    .collect(),
            )
        }
        HttpBodyType::Text => RequestBody::Text(to_text(v)),
        HttpBodyType::Raw => RequestBody::Raw(to_bytes(v, "http: the body")?),
    })
}

fn string_pairs(v: &Dynamic, what: &str, lower: bool) -> Result<Vec<(String, String)>, String> {
    if v.is_unit() {
        return Ok(Vec::new());
    }
    let map = v
        .as_map_ref()
        .map_err(|t| format!("http: `{what}` must be a map, not {t}"))?;
    Ok(map
        .iter()
        .map(|(k, v)| {
            let k = if lower {
                k.to_ascii_lowercase()
            } else {
                k.to_string()
            };
            (k, to_text(v))
        })
        .collect())
}

/// The options map of `http(method, url, options)`.
fn options_spec(method: &str, url: &str, options: &rhai::Map) -> Result<CallSpec, String> {
    const KNOWN: &[&str] = &[
        "query",
        "headers",
        "body",
        "body_type",
        "auth",
        "timeout_ms",
        "retries",
        "max_response_bytes",
        "fail_on_status",
    ];
    if let Some(k) = options.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!(
            "http: unknown option `{k}` (known: {})",
            KNOWN.join(", ")
        ));
    }
    let method = HttpMethod::parse(method).ok_or_else(|| {
        format!("http: `{method}` is not a method (GET, POST, PUT, PATCH or DELETE)")
    })?;
    let get = |k: &str| options.get(k).cloned().unwrap_or(Dynamic::UNIT);
    let json_of = |k: &str| -> Result<Option<Value>, String> {
        let v = get(k);
        if v.is_unit() {
            Ok(None)
        } else {
            to_json(&v)
                .map(Some)
                .map_err(|e| format!("http: `{k}` {e}"))
        }
    };
    let body_type = match json_of("body_type")? {
        None => HttpBodyType::Json,
        Some(v) => serde_json::from_value(v)
            .map_err(|_| "http: `body_type` is json, form, text or raw".to_owned())?,
    };
    let auth = match json_of("auth")? {
        None => None,
        Some(v) => {
            Some(serde_json::from_value::<HttpAuth>(v).map_err(|e| format!("http: `auth`: {e}"))?)
        }
    };
    let retries = match json_of("retries")? {
        None => HttpRetries::default(),
        Some(v) => {
            serde_json::from_value::<HttpRetries>(v).map_err(|e| format!("http: `retries`: {e}"))?
        }
    };
    if retries.max > MAX_HTTP_RETRIES {
        return Err(format!("http: at most {MAX_HTTP_RETRIES} retries"));
    }
    let positive = |k: &str, max: u64| -> Result<Option<u64>, String> {
        let v = get(k);
        if v.is_unit() {
            return Ok(None);
        }
        v.as_int()
            .ok()
            .and_then(|i| u64::try_from(i).ok())
            .filter(|&i| i >= 1 && i <= max)
            .map(Some)
            .ok_or_else(|| format!("http: `{k}` is a number between 1 and {max}"))
    };
    let fail_on_status = match get("fail_on_status") {
        v if v.is_unit() => false,
        v => v
            .as_bool()
            .map_err(|t| format!("http: `fail_on_status` must be true or false, not {t}"))?,
    };
    Ok(CallSpec {
        method,
        url: url.to_owned(),
        query: string_pairs(&get("query"), "query", false)?,
        headers: string_pairs(&get("headers"), "headers", true)?,
        body: dynamic_body(body_type, &get("body"))?,
        auth,
        timeout_ms: positive("timeout_ms", MAX_HTTP_TIMEOUT_MS)?,
        retries,
        max_response_bytes: positive("max_response_bytes", MAX_HTTP_RESPONSE_BYTES)?,
        fail_on_status,
    })
}

/// Registers `http()`, `__fg_http` and the template helpers `__fg_text` and `__fg_piece`.
pub(crate) fn register_http(engine: &mut Engine) {
    engine.register_fn("__fg_text", |v: Dynamic| -> ImmutableString {
        to_text(&v).into()
    });
    engine.register_fn("__fg_piece", |v: Dynamic| -> ImmutableString {
        percent_encode(to_text(&v).as_bytes()).into()
    });
    engine.register_fn(
        "__fg_http",
        |n: INT, parts: rhai::Map, body: Dynamic| -> Res<Dynamic> {
            let spec = step_action(n, |a| match a {
                Action::Http(h) => {
                    let get = |k: &str| parts.get(k).cloned().unwrap_or(Dynamic::UNIT);
                    let body = match (&h.body, body.is_unit()) {
                        (Some(literal), true) => literal_body(h.body_type, literal)?,
                        _ => dynamic_body(h.body_type, &body)?,
                    };
                    Ok(CallSpec {
                        method: h.method,
                        url: to_text(&get("url")),
                        query: string_pairs(&get("query"), "query", false)?,
                        headers: string_pairs(&get("headers"), "headers", true)?,
                        body,
                        auth: h.auth.clone(),
                        timeout_ms: h.timeout_ms,
                        retries: h.retries.clone(),
                        max_response_bytes: h.max_response_bytes,
                        fail_on_status: h.fail_on_status,
                    })
                }
                _ => Err("not an http step".to_owned()),
            })?;
            perform(spec)
        },
    );
    engine.register_fn(
        "http",
        |method: ImmutableString, url: ImmutableString| -> Res<Dynamic> {
            perform(options_spec(&method, &url, &rhai::Map::new())?)
        },
    );
    engine.register_fn(
        "http",
        |method: ImmutableString, url: ImmutableString, options: rhai::Map| -> Res<Dynamic> {
            perform(options_spec(&method, &url, &options)?)
        },
    );
}
