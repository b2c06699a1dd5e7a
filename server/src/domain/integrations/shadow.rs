//! Shadow replay: the newest recorded calls of an integration run again against its draft
//! (or, without one, its published document), and each answer is compared with the one the
//! caller got. Nothing leaves the server and nothing is written: HTTP requests are answered
//! from the execution's recorded calls (same method, URL and query), emitted events are
//! dropped, no execution is recorded. A request the recording cannot answer (none like it,
//! or its recorded body was cut at the trace excerpt size) is not made: the step sees an
//! error and the run is marked incomplete.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use flowgate_api::{
    ExecutionStatus, RequestSnapshot, ResponseSnapshot, ShadowIn, ShadowOut, ShadowRunOut,
};
use flows_runtime::HttpCallTrace;
use flows_runtime::{HttpClient, HttpExchange, HttpRequest, HttpResponse};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;

use super::{check_slug, find, flow_details, parse_doc};
use crate::core::conclude::{answer_of, input_from_snapshot};
use crate::db::entities::{execution, integration_draft};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::support::time::{parse_rfc3339, rfc3339};

/// Differences listed per call, at most.
const MAX_DIFFERENCES: usize = 20;

/// A recorded answer to one outbound request.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    url: String,
    answer: Result<HttpResponse, String>,
}

/// Answers a run's HTTP requests from one execution's recorded calls, each at most once, in
/// order; counts what it answered and what it could not.
#[derive(Default)]
struct Recording {
    calls: Mutex<(VecDeque<Recorded>, u32, Vec<String>)>,
}

impl Recording {
    fn load(&self, calls: VecDeque<Recorded>) {
        let mut g = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        *g = (calls, 0, Vec::new());
    }

    fn take(&self) -> (u32, Vec<String>) {
        let mut g = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        (g.1, std::mem::take(&mut g.2))
    }
}

impl HttpClient for Recording {
    fn send(&self, request: HttpRequest) -> HttpExchange {
        let method = request.method.as_str().to_owned();
        let url = with_query(&request.url, &request.query);
        let mut g = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let found =
            g.0.iter()
                .position(|r| r.method == method && same_url(&r.url, &url));
        let result = match found.and_then(|i| g.0.remove(i)) {
            Some(Recorded {
                answer: Ok(resp), ..
            }) => {
                g.1 += 1;
                Ok(resp)
            }
            Some(Recorded {
                answer: Err(why), ..
            }) => {
                g.2.push(format!("{method} {url}: {why}"));
                Err(format!("shadow replay: {why}; the request was not made"))
            }
            None => {
                g.2.push(format!("{method} {url}: not in the recording"));
                Err(
                    "shadow replay: the recording has no answer for this request; it was not made"
                        .to_owned(),
                )
            }
        };
        HttpExchange {
            result,
            calls: Vec::new(),
        }
    }
}

fn with_query(url: &str, query: &[(String, String)]) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if !query.is_empty() {
                u.query_pairs_mut().extend_pairs(query.iter());
            }
            u.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

/// Same scheme, host, port, path and the same query pairs in any order.
fn same_url(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => {
            let pairs = |u: &url::Url| {
                let mut p: Vec<(String, String)> = u.query_pairs().into_owned().collect();
                p.sort();
                p
            };
            a.scheme() == b.scheme()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
                && a.path() == b.path()
                && pairs(&a) == pairs(&b)
        }
        _ => a == b,
    }
}

/// The final answer of each outbound request of an execution: the last attempt of a call,
/// after its redirect hops; token requests are the client's own and are left out.
fn recorded_calls(steps: Option<&str>) -> VecDeque<Recorded> {
    #[derive(serde::Deserialize)]
    struct StepCalls {
        #[serde(default)]
        calls: Vec<HttpCallTrace>,
    }
    let steps: Vec<StepCalls> = steps
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let mut out: VecDeque<Recorded> = VecDeque::new();
    for trace in steps.into_iter().flat_map(|s| s.calls) {
        match trace.purpose.as_deref() {
            Some("token") => continue,
            Some("redirect") => {
                // The hop's answer is the request's answer; the request stays the first.
                if let Some(last) = out.back_mut() {
                    last.answer = answer_of_trace(&trace);
                }
                continue;
            }
            _ => {}
        }
        let again = trace.attempt > 1
            && out
                .back()
                .is_some_and(|l| l.method == trace.method && same_url(&l.url, &trace.url));
        if again {
            if let Some(last) = out.back_mut() {
                last.answer = answer_of_trace(&trace);
            }
        } else {
            out.push_back(Recorded {
                method: trace.method.to_ascii_uppercase(),
                url: trace.url.clone(),
                answer: answer_of_trace(&trace),
            });
        }
    }
    out
}

