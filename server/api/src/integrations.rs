//! Integrations: a trigger plus a flow of steps, saved as immutable versions.

use std::collections::BTreeMap;

use flows_runtime::model::Step;
use serde::{Deserialize, Serialize};

use crate::error::ErrorDetail;
use crate::executions::{ExecutionStatus, LogOut, ResponseSnapshot};

/// The document an integration designer saves with `PUT /api/v1/integrations/{slug}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IntegrationDoc {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// A disabled integration keeps its endpoint reserved but answers 404 to callers.
    #[serde(default = "yes")]
    pub enabled: bool,
    pub trigger: TriggerDoc,
    /// The flow: its steps in order, each a flow step; see docs/flows.md.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    #[serde(default)]
    pub steps: Vec<Step>,
    /// The flow's error handler: steps run when a step raises an error (not a limit or the
    /// deadline), with `vars.error` = `#{message, step, step_type}`. Unless they answer
    /// (`respond` or `fail`), the error stands. Its steps are numbered `on_error.0`, ...
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_error: Vec<Step>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Ordered triggers: a JSONPath naming each call's lane (`$.customerId` into the JSON
    /// body, or `$.request.query.customer` into the call): calls with the same key run one at
    /// a time in arrival order, calls with different keys in parallel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane_key: Option<String>,
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
    /// What happens when an asynchronous run fails: retries, then a dead letter.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Recognise a call sent again (same key within the retention) and answer with the first
    /// call's execution instead of running it twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency: Option<Idempotency>,
    /// At most this many calls per second (with a burst) to this trigger, counted per
    /// instance; more get `429` with `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Let the flow answer with a redirect (3xx). Off, such an answer becomes `500
    /// redirect_not_allowed`: a consumer endpoint on the admin origin should not send
    /// browsers elsewhere unless the designer means it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_redirects: bool,
    /// An example request body the designer saved (JSON). The generated endpoint docs infer
    /// the body's schema from it and show it as the example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<serde_json::Value>,
    /// How errors are answered, instead of Flowgate's `{"error": {"code", "message",
    /// "execution_id"}}`: an uncaught error of the flow gets `status`, and it and a `fail`
    /// step's refusal (with the step's status) get `body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_response: Option<ErrorResponse>,
}

/// `trigger.error_response`: the error answer a trigger's callers get.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorResponse {
    /// The status of an uncaught error (400 to 599, checked when published; default 500).
    #[serde(default = "default_error_status")]
    pub status: u16,
    /// A JSON body in whose strings `${message}` (the error's or the `fail` step's message),
    /// `${code}` (`rejected` for `fail` steps; `script_error`, `timeout`, `limit_exceeded`
    /// for errors), `${status}` and `${execution_id}` are replaced. A string that is exactly
    /// `${status}` becomes a number. Any JSON value.
    pub body: serde_json::Value,
}

fn default_error_status() -> u16 {
    500
}

impl ErrorResponse {
    /// The body for one error.
    pub fn render(
        &self,
        status: u16,
        code: &str,
        message: &str,
        execution_id: &str,
    ) -> serde_json::Value {
        fn walk(
            v: &serde_json::Value,
            subst: &dyn Fn(&str) -> serde_json::Value,
        ) -> serde_json::Value {
            use serde_json::Value;
            match v {
                Value::String(s) => subst(s),
                Value::Array(a) => Value::Array(a.iter().map(|x| walk(x, subst)).collect()),
                Value::Object(m) => {
                    Value::Object(m.iter().map(|(k, x)| (k.clone(), walk(x, subst))).collect())
                }
                other => other.clone(),
            }
        }
        let status_text = status.to_string();
        walk(&self.body, &|s: &str| {
            if s == "${status}" {
                return serde_json::Value::from(status);
            }
            serde_json::Value::String(
                s.replace("${message}", message)
                    .replace("${code}", code)
                    .replace("${status}", &status_text)
                    .replace("${execution_id}", execution_id),
            )
        })
    }
}

/// Retries of failed asynchronous executions: exponential backoff with jitter, then `dead`.
/// Request-response calls are never retried (their caller already has the answer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Runs in all, the first included (1: no retry).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one, up to `max_delay_ms`.
    pub initial_delay_ms: u64,
    pub max_delay_ms: u64,
    /// Which outcomes are retried: `error` (script error, limit, deadline), a status class
    /// (`5xx`, `4xx`) or an exact status (`429`) of a `fail` or `respond`.
    pub retry_if: Vec<String>,
    /// Ordered triggers: what a dead execution does to its lane. `block`: later calls wait
    /// until it is replayed successfully or skipped; `park`: later calls go on.
    pub on_dead: OnDead,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_delay_ms: 1_000,
            max_delay_ms: 3_600_000,
            retry_if: vec!["error".to_owned(), "5xx".to_owned()],
            on_dead: OnDead::Block,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OnDead {
    Block,
    Park,
}

