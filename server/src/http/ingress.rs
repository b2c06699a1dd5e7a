//! Consumer calls: `METHOD /t/{trigger path}`.
//!
//! Checks run cheapest first and before the body is read: route (404), method (405), API key
//! (401), content type (415), query parameters (400), size (413); then the body is parsed (400).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use tokio::sync::oneshot;
use tracing::Instrument;

use crate::auth::same_digest;
use crate::error::{AppError, AppResult};
use crate::executions::{self, Answer, AnswerBody, Finished, Mode, NewExecution};
use crate::journal::{JournalError, Write};
use crate::registry::Route;
use crate::time::now_us;
use crate::AppState;

const EXECUTION_HEADER: &str = "x-flowgate-execution-id";
/// How long an accepted call may wait for a place in the journal's queue before 503.
const QUEUE_WAIT: Duration = Duration::from_secs(5);

pub async fn call(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let raw_path = req.path().strip_prefix("/t/").unwrap_or_default();
    let path = if raw_path.contains('%') {
        percent_encoding::percent_decode_str(raw_path).decode_utf8_lossy()
    } else {
        std::borrow::Cow::Borrowed(raw_path)
    };
    let route = state
        .registry
        .route(&path)
        .filter(|r| r.enabled)
        .ok_or(AppError::NotFound("trigger"))?;
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
    check_key(&state, &route, &req)?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    check_content_type(&route, content_type.as_deref(), &req)?;
    let query = query_params(&route, req.query_string())?;
    let limit = route.doc.trigger.max_body_bytes;
    let bytes = read_body(payload, &req, limit).await?;
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
    let snapshot = executions::snapshot(
        method,
        req.path(),
        query.clone(),
        headers.clone(),
        content_type,
        &body,
    );
    let request = serde_json::to_string(&snapshot).map_err(anyhow::Error::from)?;
    drop(snapshot);
    headers.remove("x-api-key");
    let input = flows_runtime::Input {
        method: method.to_owned(),
        path: req.path().to_owned(),
        query,
        headers,
        body,
    };
    let trigger = &route.doc.trigger;
    let idempotency_key = idempotency_key(&route, &req, &input.body)?;
    let lane_key = lane_key(&route, &input)?;
    let _in_flight = match &idempotency_key {
        Some(key) => {
            if let Some(earlier) = earlier_call(&state, &route, key).await? {
                return Ok(earlier);
            }
            Some(InFlight::claim(&state, &route.integration_id, key)?)
        }
        None => None,
    };
    let exec = NewExecution {
        id: executions::new_id(),
        integration_id: route.integration_id.clone(),
        slug: route.slug.clone(),
        version: route.version,
        mode: if trigger.request_response {
            Mode::Sync
        } else {
            Mode::Async
        },
        ordered: trigger.ordered,
        received_at: now_us(),
        request,
        replay_of: None,
        idempotency_key: idempotency_key.clone(),
        lane_key,
    };
    let span = tracing::info_span!("execution", execution_id = %exec.id, integration = %route.slug, mode = exec.mode.as_str());
    let dispatch = async {
        match (trigger.request_response, trigger.ordered) {
            (false, _) => accept_async(&state, exec).await,
            (true, true) => run_ordered_sync(&state, &route, exec).await,
            (true, false) => run_sync(&state, &route, exec, input, bytes.freeze()).await,
        }
    };
    let answer = dispatch.instrument(span).await;
    if idempotency_key.is_some() {
        // The record of a request-response call is written after its answer; the key is
        // released only once it is on disk, so a retry of the call finds it.
        let _ = state.journal.barrier().await;
    }
    answer
}

/// Longest lane key accepted.
const MAX_LANE_KEY_BYTES: usize = 255;

/// The lane of a call to an ordered trigger with a `lane_key`: the value its JSONPath selects
/// in the call (`$.request...`) or in the JSON body (any other path). A call without one runs
/// in the lane of the empty key.
fn lane_key(route: &Route, input: &flows_runtime::Input) -> AppResult<String> {
    let trigger = &route.doc.trigger;
    let Some(path) = trigger.lane_key.as_deref().filter(|_| trigger.ordered) else {
        return Ok(String::new());
    };
    let Ok(jp) = flows_runtime::JsonPath::parse(path) else {
        return Ok(String::new());
    };
    let value = if path.trim_start().starts_with("$.request") {
        let context = serde_json::json!({"request": {
            "method": input.method,
            "path": input.path,
            "query": input.query,
            "headers": input.headers,
            "body": match &input.body {
                flows_runtime::Body::Json(v) => v.clone(),
                _ => serde_json::Value::Null,
            },
        }});
        jp.first(&context).cloned()
    } else {
        match &input.body {
            flows_runtime::Body::Json(v) => jp.first(v).cloned(),
            flows_runtime::Body::Form(m) => {
                let v = serde_json::to_value(m).unwrap_or_default();
                jp.first(&v).cloned()
            }
            _ => None,
        }
    };
    let key = match value {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    };
    if key.len() > MAX_LANE_KEY_BYTES {
        return Err(AppError::BadRequest(format!(
            "the lane key is longer than {MAX_LANE_KEY_BYTES} bytes"
        )));
    }
    Ok(key)
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
        other => Ok(other),
    }
}

