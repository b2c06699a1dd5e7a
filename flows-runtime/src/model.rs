//! The flow document model: what an integration designer saves as `steps`.
//!
//! Always compiled (no Rhai, no JSONPath), so the wasm UI and the wire crate can use it.
//! Every step is a JSON object tagged by `"type"`; unknown fields are refused.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One step of a flow.
///
/// Further step types will be further variants; the document keeps its shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Step {
    /// Evaluates JSONPath expressions over `{"request": .., "vars": ..}` into `vars`.
    Map(MapStep),
    /// Runs a Rhai script.
    Script(ScriptStep),
    /// Runs `then` or `else` depending on a Rhai expression.
    Condition(ConditionStep),
    /// Answers the caller and ends the flow.
    Respond(RespondStep),
    /// Refuses the call with a 4xx/5xx and ends the flow.
    Fail(FailStep),
    /// Writes a line into the execution's log.
    Log(LogStep),
    /// Publishes an event (collected in the run's outcome; the server delivers it).
    Emit(EmitStep),
    /// Calls an HTTP API (through the [`crate::HttpClient`] the server gives the runtime).
    Http(Box<HttpStep>),
    /// Runs `steps`; if one of them raises an error, runs `catch` (with `vars.error`) and
    /// goes on after the try.
    Try(TryStep),
    /// Runs `steps` once per item of an array (`vars.item`, `vars.index`).
    ForEach(ForEachStep),
    /// Writes records into a table of Flowgate's data store (insert, upsert, delete).
    Store(StoreStep),
    /// Reads records of a table of the data store (by key, or by equality on fields).
    Lookup(LookupStep),
    /// Runs one parameterised SQL statement on an external PostgreSQL database.
    Sql(SqlStep),
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `{"type":"map","to":"mapped","fields":{"id":"$.request.body.id"}}`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapStep {
    /// Display label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A disabled step is skipped.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// The variable (`vars[to]`) receiving the object of fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Merge the fields into `vars` itself instead of `vars[to]`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub merge: bool,
    /// Output field name -> JSONPath expression.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// `{"type":"script","code":"vars.total = request.body.items.len();"}`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// Rhai statements.
    pub code: String,
}

/// `{"type":"condition","if":"request.body.eventType == \"UPDATE\"","then":[..],"else":[..]}`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// A Rhai expression giving a boolean (JSON field `if`).
    #[serde(rename = "if")]
    pub condition: String,
    /// Steps run when the expression is true.
    #[serde(default)]
    pub then: Vec<Step>,
    /// Steps run when it is false (JSON field `else`).
    #[serde(rename = "else", default, skip_serializing_if = "Vec::is_empty")]
    pub otherwise: Vec<Step>,
}

/// `{"type":"try","steps":[..],"catch":[..]}`: an error in `steps` (a script error, a
/// failed HTTP call, a bad value...) runs `catch` with `vars.error` =
/// `#{message, step, type}` instead of failing the flow. Limits and the deadline are not
/// caught; `respond` and `fail` end the flow as everywhere.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TryStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Steps run when one of `steps` raised an error (none: the error is ignored).
    #[serde(rename = "catch", default)]
    pub catch: Vec<Step>,
}

/// Most items a `for_each` step may be given (its `max_items` is at most this).
pub const MAX_FOR_EACH_ITEMS: u32 = 100_000;

fn default_max_items() -> u32 {
    1_000
}

fn default_item_var() -> String {
    "item".to_owned()
}

fn default_index_var() -> String {
    "index".to_owned()
}

fn is_default_item_var(s: &str) -> bool {
    s == "item"
}

fn is_default_index_var(s: &str) -> bool {
    s == "index"
}

fn is_default_max_items(n: &u32) -> bool {
    *n == default_max_items()
}

