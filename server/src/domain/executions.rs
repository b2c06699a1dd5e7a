//! Reading executions for the admin API.

use flowgate_api::executions::{
    BulkReplayOut, LogOut, ReplayIn, ReplayOut, ReplayVersion, StepOut,
};
use flowgate_api::{ExecutionOut, ExecutionStatus, Page, RequestSnapshot, ResponseSnapshot};

use flows_runtime::Caller;

use crate::core::conclude::redact;
use crate::core::execution::{lane_id, Mode, NewExecution};
use crate::core::signals::Committed;
use crate::db::entities::execution;
use crate::db::executions::{self as q, ListFilter};
use crate::db::journal::JournalError;
use crate::error::{AppError, AppResult};
use crate::support::ids::new_id;

use crate::state::AppState;
use crate::support::time::{now_us, parse_rfc3339, rfc3339, rfc3339_opt};

/// The credential an execution's call came with, from its columns.
pub fn caller_of(m: &execution::Model) -> Option<Caller> {
    let (kind, id) = Caller::parse_reference(m.caller.as_deref()?)?;
    Some(Caller {
        kind,
        id: id.to_owned(),
        label: m.caller_label.clone().unwrap_or_default(),
    })
}

fn to_out(m: execution::Model, full: bool) -> ExecutionOut {
    let caller = caller_of(&m);
    let status = ExecutionStatus::parse(&m.status).unwrap_or(ExecutionStatus::Errored);
    let (request, response, steps, logs) = if full {
        let request = serde_json::from_str::<RequestSnapshot>(&m.request)
            .ok()
            .map(redact);
        let response = m
            .response
            .as_deref()
            .and_then(|r| serde_json::from_str::<ResponseSnapshot>(r).ok());
        let steps = m
            .steps
            .as_deref()
            .and_then(|s| serde_json::from_str::<Vec<StepOut>>(s).ok())
            .unwrap_or_default();
        let logs = m
            .logs
            .as_deref()
            .and_then(|s| serde_json::from_str::<Vec<LogOut>>(s).ok())
            .unwrap_or_default();
        (request, response, steps, logs)
    } else {
        (None, None, Vec::new(), Vec::new())
    };
    ExecutionOut {
        id: m.id,
        integration: m.integration_slug,
        version: m.version,
        status,
        mode: m.mode,
        sequence: m.sequence,
        received_at: rfc3339(m.received_at),
        started_at: rfc3339_opt(m.started_at),
        finished_at: rfc3339_opt(m.finished_at),
        attempts: m.attempts,
        next_attempt_at: rfc3339_opt(m.next_attempt_at),
        replay_of: m.replay_of,
        lane_key: (!m.lane_key.is_empty()).then_some(m.lane_key),
        idempotency_key: m.idempotency_key,
        caller,
        request,
        response,
        steps,
        logs,
        error: m.error,
    }
}

pub async fn get(state: &AppState, id: &str) -> AppResult<ExecutionOut> {
    let m = q::get(&state.db, id)
        .await?
        .ok_or(AppError::NotFound("execution"))?;
    Ok(to_out(m, true))
}

pub struct ListQuery {
    pub integration: Option<String>,
    pub status: Option<String>,
    /// `key:<id>` or `client:<id>`.
    pub caller: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
    /// Received at or after (RFC 3339).
    pub from: Option<String>,
    /// Received before (RFC 3339).
    pub to: Option<String>,
}

/// An optional RFC 3339 parameter as Unix microseconds; 400 when it does not parse.
fn parse_time(what: &str, v: Option<&str>) -> AppResult<Option<i64>> {
    match v {
        None => Ok(None),
        Some(s) => parse_rfc3339(s).map(Some).ok_or_else(|| {
            AppError::BadRequest(format!(
                "{what} must be an RFC 3339 timestamp like 2026-11-23T08:00:00Z"
            ))
        }),
    }
}

pub async fn list(state: &AppState, query: ListQuery) -> AppResult<Page<ExecutionOut>> {
    if let Some(s) = &query.status {
        if ExecutionStatus::parse(s).is_none() {
            return Err(AppError::BadRequest(format!(
                "status must be one of {}",
                ExecutionStatus::ALL.map(|s| s.as_str()).join(", ")
            )));
        }
    }
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > 500 {
        return Err(AppError::BadRequest("limit must be 1 to 500".into()));
    }
    if let Some(c) = &query.cursor {
        if uuid::Uuid::parse_str(c).is_err() {
            return Err(AppError::BadRequest("cursor is not valid".into()));
        }
    }
    if let Some(c) = &query.caller {
        if Caller::parse_reference(c).is_none() {
            return Err(AppError::BadRequest(
                "caller must be key:<key id> or client:<OAuth client id>".into(),
            ));
        }
    }
    let received_from = parse_time("from", query.from.as_deref())?;
    let received_to = parse_time("to", query.to.as_deref())?;
    let filter = ListFilter {
        integration: query.integration,
        status: query.status,
        caller: query.caller,
        before_id: query.cursor,
        received_from,
        received_to,
        limit: limit + 1,
    };
    let mut rows = q::list(&state.db, &filter).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(500));
    let next_cursor = if more {
        rows.last().map(|r| r.id.clone())
    } else {
        None
    };
    Ok(Page {
        items: rows.into_iter().map(|m| to_out(m, false)).collect(),
        next_cursor,
    })
}

/// Most executions one bulk replay creates as new executions (dead ones are requeued in place,
/// without a limit).
pub const MAX_BULK_NEW: u64 = 10_000;

/// Wakes the workers for requeued executions (an ordered lane reads again from its start).
fn wake(state: &AppState, lane: &str, ordered: bool) {
    if ordered {
        state.signals.rewind_lane(lane);
    } else {
        state.signals.unordered_accepted();
    }
}

