//! Consumer API keys.

use serde::{Deserialize, Serialize};

use crate::integrations::RateLimit;

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyIn {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub label: String,
    /// Paste an existing secret instead of generating one (24 to 256 visible characters, no
    /// spaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 24, max_length = 256, pattern = r"^\S+$")
    )]
    pub secret: Option<String>,
    /// From this moment (RFC 3339, in the future) the key is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub expires_at: Option<String>,
    /// Calls per second with this key (per instance), beyond a trigger's own limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
}

/// `PATCH /api/v1/keys/{id}`: what can change of a key without a new secret.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyPatch {
    /// The new label (1 to 100 characters). Executions keep the label their call came with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub label: Option<String>,
}

/// `POST /api/v1/keys/{id}/rotate` (and `/oauth-clients/{id}/rotate`): a new secret; the old
/// one keeps working for `overlap_s` seconds (default 0: refused at once).
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateIn {
    /// Seconds the old secret keeps working (at most 30 days).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 2_592_000))]
    pub overlap_s: u64,
    /// Keys only: paste the new secret instead of generating one (24 to 256 visible characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 24, max_length = 256, pattern = r"^\S+$")
    )]
    pub secret: Option<String>,
}

/// Longest overlap of an old and a new secret: 30 days.
pub const MAX_OVERLAP_S: u64 = 30 * 24 * 3600;

/// Returned once, when a key is created or rotated: the only time the secret is shown.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyCreatedOut {
    pub id: String,
    pub label: String,
    pub prefix: String,
    pub secret: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// After a rotation: until when the previous secret is still accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyOut {
    pub id: String,
    pub label: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// Slugs of integrations whose trigger accepts this key.
    #[serde(default)]
    pub integrations: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Whether `expires_at` has passed (the key is refused).
    #[serde(default)]
    pub expired: bool,
    /// Until when the secret before the last rotation is still accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
}

debug_redacted!(KeyIn { label, expires_at, rate_limit } secret { secret });
debug_redacted!(RotateIn { overlap_s } secret { secret });
debug_redacted!(KeyCreatedOut { id, label, prefix, created_at, expires_at, previous_until } secret { secret });