/// `{"type":"for_each","items":"request.body","steps":[..]}`: runs `steps` for each item of
/// the array the Rhai expression `items` gives, with the item in `vars[as]` (default
/// `item`) and its position in `vars[index_as]` (default `index`, from 0). More than
/// `max_items` items (default 1000) is an error before any runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForEachStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// A Rhai expression giving an array (`()` counts as empty).
    pub items: String,
    #[serde(
        rename = "as",
        default = "default_item_var",
        skip_serializing_if = "is_default_item_var"
    )]
    pub item_var: String,
    #[serde(
        rename = "index_as",
        default = "default_index_var",
        skip_serializing_if = "is_default_index_var"
    )]
    pub index_var: String,
    #[serde(
        default = "default_max_items",
        skip_serializing_if = "is_default_max_items"
    )]
    pub max_items: u32,
    #[serde(default)]
    pub steps: Vec<Step>,
}

impl Default for ForEachStep {
    fn default() -> Self {
        ForEachStep {
            name: None,
            disabled: false,
            items: String::new(),
            item_var: default_item_var(),
            index_var: default_index_var(),
            max_items: default_max_items(),
            steps: Vec::new(),
        }
    }
}

/// What a `store` step does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreAction {
    /// New records (a retry of the same execution does not insert them twice).
    #[default]
    Insert,
    /// Records replaced by their key (the table's `key_field`), or inserted.
    Upsert,
    /// Records removed by key.
    Delete,
}

impl StoreAction {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreAction::Insert => "insert",
            StoreAction::Upsert => "upsert",
            StoreAction::Delete => "delete",
        }
    }
}

/// `{"type":"store","table":"email_events","action":"upsert","record_expr":"vars.event"}`:
/// `record_expr` gives a record (a map) or an array of them, written in one transaction;
/// `delete` takes `key_expr` (a key or an array of keys). `to` receives the ids written (or
/// the number deleted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// The table's name.
    pub table: String,
    #[serde(default)]
    pub action: StoreAction,
    /// `insert`, `upsert`: a Rhai expression giving a map or an array of maps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_expr: Option<String>,
    /// `delete`: a Rhai expression giving a key or an array of keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_expr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// In which order `lookup` gives records found by `where`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupOrder {
    /// Most recently created first.
    #[default]
    Newest,
    Oldest,
}

fn default_lookup_limit() -> u32 {
    100
}

fn is_default_lookup_limit(n: &u32) -> bool {
    *n == default_lookup_limit()
}

/// Most records one `lookup` (or `store_find`) gives.
pub const MAX_LOOKUP_LIMIT: u32 = 1_000;

/// `{"type":"lookup","table":"email_events","key_expr":"vars.id","to":"event"}` (the record,
/// or `()`) or `{"type":"lookup","table":"email_events","where":{"email":"vars.m.email"},
/// "limit":10,"to":"events"}` (an array: records whose fields equal the expressions' values;
/// the fields must be the table's key or indexed fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    pub table: String,
    /// A Rhai expression giving the key of the one record wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_expr: Option<String>,
    /// Field -> Rhai expression giving the value it must equal.
    #[serde(rename = "where", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub filter: BTreeMap<String, String>,
    #[serde(
        default = "default_lookup_limit",
        skip_serializing_if = "is_default_lookup_limit"
    )]
    pub limit: u32,
    #[serde(default)]
    pub order: LookupOrder,
    /// The variable receiving the record (or the array of records).
    pub to: String,
}

fn default_sql_max_rows() -> u32 {
    1_000
}

fn is_default_sql_max_rows(n: &u32) -> bool {
    *n == default_sql_max_rows()
}

/// Most rows a `sql` step may take.
pub const MAX_SQL_ROWS: u32 = 10_000;
/// Most parameters of a `sql` step.
pub const MAX_SQL_PARAMS: usize = 64;

/// `{"type":"sql","connection":"crm_db","query":"SELECT id, name FROM customers WHERE email = $1",
/// "params":["vars.m.email"],"to":"found"}`: one statement on the PostgreSQL database whose
/// URL is the stored secret `connection`; `$1`, `$2`... are bound to the values of `params`
/// (Rhai expressions), never written into the SQL. `vars[to]` = `#{rows: [..], count: n}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// The name of the stored secret holding the connection URL
    /// (`postgres://user:password@host:5432/db`).
    pub connection: String,
    /// One SQL statement with `$1`, `$2`... placeholders.
    pub query: String,
    /// Rhai expressions, bound to `$1`, `$2`... in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// More rows than this is an error (default 1,000; at most 10,000).
    #[serde(
        default = "default_sql_max_rows",
        skip_serializing_if = "is_default_sql_max_rows"
    )]
    pub max_rows: u32,
}

