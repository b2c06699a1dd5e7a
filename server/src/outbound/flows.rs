//! Outbound HTTP for flows: the [`HttpClient`] the flow runtime calls from the blocking thread
//! a flow runs on. One shared `reqwest` client (connections pooled per host); each call is
//! driven on the server's tokio runtime with `Handle::block_on`, so the flow's thread waits
//! while the async workers stay free. Stored secrets are resolved here, OAuth2 tokens
//! fetched and cached here, retries and size limits applied here, and every request is
//! traced with credentials redacted.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use flows_runtime::model::{HttpAuth, HttpRetries};
use flows_runtime::{
    HttpCallTrace, HttpClient, HttpExchange, HttpRequest, HttpResponse, RequestBody,
    MAX_CALL_EXCERPT_BYTES,
};
use sea_orm::{DatabaseConnection, EntityTrait};

use flowgate_api::{sensitive_header, REDACTED};

use super::client::{self, describe, read_limited};
use super::guard::Guard;
use crate::core::retry::retry_after;
use crate::db::entities::secret;
use crate::support::crypto::{self, ServerSecret};

/// Default first retry delay and longest delay between attempts.
const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(200);
const DEFAULT_MAX_RETRY_DELAY: Duration = Duration::from_secs(10);
/// A cached token is renewed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);
/// Tokens without `expires_in` are kept this long.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// Largest token endpoint answer read.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

type TokenKey = (String, String, Option<String>);

/// The flows' HTTP client (see the module docs).
pub struct FlowHttpClient {
    client: reqwest::Client,
    handle: tokio::runtime::Handle,
    db: DatabaseConnection,
    server_secret: ServerSecret,
    guard: Guard,
    /// OAuth2 access tokens by (token URL, client id, scope): the token and when to renew it.
    tokens: Mutex<HashMap<TokenKey, (String, Instant)>>,
    /// Token requests made (for tests and metrics).
    token_requests: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for FlowHttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowHttpClient").finish_non_exhaustive()
    }
}

/// Why a call got no usable answer, and whether trying again may help.
struct Failure {
    message: String,
    retryable: bool,
}

/// Credentials of one call, resolved.
struct Resolved {
    header: Option<(String, String)>,
    /// Secret values (and tokens) to blank out of traces.
    secrets: Vec<String>,
}

