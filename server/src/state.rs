//! The application state every request, worker and task shares.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::core::execution::Answer;
use crate::core::notice::Notice;
use crate::core::registry::Registry;
use crate::core::signals::Signals;
use crate::core::subscription_set::Set as SubscriptionSet;
use crate::core::throttle::Throttle;
use crate::db;
use crate::db::journal::Journal;
use crate::outbound::guard::Guard;
use crate::support::crypto::ServerSecret;
use crate::support::time::{ms_to_us, now_us};

/// Everything a request or a worker needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

pub struct Inner {
    pub cfg: Config,
    pub db: DatabaseConnection,
    pub secret: ServerSecret,
    /// `secret.token_key()`, derived once: checking an access token is one HMAC.
    pub token_key: [u8; 32],
    /// The SSRF guard of outbound calls (`outbound.allow`).
    pub guard: Guard,
    pub registry: Registry,
    /// Failed sign-ins per account and address.
    pub login_throttle: Throttle,
    pub runtime: Arc<flows_runtime::Runtime>,
    /// Flows running on blocking threads at once, all kinds together
    /// (`runtime.max_concurrent_runs`).
    pub run_slots: Arc<tokio::sync::Semaphore>,
    pub journal: Journal,
    pub signals: Arc<Signals>,
    /// Enabled event subscriptions (for the journal) and the delivery worker's wake-up.
    pub subscriptions: Arc<SubscriptionSet>,
    /// Request-response callers waiting for a queued (ordered) execution, by execution id.
    pub(crate) waiters: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    /// Executions this instance is running (claimed from the queue): their leases are
    /// renewed at every heartbeat.
    pub running: Mutex<std::collections::HashSet<String>>,
    /// Whether the worker loop is running (for `/readyz`).
    pub workers_up: std::sync::atomic::AtomicBool,
    pub instance_id: String,
    /// PostgreSQL: the LISTEN/NOTIFY channel of this Flowgate's instances.
    pub notify_channel: String,
    /// When this instance last recorded its heartbeat (µs): work is started only while it is
    /// fresh, so an instance the others may take for dead does not run what they take over.
    pub last_heartbeat: std::sync::atomic::AtomicI64,
    pub shutdown: CancellationToken,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// How long a claim on an execution lasts unless renewed.
    pub fn lease(&self) -> std::time::Duration {
        lease_for(self.runtime.limits().max_duration)
    }

    /// Marks an execution as running here until the guard is dropped.
    pub fn hold(&self, execution_id: &str) -> Held {
        let mut g = self.running.lock().unwrap_or_else(|p| p.into_inner());
        g.insert(execution_id.to_owned());
        Held {
            state: self.clone(),
            id: execution_id.to_owned(),
        }
    }

    /// The executions running here.
    pub fn held(&self) -> Vec<String> {
        let g = self.running.lock().unwrap_or_else(|p| p.into_inner());
        g.iter().cloned().collect()
    }

    /// Registers a caller that waits for the answer of a queued execution.
    pub fn wait_for(&self, execution_id: &str) -> oneshot::Receiver<Answer> {
        let (tx, rx) = oneshot::channel();
        let mut guard = match self.waiters.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard.insert(execution_id.to_owned(), tx);
        rx
    }

    pub fn stop_waiting(&self, execution_id: &str) {
        let mut guard = match self.waiters.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard.remove(execution_id);
    }

    /// Whether a caller on this instance waits for this execution.
    pub fn is_waiting(&self, execution_id: &str) -> bool {
        let guard = match self.waiters.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard.contains_key(execution_id)
    }

    /// Whether this instance may start work: its last heartbeat is recent enough that no
    /// other instance takes it for dead.
    pub fn may_start_work(&self) -> bool {
        let last = self
            .last_heartbeat
            .load(std::sync::atomic::Ordering::Relaxed);
        now_us() - last < ms_to_us(self.cfg.cluster.dead_after_ms) / 2
    }

    /// Hands an answer to the caller waiting for it; false if nobody waits here.
    pub fn deliver(&self, execution_id: &str, answer: Answer) -> bool {
        let waiter = {
            let mut guard = match self.waiters.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            guard.remove(execution_id)
        };
        match waiter {
            Some(tx) => {
                let _ = tx.send(answer);
                true
            }
            None => false,
        }
    }

    /// Tells the other instances about a change (PostgreSQL only; a failure is logged, they
    /// also reload on restart).
    pub async fn announce(&self, notice: Notice) {
        if self.db.get_database_backend() != DbBackend::Postgres {
            return;
        }
        if let Err(e) =
            db::cluster::notify(&self.db, &self.notify_channel, &[notice.payload()]).await
        {
            tracing::warn!(error = %e, "telling other instances about a change failed");
        }
    }
}

/// An execution running on this instance (see [`AppState::hold`]).
pub struct Held {
    state: AppState,
    id: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut g = self.state.running.lock().unwrap_or_else(|p| p.into_inner());
        g.remove(&self.id);
    }
}

/// Marks the workers as running while it lives (also when the loop ends by a panic).
pub struct WorkersUp(pub AppState);

impl WorkersUp {
    pub fn new(state: &AppState) -> WorkersUp {
        state
            .workers_up
            .store(true, std::sync::atomic::Ordering::Relaxed);
        WorkersUp(state.clone())
    }
}

impl Drop for WorkersUp {
    fn drop(&mut self) {
        self.0
            .workers_up
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }
}

/// How long a run's lease lasts: the longest a flow may run, and a minute more.
pub fn lease_for(max_duration: std::time::Duration) -> std::time::Duration {
    max_duration + std::time::Duration::from_secs(60)
}