impl Default for SqlStep {
    fn default() -> Self {
        SqlStep {
            name: None,
            disabled: false,
            connection: String::new(),
            query: String::new(),
            params: Vec::new(),
            to: None,
            max_rows: default_sql_max_rows(),
        }
    }
}

fn default_respond_status() -> u16 {
    200
}

/// `{"type":"respond","status":200,"headers":{"x-a":"b"},"body":{..}}` or `"body_expr":"<rhai>"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RespondStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// HTTP status, 200..=599 (default 200).
    #[serde(default = "default_respond_status")]
    pub status: u16,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON literal answered as is (a JSON string is answered as text; `null` or absent: empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// A Rhai expression computing the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_expr: Option<String>,
}

impl Default for RespondStep {
    fn default() -> Self {
        RespondStep {
            name: None,
            disabled: false,
            status: default_respond_status(),
            headers: BTreeMap::new(),
            body: None,
            body_expr: None,
        }
    }
}

/// `{"type":"fail","status":422,"message":"text"}` or `"message_expr":"<rhai>"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// HTTP status, 400..=599.
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_expr: Option<String>,
}

/// Severity of a log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

impl LogLevel {
    fn is_default(&self) -> bool {
        *self == LogLevel::Info
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// `{"type":"log","message":"text","level":"info"}` or `"message_expr":"<rhai>"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    #[serde(default, skip_serializing_if = "LogLevel::is_default")]
    pub level: LogLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_expr: Option<String>,
}

/// `{"type":"emit","event":"user.updated","payload_expr":"#{id: vars.m.id}"}` or
/// `"payload": {..}` (a JSON literal). With neither, the payload is `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmitStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// The event type: dot-separated words of letters, digits, `_` and `-`, 1 to 128 characters (`user.updated`).
    pub event: String,
    /// A JSON literal sent as the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
    /// A Rhai expression computing the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_expr: Option<String>,
}

fn is_true(b: &bool) -> bool {
    *b
}

fn default_true() -> bool {
    true
}

/// The method of an HTTP step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }

    /// `GET`, `post`, ... (any case).
    pub fn parse(s: &str) -> Option<HttpMethod> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Some(HttpMethod::Get),
            "POST" => Some(HttpMethod::Post),
            "PUT" => Some(HttpMethod::Put),
            "PATCH" => Some(HttpMethod::Patch),
            "DELETE" => Some(HttpMethod::Delete),
            _ => None,
        }
    }
}

/// How the body of an HTTP step is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpBodyType {
    /// JSON (`application/json`).
    #[default]
    Json,
    /// A map sent as `application/x-www-form-urlencoded`.
    Form,
    /// A string sent as `text/plain; charset=utf-8`.
    Text,
    /// A string or BLOB sent as it is (`application/octet-stream` unless a header says otherwise).
    Raw,
}

impl HttpBodyType {
    fn is_default(&self) -> bool {
        *self == HttpBodyType::Json
    }
}

/// Credentials of an HTTP call; secrets are named, never written in the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HttpAuth {
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        username: String,
        password_secret: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer { token_secret: String },
    /// A header carrying a secret as it is (`x-api-key: <secret>`).
    SecretHeader { header: String, secret: String },
    /// A bearer token from an OAuth2 token endpoint (client credentials grant), cached until
    /// shortly before it expires.
    #[serde(rename = "oauth2_client_credentials")]
    OAuth2ClientCredentials {
        token_url: String,
        client_id: String,
        client_secret_secret: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
    },
}

impl HttpAuth {
    /// The names of the secrets it uses, with the field naming each.
    pub fn secrets(&self) -> Vec<(&'static str, &str)> {
        match self {
            HttpAuth::Basic {
                password_secret, ..
            } => vec![("password_secret", password_secret)],
            HttpAuth::Bearer { token_secret } => vec![("token_secret", token_secret)],
            HttpAuth::SecretHeader { secret, .. } => vec![("secret", secret)],
            HttpAuth::OAuth2ClientCredentials {
                client_secret_secret,
                ..
            } => vec![("client_secret_secret", client_secret_secret)],
        }
    }
}