/// The answer for a call whose key was seen within the retention: the first call's
/// execution (asynchronous) or its stored answer (request-response).
async fn earlier_call(
    state: &AppState,
    route: &Route,
    key: &str,
) -> AppResult<Option<HttpResponse>> {
    let retention_hours = route
        .doc
        .trigger
        .idempotency
        .as_ref()
        .map_or(24, |i| i.retention_hours);
    let since = now_us() - i64::from(retention_hours) * 3_600_000_000;
    let Some(first) =
        crate::db::executions::by_idempotency_key(&state.db, &route.integration_id, key, since)
            .await?
    else {
        return Ok(None);
    };
    if !route.doc.trigger.request_response {
        return Ok(Some(
            HttpResponse::Accepted()
                .insert_header((header::LOCATION, format!("/api/v1/executions/{}", first.id)))
                .insert_header((EXECUTION_HEADER, first.id.clone()))
                .insert_header((REPLAYED_HEADER, "true"))
                .json(serde_json::json!({"execution_id": first.id})),
        ));
    }
    let stored = first
        .response
        .as_deref()
        .and_then(|r| serde_json::from_str::<flowgate_api::ResponseSnapshot>(r).ok());
    let final_status = flowgate_api::ExecutionStatus::parse(&first.status)
        .is_some_and(flowgate_api::ExecutionStatus::is_final);
    match stored {
        Some(snap) if final_status => {
            let mut resp = respond(&first.id, Answer::from_snapshot(snap));
            resp.headers_mut().insert(
                HeaderName::from_static(REPLAYED_HEADER),
                HeaderValue::from_static("true"),
            );
            Ok(Some(resp))
        }
        _ => Err(AppError::IdempotencyInProgress(first.id)),
    }
}

/// An idempotency key being accepted on this instance; released on drop.
struct InFlight {
    state: AppState,
    entry: String,
}

impl InFlight {
    fn claim(state: &AppState, integration_id: &str, key: &str) -> AppResult<InFlight> {
        let entry = format!("{integration_id}\n{key}");
        let mut set = match state.idempotency_in_flight.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if !set.insert(entry.clone()) {
            return Err(AppError::IdempotencyRace);
        }
        Ok(InFlight {
            state: state.clone(),
            entry,
        })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut set = match self.state.idempotency_in_flight.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        set.remove(&self.entry);
    }
}

fn check_key(state: &AppState, route: &Route, req: &HttpRequest) -> AppResult<()> {
    let Some(allowed) = &route.keys else {
        return Ok(());
    };
    let presented = req
        .headers()
        .get("x-api-key")
        .map(|v| v.as_bytes())
        .filter(|v| !v.is_empty())
        .ok_or(AppError::InvalidApiKey)?;
    let digest = state.secret.digest(presented);
    let key = state
        .registry
        .key_by_digest(&digest)
        .filter(|k| same_digest(&k.digest, &digest) && allowed.contains(&k.id))
        .ok_or(AppError::InvalidApiKey)?;
    state.registry.mark_used(&key.id);
    Ok(())
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
    match executions::refused_media_type(accepted, content_type) {
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
    executions::apply_query_params(&route.doc.trigger.query_params, &mut query)
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

fn busy_or_stopped(e: JournalError) -> AppError {
    match e {
        JournalError::Busy => AppError::Busy,
        JournalError::Stopped => AppError::ShuttingDown,
    }
}

/// Request-response off: the call is on disk before the 202.
async fn accept_async(state: &AppState, exec: NewExecution) -> AppResult<HttpResponse> {
    let id = exec.id.clone();
    state
        .journal
        .accept(exec, QUEUE_WAIT)
        .await
        .map_err(busy_or_stopped)?
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/executions/{id}")))
        .insert_header((EXECUTION_HEADER, id.clone()))
        .json(serde_json::json!({"execution_id": id})))
}

fn timeout_of(route: &Route) -> Duration {
    Duration::from_millis(route.doc.trigger.timeout_ms)
}

fn gateway_timeout(id: &str, route: &Route) -> HttpResponse {
    let mut body = flowgate_api::ErrorBody::new(
        "timeout",
        format!(
            "the flow did not answer within {} ms; it goes on as execution {id}",
            route.doc.trigger.timeout_ms
        ),
    );
    body.error.execution_id = Some(id.to_owned());
    HttpResponse::GatewayTimeout()
        .insert_header((EXECUTION_HEADER, id.to_owned()))
        .json(body)
}

/// Request-response, ordered: the call joins its lane and the caller waits for its turn.
async fn run_ordered_sync(
    state: &AppState,
    route: &Route,
    exec: NewExecution,
) -> AppResult<HttpResponse> {
    let id = exec.id.clone();
    let deadline = tokio::time::Instant::now() + timeout_of(route);
    let rx = state.wait_for(&id);
    let accepted = state.journal.accept(exec, QUEUE_WAIT).await;
    match accepted {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            state.stop_waiting(&id);
            return Err(AppError::Internal(anyhow::anyhow!(e)));
        }
        Err(e) => {
            state.stop_waiting(&id);
            return Err(busy_or_stopped(e));
        }
    }
    match tokio::time::timeout_at(deadline, rx).await {
        Ok(Ok(answer)) => Ok(respond(&id, answer)),
        Ok(Err(_)) => Err(AppError::ShuttingDown),
        Err(_) => {
            state.stop_waiting(&id);
            Ok(gateway_timeout(&id, route))
        }
    }
}

