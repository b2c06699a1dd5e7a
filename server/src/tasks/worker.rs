//! Workers: run queued executions. Unordered triggers share a pool bounded by
//! `worker.concurrency`; each ordered trigger has one lane that runs its calls strictly one at a
//! time in sequence order.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::core::conclude::{broken, conclude, input_from_snapshot};
use crate::core::execution::{split_lane_id, Claimed, Finished, Mode};
use crate::core::retry::apply_retry_policy;
use crate::core::signals::{Handed, LaneSignal, Started, LANE_INBOX};
use crate::db::cluster;
use crate::db::executions as q;
use crate::db::journal::Write;
use crate::domain::integrations::compiled_version;
use crate::domain::runs;
use crate::state::AppState;
use crate::support::time::{ms_to_us, now_us};
use flowgate_api::integrations::{OnDead, RetryPolicy};
use flowgate_api::ExecutionStatus;

/// Starts the unordered pool and the lane supervisor; returns when `shutdown` is cancelled and
/// everything running has finished.
pub async fn run(
    state: AppState,
    mut new_lanes: mpsc::UnboundedReceiver<String>,
    shutdown: CancellationToken,
) {
    let _up = crate::state::WorkersUp::new(&state);
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(unordered_pool(state.clone(), shutdown.clone()));

    // Lanes with work left from before the start.
    match q::lanes_with_work(&state.db).await {
        Ok(ids) => {
            for id in ids {
                state.signals.wake_lane(&id);
            }
        }
        Err(e) => tracing::error!(error = %e, "listing ordered lanes failed"),
    }

    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            id = new_lanes.recv() => {
                let Some(id) = id else { break };
                let notify = {
                    let mut guard = match state.signals.lanes.lock() {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    };
                    if guard.contains_key(&id) {
                        None
                    } else {
                        let n = Arc::new(LaneSignal::default());
                        guard.insert(id.clone(), Arc::clone(&n));
                        Some(n)
                    }
                };
                if let Some(n) = notify {
                    let span = tracing::info_span!("lane", lane = %id);
                    tasks.spawn(lane(state.clone(), id, n, shutdown.clone()).instrument(span));
                }
            }
        }
    }
    while tasks.join_next().await.is_some() {}
    tracing::info!("workers stopped");
}

async fn idle(notify: &Notify, poll: Duration, shutdown: &CancellationToken) {
    tokio::select! {
        _ = notify.notified() => {}
        _ = tokio::time::sleep(poll) => {}
        _ = shutdown.cancelled() => {}
    }
}

async fn unordered_pool(state: AppState, shutdown: CancellationToken) {
    let cfg = &state.cfg.worker;
    let permits = Arc::new(Semaphore::new(cfg.concurrency));
    let poll = Duration::from_millis(cfg.poll_interval_ms);
    let owner = state.instance_id.clone();
    let lease = state.lease();
    // Calls the journal writes as running here, while the pool has room: no claim needed.
    // Weak: the journal holds the signals, and must not keep the state (and with it its
    // own queue's sender) alive, or it would never see the end of its queue on a stop.
    let weak = Arc::downgrade(&state.0);
    let may_start = move || {
        weak.upgrade()
            .map(AppState)
            .is_some_and(|s| s.may_start_work())
    };
    let inlet = state
        .signals
        .open_pool(Arc::clone(&permits), Box::new(may_start))
        .map(|rx| tokio::spawn(started_runs(state.clone(), rx, shutdown.clone())));
    let mut running = tokio::task::JoinSet::new();
    while !shutdown.is_cancelled() {
        while running.try_join_next().is_some() {}
        // Wait for at least one free slot, then claim as many as are free.
        let first = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = shutdown.cancelled() => break,
        };
        if !state.may_start_work() {
            drop(first);
            idle(&state.signals.unordered, poll, &shutdown).await;
            continue;
        }
        let free = u32::try_from(permits.available_permits() + 1).unwrap_or(u32::MAX);
        let now = now_us();
        let lease_until = now + i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2);
        let claimed = match q::claim_unordered(
            &state.db,
            &owner,
            now,
            lease_until,
            free.min(cfg.claim_batch),
        )
        .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "claiming executions failed");
                drop(first);
                idle(&state.signals.unordered, poll, &shutdown).await;
                continue;
            }
        };
        if claimed.is_empty() {
            drop(first);
            idle(&state.signals.unordered, poll, &shutdown).await;
            continue;
        }
        let mut first = Some(first);
        for c in claimed {
            let permit = match first.take() {
                Some(p) => p,
                None => match Arc::clone(&permits).acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            spawn_run(&state, &mut running, c, permit);
        }
    }
    // Graceful stop: what was claimed runs to its end.
    while running.join_next().await.is_some() {}
    if let Some(h) = inlet {
        let _ = h.await;
    }
}