/// Retries of an HTTP call: on connection errors, timeouts, 429 and 5xx answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRetries {
    /// Further attempts after the first (0 to 5).
    pub max: u32,
    /// Delay before the first retry, doubled for each further one (default 200 ms); a
    /// `Retry-After` answer sets it instead, up to `max_delay_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Longest delay between two attempts (default 10 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_ms: Option<u64>,
}

/// `{"type":"http","method":"GET","url":"https://id.example.com/users/${vars.m.id}","to":"user"}`
///
/// `url`, `query` values and `headers` values are templates: `${<rhai expression>}` is replaced
/// by the value (percent-encoded in `url`, except a piece at its very start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    #[serde(default)]
    pub method: HttpMethod,
    pub url: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON literal sent as the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// A Rhai expression computing the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_expr: Option<String>,
    #[serde(default, skip_serializing_if = "HttpBodyType::is_default")]
    pub body_type: HttpBodyType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<HttpAuth>,
    /// Time allowed for one attempt (default 10 s, at most 5 min); never past the flow's
    /// own time limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<HttpRetries>,
    /// Largest response body accepted (default 1 MiB, at most 16 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_bytes: Option<u64>,
    /// The variable (`vars[to]`) receiving `#{status, ok, headers, body}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// A 4xx/5xx answer breaks the flow (default); `false`: the flow looks at the status.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub fail_on_status: bool,
}

impl Default for HttpStep {
    fn default() -> Self {
        HttpStep {
            name: None,
            disabled: false,
            method: HttpMethod::Get,
            url: String::new(),
            query: BTreeMap::new(),
            headers: BTreeMap::new(),
            body: None,
            body_expr: None,
            body_type: HttpBodyType::Json,
            auth: None,
            timeout_ms: None,
            retries: None,
            max_response_bytes: None,
            to: None,
            fail_on_status: true,
        }
    }
}

/// A secret a flow refers to by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// `steps[2].then[0].auth.token_secret`
    pub path: String,
    /// `2.then.0`
    pub step: String,
    /// `auth.token_secret`
    pub field: String,
    pub name: String,
}

