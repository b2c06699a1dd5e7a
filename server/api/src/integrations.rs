//! Integrations: a trigger plus a flow of steps, saved as immutable versions.

use flows_runtime::model::Step;
use serde::{Deserialize, Serialize};

/// The document an integration designer saves with `PUT /api/v1/integrations/{slug}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationDoc {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// A disabled integration keeps its endpoint reserved but answers 404 to callers.
    #[serde(default = "yes")]
    pub enabled: bool,
    pub trigger: TriggerDoc,
    #[serde(default)]
    pub steps: Vec<Step>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerDoc {
    /// The endpoint below `/t/`, e.g. `acme/CreateCustomerRecord`.
    pub path: String,
    /// Enabled HTTP methods (`GET`, `POST`, `PUT`, `PATCH`, `DELETE`).
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    pub auth: TriggerAuth,
    /// Run calls strictly one at a time in arrival order.
    #[serde(default)]
    pub ordered: bool,
    /// The caller waits for the flow's answer (up to `timeout_ms`); otherwise it gets 202 at once.
    #[serde(default = "yes")]
    pub request_response: bool,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
    #[serde(default)]
    pub query_params: Vec<QueryParam>,
    /// Accepted request media types (`application/json`, `text/*`, ...). Empty: any.
    #[serde(default)]
    pub content_types: Vec<String>,
}

pub fn default_methods() -> Vec<String> {
    vec!["POST".to_owned()]
}
pub const fn default_timeout_ms() -> u64 {
    10_000
}
pub const fn default_max_body_bytes() -> u64 {
    1024 * 1024
}

/// Who may call a trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TriggerAuth {
    /// An `X-API-Key` header holding the secret of one of these keys (ids).
    ApiKey { keys: Vec<String> },
    /// Open to anyone who knows the URL.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryParam {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
}

/// An integration as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationOut {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    /// The published version (every save publishes a new one).
    pub version: i64,
    /// The endpoint path consumers call, e.g. `/t/acme/CreateCustomerRecord`.
    pub endpoint: String,
    pub trigger: TriggerDoc,
    pub steps: Vec<Step>,
    pub created_at: String,
    pub updated_at: String,
}

/// One entry of `GET /api/v1/integrations/{slug}/versions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionOut {
    pub version: i64,
    pub created_at: String,
    pub created_by: Option<String>,
    pub document: IntegrationDoc,
}