/// Runs an unordered execution in its place of the pool.
fn spawn_run(
    state: &AppState,
    running: &mut tokio::task::JoinSet<()>,
    c: Claimed,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let st = state.clone();
    let span = tracing::info_span!("execution", execution_id = %c.id, integration = %c.slug, attempt = c.attempts);
    running.spawn(
        async move {
            let _permit = permit;
            run_claimed(&st, &c).await;
        }
        .instrument(span),
    );
}

/// Runs the calls the journal wrote as running here, each in the place of the pool it took
/// (the journal took it only while this instance could start work, as a claim would).
async fn started_runs(state: AppState, mut started: Started, shutdown: CancellationToken) {
    let mut running = tokio::task::JoinSet::new();
    let start = |running: &mut tokio::task::JoinSet<()>, c: Claimed, slot| {
        spawn_run(&state, running, c, slot);
    };
    loop {
        tokio::select! {
            got = started.recv() => match got {
                Some((c, slot)) => start(&mut running, c, slot),
                None => break,
            },
            _ = shutdown.cancelled() => break,
        }
        while running.try_join_next().is_some() {}
    }
    // Stopping: from now on the journal writes calls as queued; those it wrote as running
    // before are all handed over once it has committed what was queued before this point.
    state.signals.close_pool();
    let _ = state.journal.barrier().await;
    while let Ok((c, slot)) = started.try_recv() {
        start(&mut running, c, slot);
    }
    while running.join_next().await.is_some() {}
}

/// Ends an idle keyed lane: what it ran is on disk, it is no longer known here or in the
/// database. False if it could not tell (the lane then goes on).
async fn retire_keyed_lane(state: &AppState, lane_id: &str) -> bool {
    if state.journal.barrier().await.is_err() {
        return true;
    }
    {
        let mut guard = match state.signals.lanes.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard.remove(lane_id);
    }
    if let Err(e) = cluster::drop_lane(&state.db, lane_id, &state.instance_id).await {
        tracing::warn!(error = %e, "releasing an idle lane failed");
    }
    // A call committed between the last read and the removal woke a lane that no longer
    // listened: look once more, and start a new lane for it if needed.
    let (integration_id, key) = split_lane_id(lane_id);
    match q::lane_has_queued(&state.db, integration_id, key).await {
        Ok(true) => state.signals.wake_lane(lane_id),
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(error = %e, "checking an idle lane failed");
            state.signals.wake_lane(lane_id);
        }
    }
    true
}

/// How long a keyed lane (of a trigger's `lane_key`) waits without work before it goes away.
const KEYED_LANE_IDLE: Duration = Duration::from_secs(5);

