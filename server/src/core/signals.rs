//! Wake-ups: what the journal tells the workers after a commit, and the per-lane signals the
//! workers wait on.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};

use super::execution::Claimed;

/// A free place in this instance's unordered pool.
pub type Slot = OwnedSemaphorePermit;

/// What the journal tells the workers after a commit.
pub trait Committed: Send + Sync + 'static {
    /// New asynchronous unordered work is on disk.
    fn unordered_accepted(&self);
    /// A free place in the unordered pool for a call the journal is about to write: with
    /// one, the call is written as already running here, and handed over once committed.
    fn unordered_slot(&self) -> Option<Slot>;
    /// These calls are on disk as running here, each with its place in the pool: run them.
    fn unordered_started(&self, started: Vec<(Claimed, Slot)>);
    /// New work for these ordered lanes (lane ids) may be on disk: they read their queue.
    fn ordered_accepted(&self, lanes: Vec<String>);
    /// These ordered executions (lane id, execution, in commit order) are on disk: their
    /// lanes get them handed over and need not read them back.
    fn ordered_committed(&self, handed: Vec<(String, Claimed)>);
}

/// Most executions a lane holds handed over; beyond, it reads its queue from the database.
pub const LANE_INBOX: usize = 256;

/// What a lane waits on: a wake-up, and the executions committed for it by this instance's
/// journal since it last looked.
///
/// While the lane keeps up, every execution of its queue reaches it this way and the lane
/// does not read the database. Anything else that may put work in its queue (another
/// instance, a requeue, a reaped run, a full inbox) marks the inbox stale, and the lane reads.
pub struct LaneSignal {
    notify: Notify,
    inbox: Mutex<Inbox>,
}

#[derive(Default)]
struct Inbox {
    handed: Vec<Claimed>,
    stale: bool,
}

/// What a lane finds when it looks at its inbox.
pub enum Handed {
    /// Executions committed since the last look, in commit order (may be empty).
    Complete(Vec<Claimed>),
    /// Work may be on disk that was not handed over: read the queue.
    Stale,
}

impl Default for LaneSignal {
    fn default() -> Self {
        LaneSignal {
            notify: Notify::new(),
            inbox: Mutex::new(Inbox::default()),
        }
    }
}

impl LaneSignal {
    fn inbox(&self) -> std::sync::MutexGuard<'_, Inbox> {
        match self.inbox.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Waits for a wake-up (one that came while the lane was busy counts).
    pub async fn notified(&self) {
        self.notify.notified().await;
    }

    /// Takes what was handed over, and clears the stale mark: a read of the queue that starts
    /// after this call sees everything committed before it.
    pub fn take(&self) -> Handed {
        let mut inbox = self.inbox();
        if std::mem::take(&mut inbox.stale) {
            inbox.handed.clear();
            Handed::Stale
        } else {
            Handed::Complete(std::mem::take(&mut inbox.handed))
        }
    }

    /// The lane must read its queue before it trusts its inbox again.
    pub fn mark_stale(&self) {
        let mut inbox = self.inbox();
        inbox.stale = true;
        inbox.handed.clear();
    }

    fn hand(&self, c: Claimed) {
        let mut inbox = self.inbox();
        if inbox.stale {
            return;
        }
        if inbox.handed.len() >= LANE_INBOX {
            inbox.stale = true;
            inbox.handed.clear();
        } else {
            inbox.handed.push(c);
        }
    }
}

/// Calls the journal wrote as running here, on their way to the unordered pool.
pub type Started = mpsc::UnboundedReceiver<(Claimed, Slot)>;

/// The unordered pool's inlet for calls the journal starts: the pool's places, and whether it
/// takes calls this way (not once it stops).
struct PoolInlet {
    slots: Arc<Semaphore>,
    open: AtomicBool,
    /// Whether this instance may start work now (its heartbeat is fresh).
    may_start: Box<dyn Fn() -> bool + Send + Sync>,
    tx: mpsc::UnboundedSender<(Claimed, Slot)>,
}

/// Wake-ups from the journal to the workers.
pub struct Signals {
    pub(crate) unordered: Notify,
    pool: OnceLock<PoolInlet>,
    pub(crate) lanes: Mutex<HashMap<String, Arc<LaneSignal>>>,
    /// Lanes that must read again from their start (a parked execution was requeued).
    rewinds: Mutex<HashSet<String>>,
    new_lanes: mpsc::UnboundedSender<String>,
}

