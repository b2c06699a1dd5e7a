//! The journal: the one task that writes executions, many at a time.
//!
//! Callers send writes over a bounded channel (a full channel slows them down: back-pressure,
//! never loss). The journal takes everything waiting, up to `max_batch`, writes it in ONE
//! transaction (group commit) and only then acknowledges accepted calls, so a 202 is sent only
//! for a call that is on disk. Sequence numbers of ordered triggers are reserved inside the same
//! transaction, so arrival order is what the database records.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::{mpsc, oneshot};

use super::executions as q;
use super::{cluster, subscriptions};
use crate::core::execution::{Claimed, Finished, NewExecution};
use crate::core::notice::Notice;
use crate::core::signals::{Committed, Slot};
use crate::core::subscription_set::Set as Subscriptions;
use crate::core::webhooks::deliveries_of_run;

/// Acknowledgement of an accepted call: its sequence in an ordered lane, if any.
pub type Accepted = Result<Option<i64>, String>;

pub enum Write {
    /// A call to run later: acknowledged once committed.
    Accept {
        exec: NewExecution,
        reply: oneshot::Sender<Accepted>,
    },
    /// A request-response call that already ran.
    Record { exec: NewExecution, done: Finished },
    /// A request-response call still running past its caller's timeout.
    Running { exec: NewExecution, started_at: i64 },
    /// A queued execution that ended (or failed and waits for a retry). With a sender, it is
    /// told once the end is committed.
    Finish(Finished, Option<oneshot::Sender<()>>),
    /// Answered once everything queued before it is committed.
    Barrier(oneshot::Sender<()>),
}

/// Who the journal writes for.
pub struct Owner {
    /// This instance: stamped on the rows of executions it keeps running.
    pub instance: String,
    /// The PostgreSQL notification channel.
    pub channel: String,
    /// The lease of a call the journal writes as running here.
    pub lease: Duration,
}

#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<Write>,
}

#[derive(Debug, thiserror::Error)]
#[error("the journal has stopped")]
pub struct Stopped;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("the journal queue is full")]
    Busy,
    #[error("the journal has stopped")]
    Stopped,
}

impl Journal {
    /// Events of ended runs become deliveries to the matching `subs`, in the same transaction.
    pub fn start<N: Committed>(
        db: DatabaseConnection,
        owner: Owner,
        capacity: usize,
        max_batch: usize,
        notify: N,
        subs: Arc<Subscriptions>,
    ) -> (Journal, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(capacity);
        let handle = tokio::spawn(run(db, owner, rx, max_batch, notify, subs));
        (Journal { tx }, handle)
    }

    /// Writes an accepted call and waits until it is committed. Waits at most `wait` for a
    /// place in the queue (then `Busy`), never drops the call once queued.
    pub async fn accept(
        &self,
        exec: NewExecution,
        wait: Duration,
    ) -> Result<Accepted, JournalError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send_timeout(Write::Accept { exec, reply }, wait)
            .await
            .map_err(|e| match e {
                mpsc::error::SendTimeoutError::Timeout(_) => JournalError::Busy,
                mpsc::error::SendTimeoutError::Closed(_) => JournalError::Stopped,
            })?;
        rx.await.map_err(|_| JournalError::Stopped)
    }

    /// Queues a write without waiting for the commit (waits only while the queue is full).
    pub async fn write(&self, w: Write) -> Result<(), Stopped> {
        self.tx.send(w).await.map_err(|_| Stopped)
    }

    /// Queues a write and waits until it is committed.
    pub async fn write_committed(&self, f: Finished) -> Result<(), Stopped> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Write::Finish(f, Some(tx)))
            .await
            .map_err(|_| Stopped)?;
        rx.await.map_err(|_| Stopped)
    }

    /// Waits until every write queued before this call is committed.
    pub async fn barrier(&self) -> Result<(), Stopped> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Write::Barrier(tx))
            .await
            .map_err(|_| Stopped)?;
        rx.await.map_err(|_| Stopped)
    }

    /// Free places in the queue (for readiness and back-pressure decisions).
    pub fn capacity(&self) -> usize {
        self.tx.capacity()
    }
}

async fn run<N: Committed>(
    db: DatabaseConnection,
    owner: Owner,
    mut rx: mpsc::Receiver<Write>,
    max_batch: usize,
    notify: N,
    subs: Arc<Subscriptions>,
) {
    let mut batch: Vec<Write> = Vec::with_capacity(max_batch);
    loop {
        batch.clear();
        if rx.recv_many(&mut batch, max_batch).await == 0 {
            tracing::info!("journal drained and stopped");
            return;
        }
        let size = batch.len();
        let started = std::time::Instant::now();
        commit_with_retry(&db, &owner, &mut batch, &notify, &subs).await;
        crate::telemetry::metrics::journal_commit(size, started.elapsed());
    }
}

