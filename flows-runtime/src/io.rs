//! The runtime's only door to the outside: HTTP calls, made through a client the embedding
//! server provides. The runtime itself has no network code; it hands a fully described
//! request to [`HttpClient::send`] and waits (flows run on blocking threads).

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
