//! Being one of several instances on one PostgreSQL database (also runs, trivially, on
//! SQLite): the heartbeat, taking back the work of dead instances, and the LISTEN side of
//! the notifications the journal sends.

use std::sync::atomic::Ordering;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::DbBackend;

use crate::core::execution::Answer;
use crate::core::notice::Notice;
use crate::core::signals::Committed;
use crate::db::cluster as q;
use crate::domain::{credentials, integrations, subscriptions};
use crate::state::AppState;
use crate::support::time::{ms_to_us, now_us};

/// Heartbeat and reaper until shutdown; also listens for notifications on PostgreSQL.
pub async fn run(state: AppState) {
    let listener = (state.db.get_database_backend() == DbBackend::Postgres)
        .then(|| tokio::spawn(listen(state.clone())));
    let every = Duration::from_millis(state.cfg.cluster.heartbeat_ms);
    let dead_after = ms_to_us(state.cfg.cluster.dead_after_ms);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
        let now = now_us();
        match q::heartbeat(&state.db, &state.instance_id, now).await {
            Ok(true) => state.last_heartbeat.store(now, Ordering::Relaxed),
            Ok(false) => {
                state.last_heartbeat.store(now, Ordering::Relaxed);
                tracing::error!(
                    "this instance was taken for dead by another one; its running work may run twice"
                );
            }
            Err(e) => tracing::warn!(error = %e, "recording the heartbeat failed"),
        }
        let held = state.held();
        if !held.is_empty() {
            let until = now + i64::try_from(state.lease().as_micros()).unwrap_or(i64::MAX / 2);
            if let Err(e) = q::renew_leases(&state.db, &state.instance_id, &held, until).await {
                tracing::warn!(error = %e, "renewing the leases of running executions failed");
            }
        }
        match q::reap(&state.db, now - dead_after, now).await {
            Ok(r) if r != q::Reaped::default() => {
                tracing::warn!(
                    requeued = r.requeued,
                    closed = r.closed,
                    lanes = r.lanes,
                    "took back the work of a stopped instance or a lost run"
                );
                state.signals.unordered_accepted();
                if let Ok(ids) = crate::db::executions::lanes_with_work(&state.db).await {
                    state.signals.ordered_accepted(ids);
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "taking back the work of stopped instances failed")
            }
        }
    }
    if let Some(l) = listener {
        l.abort();
    }
}

/// Wakes the local workers for work committed by other instances, and answers local
/// request-response callers whose execution another instance ran.
async fn listen(state: AppState) {
    loop {
        let pool = state.db.get_postgres_connection_pool();
        let mut listener = match PgListener::connect_with(pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "connecting the notification listener failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(&state.notify_channel).await {
            tracing::warn!(error = %e, "listening for notifications failed");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Changes missed while (re)connecting: reload; new work is found by the workers.
        if let Err(e) = credentials::reload(&state).await {
            tracing::warn!(error = %e, "reloading credentials failed");
        }
        if let Err(e) = integrations::load_routes(&state).await {
            tracing::warn!(error = %e, "reloading integrations failed");
        }
        if let Err(e) = subscriptions::reload(&state).await {
            tracing::warn!(error = %e, "reloading subscriptions failed");
        }
        state.signals.unordered_accepted();
        state.subscriptions.wake();
        loop {
            let n = match listener.recv().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "the notification listener lost its connection");
                    break;
                }
            };
            let Some(notice) = Notice::parse(n.payload()) else {
                continue;
            };
            match notice {
                Notice::Keys => {
                    if let Err(e) = credentials::reload(&state).await {
                        tracing::warn!(error = %e, "reloading credentials failed");
                    }
                }
                Notice::Integrations => {
                    if let Err(e) = integrations::load_routes(&state).await {
                        tracing::warn!(error = %e, "reloading integrations failed");
                    }
                }
                Notice::Subscriptions => {
                    if let Err(e) = subscriptions::reload(&state).await {
                        tracing::warn!(error = %e, "reloading subscriptions failed");
                    }
                }
                Notice::Deliveries => state.subscriptions.wake(),
                Notice::Unordered => state.signals.unordered_accepted(),
                Notice::Lane(id) => state.signals.wake_lane(&id),
                Notice::Done(id) => {
                    if state.is_waiting(&id) {
                        answer_remote(&state, &id).await;
                    }
                }
            }
        }
    }
}

/// Reads the stored answer of an execution another instance ran and hands it to the caller.
async fn answer_remote(state: &AppState, id: &str) {
    match crate::db::executions::get(&state.db, id).await {
        Ok(Some(m)) => {
            if let Some(answer) = m
                .response
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok())
                .map(Answer::from_snapshot)
            {
                state.deliver(id, answer);
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, execution_id = %id, "reading a remote answer failed"),
    }
}
