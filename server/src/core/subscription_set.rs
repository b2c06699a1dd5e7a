//! The enabled subscriptions, as the journal matches emitted events against them.

use std::sync::{Arc, RwLock};

use flowgate_api::subscriptions::pattern_matches;

/// What the journal needs to know of an enabled subscription.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub patterns: Vec<String>,
    pub ordered: bool,
}

impl Entry {
    pub fn wants(&self, event_type: &str) -> bool {
        self.patterns.iter().any(|p| pattern_matches(p, event_type))
    }
}

/// The enabled subscriptions, reloaded on every change (and on other instances through the
/// cluster channel), and the wake-up of the delivery worker.
#[derive(Default)]
pub struct Set {
    entries: RwLock<Arc<Vec<Entry>>>,
    wake: tokio::sync::Notify,
}

impl Set {
    pub fn snapshot(&self) -> Arc<Vec<Entry>> {
        match self.entries.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    pub fn replace(&self, entries: Vec<Entry>) {
        let mut g = match self.entries.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = Arc::new(entries);
    }

    /// New deliveries are on disk, or a delivery ended: the worker looks again.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}
