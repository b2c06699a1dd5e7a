//! Flowgate's server: the admin API, the consumer endpoints under `/t/`, the journal that
//! records executions and the workers that run queued ones.

pub mod auth;
pub mod cluster;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod executions;
pub mod http;
pub mod journal;
pub mod outbound;
pub mod registry;
pub mod secrets;
pub mod subscriptions;
pub mod telemetry;
pub mod time;
pub mod worker;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::auth::ServerSecret;
use crate::config::Config;
use crate::executions::Answer;
use crate::journal::Journal;
use crate::registry::Registry;
use crate::worker::Signals;

/// Everything a request or a worker needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub cfg: Config,
    pub db: DatabaseConnection,
    pub secret: ServerSecret,
    pub registry: Registry,
    pub runtime: Arc<flows_runtime::Runtime>,
    pub journal: Journal,
    pub signals: Arc<Signals>,
    /// Enabled event subscriptions (for the journal) and the delivery worker's wake-up.
    pub subscriptions: Arc<subscriptions::Set>,
    /// Request-response callers waiting for a queued (ordered) execution, by execution id.
    waiters: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    /// Idempotency keys of calls being accepted right now, as `integration id \n key`.
    pub idempotency_in_flight: Mutex<std::collections::HashSet<String>>,
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
        time::now_us() - last < ms_to_us(self.cfg.cluster.dead_after_ms) / 2
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

    /// The compiled flow of a given version (current one from memory, older ones compiled once).
    pub async fn compiled_version(
        &self,
        integration_id: &str,
        version: i64,
    ) -> anyhow::Result<flows_runtime::CompiledFlow> {
        if let Some(flow) = self.registry.cached_version(integration_id, version) {
            return Ok(flow);
        }
        let flow = domain::integrations::compile_version(self, integration_id, version).await?;
        self.registry
            .cache_version(integration_id, version, flow.clone());
        Ok(flow)
    }
}

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    server: actix_web::dev::Server,
    workers: tokio::task::JoinHandle<()>,
    journal: tokio::task::JoinHandle<()>,
    housekeeping: tokio::task::JoinHandle<()>,
    cluster: tokio::task::JoinHandle<()>,
    deliveries: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (SIGTERM/SIGINT or the handle), then stops the
    /// workers (what runs finishes) and flushes the journal.
    pub async fn wait(self) -> anyhow::Result<()> {
        let Running {
            state,
            server,
            workers,
            journal,
            housekeeping,
            cluster,
            deliveries,
            ..
        } = self;
        let served = server.await;
        tracing::info!("http server stopped; stopping workers");
        state.shutdown.cancel();
        let _ = workers.await;
        let _ = deliveries.await;
        let _ = housekeeping.await;
        let _ = cluster.await;
        // What ran is recorded; then the lanes go to other instances at once.
        let _ = state.journal.barrier().await;
        if let Err(e) = db::cluster::leave(&state.db, &state.instance_id).await {
            tracing::warn!(error = %e, "leaving the cluster failed; others take over after the timeout");
        }
        drop(state);
        let _ = tokio::time::timeout(Duration::from_secs(30), journal).await;
        tracing::info!("stopped");
        served.map_err(anyhow::Error::from)
    }
}