fn answer_of_trace(t: &HttpCallTrace) -> Result<HttpResponse, String> {
    let Some(status) = t.status else {
        return Err(format!(
            "it failed when recorded ({})",
            t.error.as_deref().unwrap_or("no answer")
        ));
    };
    let body = t.response_body.clone().unwrap_or_default();
    if body.len() > flows_runtime::MAX_CALL_EXCERPT_BYTES {
        return Err(format!(
            "its recorded answer was cut at {} bytes",
            flows_runtime::MAX_CALL_EXCERPT_BYTES
        ));
    }
    Ok(HttpResponse {
        status,
        headers: t.response_headers.clone(),
        body: body.into_bytes(),
    })
}

/// Runs the chosen recorded calls against the draft and compares the answers.
pub async fn run(state: &AppState, slug: &str, input: ShadowIn) -> AppResult<ShadowOut> {
    check_slug(slug)?;
    if input.limit == 0 || input.limit > flowgate_api::shadow::MAX_SHADOW_CALLS {
        return Err(AppError::BadRequest(format!(
            "limit must be 1 to {}",
            flowgate_api::shadow::MAX_SHADOW_CALLS
        )));
    }
    let time = |s: &Option<String>, name: &str| -> AppResult<Option<i64>> {
        match s {
            None => Ok(None),
            Some(t) => parse_rfc3339(t)
                .map(Some)
                .ok_or_else(|| AppError::BadRequest(format!("{name} is not an RFC 3339 time"))),
        }
    };
    let (from, to) = (time(&input.from, "from")?, time(&input.to, "to")?);
    let m = find(state, slug).await?;
    let (doc, against) = match integration_draft::Entity::find_by_id(m.id.clone())
        .one(&state.db)
        .await?
    {
        Some(d) => (parse_doc(&d.document)?, "draft"),
        None => (parse_doc(&m.document)?, "published"),
    };
    let finals: Vec<&str> = ExecutionStatus::ALL
        .into_iter()
        .filter(|s| s.is_final() && *s != ExecutionStatus::Skipped)
        .map(ExecutionStatus::as_str)
        .collect();
    let mut q = execution::Entity::find()
        .filter(execution::Column::IntegrationId.eq(m.id.clone()))
        .filter(execution::Column::Status.is_in(finals));
    if let Some(f) = from {
        q = q.filter(execution::Column::ReceivedAt.gte(f));
    }
    if let Some(t) = to {
        q = q.filter(execution::Column::ReceivedAt.lt(t));
    }
    let rows = q
        .order_by_desc(execution::Column::Id)
        .limit(u64::from(input.limit))
        .all(&state.db)
        .await?;

    let recording = Arc::new(Recording::default());
    let runtime = flows_runtime::Runtime::new(state.cfg.runtime_limits())
        .with_http_client(recording.clone())
        // Reads see the store as it is now; writes are not made.
        .with_data_store(Arc::new(crate::db::datastore::DbStore::read_only(
            state.db.clone(),
            tokio::runtime::Handle::current(),
        )));
    let flow = runtime
        .compile_flow(&doc.steps, &doc.on_error)
        .map_err(|e| AppError::validation("the flow is invalid", flow_details(e)))?;
    let shape = doc.trigger.error_response.clone();
    // One blocking thread runs them in turn, as real calls run off the event loop.
    let runs = tokio::task::spawn_blocking(move || {
        rows.into_iter()
            .map(|row| shadow_one(&runtime, &flow, &recording, row, shape.as_ref()))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("the shadow replay was aborted: {e}")))?;

    let total = u32::try_from(runs.len()).unwrap_or(u32::MAX);
    let same = u32::try_from(runs.iter().filter(|r| r.same).count()).unwrap_or(0);
    let incomplete = u32::try_from(
        runs.iter()
            .filter(|r| !r.unmatched_calls.is_empty() || r.error.is_some())
            .count(),
    )
    .unwrap_or(0);
    tracing::info!(integration = %slug, total, same, "shadow replay");
    Ok(ShadowOut {
        against: against.to_owned(),
        total,
        same,
        different: total - same,
        incomplete,
        runs,
    })
}

fn shadow_one(
    runtime: &flows_runtime::Runtime,
    flow: &flows_runtime::CompiledFlow,
    recording: &Recording,
    row: execution::Model,
    shape: Option<&flowgate_api::ErrorResponse>,
) -> ShadowRunOut {
    let recorded: Option<ResponseSnapshot> = row
        .response
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok());
    let base = |error: String| ShadowRunOut {
        execution_id: row.id.clone(),
        received_at: rfc3339(row.received_at),
        recorded_version: row.version,
        recorded: recorded.clone(),
        shadow: ResponseSnapshot {
            status: 0,
            headers: BTreeMap::new(),
            body: Value::Null,
        },
        shadow_status: ExecutionStatus::Errored,
        same: false,
        differences: Vec::new(),
        replayed_calls: 0,
        unmatched_calls: Vec::new(),
        error: Some(error),
    };
    let snapshot: RequestSnapshot = match serde_json::from_str(&row.request) {
        Ok(s) => s,
        Err(e) => return base(format!("the recorded request is unreadable: {e}")),
    };
    let call = match input_from_snapshot(&snapshot) {
        Ok(c) => c,
        Err(e) => return base(e),
    };
    recording.load(recorded_calls(row.steps.as_deref()));
    let outcome = runtime.execute(flow, &call);
    let (replayed, unmatched) = recording.take();
    let (status, answer, error) = answer_of(&row.id, &outcome, shape);
    let shadow = answer.snapshot();
    let differences = match &recorded {
        Some(r) => differences(r, &shadow),
        None => vec!["no recorded answer to compare with".to_owned()],
    };
    ShadowRunOut {
        same: differences.is_empty(),
        differences,
        shadow,
        shadow_status: status,
        replayed_calls: replayed,
        unmatched_calls: unmatched,
        error,
        ..base(String::new())
    }
}

