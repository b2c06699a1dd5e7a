//! Consumer API keys.

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyIn {
    pub label: String,
    /// Paste an existing secret instead of generating one (at least 24 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Returned once, when a key is created: the only time the secret is shown.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyCreatedOut {
    pub id: String,
    pub label: String,
    pub prefix: String,
    pub secret: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

debug_redacted!(KeyIn { label } secret { secret });
debug_redacted!(KeyCreatedOut { id, label, prefix, created_at } secret { secret });