impl FlowHttpClient {
    pub fn new(
        db: DatabaseConnection,
        server_secret: ServerSecret,
        handle: tokio::runtime::Handle,
        guard: Guard,
    ) -> anyhow::Result<FlowHttpClient> {
        // Redirects are followed here, hop by hop (see `send_following`).
        let client = client::builder(concat!("Flowgate/", env!("CARGO_PKG_VERSION")), &guard)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(FlowHttpClient {
            client,
            handle,
            db,
            server_secret,
            guard,
            tokens: Mutex::new(HashMap::new()),
            token_requests: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// OAuth2 token requests made so far.
    pub fn token_requests(&self) -> u64 {
        self.token_requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A stored secret's value, for a request to `host`: refused when the secret is bound to
    /// other hosts.
    async fn secret(&self, name: &str, host: &str) -> Result<String, Failure> {
        let fail = |message: String| Failure {
            message,
            retryable: false,
        };
        let row = secret::Entity::find_by_id(name.to_owned())
            .one(&self.db)
            .await
            .map_err(|e| fail(format!("reading secret `{name}` failed: {e}")))?
            .ok_or_else(|| fail(format!("secret `{name}` does not exist")))?;
        let hosts: Vec<&str> = row.hosts.split(' ').filter(|h| !h.is_empty()).collect();
        if !hosts.is_empty()
            && !hosts
                .iter()
                .any(|p| flowgate_api::secrets::host_matches(p, host))
        {
            return Err(fail(format!(
                "secret `{name}` may only be sent to {}, not to {host}",
                hosts.join(", ")
            )));
        }
        crypto::open(&self.server_secret, name, &row.value)
            .ok_or_else(|| fail(format!("secret `{name}` cannot be decrypted")))
    }

    async fn resolve(
        &self,
        host: &str,
        auth: Option<&HttpAuth>,
        deadline: Instant,
        calls: &mut Vec<HttpCallTrace>,
        renew: bool,
    ) -> Result<Resolved, Failure> {
        let Some(auth) = auth else {
            return Ok(Resolved {
                header: None,
                secrets: Vec::new(),
            });
        };
        Ok(match auth {
            HttpAuth::Basic {
                username,
                password_secret,
            } => {
                let pw = self.secret(password_secret, host).await?;
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(format!("{username}:{pw}"));
                Resolved {
                    header: Some(("authorization".into(), format!("Basic {encoded}"))),
                    secrets: vec![pw, encoded],
                }
            }
            HttpAuth::Bearer { token_secret } => {
                let token = self.secret(token_secret, host).await?;
                Resolved {
                    header: Some(("authorization".into(), format!("Bearer {token}"))),
                    secrets: vec![token],
                }
            }
            HttpAuth::SecretHeader { header, secret } => {
                let value = self.secret(secret, host).await?;
                Resolved {
                    header: Some((header.to_ascii_lowercase(), value.clone())),
                    secrets: vec![value],
                }
            }
            HttpAuth::OAuth2ClientCredentials {
                token_url,
                client_id,
                client_secret_secret,
                scope,
            } => {
                let key = (token_url.clone(), client_id.clone(), scope.clone());
                let cached = if renew { None } else { self.cached_token(&key) };
                let token = match cached {
                    Some(t) => t,
                    None => {
                        let token_host = reqwest::Url::parse(token_url)
                            .ok()
                            .and_then(|u| u.host_str().map(str::to_owned))
                            .unwrap_or_default();
                        let secret = self.secret(client_secret_secret, &token_host).await?;
                        self.fetch_token(&key, &secret, deadline, calls).await?
                    }
                };
                Resolved {
                    header: Some(("authorization".into(), format!("Bearer {token}"))),
                    secrets: vec![token],
                }
            }
        })
    }

    fn cached_token(&self, key: &TokenKey) -> Option<String> {
        let guard = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .get(key)
            .filter(|(_, renew_at)| Instant::now() < *renew_at)
            .map(|(t, _)| t.clone())
    }

    async fn fetch_token(
        &self,
        key: &TokenKey,
        client_secret: &str,
        deadline: Instant,
        calls: &mut Vec<HttpCallTrace>,
    ) -> Result<String, Failure> {
        let (token_url, client_id, scope) = key;
        self.token_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret),
        ];
        if let Some(s) = scope {
            form.push(("scope", s.as_str()));
        }
        let shown_body = form
            .iter()
            .map(|(k, v)| {
                if *k == "client_secret" {
                    format!("{k}={REDACTED}")
                } else {
                    format!("{k}={v}")
                }
            })
            .collect::<Vec<_>>()
            .join("&");
        let body = serde_urlencoded::to_string(&form).unwrap_or_default();
        let timeout = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_secs(30));
        let started = Instant::now();
        let mut trace = HttpCallTrace {
            method: "POST".into(),
            url: token_url.clone(),
            attempt: 1,
            purpose: Some("token".into()),
            request_headers: BTreeMap::from([(
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            )]),
            request_body: Some(shown_body),
            ..HttpCallTrace::default()
        };
        if let Err(why) = reqwest::Url::parse(token_url)
            .map_err(|e| format!("`{token_url}` is not a valid URL ({e})"))
            .and_then(|u| self.guard.check_url(&u))
        {
            trace.error = Some(why.clone());
            calls.push(trace);
            return Err(Failure {
                message: format!("the OAuth2 token request to {token_url} was refused: {why}"),
                retryable: false,
            });
        }
        let sent = self
            .client
            .post(token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .timeout(timeout)
            .body(body)
            .send()
            .await;
        let result = match sent {
            Err(e) => Err(describe(&e)),
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers = header_map(resp.headers());
                match read_limited(resp, MAX_TOKEN_RESPONSE_BYTES).await {
                    Err(e) => Err(e),
                    Ok(bytes) => Ok((status, headers, bytes)),
                }
            }
        };
        trace.duration_us = micros(started.elapsed());
        let (status, headers, bytes) = match result {
            Err(message) => {
                trace.error = Some(message.clone());
                calls.push(trace);
                return Err(Failure {
                    message: format!("the OAuth2 token request to {token_url} failed: {message}"),
                    retryable: false,
                });
            }
            Ok(r) => r,
        };
        trace.status = Some(status);
        let parsed: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        let token = parsed
            .as_ref()
            .and_then(|v| v.get("access_token"))
            .and_then(|t| t.as_str())
            .map(str::to_owned);
        let mut shown = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(t) = &token {
            shown = shown.replace(t.as_str(), REDACTED);
        }
        if let Some(rt) = parsed
            .as_ref()
            .and_then(|v| v.get("refresh_token"))
            .and_then(|t| t.as_str())
        {
            shown = shown.replace(rt, REDACTED);
        }
        trace.response_body = Some(cut(&shown));
        trace.response_headers = redact_headers(&headers, &[], &[]);
        calls.push(trace);
        let token = match token {
            Some(t) if (200..300).contains(&status) => t,
            _ => {
                return Err(Failure {
                    message: format!(
                        "the OAuth2 token endpoint {token_url} answered {status} without an access_token"
                    ),
                    retryable: false,
                })
            }
        };
        let lifetime = parsed
            .as_ref()
            .and_then(|v| v.get("expires_in"))
            .and_then(|e| e.as_u64().or_else(|| e.as_str()?.parse().ok()))
            .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
        let margin = TOKEN_MARGIN.min(lifetime / 2);
        let renew_at = Instant::now() + lifetime.saturating_sub(margin);
        let mut guard = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        guard.insert(key.clone(), (token.clone(), renew_at));
        Ok(token)
    }

    fn drop_token(&self, auth: Option<&HttpAuth>) {
        if let Some(HttpAuth::OAuth2ClientCredentials {
            token_url,
            client_id,
            scope,
            ..
        }) = auth
        {
            let key = (token_url.clone(), client_id.clone(), scope.clone());
            let mut guard = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
            guard.remove(&key);
        }
    }

    async fn exchange(
        &self,
        req: &HttpRequest,
        calls: &mut Vec<HttpCallTrace>,
    ) -> Result<HttpResponse, String> {
        let mut url = reqwest::Url::parse(&req.url)
            .map_err(|e| format!("`{}` is not a valid URL ({e})", req.url))?;
        self.guard.check_url(&url)?;
        let host = url.host_str().unwrap_or_default().to_owned();
        if !req.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &req.query {
                pairs.append_pair(k, v);
            }
        }
        let (body, content_type, shown_body) = encode_body(&req.body);
        let mut resolved = self
            .resolve(&host, req.auth.as_ref(), req.deadline, calls, false)
            .await
            .map_err(|f| f.message)?;
        let is_oauth = matches!(req.auth, Some(HttpAuth::OAuth2ClientCredentials { .. }));
        let mut renewed = false;
        let mut retries_done = 0u32;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut headers: Vec<(String, String)> = req.headers.clone();
            if let Some(ct) = &content_type {
                if !headers.iter().any(|(k, _)| k == "content-type") {
                    headers.push(("content-type".into(), ct.clone()));
                }
            }
            if let Some((k, v)) = &resolved.header {
                headers.retain(|(name, _)| name != k);
                headers.push((k.clone(), v.clone()));
            }
            let secret_header = match &req.auth {
                Some(HttpAuth::SecretHeader { header, .. }) => Some(header.to_ascii_lowercase()),
                _ => None,
            };
            let extra: Vec<&str> = secret_header.iter().map(String::as_str).collect();
            let left = req.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err("the flow's time limit was reached".into());
            }
            let timeout = req.timeout.min(left);
            let mut trace = HttpCallTrace {
                method: req.method.as_str().to_owned(),
                url: url.to_string(),
                attempt,
                request_headers: redact_headers(
                    &headers.iter().cloned().collect(),
                    &extra,
                    &resolved.secrets,
                ),
                request_body: shown_body
                    .as_ref()
                    .map(|b| cut(&redact_text(b, &resolved.secrets))),
                ..HttpCallTrace::default()
            };
            let method = reqwest::Method::from_bytes(req.method.as_str().as_bytes())
                .map_err(|e| e.to_string())?;
            let started = Instant::now();
            let sent = self
                .send_following(
                    Outgoing {
                        method,
                        url: url.clone(),
                        headers: headers.clone(),
                        body: body.clone(),
                    },
                    timeout,
                    &extra,
                    &resolved.secrets,
                    attempt,
                    calls,
                )
                .await;
            let outcome = match sent {
                Err(f) => Err(f),
                Ok((resp, final_url)) => {
                    trace.url = final_url.to_string();
                    let status = resp.status().as_u16();
                    let resp_headers = header_map(resp.headers());
                    match read_limited(resp, req.max_response_bytes).await {
                        Ok(bytes) => Ok(HttpResponse {
                            status,
                            headers: resp_headers,
                            body: bytes,
                        }),
                        Err(message) => {
                            trace.status = Some(status);
                            trace.response_headers =
                                redact_headers(&resp_headers, &[], &resolved.secrets);
                            Err(Failure {
                                retryable: !message.contains("larger than"),
                                message,
                            })
                        }
                    }
                }
            };
            trace.duration_us = micros(started.elapsed());
            let (retryable, retry_after) = match &outcome {
                Ok(r) => {
                    trace.status = Some(r.status);
                    trace.response_headers = redact_headers(&r.headers, &[], &resolved.secrets);
                    if !r.body.is_empty() {
                        trace.response_body = Some(cut(&redact_text(
                            &String::from_utf8_lossy(&r.body),
                            &resolved.secrets,
                        )));
                    }
                    (
                        r.status == 429 || r.status >= 500,
                        r.headers.get("retry-after").and_then(|v| retry_after(v)),
                    )
                }
                Err(f) => {
                    trace.error = Some(f.message.clone());
                    (f.retryable, None)
                }
            };
            calls.push(trace);
            // A 401 with a cached OAuth2 token: renew the token once and try again.
            if is_oauth && !renewed && matches!(&outcome, Ok(r) if r.status == 401) {
                renewed = true;
                self.drop_token(req.auth.as_ref());
                resolved = self
                    .resolve(&host, req.auth.as_ref(), req.deadline, calls, true)
                    .await
                    .map_err(|f| f.message)?;
                continue;
            }
            if retryable && retries_done < req.retries.max {
                let delay = retry_delay(&req.retries, retries_done, retry_after);
                if Instant::now() + delay < req.deadline {
                    retries_done += 1;
                    tokio::time::sleep(delay).await;
                    continue;
                }
            }
            return outcome.map_err(|f| f.message);
        }
    }
}

