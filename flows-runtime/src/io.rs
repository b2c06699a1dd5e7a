//! The runtime's only doors to the outside: HTTP calls, made through a client the embedding
//! server provides, and the server's data store. The runtime itself has no network or
//! database code; it hands a fully described request to [`HttpClient::send`] or
//! [`DataStore`] and waits (flows run on blocking threads).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::{HttpAuth, HttpMethod, HttpRetries};
use crate::trace::HttpCallTrace;

/// The body of an outbound request, already encoded by its `body_type`.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestBody {
    None,
    Json(serde_json::Value),
    Form(Vec<(String, String)>),
    Text(String),
    Raw(Vec<u8>),
}

/// One HTTP call a flow makes.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub method: HttpMethod,
    /// `http://` or `https://`, without the query parameters below.
    pub url: String,
    pub query: Vec<(String, String)>,
    /// Names lower-case.
    pub headers: Vec<(String, String)>,
    pub body: RequestBody,
    /// Credentials by secret name; the client resolves them.
    pub auth: Option<HttpAuth>,
    /// Time allowed for each attempt (already cut to the flow's time left).
    pub timeout: Duration,
    /// The whole call, retries and waits included, must end by then (the flow's deadline).
    pub deadline: std::time::Instant,
    pub retries: HttpRetries,
    pub max_response_bytes: usize,
}

/// The answer to the last attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// Names lower-case; repeated headers joined with `, `.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// What a call gave: the final answer or why there is none, and every request made.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpExchange {
    pub result: Result<HttpResponse, String>,
    pub calls: Vec<HttpCallTrace>,
}

/// Makes HTTP calls for flows. Called on the thread running the flow, which it may block.
pub trait HttpClient: Send + Sync {
    fn send(&self, request: HttpRequest) -> HttpExchange;
}

/// One record of a data store table.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub id: String,
    /// The record as written (a JSON object).
    pub data: serde_json::Value,
    /// µs since the Unix epoch.
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

/// A write into a table; a batch is written all or nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreWrite {
    /// New records with these ids; a record whose id exists already is left as it is (the
    /// same execution writing again after a retry).
    Insert {
        table: String,
        records: Vec<(String, serde_json::Value)>,
    },
    /// Records replaced by their key (the table's key field), or inserted with the id given.
    Upsert {
        table: String,
        records: Vec<(String, serde_json::Value)>,
    },
    /// Records removed by key.
    Delete { table: String, keys: Vec<String> },
}

/// A read from a table.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreRead {
    /// The record with this key, if any.
    Get { table: String, key: String },
    /// Records whose fields (the key field or indexed fields) equal these values, compared as
    /// text.
    Find {
        table: String,
        filter: Vec<(String, String)>,
        limit: u32,
        newest_first: bool,
    },
}

/// Flowgate's data store, as flows reach it (`store`/`lookup` steps, `store_*` functions).
/// Called on the thread running the flow, which it may block.
pub trait DataStore: Send + Sync {
    /// Writes for execution `run` (if any), ending by `deadline` (the flow's) or failing.
    /// Answers the ids of the records written (insert: those new; upsert: every record's;
    /// delete: those removed).
    fn write(
        &self,
        run: Option<&str>,
        write: StoreWrite,
        deadline: std::time::Instant,
    ) -> Result<Vec<String>, String>;
    /// Reads, ending by `deadline` or failing.
    fn read(
        &self,
        read: StoreRead,
        deadline: std::time::Instant,
    ) -> Result<Vec<StoredRecord>, String>;
}

/// One statement a `sql` step runs.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlRequest {
    /// The stored secret holding the connection URL.
    pub connection: String,
    /// One statement with `$1`, `$2`... placeholders.
    pub query: String,
    /// Bound to the placeholders in order.
    pub params: Vec<serde_json::Value>,
    /// More rows is an error.
    pub max_rows: u32,
    /// The statement must end by then (the flow's deadline).
    pub deadline: std::time::Instant,
}

/// What a statement gave.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SqlAnswer {
    /// Each row as a JSON object (column name -> value).
    pub rows: Vec<serde_json::Value>,
    /// Rows returned, or changed by a statement that returns none.
    pub count: u64,
}

/// External databases for `sql` steps. Called on the thread running the flow, which it may
/// block.
pub trait SqlClient: Send + Sync {
    fn query(&self, request: SqlRequest) -> Result<SqlAnswer, String>;
}
