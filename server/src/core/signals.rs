//! Wake-ups: what the journal tells the workers after a commit, and the per-lane notifiers
//! the workers wait on.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, Notify};

/// What the journal tells the workers after a commit.
pub trait Committed: Send + Sync + 'static {
    /// New asynchronous unordered work is on disk.
    fn unordered_accepted(&self);
    /// New work for these ordered lanes (lane ids) is on disk.
    fn ordered_accepted(&self, lanes: Vec<String>);
}

/// Wake-ups from the journal to the workers.
pub struct Signals {
    pub(crate) unordered: Notify,
    pub(crate) lanes: Mutex<HashMap<String, Arc<Notify>>>,
    /// Lanes that must read again from their start (a parked execution was requeued).
    rewinds: Mutex<HashSet<String>>,
    new_lanes: mpsc::UnboundedSender<String>,
}

impl Signals {
    pub fn new() -> (Arc<Signals>, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let s = Signals {
            unordered: Notify::new(),
            lanes: Mutex::new(HashMap::new()),
            rewinds: Mutex::new(HashSet::new()),
            new_lanes: tx,
        };
        (Arc::new(s), rx)
    }

    pub(crate) fn lane(&self, integration_id: &str) -> Option<Arc<Notify>> {
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

    /// Makes sure a lane runs for this trigger.
    pub fn wake_lane(&self, integration_id: &str) {
        match self.lane(integration_id) {
            Some(n) => n.notify_one(),
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

    fn ordered_accepted(&self, integration_ids: Vec<String>) {
        for id in integration_ids {
            self.wake_lane(&id);
        }
    }
}
