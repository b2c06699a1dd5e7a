//! The dashboard (`GET /api/v1/stats/overview`): calls, errors and latency per integration
//! over the last hour or day, in time buckets for small charts.

use serde::{Deserialize, Serialize};

/// `GET /api/v1/stats/overview?window=1h|24h`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OverviewOut {
    /// `1h` or `24h`.
    pub window: String,
    /// Start of the first bucket (RFC 3339); bucket `i` covers
    /// `[from + i * bucket_s, from + (i + 1) * bucket_s)`.
    pub from: String,
    pub to: String,
    /// Width of one bucket in seconds (60 for `1h`, 1800 for `24h`).
    pub bucket_s: u64,
    /// All integrations together, bucket by bucket.
    pub totals: Series,
    /// Dead letters waiting (status `dead`, any age) over all integrations.
    pub dead_letters: u64,
    /// Integrations with calls in the window or dead letters waiting: failing first
    /// (error rate, then errors), then slowest (p99), then busiest.
    pub integrations: Vec<IntegrationSeries>,
}

/// One integration's figures over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntegrationSeries {
    pub slug: String,
    pub name: String,
    /// Dead letters waiting (any age).
    pub dead_letters: u64,
    #[serde(flatten)]
    pub series: Series,
}

/// Calls and latency over the window and per bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Series {
    /// Executions received in the window.
    pub calls: u64,
    /// Of those, the ones that ended `failed`, `errored` or `dead`.
    pub errors: u64,
    /// `errors / calls`, 0 when there were no calls.
    pub error_rate: f64,
    /// Run time (received to finished) of the finished ones, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
    /// One entry per bucket, oldest first; always `window / bucket_s` entries.
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bucket {
    pub calls: u64,
    pub errors: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
}
