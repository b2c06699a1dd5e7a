//! Sign-in throttling: failed attempts per account and per client address, with an
//! exponential back-off once a threshold is passed, forgotten after a quiet window or a
//! success. In memory, per instance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed before the back-off starts, per account and per address.
pub const ACCOUNT_FREE_FAILURES: u32 = 5;
pub const ADDRESS_FREE_FAILURES: u32 = 20;
/// The first wait, doubled with each further failure, up to the longest.
const FIRST_WAIT: Duration = Duration::from_secs(1);
const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);
/// A key quiet for this long starts again from zero.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys kept at most (the oldest are dropped first).
const MAX_KEYS: usize = 100_000;

#[derive(Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
    blocked_until: Option<Instant>,
}

#[derive(Default)]
pub struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Throttle {
    /// How long the caller must wait before trying again, if it must.
    pub fn wait(&self, keys: &[&str], now: Instant) -> Option<Duration> {
        let guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter()
            .filter(|k| !k.is_empty())
            .filter_map(|k| guard.get(*k))
            .filter_map(|e| e.blocked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max()
    }

    /// Records a failure of each key, with its free allowance.
    pub fn failed(&self, keys: &[(&str, u32)], now: Instant) {
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if guard.len() >= MAX_KEYS {
            guard.retain(|_, e| now.duration_since(e.last) < WINDOW);
            if guard.len() >= MAX_KEYS {
                guard.clear();
            }
        }
        for (key, free) in keys.iter().filter(|(k, _)| !k.is_empty()) {
            let e = guard.entry((*key).to_owned()).or_insert(Entry {
                failures: 0,
                last: now,
                blocked_until: None,
            });
            if now.duration_since(e.last) >= WINDOW {
                e.failures = 0;
                e.blocked_until = None;
            }
            e.failures = e.failures.saturating_add(1);
            e.last = now;
            if e.failures > *free {
                let doublings = (e.failures - free - 1).min(20);
                let wait = FIRST_WAIT
                    .saturating_mul(1u32 << doublings)
                    .min(LONGEST_WAIT);
                e.blocked_until = Some(now + wait);
            }
        }
    }

    /// Forgets the keys (a successful sign-in).
    pub fn succeeded(&self, keys: &[&str]) {
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            guard.remove(*k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_back_off_starts_after_the_free_failures_and_doubles() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..5 {
            assert_eq!(t.wait(&["a"], now), None);
            t.failed(&[("a", 5)], now);
        }
        assert_eq!(t.wait(&["a"], now), None, "five failures are free");
        t.failed(&[("a", 5)], now);
        assert_eq!(t.wait(&["a"], now), Some(Duration::from_secs(1)));
        t.failed(&[("a", 5)], now);
        assert_eq!(t.wait(&["a"], now), Some(Duration::from_secs(2)));
        assert_eq!(t.wait(&["a"], now + Duration::from_secs(3)), None);
        assert_eq!(t.wait(&["b"], now), None, "other keys are not affected");
        t.succeeded(&["a"]);
        assert_eq!(t.wait(&["a"], now), None);
    }

    #[test]
    fn waits_are_capped_and_forgotten_after_a_quiet_window() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..60 {
            t.failed(&[("a", 0)], now);
        }
        assert_eq!(t.wait(&["a"], now), Some(LONGEST_WAIT));
        let later = now + WINDOW + Duration::from_secs(1);
        t.failed(&[("a", 5)], later);
        assert_eq!(t.wait(&["a"], later), None);
    }
}