async fn lane(
    state: AppState,
    lane_id: String,
    signal: Arc<LaneSignal>,
    shutdown: CancellationToken,
) {
    let (integration_id, lane_key) = split_lane_id(&lane_id);
    let (integration_id, lane_key) = (integration_id.to_owned(), lane_key.to_owned());
    let keyed = !lane_key.is_empty();
    let poll = Duration::from_millis(state.cfg.worker.poll_interval_ms);
    let mut idle_since = tokio::time::Instant::now();
    let mut owned_at: Option<tokio::time::Instant> = None;
    let recheck = Duration::from_millis(state.cfg.cluster.heartbeat_ms);
    // Sequence of the last execution this lane is done with (ended, parked or skipped).
    let mut last_sequence = 0i64;
    // Whether this lane has seen its whole queue up to `last_sequence`: then what the
    // journal hands over is everything that came since, and the lane need not read it back.
    let mut synced = false;
    while !shutdown.is_cancelled() {
        if state.signals.take_rewind(&lane_id) {
            // What this lane ran must be on disk before it reads from the start again.
            if state.journal.barrier().await.is_err() {
                return;
            }
            last_sequence = 0;
            synced = false;
        }
        // One instance runs a lane; the others stand by in case it dies. A lane stays ours
        // while our heartbeat is fresh (only a dead owner's lanes are released), so it is
        // checked again only now and then, not for every batch.
        let fresh = owned_at.is_some_and(|t: tokio::time::Instant| t.elapsed() < recheck);
        let ours = state.may_start_work()
            && (fresh || {
                let alive_since = now_us() - ms_to_us(state.cfg.cluster.dead_after_ms);
                match cluster::own_lane(&state.db, &lane_id, &state.instance_id, alive_since).await
                {
                    Ok(true) => {
                        owned_at = Some(tokio::time::Instant::now());
                        true
                    }
                    Ok(false) => {
                        owned_at = None;
                        false
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "taking the lane failed");
                        owned_at = None;
                        false
                    }
                }
            });
        if !ours {
            synced = false;
            lane_idle(&signal, poll, &shutdown).await;
            continue;
        }
        let batch = match signal.take() {
            Handed::Complete(handed) if synced => handed,
            // Read the queue (anything handed over until now is in what the read sees).
            _ => {
                let limit = u32::try_from(LANE_INBOX).unwrap_or(256);
                match q::lane_batch(&state.db, &integration_id, &lane_key, last_sequence, limit)
                    .await
                {
                    Ok(b) => {
                        synced = b.len() < LANE_INBOX;
                        b
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the lane failed");
                        synced = false;
                        lane_idle(&signal, poll, &shutdown).await;
                        continue;
                    }
                }
            }
        };
        // Handed-over executions the last read already returned are done with.
        let batch: Vec<Claimed> = batch
            .into_iter()
            .filter(|c| c.sequence.is_none_or(|s| s > last_sequence))
            .collect();
        if batch.is_empty() {
            if keyed && idle_since.elapsed() >= KEYED_LANE_IDLE {
                if retire_keyed_lane(&state, &lane_id).await {
                    return;
                }
                idle_since = tokio::time::Instant::now();
                synced = false;
                continue;
            }
            if !lane_idle(&signal, poll.min(KEYED_LANE_IDLE), &shutdown).await {
                // Nobody said so, but look anyway now and then.
                synced = false;
            }
            continue;
        }
        idle_since = tokio::time::Instant::now();
        let on_dead = retry_policy(&state, &integration_id).on_dead;
        let mut blocked = false;
        let mut whole = true;
        for c in batch {
            // Finish the current execution even when asked to stop, then stop.
            if shutdown.is_cancelled() {
                return;
            }
            if !state.may_start_work() {
                whole = false;
                break;
            }
            let seq = c.sequence.unwrap_or(last_sequence);
            if c.status == ExecutionStatus::Dead.as_str() {
                if on_dead == OnDead::Block {
                    blocked = true;
                    break;
                }
                last_sequence = seq;
                continue;
            }
            let span = tracing::info_span!("execution", execution_id = %c.id, sequence = seq);
            match run_in_lane(&state, c, &shutdown).instrument(span).await {
                LaneStep::Done => last_sequence = seq,
                LaneStep::Dead if on_dead == OnDead::Park => last_sequence = seq,
                LaneStep::Dead => {
                    blocked = true;
                    break;
                }
                LaneStep::Stopped => return,
            }
        }
        if blocked || !whole {
            synced = false;
        }
        if blocked {
            // A dead letter holds the lane until it is replayed or skipped (both wake us).
            tracing::warn!(integration_id = %integration_id, "ordered lane blocked by a dead execution");
            lane_idle(&signal, poll, &shutdown).await;
        }
    }
}

/// Waits for a lane's wake-up, at most `poll`. True if it was woken.
async fn lane_idle(signal: &LaneSignal, poll: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = signal.notified() => true,
        _ = tokio::time::sleep(poll) => false,
        _ = shutdown.cancelled() => false,
    }
}

enum LaneStep {
    Done,
    Dead,
    Stopped,
}

