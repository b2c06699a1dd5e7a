//! Rate limits of triggers and credentials: a token bucket (GCRA, lock-free) per trigger and
//! per credential, counted on this instance.

use std::num::NonZeroU32;

use flowgate_api::RateLimit;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};

/// One bucket.
pub struct Limiter {
    bucket: DefaultDirectRateLimiter,
    clock: DefaultClock,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiter")
    }
}

impl Limiter {
    /// A bucket for a limit; `None` for one that limits nothing (zero rates are refused by
    /// validation before they get here).
    pub fn new(limit: &RateLimit) -> Option<Limiter> {
        let per_second = NonZeroU32::new(limit.per_second)?;
        let burst = NonZeroU32::new(limit.burst())?;
        let quota = Quota::per_second(per_second).allow_burst(burst);
        Some(Limiter {
            bucket: DefaultDirectRateLimiter::direct(quota),
            clock: DefaultClock::default(),
        })
    }

    /// Takes one token; when there is none, the seconds until there is (at least 1, for
    /// `Retry-After`).
    pub fn check(&self) -> Result<(), u64> {
        self.bucket.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            secs.max(1)
        })
    }
}

/// The limit stored as two nullable columns.
pub fn from_columns(per_second: Option<i32>, burst: Option<i32>) -> Option<RateLimit> {
    let per_second = u32::try_from(per_second?).ok()?;
    Some(RateLimit {
        per_second,
        burst: burst.and_then(|b| u32::try_from(b).ok()),
    })
}

/// The two columns of a limit.
pub fn to_columns(limit: Option<&RateLimit>) -> (Option<i32>, Option<i32>) {
    match limit {
        Some(l) => (
            i32::try_from(l.per_second).ok(),
            l.burst.and_then(|b| i32::try_from(b).ok()),
        ),
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_bucket_refuses_with_a_wait() {
        let l = Limiter::new(&RateLimit {
            per_second: 1,
            burst: Some(3),
        })
        .unwrap();
        for _ in 0..3 {
            assert_eq!(l.check(), Ok(()));
        }
        assert_eq!(l.check(), Err(1));
    }

    #[test]
    fn columns_round_trip() {
        let l = RateLimit {
            per_second: 50,
            burst: Some(100),
        };
        let (a, b) = to_columns(Some(&l));
        assert_eq!(from_columns(a, b), Some(l));
        assert_eq!(from_columns(None, Some(3)), None);
        assert_eq!(to_columns(None), (None, None));
    }
}
