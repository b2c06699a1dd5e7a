//! A consumer's call to a trigger, after the HTTP layer has checked and parsed it: the
//! idempotency look-up, the lane, and the run that fits the trigger's switches
//! (request-response or not, ordered or not). The answer is a [`CallOutcome`] that
//! `http::ingress` turns into a response.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use flowgate_api::{ExecutionStatus, ResponseSnapshot};
use flows_runtime::{Body, Input, JsonPath};
use tokio::sync::oneshot;
use tracing::Instrument;

use super::runs;
use crate::core::conclude::{broken, conclude};
use crate::core::execution::{Answer, AnswerBody, Finished, Mode, NewExecution};
use crate::core::registry::Route;
use crate::db::entities::execution;
use crate::db::executions as q;
use crate::db::idempotency::{self, Claim, ClaimKey};
use crate::db::journal::{JournalError, Write};
use crate::domain::access::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::support::ids::new_id;
use crate::support::time::{ms_to_us, now_us, rfc3339, rfc3339_opt};

/// How long an accepted call may wait for a place in the journal's queue before 503.
const QUEUE_WAIT: Duration = Duration::from_secs(5);
/// How long a request-response call waits for a free run slot before `503 busy`.
const SLOT_WAIT: Duration = Duration::from_secs(2);
/// Longest lane key accepted.
const MAX_LANE_KEY_BYTES: usize = 255;

/// A checked, parsed call.
pub struct Call {
    /// The serialized request snapshot, as the execution records it.
    pub request: String,
    pub input: Input,
    /// The body's bytes as received (`request.raw_body` in flows).
    pub raw_body: bytes::Bytes,
    /// Scoped by the credential the call came with (`input.caller`).
    pub idempotency_key: Option<String>,
    /// What the caller asked for with `Prefer` (RFC 7240).
    pub prefer: Prefer,
}

/// The preferences of a call's `Prefer` headers (RFC 7240) that Flowgate honours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prefer {
    /// `respond-async`: answer `202` rather than wait (with `wait`: rather than `504`).
    pub respond_async: bool,
    /// `wait=N` seconds, capped at the longest trigger timeout.
    pub wait: Option<Duration>,
}