/// Connects, migrates, loads the registry, starts the journal, the workers and the HTTP server
/// on an already bound listener.
pub async fn start(cfg: Config, listener: TcpListener) -> anyhow::Result<Running> {
    let db = db::connect(&cfg).await?;
    db::migrate(&db).await?;
    let secret = ServerSecret::load_or_create(&cfg.data_dir)?;
    domain::users::bootstrap_admin(&db, &cfg.admin_email, &cfg.admin_password).await?;
    let instance_id = format!("{}-{}", std::process::id(), executions::new_id());
    let now = time::now_us();
    db::cluster::register(&db, &instance_id, now).await?;
    // SQLite is one instance's database: whatever ran before this start is over. With
    // PostgreSQL others may be alive; only those silent for too long are over.
    let alive_since = if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        now
    } else {
        now - ms_to_us(cfg.cluster.dead_after_ms)
    };
    let reaped = db::cluster::reap(&db, alive_since, now).await?;
    if reaped != db::cluster::Reaped::default() {
        tracing::warn!(
            requeued = reaped.requeued,
            closed = reaped.closed,
            lanes = reaped.lanes,
            "took back the work of stopped instances"
        );
    }

    let notify_channel = db::cluster::channel_name(&db).await?;
    let (signals, new_lanes) = Signals::new();
    let subscriptions = Arc::new(subscriptions::Set::default());
    subscriptions.replace(subscriptions::db::enabled_entries(&db).await?);
    let (journal, journal_task) = Journal::start(
        db.clone(),
        (instance_id.clone(), notify_channel.clone()),
        cfg.journal.queue_capacity,
        cfg.journal.max_batch,
        Arc::clone(&signals),
        Arc::clone(&subscriptions),
    );
    let http_client = outbound::FlowHttpClient::new(
        db.clone(),
        secret.clone(),
        tokio::runtime::Handle::current(),
    )?;
    let runtime = Arc::new(
        flows_runtime::Runtime::new(cfg.runtime_limits()).with_http_client(Arc::new(http_client)),
    );
    let state = AppState(Arc::new(Inner {
        db,
        secret,
        registry: Registry::default(),
        runtime,
        journal,
        signals,
        subscriptions,
        waiters: Mutex::new(HashMap::new()),
        idempotency_in_flight: Mutex::new(std::collections::HashSet::new()),
        instance_id,
        notify_channel,
        last_heartbeat: std::sync::atomic::AtomicI64::new(now),
        shutdown: CancellationToken::new(),
        cfg,
    }));
    domain::integrations::load_routes(&state).await?;
    domain::keys::reload(&state)
        .await
        .map_err(|e| anyhow::anyhow!("loading api keys: {e}"))?;

    let workers = tokio::spawn(worker::run(
        state.clone(),
        new_lanes,
        state.shutdown.clone(),
    ));
    let deliveries = tokio::spawn(subscriptions::worker::run(state.clone()));
    let housekeeping = tokio::spawn(housekeeping(state.clone()));
    let cluster = tokio::spawn(cluster::run(state.clone()));
    let addr = listener.local_addr()?;
    let server = http::serve(state.clone(), listener)?;
    tracing::info!(%addr, "flowgate listening");
    Ok(Running {
        addr,
        state,
        server,
        workers,
        journal: journal_task,
        housekeeping,
        cluster,
        deliveries,
    })
}

pub(crate) fn ms_to_us(ms: u64) -> i64 {
    i64::try_from(ms.saturating_mul(1000)).unwrap_or(i64::MAX / 4)
}

/// Deletes executions past the retention settings, a batch at a time with pauses, so the
/// journal and the workers keep the database most of the time.
pub async fn prune(state: &AppState) -> anyhow::Result<u64> {
    let r = &state.cfg.retention;
    let now = time::now_us();
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
async fn housekeeping(state: AppState) {
    let prune_every = Duration::from_millis(state.cfg.retention.interval_ms);
    let tick = prune_every.min(Duration::from_secs(5));
    let mut next_prune = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            _ = tokio::time::sleep(tick) => {}
        }
        if let Err(e) = domain::keys::flush_last_used(&state).await {
            tracing::warn!(error = %e, "recording key use failed");
        }
        if tokio::time::Instant::now() >= next_prune {
            next_prune = tokio::time::Instant::now() + prune_every;
            match prune(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "pruned old executions"),
                Err(e) => tracing::warn!(error = %e, "pruning executions failed"),
            }
        }
    }
    let _ = domain::keys::flush_last_used(&state).await;
}