/// A request as it goes out, hop after hop.
struct Outgoing {
    method: reqwest::Method,
    url: reqwest::Url,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 5;

impl FlowHttpClient {
    /// Sends a request and follows its redirects: every hop is checked by the SSRF guard and
    /// traced; a hop to another origin carries no credential (the auth header, secret headers,
    /// cookies, any header holding a secret), and one that would resend a body holding a
    /// secret there is refused. 301/302 after a POST and 303 continue as GET.
    #[allow(clippy::too_many_arguments)]
    async fn send_following(
        &self,
        mut out: Outgoing,
        timeout: Duration,
        secret_headers: &[&str],
        secrets: &[String],
        attempt: u32,
        calls: &mut Vec<HttpCallTrace>,
    ) -> Result<(reqwest::Response, reqwest::Url), Failure> {
        let deadline = Instant::now() + timeout;
        for hop in 0..=MAX_REDIRECTS {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut builder = self
                .client
                .request(out.method.clone(), out.url.clone())
                .timeout(left);
            for (k, v) in &out.headers {
                builder = builder.header(k.as_str(), v.as_str());
            }
            if let Some(b) = &out.body {
                builder = builder.body(b.clone());
            }
            let started = Instant::now();
            let resp = builder.send().await.map_err(|e| Failure {
                message: describe(&e),
                retryable: client::refused(&e).is_none(),
            })?;
            let status = resp.status();
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let (true, Some(location)) = (status.is_redirection(), location) else {
                return Ok((resp, out.url));
            };
            let refuse = |message: String| Failure {
                message,
                retryable: false,
            };
            calls.push(HttpCallTrace {
                method: out.method.as_str().to_owned(),
                url: out.url.to_string(),
                attempt,
                purpose: Some("redirect".into()),
                request_headers: redact_headers(
                    &out.headers.iter().cloned().collect(),
                    secret_headers,
                    secrets,
                ),
                status: Some(status.as_u16()),
                response_headers: redact_headers(&header_map(resp.headers()), &[], secrets),
                duration_us: micros(started.elapsed()),
                ..HttpCallTrace::default()
            });
            if hop == MAX_REDIRECTS {
                return Err(refuse(format!("more than {MAX_REDIRECTS} redirects")));
            }
            let next = out
                .url
                .join(&location)
                .map_err(|e| refuse(format!("the redirect to `{location}` is not a URL ({e})")))?;
            self.guard
                .check_url(&next)
                .map_err(|why| refuse(format!("the redirect to {next} was refused: {why}")))?;
            if next.origin() != out.url.origin() {
                let holds_secret = |v: &str| {
                    secrets
                        .iter()
                        .any(|s| !s.is_empty() && v.contains(s.as_str()))
                };
                out.headers.retain(|(k, v)| {
                    !flowgate_api::CREDENTIAL_HEADERS.contains(&k.as_str())
                        && !secret_headers.contains(&k.as_str())
                        && !holds_secret(v)
                });
                let keeps_body = matches!(status.as_u16(), 307 | 308);
                if keeps_body
                    && out
                        .body
                        .as_ref()
                        .is_some_and(|b| holds_secret(&String::from_utf8_lossy(b)))
                {
                    return Err(refuse(format!(
                        "the redirect to {next} would send a secret in the body to another host; refused"
                    )));
                }
            }
            let to_get = status == reqwest::StatusCode::SEE_OTHER
                || (matches!(status.as_u16(), 301 | 302) && out.method == reqwest::Method::POST);
            if to_get {
                out.method = reqwest::Method::GET;
                out.body = None;
                out.headers
                    .retain(|(k, _)| k != "content-type" && k != "content-length");
            }
            out.url = next;
        }
        Err(Failure {
            message: format!("more than {MAX_REDIRECTS} redirects"),
            retryable: false,
        })
    }
}

impl HttpClient for FlowHttpClient {
    fn send(&self, request: HttpRequest) -> HttpExchange {
        let mut calls = Vec::new();
        let result = self.handle.block_on(self.exchange(&request, &mut calls));
        HttpExchange { result, calls }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The delay before retry number `done + 1`: `Retry-After` when given, else exponential;
/// capped either way.
fn retry_delay(r: &HttpRetries, done: u32, retry_after: Option<Duration>) -> Duration {
    let max = r
        .max_delay_ms
        .map_or(DEFAULT_MAX_RETRY_DELAY, Duration::from_millis);
    let base = r
        .delay_ms
        .map_or(DEFAULT_RETRY_DELAY, Duration::from_millis);
    retry_after
        .unwrap_or_else(|| base.saturating_mul(1u32 << done.min(16)))
        .min(max)
}

fn header_map(h: &reqwest::header::HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in h {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        out.entry(k.as_str().to_ascii_lowercase())
            .and_modify(|e| {
                e.push_str(", ");
                e.push_str(&v);
            })
            .or_insert(v);
    }
    out
}

/// The body's bytes, its content type and what the trace shows of it.
fn encode_body(body: &RequestBody) -> (Option<Vec<u8>>, Option<String>, Option<String>) {
    match body {
        RequestBody::None => (None, None, None),
        RequestBody::Json(v) => {
            let bytes = serde_json::to_vec(v).unwrap_or_default();
            let shown = String::from_utf8_lossy(&bytes).into_owned();
            (Some(bytes), Some("application/json".into()), Some(shown))
        }
        RequestBody::Form(pairs) => {
            let text = serde_urlencoded::to_string(pairs).unwrap_or_default();
            (
                Some(text.clone().into_bytes()),
                Some("application/x-www-form-urlencoded".into()),
                Some(text),
            )
        }
        RequestBody::Text(t) => (
            Some(t.clone().into_bytes()),
            Some("text/plain; charset=utf-8".into()),
            Some(t.clone()),
        ),
        RequestBody::Raw(b) => (
            Some(b.clone()),
            Some("application/octet-stream".into()),
            Some(String::from_utf8_lossy(b).into_owned()),
        ),
    }
}

/// Headers for a trace: credentials replaced by [`REDACTED`].
fn redact_headers(
    headers: &BTreeMap<String, String>,
    extra: &[&str],
    secrets: &[String],
) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(k, v)| {
            let k = k.to_ascii_lowercase();
            let v = if sensitive_header(&k) || extra.contains(&k.as_str()) {
                REDACTED.to_owned()
            } else {
                redact_text(v, secrets)
            };
            (k, v)
        })
        .collect()
}

/// Text with every occurrence of a secret value replaced.
fn redact_text(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for s in secrets {
        if s.len() >= 4 {
            out = out.replace(s.as_str(), REDACTED);
        }
    }
    out
}

fn cut(text: &str) -> String {
    if text.len() <= MAX_CALL_EXCERPT_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_CALL_EXCERPT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", text.get(..end).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_and_honour_retry_after_within_the_cap() {
        let r = HttpRetries {
            max: 3,
            delay_ms: Some(100),
            max_delay_ms: Some(1000),
        };
        assert_eq!(retry_delay(&r, 0, None), Duration::from_millis(100));
        assert_eq!(retry_delay(&r, 2, None), Duration::from_millis(400));
        assert_eq!(retry_delay(&r, 9, None), Duration::from_millis(1000));
        assert_eq!(
            retry_delay(&r, 0, Some(Duration::from_secs(60))),
            Duration::from_millis(1000)
        );
    }

    #[test]
    fn traces_redact_credentials() {
        let h = BTreeMap::from([
            ("Authorization".to_owned(), "Bearer abcd".to_owned()),
            ("x-key".to_owned(), "k123456".to_owned()),
            ("x-echo".to_owned(), "has k123456 inside".to_owned()),
            ("accept".to_owned(), "*/*".to_owned()),
        ]);
        let r = redact_headers(&h, &["x-key"], &["k123456".to_owned()]);
        assert_eq!(r["authorization"], REDACTED);
        assert_eq!(r["x-key"], REDACTED);
        assert_eq!(r["x-echo"], "has [redacted] inside");
        assert_eq!(r["accept"], "*/*");
        let long = "é".repeat(MAX_CALL_EXCERPT_BYTES);
        assert!(cut(&long).len() <= MAX_CALL_EXCERPT_BYTES + 3);
    }
}