/// Runs one execution of a lane to its end, with its retries (the lane waits for them).
async fn run_in_lane(state: &AppState, mut c: Claimed, shutdown: &CancellationToken) -> LaneStep {
    let mut due = c.next_attempt_at;
    loop {
        if let Some(at) = due {
            let wait = Duration::from_micros(u64::try_from(at - now_us()).unwrap_or(0));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => return LaneStep::Stopped,
            }
        }
        c.attempts += 1;
        let finished = run_claimed(state, &c).await;
        match finished.status {
            ExecutionStatus::Queued => {
                due = finished.next_attempt_at;
                if state
                    .journal
                    .write(Write::Finish(finished, None))
                    .await
                    .is_err()
                {
                    return LaneStep::Stopped;
                }
            }
            // The lane re-reads the table next: the dead state must be there first.
            ExecutionStatus::Dead => {
                if state.journal.write_committed(finished).await.is_err() {
                    return LaneStep::Stopped;
                }
                return LaneStep::Dead;
            }
            _ => return LaneStep::Done,
        }
    }
}

/// The retry policy of an integration's published version (no retries once it is deleted).
fn retry_policy(state: &AppState, integration_id: &str) -> RetryPolicy {
    state
        .registry
        .route_by_integration(integration_id)
        .map(|r| r.doc.trigger.retry.clone())
        .unwrap_or(RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        })
}

/// Runs one stored execution and hands the answer to a waiting caller. Returns its end state,
/// after the retry policy for asynchronous calls, and records it, except a lane's retry or
/// dead letter (the lane records those itself).
async fn run_claimed(state: &AppState, c: &Claimed) -> Finished {
    let _held = state.hold(&c.id);
    let started = now_us();
    let (finished, answer) = match prepare(state, c).await {
        Ok((flow, input)) => match runs::run(state, flow, input).await {
            Ok(outcome) => {
                let route = state.registry.route_by_integration(&c.integration_id);
                let shape = route
                    .as_ref()
                    .and_then(|r| r.doc.trigger.error_response.as_ref());
                let (finished, answer) =
                    conclude(&c.id, &outcome, (started, now_us()), c.attempts, shape);
                (finished, Some(answer))
            }
            Err(e) => (
                broken(
                    &c.id,
                    format!("the run was aborted: {e}"),
                    started,
                    c.attempts,
                ),
                None,
            ),
        },
        Err(message) => (broken(&c.id, message, started, c.attempts), None),
    };
    let took = std::time::Duration::from_micros(u64::try_from(now_us() - started).unwrap_or(0));
    crate::telemetry::metrics::run_ended(&c.slug, finished.status, took);
    let mut finished = match c.mode {
        Mode::Async => {
            let f = apply_retry_policy(&retry_policy(state, &c.integration_id), finished, now_us());
            crate::telemetry::metrics::attempt_settled(&c.slug, f.status);
            f
        }
        Mode::Sync => finished,
    };
    // A waiting caller gets the answer of the run that settles its call: not that of an
    // asynchronous attempt that is tried again (`Prefer: wait` then ends in 202).
    if let Some(answer) = answer {
        if c.mode == Mode::Sync || finished.status.is_final() {
            let here = state.deliver(&c.id, answer);
            // The caller may wait on another instance: it reads the stored answer.
            finished.notify_waiter = c.mode == Mode::Sync && !here;
        }
    }
    let lane_keeps_it = c.sequence.is_some()
        && matches!(
            finished.status,
            ExecutionStatus::Queued | ExecutionStatus::Dead
        );
    if !lane_keeps_it
        && state
            .journal
            .write(Write::Finish(finished.clone(), None))
            .await
            .is_err()
    {
        tracing::error!(execution_id = %c.id, "journal stopped; execution end not recorded");
    }
    finished
}

/// Runs a flow: right here if it ends within the inline budget, else on a blocking thread.
async fn prepare(
    state: &AppState,
    c: &Claimed,
) -> Result<(flows_runtime::CompiledFlow, flows_runtime::Input), String> {
    let snapshot: flowgate_api::RequestSnapshot = serde_json::from_str(&c.request)
        .map_err(|e| format!("stored request is unreadable: {e}"))?;
    let mut input = input_from_snapshot(&snapshot)?;
    input.execution_id = Some(c.id.clone());
    let flow = compiled_version(state, &c.integration_id, c.version)
        .await
        .map_err(|e| format!("version {} of the flow cannot be loaded: {e}", c.version))?;
    Ok((flow, input))
}