impl Prefer {
    /// Reads `Prefer` header values: comma-separated preferences, each `token[=value]` with
    /// `;` parameters (ignored); names are case-insensitive and only the first instance of
    /// a preference counts. Unknown preferences and malformed values are ignored, as the RFC
    /// asks.
    pub fn parse<'a>(values: impl Iterator<Item = &'a str>, max_wait_ms: u64) -> Prefer {
        let mut out = Prefer::default();
        let (mut seen_async, mut seen_wait) = (false, false);
        for value in values {
            for pref in value.split(',') {
                let head = pref.split(';').next().unwrap_or_default();
                let (name, val) = match head.split_once('=') {
                    Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
                    None => (head.trim(), None),
                };
                if name.eq_ignore_ascii_case("respond-async") && !seen_async {
                    seen_async = true;
                    out.respond_async = true;
                } else if name.eq_ignore_ascii_case("wait") && !seen_wait {
                    seen_wait = true;
                    out.wait = val.and_then(|v| v.parse::<u64>().ok()).map(|secs| {
                        Duration::from_millis(secs.saturating_mul(1000).min(max_wait_ms))
                    });
                }
            }
        }
        out
    }

    /// The `Preference-Applied` value for a call to this trigger, if any preference applies.
    pub fn applied(&self, trigger: &flowgate_api::TriggerDoc) -> Option<String> {
        let wait = self.wait.map(|w| format!("wait={}", w.as_secs()));
        let parts: Vec<String> = match (trigger.request_response, self.respond_async, wait) {
            // A request-response trigger: `respond-async` alone answers 202 at once; with
            // `wait`, after that long instead of the trigger's timeout.
            (true, true, Some(w)) => vec!["respond-async".into(), w],
            (true, true, None) => vec!["respond-async".into()],
            // An asynchronous trigger: `wait` waits for the result.
            (false, a, w) => a
                .then(|| "respond-async".to_owned())
                .into_iter()
                .chain(w)
                .collect(),
            (true, false, _) => Vec::new(),
        };
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// What the caller is told.
#[derive(Debug)]
pub enum CallOutcome {
    /// On disk; a worker runs it (`202`). `replayed`: an earlier call with the same
    /// idempotency key.
    Accepted { id: String, replayed: bool },
    /// The flow's answer (request-response).
    Answered {
        id: String,
        answer: Answer,
        replayed: bool,
    },
    /// The flow did not answer within the trigger's timeout; the run goes on (`504`).
    TimedOut { id: String, timeout_ms: u64 },
}

/// Runs a call the way its trigger says.
pub async fn handle(state: &AppState, route: &Arc<Route>, call: Call) -> AppResult<CallOutcome> {
    let trigger = &route.doc.trigger;
    let lane_key = lane_key(route, &call.input)?;
    let id = new_id();
    let mut call = call;
    call.input.execution_id = Some(id.clone());
    let scope = call
        .input
        .caller
        .as_ref()
        .map(Caller::reference)
        .unwrap_or_default();
    if let Some(key) = &call.idempotency_key {
        if let Some(earlier) = claim_key(state, route, &scope, key, &id).await? {
            return Ok(earlier);
        }
    }
    let prefer = call.prefer;
    // `Prefer: respond-async` turns a request-response call into an asynchronous one (with
    // `wait`: only once that long has passed); `Prefer: wait` lets the caller of an
    // asynchronous trigger wait for the result.
    let go_async = !trigger.request_response || (prefer.respond_async && prefer.wait.is_none());
    let late_is_accepted = trigger.request_response && prefer.respond_async;
    let limit = match prefer.wait {
        Some(w) if late_is_accepted => w.min(timeout_of(route)),
        _ => timeout_of(route),
    };
    let exec = NewExecution {
        id: id.clone(),
        integration_id: route.integration_id.clone(),
        slug: route.slug.clone(),
        version: route.version,
        mode: if go_async { Mode::Async } else { Mode::Sync },
        ordered: trigger.ordered,
        received_at: now_us(),
        request: call.request,
        replay_of: None,
        idempotency_key: call.idempotency_key.clone(),
        lane_key,
        caller: call.input.caller.clone(),
    };
    let span = tracing::info_span!("execution", execution_id = %exec.id, integration = %route.slug, mode = exec.mode.as_str());
    let dispatch = async {
        match (go_async, trigger.ordered, prefer.wait) {
            (true, _, Some(wait)) if !trigger.request_response => {
                accept_and_wait(state, exec, wait).await
            }
            (true, _, _) => accept_async(state, exec).await,
            (false, true, _) => run_ordered_sync(state, route, exec, limit).await,
            (false, false, _) => {
                run_sync(state, route, exec, call.input, call.raw_body, limit).await
            }
        }
    };
    let outcome = match dispatch.instrument(span).await {
        Ok(CallOutcome::TimedOut { id, .. }) if late_is_accepted => Ok(CallOutcome::Accepted {
            id,
            replayed: false,
        }),
        other => other,
    };
    if let Some(key) = &call.idempotency_key {
        if outcome.is_err() {
            // Nothing was recorded: the key is free for the caller's retry.
            let k = ClaimKey {
                integration_id: &route.integration_id,
                scope: &scope,
                key,
            };
            if let Err(e) = idempotency::release(&state.db, &k, &id).await {
                tracing::warn!(error = %e, "releasing an idempotency key failed; it frees itself later");
            }
        } else {
            // The record of a request-response call is written after its answer; the caller
            // hears back once it is on disk, so a retry of the call finds it.
            let _ = state.journal.barrier().await;
        }
    }
    outcome
}

/// Claims a call's idempotency key in the database (insert-first, so one call wins even
/// across instances). `Some`: what a repeat gets instead of running again.
async fn claim_key(
    state: &AppState,
    route: &Route,
    scope: &str,
    key: &str,
    id: &str,
) -> AppResult<Option<CallOutcome>> {
    let retention_hours = route
        .doc
        .trigger
        .idempotency
        .as_ref()
        .map_or(24, |i| i.retention_hours);
    let now = now_us();
    let expires = now + i64::from(retention_hours) * 3_600_000_000;
    let k = ClaimKey {
        integration_id: &route.integration_id,
        scope,
        key,
    };
    let (first_id, claimed_at) = match idempotency::claim(&state.db, &k, id, now, expires).await? {
        Claim::Won => return Ok(None),
        Claim::Held {
            execution_id,
            claimed_at,
        } => (execution_id, claimed_at),
    };
    if let Some(first) = q::get(&state.db, &first_id).await? {
        return earlier_call(route, first).map(Some);
    }
    // Claimed, not recorded: the first call is still running (a request-response call is
    // recorded after its answer) or being accepted, or it died on the way. One that has
    // been silent for longer than its trigger could take is taken over.
    let grace = ms_to_us(route.doc.trigger.timeout_ms) + STALE_CLAIM_GRACE_US;
    if claimed_at < now - grace
        && idempotency::take_over_stale(&state.db, &k, &first_id, id, now, expires, now - grace)
            .await?
    {
        return Ok(None);
    }
    Err(AppError::IdempotencyInProgress(first_id))
}

/// How long past its trigger's timeout an unrecorded claim is waited for.
const STALE_CLAIM_GRACE_US: i64 = 60_000_000;

/// The lane of a call to an ordered trigger with a `lane_key`: the value its JSONPath selects
/// in the call (`$.request...`) or in the JSON body (any other path). A call without one runs
/// in the lane of the empty key.
fn lane_key(route: &Route, input: &Input) -> AppResult<String> {
    let trigger = &route.doc.trigger;
    let Some(path) = trigger.lane_key.as_deref().filter(|_| trigger.ordered) else {
        return Ok(String::new());
    };
    let Ok(jp) = JsonPath::parse(path) else {
        return Ok(String::new());
    };
    let value = if path.trim_start().starts_with("$.request") {
        let context = serde_json::json!({"request": {
            "method": input.method,
            "path": input.path,
            "query": input.query,
            "headers": input.headers,
            "body": match &input.body {
                Body::Json(v) => v.clone(),
                _ => serde_json::Value::Null,
            },
        }});
        jp.first(&context).cloned()
    } else {
        match &input.body {
            Body::Json(v) => jp.first(v).cloned(),
            Body::Form(m) => {
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
    if key.contains('\0') {
        return Err(AppError::BadRequest(
            "the lane key contains a NUL character".into(),
        ));
    }
    Ok(key)
}

/// What a repeat of a recorded call gets: the first call's execution (asynchronous) or its
/// stored answer (request-response, once it has ended).
fn earlier_call(route: &Route, first: execution::Model) -> AppResult<CallOutcome> {
    if !route.doc.trigger.request_response {
        return Ok(CallOutcome::Accepted {
            id: first.id,
            replayed: true,
        });
    }
    match final_answer(&first) {
        Some(answer) => Ok(CallOutcome::Answered {
            id: first.id,
            answer,
            replayed: true,
        }),
        None => Err(AppError::IdempotencyInProgress(first.id)),
    }
}

/// The stored answer of an execution that has ended; `None` while it runs.
fn final_answer(row: &execution::Model) -> Option<Answer> {
    final_response(row).map(Answer::from_snapshot)
}

/// The stored response of an execution that has ended, as recorded; `None` while it runs.
fn final_response(row: &execution::Model) -> Option<ResponseSnapshot> {
    if !ExecutionStatus::parse(&row.status).is_some_and(ExecutionStatus::is_final) {
        return None;
    }
    row.response
        .as_deref()
        .and_then(|r| serde_json::from_str::<ResponseSnapshot>(r).ok())
}

fn busy_or_stopped(e: JournalError) -> AppError {
    match e {
        JournalError::Busy => AppError::Busy,
        JournalError::Stopped => AppError::ShuttingDown,
    }
}

/// Request-response off: the call is on disk before the 202.
async fn accept_async(state: &AppState, exec: NewExecution) -> AppResult<CallOutcome> {
    let id = exec.id.clone();
    state
        .journal
        .accept(exec, QUEUE_WAIT)
        .await
        .map_err(busy_or_stopped)?
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    Ok(CallOutcome::Accepted {
        id,
        replayed: false,
    })
}

/// `Prefer: wait` on an asynchronous trigger: accepted (on disk) as always, then the caller
/// waits up to `wait` for the final answer: handed over by this instance's worker, or read
/// from the record when another instance ran it. Still running then: `202`.
async fn accept_and_wait(
    state: &AppState,
    exec: NewExecution,
    wait: Duration,
) -> AppResult<CallOutcome> {
    let id = exec.id.clone();
    let mut rx = state.wait_for(&id);
    if let Err(e) = accept_async(state, exec).await {
        state.stop_waiting(&id);
        return Err(e);
    }
    let deadline = tokio::time::Instant::now() + wait;
    let mut local = true;
    loop {
        let next_look = (tokio::time::Instant::now() + RECORD_POLL).min(deadline);
        tokio::select! {
            got = &mut rx, if local => match got {
                Ok(answer) => return Ok(answered(id, answer)),
                // Nobody here will hand it over; keep reading the record.
                Err(_) => local = false,
            },
            _ = tokio::time::sleep_until(next_look) => {
                if let Some(answer) = stored_answer(state, &id).await? {
                    state.stop_waiting(&id);
                    return Ok(answered(id, answer));
                }
                if tokio::time::Instant::now() >= deadline {
                    state.stop_waiting(&id);
                    return Ok(CallOutcome::Accepted { id, replayed: false });
                }
            }
        }
    }
}

/// `GET /t/{path}/executions/{id}`: one of the caller's own calls to this trigger. Another
/// trigger's execution, or another credential's, is "not found" (its existence is not told).
/// Open triggers let anyone holding the id follow it; a trigger called with signatures only
/// has no credential to tie a call to its caller, so its calls cannot be followed.
pub async fn follow(
    state: &AppState,
    route: &Route,
    caller: Option<&Caller>,
    id: &str,
) -> AppResult<flowgate_api::CallStatusOut> {
    if caller.is_none() && route.signing.is_some() {
        return Err(AppError::NotFollowable);
    }
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(AppError::NotFound("execution"));
    }
    let row = q::get(&state.db, id)
        .await?
        .filter(|row| row.integration_id == route.integration_id)
        .filter(|row| row.caller == caller.map(Caller::reference))
        .ok_or(AppError::NotFound("execution"))?;
    let status = ExecutionStatus::parse(&row.status).unwrap_or(ExecutionStatus::Errored);
    let response = final_response(&row);
    Ok(flowgate_api::CallStatusOut {
        execution_id: row.id,
        status,
        received_at: rfc3339(row.received_at),
        finished_at: rfc3339_opt(row.finished_at),
        attempts: row.attempts,
        next_attempt_at: rfc3339_opt(row.next_attempt_at),
        response,
    })
}

/// How often a waiting caller reads the record of its execution.
const RECORD_POLL: Duration = Duration::from_millis(250);

/// The stored answer of an execution that has ended.
async fn stored_answer(state: &AppState, id: &str) -> AppResult<Option<Answer>> {
    Ok(q::get(&state.db, id).await?.as_ref().and_then(final_answer))
}

fn timeout_of(route: &Route) -> Duration {
    Duration::from_millis(route.doc.trigger.timeout_ms)
}

fn timed_out(id: String, route: &Route) -> CallOutcome {
    CallOutcome::TimedOut {
        id,
        timeout_ms: route.doc.trigger.timeout_ms,
    }
}

fn answered(id: String, answer: Answer) -> CallOutcome {
    CallOutcome::Answered {
        id,
        answer,
        replayed: false,
    }
}

/// Request-response, ordered: the call joins its lane and the caller waits for its turn.
async fn run_ordered_sync(
    state: &AppState,
    route: &Route,
    exec: NewExecution,
    limit: Duration,
) -> AppResult<CallOutcome> {
    let id = exec.id.clone();
    let deadline = tokio::time::Instant::now() + limit;
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
        Ok(Ok(answer)) => Ok(answered(id, answer)),
        Ok(Err(_)) => Err(AppError::ShuttingDown),
        Err(_) => {
            state.stop_waiting(&id);
            Ok(timed_out(id, route))
        }
    }
}

/// Request-response, unordered: run at once (inline within the budget, else on the blocking
/// pool); record off the hot path.
async fn run_sync(
    state: &AppState,
    route: &Arc<Route>,
    exec: NewExecution,
    input: Input,
    raw_body: bytes::Bytes,
    limit: Duration,
) -> AppResult<CallOutcome> {
    let id = exec.id.clone();
    let started = now_us();
    if let Some(outcome) = runs::try_inline(state, &route.flow, &input, Some(&raw_body)) {
        let (finished, answer) = conclude(
            &id,
            &outcome,
            (started, now_us()),
            1,
            route.doc.trigger.error_response.as_ref(),
        );
        ran(route, &finished, started);
        record(state, exec, finished).await;
        return Ok(answered(id, answer));
    }
    // Over budget, or a flow with I/O: nothing of an inline attempt is kept; the run goes
    // on in its own task, so that it ends (and is recorded) even if the caller gives up.
    // It needs one of the server's run slots; when none comes free soon, `503 busy`.
    let wait = limit.min(SLOT_WAIT);
    let Some(slot) = runs::slot(state, wait).await else {
        tracing::warn!(integration = %route.slug, "every run slot is taken; call refused with 503");
        return Err(AppError::Busy);
    };
    let (tx, mut rx) = oneshot::channel::<(Answer, Finished)>();
    let flow = route.flow.clone();
    let st = state.clone();
    let run_id = id.clone();
    let held = Arc::clone(route);
    tokio::spawn(async move {
        let started = now_us();
        let outcome = runs::on_blocking_thread(&st, slot, flow, input, Some(raw_body)).await;
        let shape = held.doc.trigger.error_response.as_ref();
        let (finished, answer) = match outcome {
            Ok(outcome) => conclude(&run_id, &outcome, (started, now_us()), 1, shape),
            Err(e) => {
                let f = broken(&run_id, format!("the run was aborted: {e}"), started, 1);
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
        ran(&held, &finished, started);
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
    match tokio::time::timeout(limit, &mut rx).await {
        Ok(Ok((answer, finished))) => {
            record(state, exec, finished).await;
            Ok(answered(id, answer))
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
            Ok(timed_out(id, route))
        }
    }
}

/// Counts a run that ended (for `/metrics`).
fn ran(route: &Route, finished: &Finished, started_us: i64) {
    let took = Duration::from_micros(u64::try_from(now_us() - started_us).unwrap_or(0));
    route.metrics.run_ended(finished.status, took);
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
