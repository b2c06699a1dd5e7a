//! When to try again: the retry policy of asynchronous executions, back-off with jitter, and
//! a server's `Retry-After`.

use std::time::Duration;

use flowgate_api::integrations::RetryPolicy;
use flowgate_api::ExecutionStatus;

use super::execution::Finished;

/// Whether the retry policy retries this end state (`retry_if`: `error`, `5xx`, `429`, ...).
pub fn retryable(policy: &RetryPolicy, f: &Finished) -> bool {
    policy.retry_if.iter().any(|m| match m.as_str() {
        "error" => f.status == ExecutionStatus::Errored,
        class if class.len() == 3 && class.ends_with("xx") => {
            let digit = class.chars().next().and_then(|c| c.to_digit(10));
            match (digit, f.response_status) {
                (Some(d), Some(st)) if f.status != ExecutionStatus::Errored => {
                    u32::try_from(st / 100).ok() == Some(d)
                }
                _ => false,
            }
        }
        exact => match (exact.parse::<i32>(), f.response_status) {
            (Ok(want), Some(st)) => f.status != ExecutionStatus::Errored && want == st,
            _ => false,
        },
    })
}

/// Delay before retry number `retry` (1 for the first retry): exponential from
/// `initial_delay_ms`, capped at `max_delay_ms`, with "equal jitter" (half fixed, half random)
/// so that executions failing together do not come back together.
pub fn backoff_us(policy: &RetryPolicy, retry: u32, random: f64) -> i64 {
    let exp = retry.saturating_sub(1).min(40);
    let base = policy
        .initial_delay_ms
        .saturating_mul(1u64 << exp)
        .min(policy.max_delay_ms);
    let half = base as f64 / 2.0;
    let ms = half + half * random.clamp(0.0, 1.0);
    (ms * 1000.0) as i64
}

/// Applies the retry policy to a failed asynchronous run: back to `queued` with a due time
/// while attempts remain, else `dead`. Successes and non-retryable failures stay as they are.
pub fn apply_retry_policy(policy: &RetryPolicy, mut f: Finished, now: i64) -> Finished {
    if !retryable(policy, &f) {
        return f;
    }
    let attempts = u32::try_from(f.attempts).unwrap_or(0);
    if attempts < policy.max_attempts.max(1) {
        let delay = backoff_us(policy, attempts, rand::random::<f64>());
        f.status = ExecutionStatus::Queued;
        f.next_attempt_at = Some(now + delay);
    } else {
        f.status = ExecutionStatus::Dead;
    }
    f
}

/// A delivery schedule's delay before the next attempt after `done` attempts, with
/// `jitter` (0..1) spreading it around the scheduled value, or `None` when they are used up.
pub fn next_delay_ms(schedule: &[u64], done: usize, jitter: f64, random: f64) -> Option<u64> {
    let base = *schedule.get(done)?;
    let factor = 1.0 + jitter.clamp(0.0, 1.0) * (random.clamp(0.0, 1.0) * 2.0 - 1.0);
    Some((base as f64 * factor) as u64)
}

/// `Retry-After`: seconds, or an HTTP date (a date in the past is no delay).
pub fn retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let ms = at.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(status: ExecutionStatus, response_status: i32, attempts: i32) -> Finished {
        Finished {
            id: "x".to_owned(),
            status,
            started_at: 0,
            finished_at: 0,
            attempts,
            response_status: Some(response_status),
            response: None,
            steps: "[]".to_owned(),
            logs: "[]".to_owned(),
            error: None,
            next_attempt_at: None,
            notify_waiter: false,
            events: Vec::new(),
        }
    }

    #[test]
    fn retry_if_matches_errors_classes_and_statuses() {
        let mut p = RetryPolicy::default();
        assert!(retryable(&p, &ended(ExecutionStatus::Errored, 500, 1)));
        assert!(retryable(&p, &ended(ExecutionStatus::Failed, 503, 1)));
        assert!(retryable(&p, &ended(ExecutionStatus::Succeeded, 502, 1)));
        assert!(!retryable(&p, &ended(ExecutionStatus::Failed, 400, 1)));
        assert!(!retryable(&p, &ended(ExecutionStatus::Succeeded, 200, 1)));
        p.retry_if = vec!["429".to_owned()];
        assert!(retryable(&p, &ended(ExecutionStatus::Failed, 429, 1)));
        assert!(!retryable(&p, &ended(ExecutionStatus::Errored, 500, 1)));
        assert!(!retryable(&p, &ended(ExecutionStatus::Failed, 503, 1)));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        let p = RetryPolicy {
            initial_delay_ms: 1_000,
            max_delay_ms: 5_000,
            ..RetryPolicy::default()
        };
        assert_eq!(backoff_us(&p, 1, 0.0), 500_000);
        assert_eq!(backoff_us(&p, 1, 1.0), 1_000_000);
        assert_eq!(backoff_us(&p, 2, 1.0), 2_000_000);
        assert_eq!(backoff_us(&p, 3, 0.5), 3_000_000);
        assert_eq!(backoff_us(&p, 10, 1.0), 5_000_000);
        assert_eq!(backoff_us(&p, u32::MAX, 1.0), 5_000_000);
    }

    #[test]
    fn failures_are_retried_then_dead() {
        let p = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let f = apply_retry_policy(&p, ended(ExecutionStatus::Errored, 500, 1), 10);
        assert_eq!(f.status, ExecutionStatus::Queued);
        assert!(f.next_attempt_at.is_some_and(|t| t >= 10 + 500_000));
        let f = apply_retry_policy(&p, ended(ExecutionStatus::Errored, 500, 3), 10);
        assert_eq!(f.status, ExecutionStatus::Dead);
        assert_eq!(f.next_attempt_at, None);
        let f = apply_retry_policy(&p, ended(ExecutionStatus::Failed, 422, 1), 10);
        assert_eq!(f.status, ExecutionStatus::Failed);
    }

    #[test]
    fn schedule_with_jitter_then_given_up() {
        let s = [0, 5_000, 300_000];
        assert_eq!(next_delay_ms(&s, 1, 0.2, 0.5), Some(5_000));
        assert_eq!(next_delay_ms(&s, 1, 0.2, 0.0), Some(4_000));
        assert_eq!(next_delay_ms(&s, 1, 0.2, 1.0), Some(6_000));
        assert_eq!(next_delay_ms(&s, 2, 0.0, 0.9), Some(300_000));
        assert_eq!(next_delay_ms(&s, 3, 0.2, 0.5), None);
    }

    #[test]
    fn retry_after_in_seconds_or_a_date() {
        assert_eq!(retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon"), None);
    }
}