/// Where a call's idempotency key comes from, and how long it is remembered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Idempotency {
    /// Request header holding the key (case-insensitive).
    #[serde(default = "default_idempotency_header")]
    pub header: String,
    /// Or a JSONPath into the JSON body (e.g. `$.id`), used when the header is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_path: Option<String>,
    #[serde(default = "default_retention_hours")]
    pub retention_hours: u32,
}

pub fn default_idempotency_header() -> String {
    "Idempotency-Key".to_owned()
}
pub const fn default_retention_hours() -> u32 {
    24
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TriggerAuth {
    /// The secret of one of these keys (ids), in `X-API-Key` or `Authorization: Bearer`.
    ApiKey { keys: Vec<String> },
    /// OAuth2 client credentials: `Authorization: Bearer <access token>` issued by
    /// `POST /oauth/token` to one of these clients (ids); the secret of one of `keys` is
    /// accepted as well.
    Oauth2 {
        clients: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        keys: Vec<String>,
        /// A scope the token must carry, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
    },
    /// An HMAC signature over the exact body bytes, checked with a stored secret. With
    /// `keys` or `clients`, a caller needs one of those credentials as well.
    Signature {
        preset: SignaturePreset,
        /// The name of the stored secret holding the signing key.
        secret: String,
        /// How far a signed timestamp may be from now, in seconds (schemes with timestamps).
        #[serde(default = "default_tolerance_s")]
        tolerance_s: u64,
        /// `generic` only: the header holding the signature.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        header: Option<String>,
        /// `generic` only (default sha256).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        algorithm: Option<SignatureAlgorithm>,
        /// `generic` only (default hex).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encoding: Option<SignatureEncoding>,
        /// `generic` only: text before the signature in the header, e.g. `sha256=`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        /// `generic` only: a header with a Unix timestamp; then `{timestamp}.{body}` is
        /// signed and checked against the tolerance.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp_header: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        keys: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        clients: Vec<String>,
    },
    /// Open to anyone who knows the URL.
    None,
}

impl TriggerAuth {
    /// The API keys this auth accepts.
    pub fn keys(&self) -> &[String] {
        match self {
            TriggerAuth::ApiKey { keys }
            | TriggerAuth::Oauth2 { keys, .. }
            | TriggerAuth::Signature { keys, .. } => keys,
            TriggerAuth::None => &[],
        }
    }

    /// The OAuth clients this auth accepts.
    pub fn clients(&self) -> &[String] {
        match self {
            TriggerAuth::Oauth2 { clients, .. } | TriggerAuth::Signature { clients, .. } => clients,
            TriggerAuth::ApiKey { .. } | TriggerAuth::None => &[],
        }
    }

    /// The stored secret a signature is checked with.
    pub fn signing_secret(&self) -> Option<&str> {
        match self {
            TriggerAuth::Signature { secret, .. } => Some(secret),
            _ => None,
        }
    }
}

pub const fn default_tolerance_s() -> u64 {
    300
}

/// Longest signature tolerance accepted, in seconds.
pub const MAX_TOLERANCE_S: u64 = 3600;

/// How a sender signs its webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignaturePreset {
    /// Standard Webhooks (Svix and others): `webhook-id`, `webhook-timestamp`,
    /// `webhook-signature: v1,<base64>`, `whsec_` secrets.
    StandardWebhooks,
    /// `X-Hub-Signature-256: sha256=<hex>`.
    Github,
    /// `Stripe-Signature: t=...,v1=<hex>`.
    Stripe,
    /// MS Teams outgoing webhooks: `Authorization: HMAC <base64>` under the base64 token.
    MsTeams,
    /// A header, an algorithm, an encoding, a prefix and an optional timestamp header.
    Generic,
}

impl SignaturePreset {
    pub const ALL: [SignaturePreset; 5] = [
        SignaturePreset::StandardWebhooks,
        SignaturePreset::Github,
        SignaturePreset::Stripe,
        SignaturePreset::MsTeams,
        SignaturePreset::Generic,
    ];