impl Signals {
    pub fn new() -> (Arc<Signals>, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let s = Signals {
            unordered: Notify::new(),
            pool: OnceLock::new(),
            lanes: Mutex::new(HashMap::new()),
            rewinds: Mutex::new(HashSet::new()),
            new_lanes: tx,
        };
        (Arc::new(s), rx)
    }

    pub(crate) fn lane(&self, integration_id: &str) -> Option<Arc<LaneSignal>> {
        let guard = match self.lanes.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard.get(integration_id).cloned()
    }

    /// Executions a lane had passed (parked dead letters) are queued again: the lane goes back
    /// to its start and runs them before what comes next.
    pub fn rewind_lane(&self, integration_id: &str) {
        let mut guard = match self.rewinds.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard.insert(integration_id.to_owned());
        drop(guard);
        self.wake_lane(integration_id);
    }

    pub(crate) fn take_rewind(&self, integration_id: &str) -> bool {
        let mut guard = match self.rewinds.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard.remove(integration_id)
    }

    /// The unordered pool (its places, `slots`) takes calls straight from the journal from
    /// now on, through the receiver returned, while `may_start` says this instance may start
    /// work (as for a claim). `None` if a pool was opened before.
    pub fn open_pool(
        &self,
        slots: Arc<Semaphore>,
        may_start: Box<dyn Fn() -> bool + Send + Sync>,
    ) -> Option<Started> {
        let (tx, rx) = mpsc::unbounded_channel();
        let inlet = PoolInlet {
            slots,
            open: AtomicBool::new(true),
            may_start,
            tx,
        };
        self.pool.set(inlet).ok().map(|()| rx)
    }

    /// The journal writes calls as queued again, for the pool to claim (it is stopping).
    pub fn close_pool(&self) {
        if let Some(p) = self.pool.get() {
            p.open.store(false, Ordering::SeqCst);
        }
    }

    /// Makes sure a lane runs for this trigger, and that it reads its queue.
    pub fn wake_lane(&self, integration_id: &str) {
        match self.lane(integration_id) {
            Some(n) => {
                n.mark_stale();
                n.notify.notify_one();
            }
            None => {
                let _ = self.new_lanes.send(integration_id.to_owned());
            }
        }
    }
}

impl Committed for Arc<Signals> {
    fn unordered_accepted(&self) {
        self.unordered.notify_one();
    }

    fn unordered_slot(&self) -> Option<Slot> {
        let p = self.pool.get()?;
        // An instance that may be taken for dead starts nothing: the call is queued, and
        // claimed once the heartbeat is fresh again (here or by another instance).
        if !p.open.load(Ordering::SeqCst) || !(p.may_start)() {
            return None;
        }
        Arc::clone(&p.slots).try_acquire_owned().ok()
    }

    fn unordered_started(&self, started: Vec<(Claimed, Slot)>) {
        let Some(p) = self.pool.get() else {
            return;
        };
        for s in started {
            if let Err(mpsc::error::SendError((c, _))) = p.tx.send(s) {
                // Nobody runs it here now: it is taken back once its lease runs out.
                tracing::warn!(execution_id = %c.id, "the worker pool has stopped; the execution waits for its lease to run out");
            }
        }
    }

    fn ordered_accepted(&self, integration_ids: Vec<String>) {
        for id in integration_ids {
            self.wake_lane(&id);
        }
    }