/// Every secret a flow refers to, in document order (disabled steps too).
pub fn referenced_secrets(steps: &[Step]) -> Vec<SecretRef> {
    fn walk(steps: &[Step], path_prefix: &str, step_prefix: &str, out: &mut Vec<SecretRef>) {
        for (i, step) in steps.iter().enumerate() {
            let path = format!("{path_prefix}[{i}]");
            let index = format!("{step_prefix}{i}");
            match step {
                Step::Http(h) => {
                    if let Some(auth) = &h.auth {
                        for (field, name) in auth.secrets() {
                            out.push(SecretRef {
                                path: format!("{path}.auth.{field}"),
                                step: index.clone(),
                                field: format!("auth.{field}"),
                                name: name.to_owned(),
                            });
                        }
                    }
                }
                Step::Sql(s) => out.push(SecretRef {
                    path: format!("{path}.connection"),
                    step: index.clone(),
                    field: "connection".to_owned(),
                    name: s.connection.clone(),
                }),
                _ => {
                    for (branch, list) in step.branches() {
                        walk(
                            list,
                            &format!("{path}.{branch}"),
                            &format!("{index}.{branch}."),
                            out,
                        );
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(steps, "steps", "", &mut out);
    out
}

/// Every secret a flow and its error handler refer to.
pub fn referenced_secrets_of_flow(steps: &[Step], on_error: &[Step]) -> Vec<SecretRef> {
    let mut out = referenced_secrets(steps);
    out.extend(referenced_secrets(on_error).into_iter().map(|mut r| {
        r.path = format!("on_error{}", r.path.trim_start_matches("steps"));
        r.step = format!("on_error.{}", r.step);
        r
    }));
    out
}

impl Step {
    /// The `"type"` tag: `map`, `script`, `condition`, `respond`, `fail`, `log`, `emit`,
    /// `http`, `try`, `for_each`, `store`, `lookup` or `sql`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Step::Map(_) => "map",
            Step::Script(_) => "script",
            Step::Condition(_) => "condition",
            Step::Respond(_) => "respond",
            Step::Fail(_) => "fail",
            Step::Log(_) => "log",
            Step::Emit(_) => "emit",
            Step::Http(_) => "http",
            Step::Try(_) => "try",
            Step::ForEach(_) => "for_each",
            Step::Store(_) => "store",
            Step::Lookup(_) => "lookup",
            Step::Sql(_) => "sql",
        }
    }

    /// The step lists nested in this step, by their field: `then`/`else` of a condition,
    /// `steps`/`catch` of a try, `steps` of a for-each.
    pub fn branches(&self) -> Vec<(&'static str, &[Step])> {
        match self {
            Step::Condition(c) => vec![("then", &c.then[..]), ("else", &c.otherwise[..])],
            Step::Try(t) => vec![("steps", &t.steps[..]), ("catch", &t.catch[..])],
            Step::ForEach(f) => vec![("steps", &f.steps[..])],
            _ => Vec::new(),
        }
    }

    /// The display label, if any.
    pub fn name(&self) -> Option<&str> {
        match self {
            Step::Map(s) => s.name.as_deref(),
            Step::Script(s) => s.name.as_deref(),
            Step::Condition(s) => s.name.as_deref(),
            Step::Respond(s) => s.name.as_deref(),
            Step::Fail(s) => s.name.as_deref(),
            Step::Log(s) => s.name.as_deref(),
            Step::Emit(s) => s.name.as_deref(),
            Step::Http(s) => s.name.as_deref(),
            Step::Try(s) => s.name.as_deref(),
            Step::ForEach(s) => s.name.as_deref(),
            Step::Store(s) => s.name.as_deref(),
            Step::Lookup(s) => s.name.as_deref(),
            Step::Sql(s) => s.name.as_deref(),
        }
    }

    /// A disabled step (and everything inside it) is skipped.
    pub fn is_disabled(&self) -> bool {
        match self {
            Step::Map(s) => s.disabled,
            Step::Script(s) => s.disabled,
            Step::Condition(s) => s.disabled,
            Step::Respond(s) => s.disabled,
            Step::Fail(s) => s.disabled,
            Step::Log(s) => s.disabled,
            Step::Emit(s) => s.disabled,
            Step::Http(s) => s.disabled,
            Step::Try(s) => s.disabled,
            Step::ForEach(s) => s.disabled,
            Step::Store(s) => s.disabled,
            Step::Lookup(s) => s.disabled,
            Step::Sql(s) => s.disabled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_step_type_round_trips() {
        let doc = json!([
            {"type": "map", "to": "mapped", "fields": {"entity": "$.request.body.entityType", "id": "$.request.body.id"}},
            {"type": "map", "merge": true, "fields": {"id": "$.request.body.id"}},
            {"type": "script", "name": "count", "code": "vars.total = request.body.items.len();"},
            {"type": "condition", "if": "request.body.eventType == \"UPDATE\"",
             "then": [{"type": "log", "level": "warn", "message": "update"}],
             "else": [{"type": "fail", "status": 422, "message_expr": "`no: ${request.body.eventType}`"}]},
            {"type": "respond", "status": 201, "headers": {"x-a": "b"}, "body": {"ok": true}},
            {"type": "respond", "status": 200, "body_expr": "vars.out", "disabled": true},
            {"type": "log", "message": "done"},
            {"type": "emit", "event": "user.updated", "payload_expr": "#{id: 1}"},
            {"type": "emit", "name": "lit", "event": "a-b_c", "payload": {"x": [1]}}
        ]);
        let steps: Vec<Step> = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(steps.len(), 9);
        assert_eq!(steps[2].name(), Some("count"));
        assert!(steps[5].is_disabled());
        let types: Vec<&str> = steps.iter().map(Step::type_name).collect();
        assert_eq!(
            types,
            [
                "map",
                "map",
                "script",
                "condition",
                "respond",
                "respond",
                "log",
                "emit",
                "emit"
            ]
        );
        match &steps[3] {
            Step::Condition(c) => {
                assert_eq!(c.then.len(), 1);
                assert_eq!(c.otherwise.len(), 1);
            }
            other => panic!("not a condition: {other:?}"),
        }
        // Serializing gives back the same document (defaults left out).
        assert_eq!(serde_json::to_value(&steps).unwrap(), doc);
    }

    #[test]
    fn http_steps_round_trip() {
        let doc = json!([
            {"type": "http", "method": "GET", "url": "https://id.example.com/users/${vars.m.id}", "to": "user"},
            {"type": "http", "method": "PATCH", "url": "https://crm.example.com/c/${vars.m.id}",
             "query": {"v": "2"}, "headers": {"x-trace": "${vars.t}"},
             "body_expr": "vars.customer", "body_type": "form",
             "auth": {"type": "oauth2_client_credentials", "token_url": "https://auth/token",
                      "client_id": "flowgate", "client_secret_secret": "crm", "scope": "write"},
             "timeout_ms": 2000, "retries": {"max": 2, "delay_ms": 100},
             "max_response_bytes": 1000, "to": "patched", "fail_on_status": false},
            {"type": "condition", "if": "true", "then": [
                {"type": "http", "method": "DELETE", "url": "https://x", "auth": {"type": "basic", "username": "u", "password_secret": "pw"}},
                {"type": "http", "method": "GET", "url": "https://x", "auth": {"type": "bearer", "token_secret": "tok"}, "disabled": true}
            ], "else": [
                {"type": "http", "method": "GET", "url": "https://x", "auth": {"type": "secret_header", "header": "x-api-key", "secret": "key"}}
            ]}
        ]);
        let steps: Vec<Step> = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(serde_json::to_value(&steps).unwrap(), doc);
        match &steps[0] {
            Step::Http(h) => {
                assert_eq!(h.method, HttpMethod::Get);
                assert!(h.fail_on_status);
            }
            other => panic!("{other:?}"),
        }
        let refs: Vec<(String, String, String, String)> = referenced_secrets(&steps)
            .into_iter()
            .map(|r| (r.path, r.step, r.field, r.name))
            .collect();
        let r = |a: &str, b: &str, c: &str, d: &str| {
            (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned())
        };
        assert_eq!(
            refs,
            [
                r(
                    "steps[1].auth.client_secret_secret",
                    "1",
                    "auth.client_secret_secret",
                    "crm"
                ),
                r(
                    "steps[2].then[0].auth.password_secret",
                    "2.then.0",
                    "auth.password_secret",
                    "pw"
                ),
                r(
                    "steps[2].then[1].auth.token_secret",
                    "2.then.1",
                    "auth.token_secret",
                    "tok"
                ),
                r(
                    "steps[2].else[0].auth.secret",
                    "2.else.0",
                    "auth.secret",
                    "key"
                ),
            ]
        );
        assert!(serde_json::from_value::<Step>(
            json!({"type": "http", "url": "x", "method": "TRACE"})
        )
        .is_err());
        assert!(serde_json::from_value::<Step>(
            json!({"type": "http", "url": "x", "auth": {"type": "bearer", "token": "t"}})
        )
        .is_err());
    }

    #[test]
    fn defaults_apply() {
        let s: Step = serde_json::from_value(json!({"type": "respond"})).unwrap();
        assert_eq!(s, Step::Respond(RespondStep::default()));
        let s: Step = serde_json::from_value(json!({"type": "condition", "if": "true"})).unwrap();
        match s {
            Step::Condition(c) => assert!(c.then.is_empty() && c.otherwise.is_empty()),
            other => panic!("{other:?}"),
        }
        let s: Step = serde_json::from_value(json!({"type": "log", "message": "x"})).unwrap();
        match s {
            Step::Log(l) => assert_eq!(l.level, LogLevel::Info),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        let err =
            serde_json::from_value::<Step>(json!({"type": "script", "code": "1", "cod": "x"}))
                .unwrap_err();
        assert!(err.to_string().contains("cod"), "{err}");
        let err = serde_json::from_value::<Step>(json!({"type": "smtp", "url": "x"})).unwrap_err();
        assert!(err.to_string().contains("smtp"), "{err}");
        let err =
            serde_json::from_value::<Step>(json!({"type": "log", "message": "x", "level": "loud"}))
                .unwrap_err();
        assert!(err.to_string().contains("loud"), "{err}");
        assert!(serde_json::from_value::<Step>(json!({"code": "1"})).is_err());
    }
}