/// Request-response, unordered: run at once on the blocking pool; record off the hot path.
async fn run_sync(
    state: &AppState,
    route: &Arc<Route>,
    exec: NewExecution,
    input: flows_runtime::Input,
    raw_body: web::Bytes,
) -> AppResult<HttpResponse> {
    let id = exec.id.clone();
    let budget = Duration::from_micros(state.cfg.runtime.inline_budget_us);
    // A flow that makes HTTP calls runs once, on a blocking thread: never inline, where an
    // over-budget run would be thrown away and its calls made again.
    if !budget.is_zero() && !route.flow.does_io() {
        let started = now_us();
        let inline = state
            .runtime
            .try_execute_within(&route.flow, &input, Some(&raw_body), budget);
        if let Ok(outcome) = inline {
            let (finished, answer) = executions::conclude(&id, &outcome, started, now_us(), 1);
            record(state, exec, finished).await;
            return Ok(respond(&id, answer));
        }
        // Over budget: nothing of that run is kept; run it again where it may block.
    }
    let (tx, mut rx) = oneshot::channel::<(Answer, Finished)>();
    let runtime = Arc::clone(&state.runtime);
    let flow = route.flow.clone();
    let st = state.clone();
    let run_id = id.clone();
    tokio::spawn(async move {
        let started = now_us();
        let outcome = tokio::task::spawn_blocking(move || {
            runtime.execute_with_raw_body(&flow, &input, &raw_body)
        })
        .await;
        let (finished, answer) = match outcome {
            Ok(outcome) => executions::conclude(&run_id, &outcome, started, now_us(), 1),
            Err(e) => {
                let f =
                    executions::broken(&run_id, format!("the run was aborted: {e}"), started, 1);
                let a = Answer {
                    status: 500,
                    headers: BTreeMap::new(),
                    body: AnswerBody::Json(
                        serde_json::json!({"error": {"code": "flow_failed", "message": "the flow failed", "execution_id": run_id}}),
                    ),
                };
                (f, a)
            }
        };
        // The caller gave up (timeout): its handler wrote a "running" row; finish it.
        if let Err((_, finished)) = tx.send((answer, finished)) {
            if st
                .journal
                .write(Write::Finish(finished, None))
                .await
                .is_err()
            {
                tracing::error!(execution_id = %run_id, "journal stopped; execution end not recorded");
            }
        }
    });
    match tokio::time::timeout(timeout_of(route), &mut rx).await {
        Ok(Ok((answer, finished))) => {
            record(state, exec, finished).await;
            Ok(respond(&id, answer))
        }
        Ok(Err(_)) => Err(AppError::Internal(anyhow::anyhow!("the run task vanished"))),
        Err(_) => {
            let started_at = exec.received_at;
            if state
                .journal
                .write(Write::Running { exec, started_at })
                .await
                .is_err()
            {
                tracing::error!(execution_id = %id, "journal stopped; execution not recorded");
            }
            rx.close();
            if let Ok((_, finished)) = rx.try_recv() {
                let _ = state.journal.write(Write::Finish(finished, None)).await;
            }
            Ok(gateway_timeout(&id, route))
        }
    }
}

/// Queues the record of a request-response execution that ran. Back-pressure: if the
/// journal is full, the caller waits here; nothing is dropped.
async fn record(state: &AppState, exec: NewExecution, done: Finished) {
    let id = exec.id.clone();
    if state
        .journal
        .write(Write::Record { exec, done })
        .await
        .is_err()
    {
        tracing::error!(execution_id = %id, "journal stopped; execution not recorded");
    }
}

/// Turns a flow's answer into the HTTP response.
fn respond(id: &str, answer: Answer) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = HttpResponse::build(status);
    let mut has_type = false;
    for (k, v) in &answer.headers {
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
    use crate::executions::{media_matches, refused_media_type};

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