/// What differs between two answers; `x-flowgate-*` headers are Flowgate's, not the flow's.
pub fn differences(then: &ResponseSnapshot, now: &ResponseSnapshot) -> Vec<String> {
    let mut out = Vec::new();
    if then.status != now.status {
        out.push(format!("status: {} → {}", then.status, now.status));
    }
    let flows = |h: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        h.iter()
            .filter(|(k, _)| !k.to_ascii_lowercase().starts_with("x-flowgate-"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect()
    };
    let (a, b) = (flows(&then.headers), flows(&now.headers));
    for (k, v) in &a {
        match b.get(k) {
            None => out.push(format!("header {k}: removed")),
            Some(w) if w != v => out.push(format!("header {k}: {v} → {w}")),
            _ => {}
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        out.push(format!("header {k}: added"));
    }
    diff_values("$", &then.body, &now.body, &mut out);
    out.truncate(MAX_DIFFERENCES);
    out
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() <= 60 {
        return s;
    }
    let mut end = 57;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", s.get(..end).unwrap_or_default())
}

/// `execution_id` in a body names the run: a shadow run has the recorded one, so it
/// compares equal.
fn diff_values(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    if out.len() >= MAX_DIFFERENCES || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let p = format!("{path}.{k}");
                match y.get(k) {
                    Some(w) => diff_values(&p, v, w, out),
                    None => out.push(format!("body {p}: removed")),
                }
            }
            for k in y.keys().filter(|k| !x.contains_key(*k)) {
                out.push(format!("body {path}.{k}: added"));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                diff_values(&format!("{path}[{i}]"), v, w, out);
            }
        }
        _ => out.push(format!("body {path}: {} → {}", short(a), short(b))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snap(status: u16, body: Value) -> ResponseSnapshot {
        ResponseSnapshot {
            status,
            headers: BTreeMap::from([("x-flowgate-execution-id".to_owned(), "e1".to_owned())]),
            body,
        }
    }

    #[test]
    fn differences_name_status_headers_and_body_paths() {
        let a = snap(200, json!({"total": 3, "items": [1, 2], "old": true}));
        let mut b = snap(201, json!({"total": 4, "items": [1, 2], "new": "x"}));
        b.headers.insert("content-type".into(), "text/plain".into());
        b.headers
            .insert("x-flowgate-execution-id".into(), "e2".into());
        let d = differences(&a, &b);
        assert_eq!(
            d,
            [
                "status: 200 → 201",
                "header content-type: added",
                "body $.old: removed",
                "body $.total: 3 → 4",
                "body $.new: added",
            ]
        );
        assert!(differences(&a, &a.clone()).is_empty());
    }

    #[test]
    fn recorded_calls_keep_the_final_answer_of_each_request() {
        let trace = |url: &str, attempt: u32, status: Option<u16>, purpose: Option<&str>| {
            json!({"method": "GET", "url": url, "attempt": attempt, "purpose": purpose,
                   "status": status, "response_body": format!("{status:?}"), "duration_us": 1})
        };
        let steps = json!([
            {"calls": [
                trace("https://auth.test/token", 1, Some(200), Some("token")),
                trace("https://api.test/a?x=1&y=2", 1, Some(503), None),
                trace("https://api.test/a?x=1&y=2", 2, Some(200), None),
            ]},
            {"calls": [
                trace("https://api.test/old", 1, Some(301), None),
                trace("https://api.test/new", 1, Some(200), Some("redirect")),
                trace("https://api.test/down", 1, None, None),
            ]}
        ])
        .to_string();
        let rec = recorded_calls(Some(&steps));
        assert_eq!(rec.len(), 3);
        assert_eq!(rec[0].answer.as_ref().map(|r| r.status), Ok(200));
        assert_eq!(rec[1].url, "https://api.test/old");
        assert_eq!(rec[1].answer.as_ref().map(|r| r.status), Ok(200));
        assert!(rec[2].answer.is_err());
        // Query pairs in another order are the same request.
        assert!(same_url("https://api.test/a?y=2&x=1", &rec[0].url));
        assert!(!same_url("https://api.test/a?x=1", &rec[0].url));
        assert!(!same_url("https://other.test/a?x=1&y=2", &rec[0].url));
    }
}
