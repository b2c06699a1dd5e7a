//! Metrics for `/metrics` (Prometheus text format; served by `http::metrics`).
//!
//! Counters and histograms are recorded where things happen, through the `metrics` facade
//! (a lock-free increment on an atomic per label set); queue depths, dead letters and the
//! database pool are read when Prometheus scrapes. One recorder per process: several
//! servers in one process (the tests) share it.

use std::sync::OnceLock;
use std::time::Duration;

use flowgate_api::ExecutionStatus;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Run times: 1 ms to 60 s.
const RUN_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Journal commits: 0.1 ms to 5 s.
const COMMIT_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
];
/// Journal batch sizes.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// Installs the process's recorder (once). Without it the recording calls cost nothing and
/// `/metrics` answers 503.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("flowgate_run_duration_seconds".into()),
                    RUN_BUCKETS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("flowgate_journal_commit_seconds".into()),
                        COMMIT_BUCKETS,
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("flowgate_journal_batch_size".into()),
                        BATCH_BUCKETS,
                    )
                })
                .and_then(|b| b.install_recorder());
            match built {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed; /metrics is off");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "flowgate_calls_total",
        "Consumer calls answered, by integration and status class"
    );
    describe_counter!(
        "flowgate_runs_total",
        "Flow runs ended, by integration and execution status"
    );
    describe_histogram!(
        "flowgate_run_duration_seconds",
        Unit::Seconds,
        "Time a flow run took, by integration"
    );
    describe_counter!(
        "flowgate_retries_total",
        "Failed asynchronous runs put back for another attempt"
    );
    describe_counter!(
        "flowgate_dead_letters_total",
        "Executions that became dead letters"
    );
    describe_counter!(
        "flowgate_deliveries_total",
        "Subscription delivery attempts, by outcome"
    );
    describe_histogram!(
        "flowgate_journal_batch_size",
        "Writes committed together by the journal"
    );
    describe_histogram!(
        "flowgate_journal_commit_seconds",
        Unit::Seconds,
        "Time a journal commit took"
    );
    describe_gauge!(
        "flowgate_queue_depth",
        "Executions waiting to run, by integration"
    );
    describe_gauge!(
        "flowgate_queue_oldest_age_seconds",
        "Age of the oldest waiting execution, by integration"
    );
    describe_gauge!(
        "flowgate_queue_lanes",
        "Ordered lanes with waiting executions, by integration"
    );
    describe_gauge!(
        "flowgate_dead_letters_waiting",
        "Dead letters waiting for a replay or a skip, by integration"
    );
    describe_gauge!(
        "flowgate_db_pool_connections",
        "Database pool connections, by state (idle, in_use)"
    );
    describe_gauge!(
        "flowgate_db_pool_max_connections",
        "The database pool's maximum size"
    );
}

/// The class of an HTTP status: `2xx`, `4xx`, ...
fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// One trigger's call and run metrics, each looked up once, on first use (a look-up by name
/// and labels allocates the labels and hashes them; these are counted on every call).
#[derive(Default)]
pub struct TriggerMetrics {
    slug: String,
    /// `flowgate_calls_total` by status class (1xx..5xx).
    calls: [OnceLock<metrics::Counter>; 5],
    /// `flowgate_runs_total` by execution status.
    runs: [OnceLock<metrics::Counter>; ExecutionStatus::ALL.len()],
    duration: OnceLock<metrics::Histogram>,
}

impl TriggerMetrics {
    pub fn new(slug: &str) -> TriggerMetrics {
        TriggerMetrics {
            slug: slug.to_owned(),
            ..TriggerMetrics::default()
        }
    }

    /// A call to this trigger was answered.
    pub fn call_answered(&self, status: u16) {
        let class = status_class(status);
        let i = usize::from(class.as_bytes()[0] - b'1').min(4);
        self.calls[i]
            .get_or_init(|| {
                metrics::counter!("flowgate_calls_total", "integration" => self.slug.clone(), "status" => class)
            })
            .increment(1);
    }

    /// A run of this trigger's flow ended.
    pub fn run_ended(&self, status: ExecutionStatus, took: Duration) {
        // One cell per status (`runs` is as long as `ExecutionStatus::ALL`).
        if let Some(cell) = self.runs.get(status as usize) {
            cell.get_or_init(|| {
                metrics::counter!("flowgate_runs_total", "integration" => self.slug.clone(), "status" => status.as_str())
            })
            .increment(1);
        }
        self.duration
            .get_or_init(|| {
                metrics::histogram!("flowgate_run_duration_seconds", "integration" => self.slug.clone())
            })
            .record(took.as_secs_f64());
    }
}

/// A consumer call no trigger matched was answered: counted under `_unmatched` (so a scan of
/// random paths cannot grow the label set). Matched calls count in [`TriggerMetrics`].
pub fn unmatched_call_answered(status: u16) {
    metrics::counter!("flowgate_calls_total", "integration" => "_unmatched", "status" => status_class(status))
        .increment(1);
}

/// A flow run ended (any mode, any attempt).
pub fn run_ended(integration: &str, status: ExecutionStatus, took: Duration) {
    metrics::counter!("flowgate_runs_total", "integration" => integration.to_owned(), "status" => status.as_str())
        .increment(1);
    metrics::histogram!("flowgate_run_duration_seconds", "integration" => integration.to_owned())
        .record(took.as_secs_f64());
}

/// The end state of an asynchronous attempt after its retry policy.
pub fn attempt_settled(integration: &str, status: ExecutionStatus) {
    match status {
        ExecutionStatus::Queued => {
            metrics::counter!("flowgate_retries_total", "integration" => integration.to_owned())
                .increment(1);
        }
        ExecutionStatus::Dead => {
            metrics::counter!("flowgate_dead_letters_total", "integration" => integration.to_owned())
                .increment(1);
        }
        _ => {}
    }
}

/// A delivery attempt to a subscriber ended: `succeeded`, `retrying` or `failed`.
pub fn delivery(outcome: &'static str) {
    metrics::counter!("flowgate_deliveries_total", "outcome" => outcome).increment(1);
}

/// The journal committed `size` writes in `took`.
pub fn journal_commit(size: usize, took: Duration) {
    metrics::histogram!("flowgate_journal_batch_size").record(size as f64);
    metrics::histogram!("flowgate_journal_commit_seconds").record(took.as_secs_f64());
}

/// Keeps the recorder's histograms drained (it has no task of its own without its listener).
pub async fn upkeep(shutdown: tokio_util::sync::CancellationToken) {
    let Some(handle) = install() else { return };
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => handle.run_upkeep(),
        }
    }
}

/// The metrics in the Prometheus text format; `None` without a recorder.
pub fn render() -> Option<String> {
    install().map(|h| h.render())
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_classes() {
        assert_eq!(super::status_class(200), "2xx");
        assert_eq!(super::status_class(202), "2xx");
        assert_eq!(super::status_class(404), "4xx");
        assert_eq!(super::status_class(504), "5xx");
        assert_eq!(super::status_class(302), "3xx");
    }
}
