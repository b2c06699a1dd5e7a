//! Settings: embedded `config/default.toml`, then the file named by `FLOWGATE_CONFIG`, then
//! `FLOWGATE_*` environment variables (`__` separates section and key).

use std::path::PathBuf;
use std::time::Duration;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;

const DEFAULTS: &str = include_str!("../../config/default.toml");

#[derive(Clone, Deserialize)]
pub struct Config {
    pub listen: String,
    /// A separate address for consumer endpoints (`/t/...`, `/oauth/token`); empty: `listen`
    /// serves everything.
    pub consumer_listen: String,
    /// The address consumers call (`https://hooks.example.com`), for the generated endpoint
    /// docs; empty: each request's own scheme and host.
    pub public_url: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub admin_email: String,
    pub admin_password: String,
    pub log_format: String,
    pub http_workers: usize,
    pub database: DatabaseCfg,
    pub auth: AuthCfg,
    pub worker: WorkerCfg,
    pub journal: JournalCfg,
    pub cluster: ClusterCfg,
    pub retention: RetentionCfg,
    pub runtime: RuntimeCfg,
    pub triggers: TriggersCfg,
    pub ui: UiCfg,
    pub subscriptions: SubscriptionsCfg,
    pub oauth: OauthCfg,
    pub outbound: OutboundCfg,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database", &redact_url(&self.database_url))
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

/// `postgres://user:secret@host/db` -> `postgres://user:***@host/db`
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseCfg {
    pub max_connections: u32,
    pub sqlite_synchronous: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthCfg {
    pub session_ttl_hours: u64,
    pub secure_cookie: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkerCfg {
    pub concurrency: usize,
    pub poll_interval_ms: u64,
    pub claim_batch: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RetentionCfg {
    pub max_age_hours: u64,
    pub dead_max_age_hours: u64,
    pub max_per_integration: u64,
    pub batch: u64,
    pub interval_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClusterCfg {
    pub heartbeat_ms: u64,
    pub dead_after_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct JournalCfg {
    pub max_batch: usize,
    pub queue_capacity: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RuntimeCfg {
    pub max_operations: u64,
    pub max_call_levels: usize,
    pub max_expr_depth: usize,
    pub max_fn_expr_depth: usize,
    pub max_string_bytes: usize,
    pub max_array_len: usize,
    pub max_map_len: usize,
    pub max_duration_ms: u64,
    /// Request-response flows first run right on the HTTP worker for at most this long (µs);
    /// one that needs more is stopped and run again on a blocking thread. 0: always there.
    pub inline_budget_us: u64,
    /// Flows running on blocking threads at once (request-response calls, workers and
    /// ordered lanes together); a request-response call that finds none free for 2 s gets
    /// `503 busy`, a worker waits.
    pub max_concurrent_runs: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TriggersCfg {
    pub max_timeout_ms: u64,
    pub max_body_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UiCfg {
    /// The built web UI (`index.html` and its files); relative to the working directory.
    pub dir: PathBuf,
}

/// Outbound webhooks: delivery of events to subscriptions.
#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionsCfg {
    /// Deliveries in flight at once on this instance.
    pub concurrency: usize,
    /// Total time of one attempt (connect, send, answer), milliseconds.
    pub timeout_ms: u64,
    /// Delay before each attempt (ms); the first is the first attempt. After the last one
    /// fails, the delivery has failed.
    pub retry_schedule_ms: Vec<u64>,
    /// Each delay is multiplied by a random factor in `[1 - jitter, 1 + jitter]`.
    pub jitter: f64,
    /// Longest `Retry-After` honoured, seconds.
    pub max_retry_after_secs: u64,
    /// A subscription failing without a success for this long is disabled (0: never).
    pub disable_after_secs: u64,
    /// How long a rotated-out secret keeps signing alongside the new one.
    pub rotation_overlap_secs: u64,
    /// How often the delivery worker looks for due deliveries it was not told about.
    pub poll_interval_ms: u64,
    /// Finished deliveries (and their attempts) are deleted after this many hours (0: kept).
    pub retention_hours: u64,
}

/// Outbound calls (HTTP steps, OAuth2 token URLs, webhook deliveries).
#[derive(Debug, Clone, Deserialize)]
pub struct OutboundCfg {
    /// Addresses that are not public but may be called anyway: CIDRs, addresses, `host` or
    /// `host:port`. A list in TOML; comma-separated in `FLOWGATE_OUTBOUND__ALLOW`.
    #[serde(deserialize_with = "list_or_commas")]
    pub allow: Vec<String>,
}

/// A list, or one string of comma-separated items (as an environment variable gives it).
fn list_or_commas<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        One(String),
    }
    Ok(match Either::deserialize(d)? {
        Either::List(l) => l,
        Either::One(s) => s
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect(),
    })
}

/// Inbound OAuth2 (client credentials) for triggers.
#[derive(Debug, Clone, Deserialize)]
pub struct OauthCfg {
    /// Lifetime of an access token, seconds.
    pub token_ttl_secs: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading settings: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("setting `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

impl Config {
    /// Defaults, then `FLOWGATE_CONFIG`, then the environment.
    pub fn load() -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Toml::string(DEFAULTS));
        if let Ok(path) = std::env::var("FLOWGATE_CONFIG") {
            fig = fig.merge(Toml::file_exact(path));
        }
        let fig = fig.merge(
            Env::prefixed("FLOWGATE_")
                .split("__")
                .ignore(&["config", "test_postgres_url"]),
        );
        Self::from_figment(fig)
    }

    fn from_figment(fig: Figment) -> Result<Config, ConfigError> {
        let cfg: Config = fig.extract().map_err(Box::new)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Only the embedded defaults: for tests, which then override fields.
    pub fn defaults() -> Result<Config, ConfigError> {
        Self::from_figment(Figment::from(Toml::string(DEFAULTS)))
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key, message: &str| {
            Err(ConfigError::Invalid {
                key,
                message: message.to_owned(),
            })
        };
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad("listen", "must be an address like 127.0.0.1:8080");
        }
        if !self.consumer_listen.is_empty()
            && self
                .consumer_listen
                .parse::<std::net::SocketAddr>()
                .is_err()
        {
            return bad(
                "consumer_listen",
                "must be empty or an address like 0.0.0.0:8081",
            );
        }
        let url = self.database_url.trim();
        if !url.is_empty() && !url.starts_with("sqlite:") && !url.starts_with("postgres") {
            return bad("database_url", "must start with sqlite: or postgres://");
        }
        if self.worker.concurrency == 0 {
            return bad("worker.concurrency", "must be at least 1");
        }
        if self.worker.claim_batch == 0 {
            return bad("worker.claim_batch", "must be at least 1");
        }
        if self.journal.max_batch == 0 || self.journal.queue_capacity == 0 {
            return bad("journal", "max_batch and queue_capacity must be at least 1");
        }
        if !matches!(self.database.sqlite_synchronous.as_str(), "full" | "normal") {
            return bad(
                "database.sqlite_synchronous",
                "must be \"full\" or \"normal\"",
            );
        }
        if !matches!(self.log_format.as_str(), "pretty" | "json") {
            return bad("log_format", "must be \"pretty\" or \"json\"");
        }
        if self.admin_email.is_empty() != self.admin_password.is_empty() {
            return bad(
                "admin_email",
                "admin_email and admin_password must be set together",
            );
        }
        if self.retention.batch == 0 || self.retention.interval_ms == 0 {
            return bad("retention", "batch and interval_ms must be at least 1");
        }
        if self.runtime.max_concurrent_runs == 0 {
            return bad("runtime.max_concurrent_runs", "must be at least 1");
        }
        if self.oauth.token_ttl_secs == 0 || self.oauth.token_ttl_secs > 86_400 {
            return bad("oauth.token_ttl_secs", "must be 1 to 86400 (one day)");
        }
        if self.cluster.heartbeat_ms == 0 {
            return bad("cluster.heartbeat_ms", "must be at least 1");
        }
        if self.cluster.dead_after_ms < 2 * self.cluster.heartbeat_ms {
            return bad(
                "cluster.dead_after_ms",
                "must be at least twice cluster.heartbeat_ms",
            );
        }
        if self.runtime.max_duration_ms == 0 {
            return bad("runtime.max_duration_ms", "must be at least 1");
        }
        let subs = &self.subscriptions;
        if subs.concurrency == 0 || subs.timeout_ms == 0 || subs.poll_interval_ms == 0 {
            return bad(
                "subscriptions",
                "concurrency, timeout_ms and poll_interval_ms must be at least 1",
            );
        }
        if subs.retry_schedule_ms.is_empty() || subs.retry_schedule_ms.len() > 100 {
            return bad(
                "subscriptions.retry_schedule_ms",
                "must have 1 to 100 delays",
            );
        }
        if !(0.0..=1.0).contains(&subs.jitter) {
            return bad("subscriptions.jitter", "must be between 0 and 1");
        }
        Ok(())
    }

    /// The database URL in effect: the override, or the SQLite file in the data dir.
    pub fn effective_database_url(&self) -> String {
        let url = self.database_url.trim();
        if url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("flowgate.db").display()
            )
        } else {
            url.to_owned()
        }
    }

    pub fn runtime_limits(&self) -> flows_runtime::Limits {
        let r = &self.runtime;
        flows_runtime::Limits {
            max_operations: r.max_operations,
            max_call_levels: r.max_call_levels,
            max_expr_depth: r.max_expr_depth,
            max_fn_expr_depth: r.max_fn_expr_depth,
            max_string_bytes: r.max_string_bytes,
            max_array_len: r.max_array_len,
            max_map_len: r.max_map_len,
            max_duration: Duration::from_millis(r.max_duration_ms),
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let cfg = Config::defaults().unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:8080");
        assert_eq!(cfg.data_dir, PathBuf::from("./flowgate-data"));
        assert_eq!(cfg.ui.dir, PathBuf::from("frontend/dist"));
        assert!(cfg
            .effective_database_url()
            .ends_with("flowgate-data/flowgate.db?mode=rwc"));
    }

    #[test]
    fn env_overrides_file_overrides_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "f.toml",
                "listen = \"127.0.0.1:9000\"\n[worker]\nconcurrency = 3",
            )?;
            jail.set_env("FLOWGATE_CONFIG", "f.toml");
            jail.set_env("FLOWGATE_WORKER__CONCURRENCY", "5");
            jail.set_env("FLOWGATE_DATABASE_URL", "postgres://u@h/db");
            jail.set_env("FLOWGATE_UI__DIR", "/srv/flowgate-ui");
            jail.set_env(
                "FLOWGATE_OUTBOUND__ALLOW",
                "10.20.0.0/16, crm.internal:8443",
            );
            let cfg = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(cfg.outbound.allow, ["10.20.0.0/16", "crm.internal:8443"]);
            assert_eq!(cfg.ui.dir, PathBuf::from("/srv/flowgate-ui"));
            assert_eq!(cfg.listen, "127.0.0.1:9000");
            assert_eq!(cfg.worker.concurrency, 5);
            assert_eq!(cfg.effective_database_url(), "postgres://u@h/db");
            Ok(())
        });
    }

    #[test]
    fn invalid_values_name_the_key() {
        Jail::expect_with(|jail| {
            jail.set_env("FLOWGATE_WORKER__CONCURRENCY", "0");
            let err = Config::load()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("worker.concurrency"), "{err}");
            jail.set_env("FLOWGATE_WORKER__CONCURRENCY", "2");
            jail.set_env("FLOWGATE_DATABASE_URL", "mysql://x");
            let err = Config::load()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("database_url"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn database_password_is_redacted() {
        assert_eq!(
            redact_url("postgres://bob:hunter2@db:5432/x"),
            "postgres://bob:***@db:5432/x"
        );
        assert_eq!(redact_url("sqlite://a.db"), "sqlite://a.db");
    }
}
