//! Reading executions for the admin API.

use flowgate_api::executions::{LogOut, StepOut};
use flowgate_api::{ExecutionOut, ExecutionStatus, Page, RequestSnapshot, ResponseSnapshot};

use crate::db::entities::execution;
use crate::db::executions::{self as q, ListFilter};
use crate::error::{AppError, AppResult};
use crate::executions::redact;
use crate::time::{rfc3339, rfc3339_opt};
use crate::AppState;

fn to_out(m: execution::Model, full: bool) -> ExecutionOut {
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
    pub limit: Option<u64>,
    pub cursor: Option<String>,
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
    let filter = ListFilter {
        integration: query.integration,
        status: query.status,
        before_id: query.cursor,
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
