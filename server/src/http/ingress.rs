//! Consumer calls: `METHOD /t/{trigger path}`.
//!
//! Checks run cheapest first and before the body is read: route (404), method (405),
//! credential (401/403) and rate limits (429), content type (415), query parameters (400),
//! size (413); then the signature over the raw body (401), then the body is parsed (400) and
//! the call goes to `domain::calls`, whose outcome becomes the HTTP answer here.

use std::collections::BTreeMap;

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use crate::core::conclude;
use crate::core::execution::{Answer, AnswerBody};
use crate::core::registry::Route;
use crate::core::trigger::{apply_query_params, refused_media_type};
use crate::domain::access::{self, Presented};
use crate::domain::calls::{self, Call, CallOutcome, Prefer};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

use flowgate_api::EXECUTION_HEADER;

pub async fn call(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut matched = None;
    let resp = match answer(&req, payload, &state, &mut matched).await {
        Ok(resp) => resp,
        Err(e) => actix_web::ResponseError::error_response(&e),
    };
    let status = resp.status().as_u16();
    match &matched {
        Some(route) => route.metrics.call_answered(status),
        None => crate::telemetry::metrics::unmatched_call_answered(status),
    }
    resp
}

async fn answer(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    matched: &mut Option<std::sync::Arc<Route>>,
) -> AppResult<HttpResponse> {
    let raw_path = req.path().strip_prefix("/t/").unwrap_or_default();
    let path = if raw_path.contains('%') {
        percent_encoding::percent_decode_str(raw_path).decode_utf8_lossy()
    } else {
        std::borrow::Cow::Borrowed(raw_path)
    };
    let route = match state.registry.route(&path).filter(|r| r.enabled) {
        Some(route) => route,
        None => match follow_target(&path) {
            Some((trigger_path, id)) if req.method() == actix_web::http::Method::GET => {
                return follow(req, state, trigger_path, id, matched).await;
            }
            _ => return Err(AppError::NotFound("trigger")),
        },
    };
    *matched = Some(route.clone());
    let method = req.method().as_str();
    if !route.methods.iter().any(|m| m == method) {
        let allow = route.methods.join(", ");
        let err = AppError::MethodNotAllowed(method.to_owned());
        let mut resp = actix_web::ResponseError::error_response(&err);
        if let Ok(v) = HeaderValue::from_str(&allow) {
            resp.headers_mut().insert(header::ALLOW, v);
        }
        return Ok(resp);
    }
    let presented = presented(req);
    let bearer = presented.bearer;
    let caller = access::authenticate(state, &route, presented)?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    check_content_type(&route, content_type.as_deref(), req)?;
    let query = query_params(&route, req.query_string())?;
    let limit = route.doc.trigger.max_body_bytes;
    let bytes = read_body(payload, req, limit).await?;
    access::verify_signature(
        state,
        &route,
        |name| req.headers().get(name).and_then(|v| v.to_str().ok()),
        &bytes,
    )
    .await?;
    let body = flows_runtime::parse_body(content_type.as_deref(), &bytes).map_err(|e| {
        AppError::InvalidBody {
            code: e.code(),
            message: e.to_string(),
        }
    })?;

    let mut headers = BTreeMap::new();
    for (name, value) in req.headers() {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|e: &mut String| {
                e.push_str(", ");
                e.push_str(&v);
            })
            .or_insert(v);
    }
    let request = conclude::CallRecord {
        method,
        path: req.path(),
        query: &query,
        headers: &headers,
        content_type: content_type.as_deref(),
        body: &body,
        caller: caller.as_ref(),
    }
    .to_json()
    .map_err(anyhow::Error::from)?;
    // The credential stays out of the flow's sight.
    headers.remove("x-api-key");
    if caller.is_some() && bearer.is_some() {
        headers.remove("authorization");
    }
    let input = flows_runtime::Input {
        method: method.to_owned(),
        path: req.path().to_owned(),
        query,
        headers,
        body,
        caller,
        execution_id: None,
    };
    let idempotency_key = idempotency_key(&route, req, &input.body)?;
    let prefer = Prefer::parse(
        req.headers()
            .get_all("prefer")
            .filter_map(|v| v.to_str().ok()),
        state.cfg.triggers.max_timeout_ms,
    );
    let call = Call {
        request,
        input,
        raw_body: bytes.freeze(),
        idempotency_key,
        prefer,
    };
    let applied = prefer.applied(&route.doc.trigger);
    let mut resp = match calls::handle(state, &route, call).await? {
        CallOutcome::Accepted { id, replayed } => accepted(req.path(), &id, replayed),
        CallOutcome::Answered {
            id,
            answer,
            replayed,
        } => {
            let mut resp = respond(&id, answer, route.doc.trigger.allow_redirects);
            if replayed {
                resp.headers_mut().insert(
                    HeaderName::from_static(REPLAYED_HEADER),
                    HeaderValue::from_static("true"),
                );
            }
            resp
        }
        CallOutcome::TimedOut { id, timeout_ms } => gateway_timeout(&id, timeout_ms),
    };
    if let Some(v) = applied.and_then(|a| HeaderValue::from_str(&a).ok()) {
        resp.headers_mut()
            .insert(HeaderName::from_static("preference-applied"), v);
        resp.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("prefer"));
    }
    Ok(resp)
}

