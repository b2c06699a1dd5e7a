//! Running a compiled flow: inline on the calling thread when it finishes within the
//! configured budget, else on the blocking pool. Used by request-response calls and workers.

use std::sync::Arc;
use std::time::Duration;

use flows_runtime::{CompiledFlow, Input, Outcome};
use tokio::sync::OwnedSemaphorePermit;

use crate::state::AppState;

/// The outcome of a run made inline, if the flow makes no I/O and ends within the inline
/// budget (`runtime.inline_budget_us`); `None` otherwise, and then nothing of the attempt
/// is kept. A flow with HTTP calls never runs inline: a re-run would repeat its calls.
pub fn try_inline(
    state: &AppState,
    flow: &CompiledFlow,
    input: &Input,
    raw_body: Option<&[u8]>,
) -> Option<Outcome> {
    let budget = Duration::from_micros(state.cfg.runtime.inline_budget_us);
    if budget.is_zero() || flow.does_io() {
        return None;
    }
    state
        .runtime
        .try_execute_within(flow, input, raw_body, budget)
        .ok()
}

/// A place among the flows running on blocking threads (`runtime.max_concurrent_runs`,
/// shared by request-response calls, workers and ordered lanes): at once if one is free,
/// else after waiting up to `wait`; `None` when none came free in time.
pub async fn slot(state: &AppState, wait: Duration) -> Option<OwnedSemaphorePermit> {
    let slots = Arc::clone(&state.run_slots);
    match slots.clone().try_acquire_owned() {
        Ok(p) => Some(p),
        Err(_) => tokio::time::timeout(wait, slots.acquire_owned())
            .await
            .ok()?
            .ok(),
    }
}

/// Runs the flow on a blocking thread, where it may take its time, holding its slot.
pub async fn on_blocking_thread(
    state: &AppState,
    slot: OwnedSemaphorePermit,
    flow: CompiledFlow,
    input: Input,
    raw_body: Option<bytes::Bytes>,
) -> Result<Outcome, tokio::task::JoinError> {
    let runtime = Arc::clone(&state.runtime);
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        match raw_body {
            Some(raw) => runtime.execute_with_raw_body(&flow, &input, &raw),
            None => runtime.execute(&flow, &input),
        }
    })
    .await
}

/// Inline if it fits the budget, else on a blocking thread once a slot is free (a worker
/// waits for one: its execution stays claimed meanwhile).
pub async fn run(
    state: &AppState,
    flow: CompiledFlow,
    input: Input,
) -> Result<Outcome, tokio::task::JoinError> {
    if let Some(outcome) = try_inline(state, &flow, &input, None) {
        return Ok(outcome);
    }
    let permit = loop {
        if let Some(p) = slot(state, Duration::from_secs(3600)).await {
            break p;
        }
    };
    on_blocking_thread(state, permit, flow, input, None).await
}