    /// The wire name (`standard_webhooks`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SignaturePreset::StandardWebhooks => "standard_webhooks",
            SignaturePreset::Github => "github",
            SignaturePreset::Stripe => "stripe",
            SignaturePreset::MsTeams => "ms_teams",
            SignaturePreset::Generic => "generic",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignatureAlgorithm {
    Sha1,
    #[default]
    Sha256,
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignatureEncoding {
    #[default]
    Hex,
    Base64,
}

/// A token bucket: `per_second` requests on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    // No bounds in the schema: a draft may hold any (its `problems` say what is wrong).
    /// 1 to 1000000.
    pub per_second: u32,
    /// 1 to 1000000; default: `per_second`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

impl RateLimit {
    /// Largest `per_second` and `burst` accepted.
    pub const MAX: u32 = 1_000_000;

    pub fn burst(&self) -> u32 {
        self.burst.unwrap_or(self.per_second)
    }

    /// What is wrong with this limit, if anything.
    pub fn problem(&self) -> Option<String> {
        if self.per_second == 0 || self.per_second > Self::MAX {
            return Some(format!("per_second must be 1 to {}", Self::MAX));
        }
        if self.burst() == 0 || self.burst() > Self::MAX {
            return Some(format!("burst must be 1 to {}", Self::MAX));
        }
        None
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The flow: its steps in order, each a flow step; see docs/flows.md.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub steps: Vec<Step>,
    /// The flow's error handler (see `IntegrationDoc::on_error`).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_error: Vec<Step>,
    pub created_at: String,
    pub updated_at: String,
    /// `draft` (never published: version 0, no endpoint served yet), `disabled` (published,
    /// `enabled` false: callers get 404), or `published`.
    #[serde(default)]
    pub status: String,
    /// An unpublished draft exists (`GET /api/v1/integrations/{slug}/draft`).
    #[serde(default)]
    pub has_draft: bool,
    /// Calls of the last 24 hours; filled in the list answer, absent in a single `GET`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<IntegrationStats>,
}

/// Recent calls of an integration (`GET /api/v1/integrations`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntegrationStats {
    /// When the newest execution was received (RFC 3339), if any.
    #[serde(default)]
    pub last_call_at: Option<String>,
    /// Executions received in the last 24 hours.
    #[serde(default)]
    pub calls_24h: u64,
    /// Of those, the ones that ended `failed`, `errored` or `dead`.
    #[serde(default)]
    pub errors_24h: u64,
}

/// `GET`/`PUT /api/v1/integrations/{slug}/draft`: the document being edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DraftOut {
    pub document: IntegrationDoc,
    /// True: a saved draft; false: no draft, this is the published document.
    pub is_draft: bool,
    /// When the draft was saved (or the published version, when `is_draft` is false).
    pub saved_at: String,
    /// The published version the draft started from (0: never published).
    pub based_on_version: i64,
    /// Every validation and compile problem of `document` (empty: it can be published).
    #[serde(default)]
    pub problems: Vec<ErrorDetail>,
}

/// `POST /api/v1/integrations/{slug}/publish` (an empty body is the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PublishIn {
    /// Absent: publish the draft. Set: publish the document of this stored version again, as
    /// a new version (a rollback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub version: Option<i64>,
}

/// `PATCH /api/v1/integrations/{slug}`: changes that need no new version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IntegrationPatch {
    /// Turn the endpoint on or off (a disabled integration answers 404 to callers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `POST /api/v1/integrations/validate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidateOut {
    /// Every problem of the document (empty: valid).
    #[serde(default)]
    pub problems: Vec<ErrorDetail>,
}

/// `POST /api/v1/integrations/{slug}/test`: run a flow once, recording nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TestRunIn {
    /// The document to run; absent: the draft, else the published document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<IntegrationDoc>,
    #[serde(default)]
    pub request: TestRequest,
}

/// The call a test run simulates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    #[serde(default = "default_test_method")]
    pub method: String,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body's media type (also taken from a `content-type` header when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The body as the caller would send it (raw text).
    #[serde(default)]
    pub body: String,
}

impl Default for TestRequest {
    fn default() -> Self {
        TestRequest {
            method: default_test_method(),
            query: BTreeMap::new(),
            headers: BTreeMap::new(),
            content_type: None,
            body: String::new(),
        }
    }
}

pub fn default_test_method() -> String {
    "POST".to_owned()
}

/// What a test run did. Nothing of it is recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestRunOut {
    /// `succeeded`, `failed` or `errored`, as the execution would have ended.
    pub status: ExecutionStatus,
    /// What the caller would have got.
    pub response: ResponseSnapshot,
    pub steps: Vec<TestStepOut>,
    #[serde(default)]
    pub logs: Vec<LogOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_us: u64,
}