    fn ordered_committed(&self, handed: Vec<(String, Claimed)>) {
        let mut woken: Vec<Arc<LaneSignal>> = Vec::new();
        for (id, c) in handed {
            match self.lane(&id) {
                Some(n) => {
                    n.hand(c);
                    if !woken.iter().any(|w| Arc::ptr_eq(w, &n)) {
                        woken.push(n);
                    }
                }
                // A lane that starts reads its queue first.
                None => {
                    let _ = self.new_lanes.send(id);
                }
            }
        }
        for n in woken {
            n.notify.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::execution::Mode;

    fn claim(seq: i64) -> Claimed {
        Claimed {
            id: format!("e{seq}"),
            mode: Mode::Async,
            status: "queued".to_owned(),
            integration_id: "int-1".to_owned(),
            slug: "one".to_owned(),
            version: 1,
            sequence: Some(seq),
            attempts: 0,
            request: "{}".to_owned(),
            next_attempt_at: None,
        }
    }

    fn sequences(h: Handed) -> Option<Vec<i64>> {
        match h {
            Handed::Complete(v) => Some(v.iter().filter_map(|c| c.sequence).collect()),
            Handed::Stale => None,
        }
    }

    fn signals_with_lane(id: &str) -> (Arc<Signals>, Arc<LaneSignal>) {
        let (s, _rx) = Signals::new();
        let lane = Arc::new(LaneSignal::default());
        s.lanes
            .lock()
            .unwrap()
            .insert(id.to_owned(), Arc::clone(&lane));
        (s, lane)
    }

    #[tokio::test]
    async fn committed_executions_reach_their_lane_in_commit_order() {
        let (s, lane) = signals_with_lane("int-1");
        s.ordered_committed(vec![
            ("int-1".to_owned(), claim(1)),
            ("int-2".to_owned(), claim(7)),
            ("int-1".to_owned(), claim(2)),
        ]);
        s.ordered_committed(vec![("int-1".to_owned(), claim(3))]);
        // Woken (the permit is kept for a lane that was busy).
        tokio::time::timeout(std::time::Duration::from_secs(1), lane.notified())
            .await
            .expect("the lane was woken");
        assert_eq!(sequences(lane.take()), Some(vec![1, 2, 3]));
        assert_eq!(sequences(lane.take()), Some(vec![]));
    }

    #[test]
    fn a_wake_up_from_elsewhere_makes_the_lane_read() {
        let (s, lane) = signals_with_lane("int-1");
        s.ordered_committed(vec![("int-1".to_owned(), claim(1))]);
        s.wake_lane("int-1");
        // Handed over after the mark: still stale until the lane has looked.
        s.ordered_committed(vec![("int-1".to_owned(), claim(2))]);
        assert!(sequences(lane.take()).is_none());
        // Looking clears the mark; what comes after is handed over again.
        s.ordered_committed(vec![("int-1".to_owned(), claim(3))]);
        assert_eq!(sequences(lane.take()), Some(vec![3]));
        s.ordered_accepted(vec!["int-1".to_owned()]);
        assert!(sequences(lane.take()).is_none());
    }

    #[test]
    fn a_full_inbox_makes_the_lane_read() {
        let (s, lane) = signals_with_lane("int-1");
        let many: Vec<(String, Claimed)> = (1..=i64::try_from(LANE_INBOX).unwrap())
            .map(|n| ("int-1".to_owned(), claim(n)))
            .collect();
        s.ordered_committed(many);
        assert_eq!(sequences(lane.take()).map(|v| v.len()), Some(LANE_INBOX));
        let too_many: Vec<(String, Claimed)> = (1..=i64::try_from(LANE_INBOX).unwrap() + 1)
            .map(|n| ("int-1".to_owned(), claim(n)))
            .collect();
        s.ordered_committed(too_many);
        assert!(sequences(lane.take()).is_none());
    }

    #[test]
    fn the_pool_takes_calls_only_while_the_instance_may_start_work() {
        let (s, _rx) = Signals::new();
        let may = Arc::new(AtomicBool::new(false));
        let m = Arc::clone(&may);
        let _started = s
            .open_pool(
                Arc::new(Semaphore::new(2)),
                Box::new(move || m.load(Ordering::SeqCst)),
            )
            .unwrap();
        // A late heartbeat: the call is queued for a claim, not started here.
        assert!(s.unordered_slot().is_none());
        may.store(true, Ordering::SeqCst);
        let first = s.unordered_slot();
        assert!(first.is_some());
        let second = s.unordered_slot();
        assert!(second.is_some());
        // Both places taken.
        assert!(s.unordered_slot().is_none());
        drop(first);
        assert!(s.unordered_slot().is_some());
        // Stopping: nothing more is started this way.
        s.close_pool();
        assert!(s.unordered_slot().is_none());
    }

    #[test]
    fn work_for_a_lane_not_running_starts_it() {
        let (s, mut rx) = Signals::new();
        s.ordered_committed(vec![("int-9/k".to_owned(), claim(1))]);
        assert_eq!(rx.try_recv().ok().as_deref(), Some("int-9/k"));
    }
}