/// Longest idempotency key accepted.
const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;
const REPLAYED_HEADER: &str = "idempotent-replayed";

/// The call's idempotency key: the configured header, else the configured body path.
fn idempotency_key(
    route: &Route,
    req: &HttpRequest,
    body: &flows_runtime::Body,
) -> AppResult<Option<String>> {
    let Some(idem) = &route.doc.trigger.idempotency else {
        return Ok(None);
    };
    let from_header = req
        .headers()
        .get(idem.header.trim())
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned());
    let key = match from_header {
        Some(k) => Some(k),
        None => match (&idem.body_path, body) {
            (Some(path), flows_runtime::Body::Json(v)) => flows_runtime::JsonPath::parse(path)
                .ok()
                .and_then(|p| match p.first(v) {
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                }),
            _ => None,
        },
    };
    match key {
        Some(k) if k.is_empty() => Err(AppError::BadRequest(format!(
            "the idempotency key ({}) is empty",
            idem.header
        ))),
        Some(k) if k.len() > MAX_IDEMPOTENCY_KEY_BYTES => Err(AppError::BadRequest(format!(
            "the idempotency key is longer than {MAX_IDEMPOTENCY_KEY_BYTES} bytes"
        ))),
        Some(k) if k.contains('\0') => Err(AppError::BadRequest(
            "the idempotency key contains a NUL character".into(),
        )),
        other => Ok(other),
    }
}

/// The credential a call shows: `X-API-Key`, or a bearer token.
fn presented(req: &HttpRequest) -> Presented<'_> {
    Presented {
        api_key: req.headers().get("x-api-key").map(|v| v.as_bytes()),
        bearer: req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token),
    }
}

/// The token of `Authorization: Bearer <token>` (the scheme is case-insensitive).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn check_content_type(
    route: &Route,
    content_type: Option<&str>,
    req: &HttpRequest,
) -> AppResult<()> {
    let accepted = &route.doc.trigger.content_types;
    if accepted.is_empty() {
        return Ok(());
    }
    let has_body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|n| n > 0)
        .unwrap_or_else(|| req.headers().contains_key(header::TRANSFER_ENCODING));
    if !has_body {
        return Ok(());
    }
    match refused_media_type(accepted, content_type) {
        None => Ok(()),
        Some(essence) => Err(AppError::UnsupportedMediaType(essence)),
    }
}

fn query_params(route: &Route, raw: &str) -> AppResult<BTreeMap<String, String>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|e| AppError::BadRequest(format!("the query string is not valid: {e}")))?;
    let mut query = BTreeMap::new();
    for (k, v) in pairs {
        query.entry(k).or_insert(v);
    }
    apply_query_params(&route.doc.trigger.query_params, &mut query)
        .map_err(AppError::MissingQueryParam)?;
    Ok(query)
}

