//! Flowgate's server: the admin API, the consumer endpoints under `/t/`, the journal that
//! records executions and the workers that run queued ones.
//!
//! Layers, each importing only from those below it (`scripts/check-layers` checks this):
//!
//! | layer | what |
//! | --- | --- |
//! | `lib.rs` | composition root: starts everything; nothing imports it |
//! | [`http`], [`tasks`] | actix-web routes, extractors, error mapping; background loops (workers, deliveries, cluster, housekeeping) |
//! | [`domain`] | the services: integrations, keys, users, executions, secrets, subscriptions, calls |
//! | [`state`] | [`AppState`], shared by all of the above |
//! | [`outbound`] | HTTP clients to the outside world |
//! | [`db`] | entities, queries, the journal (group-commit writer) |
//! | [`core`] | the model and its pure rules |
//! | [`support`], [`config`], [`error`], [`telemetry`] | leaves |

pub mod config;
pub mod core;
pub mod db;
pub mod domain;
pub mod error;
pub mod files;
pub mod http;
pub mod outbound;
pub mod state;
pub mod support;
pub mod tasks;
pub mod telemetry;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::core::registry::Registry;
use crate::core::signals::Signals;
use crate::core::subscription_set::Set as SubscriptionSet;
use crate::db::journal::Journal;
pub use crate::state::AppState;
use crate::state::Inner;
use crate::support::crypto::ServerSecret;
use crate::support::ids::new_id;
use crate::support::time::{ms_to_us, now_us};

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
    start_with(cfg, listener, None).await
}

/// [`start`], with consumer endpoints (`/t/...`, `/oauth/token`) on a listener of their own:
/// then the main listener serves only the admin API and UI, and that one only consumers.
pub async fn start_with(
    cfg: Config,
    listener: TcpListener,
    consumer_listener: Option<TcpListener>,
) -> anyhow::Result<Running> {
    let allow = outbound::guard::AllowList::parse(&cfg.outbound.allow)
        .map_err(|e| anyhow::anyhow!("setting `outbound.allow`: {e}"))?;
    let guard = outbound::guard::Guard::new(allow);
    let db = db::connect(&cfg).await?;
    db::migrate(&db).await?;
    let secret = ServerSecret::load_or_create(&cfg.data_dir)?;
    domain::users::bootstrap_admin(&db, &cfg.admin_email, &cfg.admin_password).await?;
    let instance_id = format!("{}-{}", std::process::id(), new_id());
    let now = now_us();
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
    let subscriptions = Arc::new(SubscriptionSet::default());
    subscriptions.replace(db::subscriptions::enabled_entries(&db).await?);
    let (journal, journal_task) = Journal::start(
        db.clone(),
        db::journal::Owner {
            instance: instance_id.clone(),
            channel: notify_channel.clone(),
            lease: state::lease_for(cfg.runtime_limits().max_duration),
        },
        cfg.journal.queue_capacity,
        cfg.journal.max_batch,
        Arc::clone(&signals),
        Arc::clone(&subscriptions),
    );
    let http_client = outbound::flows::FlowHttpClient::new(
        db.clone(),
        secret.clone(),
        tokio::runtime::Handle::current(),
        guard.clone(),
    )?;
    let store = db::datastore::DbStore::new(db.clone(), tokio::runtime::Handle::current());
    let sql = outbound::sql::FlowSqlClient::new(
        db.clone(),
        secret.clone(),
        tokio::runtime::Handle::current(),
        guard.clone(),
    );
    let runtime = Arc::new(
        flows_runtime::Runtime::new(cfg.runtime_limits())
            .with_http_client(Arc::new(http_client))
            .with_data_store(Arc::new(store))
            .with_sql_client(Arc::new(sql)),
    );
    let state = AppState(Arc::new(Inner {
        db,
        token_key: secret.token_key(),
        secret,
        guard,
        registry: Registry::default(),
        login_throttle: Default::default(),
        run_slots: Arc::new(tokio::sync::Semaphore::new(cfg.runtime.max_concurrent_runs)),
        runtime,
        journal,
        signals,
        subscriptions,
        waiters: Mutex::new(HashMap::new()),
        running: Mutex::new(std::collections::HashSet::new()),
        workers_up: std::sync::atomic::AtomicBool::new(false),
        instance_id,
        notify_channel,
        last_heartbeat: std::sync::atomic::AtomicI64::new(now),
        shutdown: CancellationToken::new(),
        cfg,
    }));
    domain::integrations::load_routes(&state).await?;
    domain::credentials::reload(&state)
        .await
        .map_err(|e| anyhow::anyhow!("loading credentials: {e}"))?;

    let workers = tokio::spawn(tasks::worker::run(
        state.clone(),
        new_lanes,
        state.shutdown.clone(),
    ));
    let deliveries = tokio::spawn(tasks::deliveries::run(state.clone()));
    let housekeeping = tokio::spawn(tasks::housekeeping::run(state.clone()));
    let cluster = tokio::spawn(tasks::cluster::run(state.clone()));
    if telemetry::metrics::install().is_some() {
        // Detached: it ends with the shutdown token.
        tokio::spawn(telemetry::metrics::upkeep(state.shutdown.clone()));
    }
    let addr = listener.local_addr()?;
    let consumer_addr = match &consumer_listener {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };
    let server = http::serve(state.clone(), listener, consumer_listener)?;
    tracing::info!(%addr, consumers = ?consumer_addr, "flowgate listening");
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
