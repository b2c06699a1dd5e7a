//! Event subscriptions (outbound webhooks), their deliveries and delivery attempts, and
//! publishing test events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Headers Flowgate sets on a delivery itself; a subscription may not set them (nor any
/// other `webhook-*` header).
pub const RESERVED_HEADERS: &[&str] = &[
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "content-length",
    "host",
    "transfer-encoding",
    "connection",
];

/// A delivery's statuses, in the order a delivery goes through them.
pub const DELIVERY_STATUSES: [&str; 4] = ["pending", "delivering", "succeeded", "failed"];

/// Why a subscription pattern is not acceptable: an event type
/// ([`flows_runtime::event_type_problem`]), `prefix.*`, or `*`.
pub fn pattern_problem(p: &str) -> Option<String> {
    if p == "*" {
        return None;
    }
    let base = p.strip_suffix(".*").unwrap_or(p);
    flows_runtime::event_type_problem(base)
        .map(|_| format!("event type pattern `{p}` must be an event type, `prefix.*` or `*`"))
}

/// `user.*` matches `user.created` and `user.profile.changed`; `*` matches everything;
/// anything else matches itself.
pub fn pattern_matches(pattern: &str, event_type: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix(".*") {
        Some(prefix) => event_type
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.')),
        None => pattern == event_type,
    }
}

/// `POST /api/v1/subscriptions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubscriptionIn {
    /// `http://` or `https://` URL the events are POSTed to (at most 2048 characters), on a
    /// public address unless `outbound.allow` lists it.
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub url: String,
    /// 1 to 100 event types wanted: exact (`user.updated`), a prefix (`user.*`) or everything
    /// (`*`).
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    pub event_types: Vec<String>,
    /// At most 1000 characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 1000))]
    pub description: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Up to 32 extra headers sent with every delivery (not the `webhook-*` ones, nor
    /// `content-type`, `content-length`, `host`, `connection`, `transfer-encoding`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// At most this many deliveries per second (per instance, 1 to 10000); none: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 10_000))]
    pub rate_limit: Option<u32>,
    /// Deliver strictly one at a time in event order (a failing delivery holds the rest back).
    #[serde(default)]
    pub ordered: bool,
}

fn yes() -> bool {
    true
}

/// `PATCH /api/v1/subscriptions/{id}`: only the fields given change. `rate_limit: 0` removes
/// the limit. Enabling a subscription clears its `disabled_reason`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubscriptionPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered: Option<bool>,
}

/// A subscription; never carries its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionOut {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: String,
    pub enabled: bool,
    /// Why Flowgate disabled it (410 Gone, failing for days); absent when enabled by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    pub ordered: bool,
    /// While a rotated-out secret still signs alongside the new one: until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<String>,
    /// Deliveries have failed without a success since this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Returned once, on creation: the only time the signing secret is shown.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionCreatedOut {
    #[serde(flatten)]
    pub subscription: SubscriptionOut,
    /// `whsec_` + base64 of the key (Standard Webhooks).
    pub secret: String,
}

/// `POST /api/v1/subscriptions/{id}/rotate-secret` (body optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateSecretIn {
    /// How long the old secret keeps signing alongside the new one, in seconds (default
    /// `subscriptions.rotation_overlap_secs`, 24 h; 0: it stops at once; at most 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 2_592_000))]
    pub overlap_secs: Option<u64>,
}

/// The new secret, shown this once.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
// `SecretOut` in the document is the stored secret of `crate::secrets`.
#[cfg_attr(feature = "openapi", schema(as = SubscriptionSecretOut))]
pub struct SecretOut {
    pub secret: String,
    /// Until when the previous secret also signs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<String>,
}

/// `POST /api/v1/events`: publishes an event to every matching enabled subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    /// Dot-separated segments of letters, digits, `_` and `-`, at most 128 characters (no
    /// wildcard).
    #[serde(rename = "type")]
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 128, pattern = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
    )]
    pub event_type: String,
    /// Any JSON, at most 256 KiB.
    #[serde(default)]
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventOut {
    /// The event id, sent as `webhook-id`.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// Deliveries created (one per matching enabled subscription).
    pub deliveries: u64,
}

/// One event to one subscription, with its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryOut {
    pub id: String,
    pub subscription_id: String,
    /// The `webhook-id`: the same for every attempt and redelivery.
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivering`, `succeeded`, `failed`.
    pub status: String,
    pub attempts: i32,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The execution whose flow emitted the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// `GET /deliveries/{id}` only: the body sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// `GET /deliveries/{id}` only: every attempt, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempt_log: Vec<AttemptOut>,
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttemptOut {
    /// 1 for the first attempt (a redelivery starts again at 1).
    pub attempt: i32,
    pub started_at: String,
    pub duration_ms: i64,
    pub url: String,
    /// Headers sent (credentials among the custom headers redacted).
    pub request_headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<u16>,
    /// The first 2 KiB of the response body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_excerpt: Option<String>,
    /// A connection error, timeout, or why the answer counts as a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `POST /api/v1/subscriptions/{id}/redeliver`: every failed delivery created since then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RedeliverIn {
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub since: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RedeliverOut {
    /// Deliveries queued again.
    pub requeued: u64,
}

debug_redacted!(SubscriptionCreatedOut { subscription } secret { secret });
debug_redacted!(SecretOut { previous_secret_expires_at } secret { secret });

#[cfg(test)]
mod tests {
    use super::*;
    use flows_runtime::event_type_problem;

    #[test]
    fn secrets_do_not_reach_debug_output() {
        let s = SecretOut {
            secret: "whsec_c2VjcmV0".into(),
            previous_secret_expires_at: None,
        };
        let text = format!("{s:?}");
        assert!(
            !text.contains("whsec_c2VjcmV0") && text.contains("[redacted]"),
            "{text}"
        );
        let k = crate::KeyIn {
            label: "a".into(),
            secret: Some("fg_topsecret".into()),
            expires_at: None,
            rate_limit: None,
        };
        assert!(!format!("{k:?}").contains("topsecret"));
        let v = crate::secrets::SecretValueIn {
            value: "hunter2".into(),
            hosts: None,
        };
        assert!(!format!("{v:?}").contains("hunter2"));
    }

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
