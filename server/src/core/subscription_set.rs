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

#[cfg(test)]
mod tests {
    use flowgate_api::subscriptions::{pattern_matches, pattern_problem};
    use flows_runtime::event_type_problem;

    #[test]
    fn patterns_match_prefixes_and_everything() {
        assert!(pattern_matches("*", "user.created"));
        assert!(pattern_matches("user.*", "user.created"));
        assert!(pattern_matches("user.*", "user.profile.changed"));
        assert!(!pattern_matches("user.*", "user"));
        assert!(!pattern_matches("user.*", "users.created"));
        assert!(pattern_matches("user.created", "user.created"));
        assert!(!pattern_matches("user.created", "user.deleted"));
    }

    #[test]
    fn patterns_and_types_are_validated() {
        assert!(pattern_problem("*").is_none());
        assert!(pattern_problem("user.*").is_none());
        assert!(pattern_problem("a.b-c_d").is_none());
        for bad in ["", "user.", ".x", "us er", "*.created", "user.*.x", "**"] {
            assert!(pattern_problem(bad).is_some(), "{bad}");
        }
        assert!(event_type_problem("user.*").is_some());
        assert!(event_type_problem(&"a".repeat(129)).is_some());
    }
}