/// One step of a test run, with `vars` as the step found and left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestStepOut {
    pub index: String,
    #[serde(rename = "type")]
    pub step_type: String,
    /// `ok`, `error` or `skipped`.
    pub status: String,
    pub duration_us: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `vars` before the step (steps that ran); at most 64 KiB of JSON, else a string saying
    /// it was truncated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
    /// `vars` after the step (for the step that ended or broke the flow: as it ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
    /// Outbound HTTP requests the step made, credentials redacted: each an HTTP call trace
    /// (method, url, attempt, headers, status, body excerpt, duration); see docs/api.md
    /// (Executions).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<flows_runtime::HttpCallTrace>,
}

/// One entry of `GET /api/v1/integrations/{slug}/versions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionOut {
    pub version: i64,
    pub created_at: String,
    pub created_by: Option<String>,
    /// The email of the user who published it (absent when that user no longer exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_email: Option<String>,
    pub document: IntegrationDoc,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integration_out_without_the_new_fields_still_parses() {
        let old = serde_json::json!({
            "id": "i", "slug": "s", "name": "n", "description": "", "enabled": true,
            "version": 2, "endpoint": "/t/a", "trigger": {"path": "a", "auth": {"type": "none"}},
            "steps": [], "created_at": "x", "updated_at": "y"
        });
        let out: IntegrationOut = serde_json::from_value(old).unwrap();
        assert_eq!(
            (out.status.as_str(), out.has_draft, out.stats),
            ("", false, None)
        );
    }

    #[test]
    fn test_run_input_defaults() {
        let t: TestRunIn = serde_json::from_str("{}").unwrap();
        assert_eq!(t.document, None);
        assert_eq!(t.request.method, "POST");
        let t: TestRunIn =
            serde_json::from_str(r#"{"request": {"body": "{\"a\":1}", "query": {"q": "1"}}}"#)
                .unwrap();
        assert_eq!(
            (t.request.method.as_str(), t.request.body.as_str()),
            ("POST", "{\"a\":1}")
        );
        assert!(serde_json::from_str::<TestRunIn>(r#"{"requets": {}}"#).is_err());
        let p: PublishIn = serde_json::from_str("{}").unwrap();
        assert_eq!(p.version, None);
        let step: TestStepOut = serde_json::from_value(serde_json::json!({
            "index": "0", "type": "map", "status": "ok", "duration_us": 1
        }))
        .unwrap();
        assert_eq!(serde_json::to_value(&step).unwrap()["type"], "map");
    }
}

#[cfg(test)]
mod auth_tests {
    use super::*;

    #[test]
    fn trigger_auth_reads_every_documented_shape() {
        let a: TriggerAuth =
            serde_json::from_str(r#"{"type": "oauth2", "clients": ["c1"]}"#).unwrap();
        assert_eq!(a.clients(), ["c1".to_owned()]);
        assert!(a.keys().is_empty());
        let a: TriggerAuth = serde_json::from_str(
            r#"{"type": "signature", "preset": "standard_webhooks", "secret": "sw", "keys": ["k1"]}"#,
        )
        .unwrap();
        assert_eq!(a.signing_secret(), Some("sw"));
        assert_eq!(a.keys(), ["k1".to_owned()]);
        match &a {
            TriggerAuth::Signature { tolerance_s, .. } => assert_eq!(*tolerance_s, 300),
            _ => panic!("not a signature"),
        }
        let g: TriggerAuth = serde_json::from_str(
            r#"{"type": "signature", "preset": "generic", "secret": "s", "header": "X-Sig",
                "algorithm": "sha512", "encoding": "base64", "prefix": "v=", "timestamp_header": "X-Ts"}"#,
        )
        .unwrap();
        let back: TriggerAuth = serde_json::from_str(&serde_json::to_string(&g).unwrap()).unwrap();
        assert_eq!(back, g);
        // The older shapes still read.
        let k: TriggerAuth = serde_json::from_str(r#"{"type": "api_key", "keys": ["k"]}"#).unwrap();
        assert_eq!(k.keys(), ["k".to_owned()]);
        assert!(serde_json::from_str::<TriggerAuth>(
            r#"{"type": "oauth2", "clients": [], "x": 1}"#
        )
        .is_err());
        assert!(serde_json::from_str::<TriggerAuth>(
            r#"{"type": "signature", "preset": "md5", "secret": "s"}"#
        )
        .is_err());
    }

    #[test]
    fn rate_limits_are_checked() {
        assert_eq!(
            RateLimit {
                per_second: 10,
                burst: None
            }
            .burst(),
            10
        );
        assert!(RateLimit {
            per_second: 0,
            burst: None
        }
        .problem()
        .is_some());
        assert!(RateLimit {
            per_second: 1,
            burst: Some(0)
        }
        .problem()
        .is_some());
        assert!(RateLimit {
            per_second: 5,
            burst: Some(20)
        }
        .problem()
        .is_none());
    }
}