async fn commit_with_retry<N: Committed>(
    db: &DatabaseConnection,
    owner: &Owner,
    batch: &mut Vec<Write>,
    notify: &N,
    subs: &Subscriptions,
) {
    let mut delay = Duration::from_millis(20);
    let mut refused = false;
    for attempt in 1..=8 {
        // A batch the database refused for its data is written one write at a time, so that
        // one bad write cannot sink the others (a passing failure retries the whole batch).
        if refused && batch.len() > 1 {
            tracing::warn!(
                size = batch.len(),
                "journal batch failed twice; writing its items one by one"
            );
            let items: Vec<Write> = std::mem::take(batch);
            for w in items {
                let mut single = vec![w];
                Box::pin(commit_with_retry(db, owner, &mut single, notify, subs)).await;
            }
            return;
        }
        match commit(db, owner, batch, notify, subs).await {
            Ok(Wrote {
                sequences,
                mut slots,
                delivered,
            }) => {
                if delivered {
                    subs.wake();
                }
                let mut unordered = false;
                let mut handed: Vec<(String, Claimed)> = Vec::new();
                let mut started: Vec<(Claimed, Slot)> = Vec::new();
                let mut done: Vec<oneshot::Sender<()>> = Vec::new();
                for ((w, seq), slot) in batch.drain(..).zip(sequences).zip(slots.drain(..)) {
                    match w {
                        Write::Accept { exec, reply } => {
                            let _ = reply.send(Ok(seq));
                            if exec.ordered {
                                handed.push((exec.lane(), queued_claim(exec, seq)));
                            } else if let Some(slot) = slot {
                                started.push((started_claim(exec), slot));
                            } else {
                                unordered = true;
                            }
                        }
                        Write::Finish(_, Some(tx)) | Write::Barrier(tx) => done.push(tx),
                        _ => {}
                    }
                }
                // Hand-overs before barriers: what a barrier waited for is with the workers.
                if !started.is_empty() {
                    notify.unordered_started(started);
                }
                if unordered {
                    notify.unordered_accepted();
                }
                if !handed.is_empty() {
                    notify.ordered_committed(handed);
                }
                for tx in done {
                    let _ = tx.send(());
                }
                return;
            }
            Err(e) if batch.len() == 1 && super::refused_data(&e) => {
                tracing::error!(error = %e, "the database refused a journal write; dropped");
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt, size = batch.len(), "journal commit failed");
                refused = super::refused_data(&e);
                if refused {
                    continue;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
    tracing::error!(size = batch.len(), "journal gave up on a batch");
    for w in batch.drain(..) {
        match w {
            Write::Accept { reply, .. } => {
                let _ = reply.send(Err("the database could not record the call".to_owned()));
            }
            Write::Record { exec, .. } | Write::Running { exec, .. } => {
                tracing::error!(execution_id = %exec.id, "execution record lost: database unavailable");
            }
            Write::Barrier(_) => {}
            Write::Finish(f, _) => {
                tracing::error!(execution_id = %f.id, "execution end not recorded: database unavailable");
            }
        }
    }
}

/// A committed ordered call as its lane would read it back from the queue.
fn queued_claim(exec: NewExecution, sequence: Option<i64>) -> Claimed {
    Claimed {
        id: exec.id,
        mode: exec.mode,
        status: flowgate_api::ExecutionStatus::Queued.as_str().to_owned(),
        integration_id: exec.integration_id,
        slug: exec.slug,
        version: exec.version,
        sequence,
        attempts: 0,
        request: exec.request,
        next_attempt_at: None,
    }
}

/// A call written as running here, as the unordered pool would have claimed it.
fn started_claim(exec: NewExecution) -> Claimed {
    Claimed {
        id: exec.id,
        mode: exec.mode,
        status: flowgate_api::ExecutionStatus::Running.as_str().to_owned(),
        integration_id: exec.integration_id,
        slug: exec.slug,
        version: exec.version,
        sequence: None,
        attempts: 1,
        request: exec.request,
        next_attempt_at: None,
    }
}

/// What a commit did, per write of the batch: the sequence of an ordered call, the pool's
/// place for a call written as running; and whether deliveries of emitted events were written.
struct Wrote {
    sequences: Vec<Option<i64>>,
    slots: Vec<Option<Slot>>,
    delivered: bool,
}

/// One transaction for the whole batch. Returns, per write, the sequence assigned (if any),
/// and whether deliveries of emitted events were written.
async fn commit<N: Committed>(
    db: &DatabaseConnection,
    owner: &Owner,
    batch: &[Write],
    notify: &N,
    subs: &Subscriptions,
) -> Result<Wrote, DbErr> {
    // Sequences first: count the ordered accepts per trigger, in arrival order.
    let mut per_lane: HashMap<&str, i64> = HashMap::new();
    for w in batch {
        if let Write::Accept { exec, .. } = w {
            if exec.ordered {
                *per_lane.entry(exec.integration_id.as_str()).or_default() += 1;
            }
        }
    }
    let txn = super::begin_write(db).await?;
    let mut next: HashMap<&str, i64> = HashMap::with_capacity(per_lane.len());
    for (lane, count) in &per_lane {
        let first = q::reserve_sequences(&txn, lane, *count).await?;
        next.insert(lane, first);
    }
    let mut sequences = Vec::with_capacity(batch.len());
    let mut slots = Vec::with_capacity(batch.len());
    let mut queued = Vec::new();
    let mut started = Vec::new();
    let mut records = Vec::new();
    let mut running = Vec::new();
    let mut finished = Vec::new();
    let now = crate::support::time::now_us();
    let lease_until = now + i64::try_from(owner.lease.as_micros()).unwrap_or(i64::MAX / 2);
    for w in batch {
        let mut seq = None;
        let mut slot = None;
        match w {
            Write::Accept { exec, .. } => {
                if exec.ordered {
                    if let Some(n) = next.get_mut(exec.integration_id.as_str()) {
                        seq = Some(*n);
                        *n += 1;
                    }
                    queued.push((exec, seq));
                } else {
                    // A free place in the pool: the call starts at once, without a claim.
                    slot = notify.unordered_slot();
                    if slot.is_some() {
                        started.push(exec);
                    } else {
                        queued.push((exec, seq));
                    }
                }
            }
            Write::Record { exec, done } => records.push((exec, done)),
            Write::Running { exec, started_at } => running.push((exec, *started_at)),
            Write::Finish(f, _) => finished.push(f),
            Write::Barrier(_) => {}
        }
        sequences.push(seq);
        slots.push(slot);
    }
    if !queued.is_empty() {
        q::insert_queued(&txn, &queued).await?;
    }
    if !started.is_empty() {
        q::insert_started(&txn, &started, &owner.instance, (now, lease_until)).await?;
    }
    if !running.is_empty() {
        q::insert_running_placeholders(&txn, &running, &owner.instance).await?;
    }
    if !records.is_empty() {
        q::upsert_finished(&txn, &records).await?;
    }
    if !finished.is_empty() {
        q::finish(&txn, &finished).await?;
    }
    // Events of ended runs: their deliveries are durable with the end (nothing to do, and no
    // look-up, without events or without subscriptions).
    let mut deliveries = Vec::new();
    if records.iter().any(|(_, f)| !f.events.is_empty())
        || finished.iter().any(|f| !f.events.is_empty())
    {
        let subs = subs.snapshot();
        for f in records
            .iter()
            .map(|(_, f)| *f)
            .chain(finished.iter().copied())
        {
            deliveries.extend(deliveries_of_run(&subs, f));
        }
        if !deliveries.is_empty() {
            subscriptions::insert_deliveries(&txn, &deliveries).await?;
        }
    }
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Other instances learn of new work and of ends their callers wait for; PostgreSQL
        // delivers these at commit, and only if it commits.
        let mut payloads: Vec<String> = Vec::new();
        for (exec, _) in &queued {
            let p = if exec.ordered {
                Notice::Lane(exec.lane())
            } else {
                Notice::Unordered
            }
            .payload();
            if !payloads.contains(&p) {
                payloads.push(p);
            }
        }
        for f in &finished {
            if f.notify_waiter {
                payloads.push(Notice::Done(f.id.clone()).payload());
            }
        }
        if !deliveries.is_empty() {
            payloads.push(Notice::Deliveries.payload());
        }
        if !payloads.is_empty() {
            cluster::notify(&txn, &owner.channel, &payloads).await?;
        }
    }
    txn.commit().await?;
    Ok(Wrote {
        sequences,
        slots,
        delivered: !deliveries.is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use tokio::sync::Semaphore;

    use super::*;
    use crate::core::execution::Mode;

    /// What the journal told the workers.
    #[derive(Default)]
    struct Told {
        slots: Option<Arc<Semaphore>>,
        started: Mutex<Vec<(String, Slot)>>,
        unordered: AtomicUsize,
        handed: Mutex<Vec<(String, Option<i64>)>>,
    }

    impl Committed for Arc<Told> {
        fn unordered_accepted(&self) {
            self.unordered.fetch_add(1, Ordering::SeqCst);
        }
        fn unordered_slot(&self) -> Option<Slot> {
            Arc::clone(self.slots.as_ref()?).try_acquire_owned().ok()
        }
        fn unordered_started(&self, started: Vec<(Claimed, Slot)>) {
            let mut g = self.started.lock().unwrap();
            g.extend(started.into_iter().map(|(c, s)| (c.id, s)));
        }
        fn ordered_accepted(&self, _lanes: Vec<String>) {}
        fn ordered_committed(&self, handed: Vec<(String, Claimed)>) {
            let mut g = self.handed.lock().unwrap();
            g.extend(handed.into_iter().map(|(lane, c)| (lane, c.sequence)));
        }
    }

    fn call(id: &str, ordered: bool) -> NewExecution {
        NewExecution {
            id: id.to_owned(),
            integration_id: "int-1".to_owned(),
            slug: "one".to_owned(),
            version: 1,
            mode: Mode::Async,
            ordered,
            received_at: 1,
            request: "{}".to_owned(),
            replay_of: None,
            idempotency_key: None,
            lane_key: String::new(),
            caller: None,
        }
    }

    /// (status, lease owner, lease until, started at, attempts) of one stored execution.
    async fn row(
        db: &DatabaseConnection,
        id: &str,
    ) -> (String, Option<String>, Option<i64>, Option<i64>, i32) {
        let m = q::get(db, id)
            .await
            .unwrap()
            .expect("the execution is stored");
        (
            m.status,
            m.lease_owner,
            m.lease_until,
            m.started_at,
            m.attempts,
        )
    }

    #[tokio::test]
    async fn calls_start_at_accept_while_the_pool_has_room() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = crate::db::connect_url(&url, 2, "normal").await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let told = Arc::new(Told {
            slots: Some(Arc::new(Semaphore::new(1))),
            ..Told::default()
        });
        let owner = Owner {
            instance: "me".to_owned(),
            channel: "c".to_owned(),
            lease: Duration::from_secs(90),
        };
        let (journal, _task) = Journal::start(
            db.clone(),
            owner,
            16,
            8,
            Arc::clone(&told),
            Arc::new(Subscriptions::default()),
        );
        let wait = Duration::from_secs(5);
        let before = crate::support::time::now_us();

        // The pool's one place is free: the call is on disk as running here, with a lease,
        // and the pool gets it.
        journal
            .accept(call("e1", false), wait)
            .await
            .unwrap()
            .unwrap();
        let (status, owner, until, started, attempts) = row(&db, "e1").await;
        assert_eq!(status, "running");
        assert_eq!(owner.as_deref(), Some("me"));
        assert!(until.unwrap() >= before + 90_000_000, "{until:?}");
        assert!(started.unwrap() >= before);
        assert_eq!(attempts, 1);
        let started_ids: Vec<String> = told
            .started
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _)| id.clone())
            .collect();
        assert_eq!(started_ids, ["e1"]);
        assert_eq!(told.unordered.load(Ordering::SeqCst), 0);

        // The place is taken: the next call waits in the queue for a claim.
        journal
            .accept(call("e2", false), wait)
            .await
            .unwrap()
            .unwrap();
        let (status, owner, until, started, attempts) = row(&db, "e2").await;
        assert_eq!(
            (status.as_str(), owner, until, started, attempts),
            ("queued", None, None, None, 0)
        );
        assert_eq!(told.unordered.load(Ordering::SeqCst), 1);

        // Its place given back, the pool takes calls straight away again.
        told.started.lock().unwrap().clear();
        journal
            .accept(call("e3", false), wait)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row(&db, "e3").await.0, "running");

        // Ordered calls go to their lane with their sequence, never to the pool.
        let seq = journal
            .accept(call("o1", true), wait)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seq, Some(1));
        assert_eq!(row(&db, "o1").await.0, "queued");
        assert_eq!(
            *told.handed.lock().unwrap(),
            [("int-1".to_owned(), Some(1))]
        );
    }
}