async fn read_body(
    mut payload: web::Payload,
    req: &HttpRequest,
    limit: u64,
) -> AppResult<web::BytesMut> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(AppError::PayloadTooLarge { limit });
    }
    let cap = usize::try_from(declared.unwrap_or(0).min(limit)).unwrap_or(0);
    let mut body = web::BytesMut::with_capacity(cap);
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| AppError::BadRequest(format!("reading the body failed: {e}")))?;
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(AppError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `{trigger path}/executions/{id}` of a path under `/t/`: a consumer following a call.
fn follow_target(path: &str) -> Option<(&str, &str)> {
    let (trigger, id) = path.rsplit_once("/executions/")?;
    (!trigger.is_empty() && !id.is_empty() && !id.contains('/')).then_some((trigger, id))
}

/// `GET /t/{trigger path}/executions/{id}`: the status of one of the caller's own calls and,
/// once it has ended, its answer. The same credential as for calling the trigger.
async fn follow(
    req: &HttpRequest,
    state: &AppState,
    trigger_path: &str,
    id: &str,
    matched: &mut Option<std::sync::Arc<Route>>,
) -> AppResult<HttpResponse> {
    let route = state
        .registry
        .route(trigger_path)
        .filter(|r| r.enabled)
        .ok_or(AppError::NotFound("trigger"))?;
    *matched = Some(route.clone());
    let caller = access::authenticate(state, &route, presented(req))?;
    let out = calls::follow(state, &route, caller.as_ref(), id).await?;
    let mut resp = HttpResponse::Ok();
    resp.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((EXECUTION_HEADER, out.execution_id.clone()));
    if !out.status.is_final() {
        // Polling faster than this finds nothing new for most runs.
        resp.insert_header((header::RETRY_AFTER, "1"));
    }
    Ok(resp.json(out))
}

/// `202 Accepted`: the call is on disk; the caller can follow its execution at `Location`
/// (`{the called path}/executions/{id}`, same credential).
fn accepted(called_path: &str, id: &str, replayed: bool) -> HttpResponse {
    let mut resp = HttpResponse::Accepted();
    let location = format!("{}/executions/{id}", called_path.trim_end_matches('/'));
    resp.insert_header((header::LOCATION, location))
        .insert_header((EXECUTION_HEADER, id.to_owned()));
    if replayed {
        resp.insert_header((REPLAYED_HEADER, "true"));
    }
    resp.json(serde_json::json!({"execution_id": id}))
}

/// `504`: the flow did not answer in time; the execution goes on.
fn gateway_timeout(id: &str, timeout_ms: u64) -> HttpResponse {
    let mut body = flowgate_api::ErrorBody::new(
        "timeout",
        format!("the flow did not answer within {timeout_ms} ms; it goes on as execution {id}"),
    );
    body.error.execution_id = Some(id.to_owned());
    HttpResponse::GatewayTimeout()
        .insert_header((EXECUTION_HEADER, id.to_owned()))
        .json(body)
}

/// Turns a flow's answer into the HTTP response. Headers a flow may not set (cookies,
/// hop-by-hop, Flowgate's own) are dropped; a redirect needs the trigger's opt-in.
fn respond(id: &str, answer: Answer, allow_redirects: bool) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_redirection() && !allow_redirects {
        tracing::warn!(execution_id = %id, status = answer.status, "a flow answered a redirect without trigger.allow_redirects");
        let mut body = flowgate_api::ErrorBody::new(
            "redirect_not_allowed",
            format!(
                "the flow answered {}, a redirect; the trigger does not allow redirects (allow_redirects)",
                answer.status
            ),
        );
        body.error.execution_id = Some(id.to_owned());
        return HttpResponse::InternalServerError()
            .insert_header((EXECUTION_HEADER, id.to_owned()))
            .json(body);
    }
    let mut resp = HttpResponse::build(status);
    let mut has_type = false;
    for (k, v) in &answer.headers {
        if !crate::http::headers::flow_may_set(k) {
            continue;
        }
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v))
        {
            has_type |= name == header::CONTENT_TYPE;
            resp.insert_header((name, value));
        }
    }
    resp.insert_header((EXECUTION_HEADER, id.to_owned()));
    match answer.body {
        AnswerBody::Empty => resp.finish(),
        AnswerBody::Json(v) => {
            if !has_type {
                resp.insert_header((header::CONTENT_TYPE, "application/json"));
            }
            resp.body(serde_json::to_vec(&v).unwrap_or_default())
        }
        AnswerBody::Text(t) => {
            if !has_type {
                resp.insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"));
            }
            resp.body(t)
        }
        AnswerBody::Binary(b) => {
            if !has_type {
                resp.insert_header((header::CONTENT_TYPE, "application/octet-stream"));
            }
            resp.body(b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{bearer_token, follow_target};

    #[test]
    fn follow_paths_name_a_trigger_and_an_execution() {
        assert_eq!(
            follow_target("acme/orders/executions/0190-ab"),
            Some(("acme/orders", "0190-ab"))
        );
        assert_eq!(follow_target("acme/executions/"), None);
        assert_eq!(follow_target("executions/x"), None);
        assert_eq!(follow_target("/executions/x"), None);
        assert_eq!(follow_target("a/executions/x/y"), None);
        assert_eq!(follow_target("a/b"), None);
    }
    use crate::core::trigger::{media_matches, refused_media_type};

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("HMAC abc"), None);
    }

    #[test]
    fn media_ranges_match() {
        assert!(media_matches("application/json", "application/json"));
        assert!(media_matches("text/*", "text/xml"));
        assert!(media_matches("*/*", "image/png"));
        assert!(!media_matches("text/*", "application/json"));
        assert!(!media_matches("application/json", "application/xml"));
        let accepted = ["application/json".to_owned()];
        assert_eq!(
            refused_media_type(&accepted, Some("Application/JSON; charset=utf-8")),
            None
        );
        assert_eq!(
            refused_media_type(&accepted, None).as_deref(),
            Some("(none)")
        );
        assert_eq!(refused_media_type(&[], Some("x/y")), None);
    }
}
