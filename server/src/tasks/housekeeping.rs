//! Periodic chores off the hot path: pruning old executions, recording API key use.

use std::time::Duration;

use crate::db;
use crate::domain::keys;
use crate::state::AppState;
use crate::support::time::{ms_to_us, now_us};
use flowgate_api::integrations::MAX_TOLERANCE_S;

/// Deletes executions past the retention settings, a batch at a time with pauses, so the
/// journal and the workers keep the database most of the time.
pub async fn prune(state: &AppState) -> anyhow::Result<u64> {
    let r = &state.cfg.retention;
    let now = now_us();
    let hours = |h: u64| i64::try_from(h.saturating_mul(3_600_000_000)).unwrap_or(i64::MAX / 4);
    let mut total = 0;
    for (dead, age) in [(false, r.max_age_hours), (true, r.dead_max_age_hours)] {
        if age == 0 {
            continue;
        }
        loop {
            if state.shutdown.is_cancelled() {
                return Ok(total);
            }
            let n = db::executions::prune_older(&state.db, dead, now - hours(age), r.batch).await?;
            total += n;
            if n < r.batch {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    if r.max_per_integration > 0 {
        for id in db::executions::integrations_with_executions(&state.db).await? {
            loop {
                if state.shutdown.is_cancelled() {
                    return Ok(total);
                }
                let n = db::executions::prune_beyond_count(
                    &state.db,
                    &id,
                    r.max_per_integration,
                    r.batch,
                )
                .await?;
                total += n;
                if n < r.batch {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    Ok(total)
}

/// Periodic chores off the hot path.
pub async fn run(state: AppState) {
    let prune_every = Duration::from_millis(state.cfg.retention.interval_ms);
    let tick = prune_every.min(Duration::from_secs(5));
    let mut next_prune = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            _ = tokio::time::sleep(tick) => {}
        }
        if let Err(e) = keys::flush_last_used(&state).await {
            tracing::warn!(error = %e, "recording key use failed");
        }
        if let Err(e) = crate::domain::oauth_clients::flush_last_used(&state).await {
            tracing::warn!(error = %e, "recording oauth client use failed");
        }
        if tokio::time::Instant::now() >= next_prune {
            next_prune = tokio::time::Instant::now() + prune_every;
            // A webhook seen longer ago than twice the longest tolerance cannot be replayed:
            // its timestamp is stale by now.
            let horizon = now_us() - 2 * ms_to_us(MAX_TOLERANCE_S * 1000);
            if let Err(e) = db::seen::prune(&state.db, horizon).await {
                tracing::warn!(error = %e, "pruning seen webhook ids failed");
            }
            if let Err(e) = db::idempotency::prune(&state.db, now_us()).await {
                tracing::warn!(error = %e, "pruning expired idempotency keys failed");
            }
            match crate::domain::users::prune_sessions(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "pruned expired sessions"),
                Err(e) => tracing::warn!(error = %e, "pruning sessions failed"),
            }
            match prune(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "pruned old executions"),
                Err(e) => tracing::warn!(error = %e, "pruning executions failed"),
            }
        }
    }
    let _ = keys::flush_last_used(&state).await;
    let _ = crate::domain::oauth_clients::flush_last_used(&state).await;
}