/// Replays one execution: a dead one goes back to the queue in place (same id and place in its
/// ordered lane); any other finished one runs again as a new asynchronous execution.
pub async fn replay(state: &AppState, id: &str, input: ReplayIn) -> AppResult<ReplayOut> {
    let m = q::get(&state.db, id)
        .await?
        .ok_or(AppError::NotFound("execution"))?;
    let status = ExecutionStatus::parse(&m.status).unwrap_or(ExecutionStatus::Errored);
    if !status.is_final() {
        return Err(AppError::Conflict(format!(
            "execution {id} is {} and cannot be replayed until it ends",
            status.as_str()
        )));
    }
    let route = state.registry.route_by_integration(&m.integration_id);
    let version = match input.version {
        ReplayVersion::Original => m.version,
        ReplayVersion::Current => route
            .as_ref()
            .map(|r| r.version)
            .ok_or(AppError::NotFound("integration"))?,
    };
    if status == ExecutionStatus::Dead {
        let ids = q::requeue_dead(
            &state.db,
            &m.integration_id,
            Some(id),
            (None, None),
            Some(version),
        )
        .await?;
        if ids.is_empty() {
            return Err(AppError::Conflict(format!(
                "execution {id} changed while it was being replayed"
            )));
        }
        wake(
            state,
            &lane_id(&m.integration_id, &m.lane_key),
            m.sequence.is_some(),
        );
        return Ok(ReplayOut {
            execution_id: id.to_owned(),
            kind: "requeued".to_owned(),
        });
    }
    let new_id = replay_as_new(state, &m, version, route.map(|r| r.doc.trigger.ordered)).await?;
    Ok(ReplayOut {
        execution_id: new_id,
        kind: "new".to_owned(),
    })
}

/// A new asynchronous execution with the stored request of `m`.
async fn replay_as_new(
    state: &AppState,
    m: &execution::Model,
    version: i64,
    ordered_now: Option<bool>,
) -> AppResult<String> {
    let ordered = ordered_now.unwrap_or(m.ordered);
    let exec = NewExecution {
        id: new_id(),
        integration_id: m.integration_id.clone(),
        slug: m.integration_slug.clone(),
        version,
        mode: Mode::Async,
        ordered,
        received_at: now_us(),
        request: m.request.clone(),
        replay_of: Some(m.id.clone()),
        idempotency_key: None,
        lane_key: if ordered {
            m.lane_key.clone()
        } else {
            String::new()
        },
        // The same consumer's call, run again.
        caller: caller_of(m),
    };
    let id = exec.id.clone();
    match state
        .journal
        .accept(exec, std::time::Duration::from_secs(5))
        .await
    {
        Ok(Ok(_)) => Ok(id),
        Ok(Err(e)) => Err(AppError::Internal(anyhow::anyhow!(e))),
        Err(JournalError::Busy) => Err(AppError::Busy),
        Err(JournalError::Stopped) => Err(AppError::ShuttingDown),
    }
}

/// Marks a dead execution skipped: its ordered lane goes on without it.
pub async fn skip(state: &AppState, id: &str) -> AppResult<ExecutionOut> {
    let m = q::get(&state.db, id)
        .await?
        .ok_or(AppError::NotFound("execution"))?;
    if !q::skip_dead(&state.db, id).await? {
        return Err(AppError::Conflict(format!(
            "execution {id} is {}; only dead executions can be skipped",
            m.status
        )));
    }
    wake(
        state,
        &lane_id(&m.integration_id, &m.lane_key),
        m.sequence.is_some(),
    );
    get(state, id).await
}

/// Replays the executions of one integration in a status (default `dead`) and time range.
pub async fn replay_bulk(
    state: &AppState,
    slug: &str,
    input: ReplayIn,
) -> AppResult<BulkReplayOut> {
    let integration = crate::domain::integrations::find(state, slug).await?;
    if integration.version == 0 {
        return Err(AppError::Conflict(format!(
            "integration {slug} was never published; it has no executions to replay"
        )));
    }
    let range = (
        parse_time("from", input.from.as_deref())?,
        parse_time("to", input.to.as_deref())?,
    );
    let version = match input.version {
        ReplayVersion::Original => None,
        ReplayVersion::Current => Some(integration.version),
    };
    let status = input.status.unwrap_or(ExecutionStatus::Dead);
    match status {
        ExecutionStatus::Dead => {
            let ids = q::requeue_dead(&state.db, &integration.id, None, range, version).await?;
            if !ids.is_empty() {
                let route = state.registry.route_by_integration(&integration.id);
                wake(
                    state,
                    &integration.id,
                    route.is_some_and(|r| r.doc.trigger.ordered),
                );
                // Queued ordered executions of earlier versions may sit in the unordered pool.
                state.signals.unordered_accepted();
            }
            Ok(BulkReplayOut {
                requeued: ids.len() as u64,
                created: 0,
            })
        }
        ExecutionStatus::Failed | ExecutionStatus::Errored | ExecutionStatus::Succeeded => {
            let rows = q::finished_in_range(
                &state.db,
                &integration.id,
                status.as_str(),
                range,
                MAX_BULK_NEW,
            )
            .await?;
            let ordered = state
                .registry
                .route_by_integration(&integration.id)
                .map(|r| r.doc.trigger.ordered);
            let mut created = 0;
            for m in &rows {
                let v = version.unwrap_or(m.version);
                replay_as_new(state, m, v, ordered).await?;
                created += 1;
            }
            Ok(BulkReplayOut {
                requeued: 0,
                created,
            })
        }
        other => Err(AppError::BadRequest(format!(
            "status must be dead, failed, errored or succeeded, not {}",
            other.as_str()
        ))),
    }
}
