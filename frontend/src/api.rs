//! The admin API client: every call goes to the public `/api/v1` with the session cookie.
//!
//! Errors come back as [`ApiError`] with the server's stable code and human message, so a page
//! can always say what went wrong. A 401 anywhere signs the user out of the UI.

use flowgate_api::{ErrorBody, ErrorDetail};
use gloo_net::http::{Request, RequestBuilder, Response};
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub const BASE: &str = "/api/v1";

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub details: Vec<ErrorDetail>,
}

impl ApiError {
    fn network(e: impl std::fmt::Display) -> Self {
        ApiError {
            status: 0,
            code: "network".into(),
            message: format!("the server could not be reached ({e})"),
            details: Vec::new(),
        }
    }

    /// One line for a banner: the message and, for validation errors, every problem.
    pub fn describe(&self) -> String {
        if self.details.is_empty() {
            return self.message.clone();
        }
        let parts: Vec<String> = self
            .details
            .iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect();
        format!("{} — {}", self.message, parts.join("; "))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

thread_local! {
    /// Bumped when the server says the session is gone (set once by the app).
    static SESSION_LOST: std::cell::Cell<Option<RwSignal<u32>>> = const { std::cell::Cell::new(None) };
}

/// The signal the app watches to go back to the sign-in page.
pub fn watch_session_loss(signal: RwSignal<u32>) {
    SESSION_LOST.with(|c| c.set(Some(signal)));
}

async fn error_of(resp: Response) -> ApiError {
    let status = resp.status();
    if status == 401 {
        if let Some(lost) = SESSION_LOST.with(|c| c.get()) {
            lost.update(|n| *n += 1);
        }
    }
    match resp.json::<ErrorBody>().await {
        Ok(body) => ApiError {
            status,
            code: body.error.code,
            message: body.error.message,
            details: body.error.details,
        },
        Err(_) => ApiError {
            status,
            code: "http".into(),
            message: format!("the server answered {status} {}", resp.status_text()),
            details: Vec::new(),
        },
    }
}

async fn finish<T: DeserializeOwned>(resp: Result<Response, gloo_net::Error>) -> ApiResult<T> {
    let resp = resp.map_err(ApiError::network)?;
    if !resp.ok() {
        return Err(error_of(resp).await);
    }
    if resp.status() == 204 {
        // Only `()`-like types are asked for on 204 answers.
        return serde_json::from_str("null").map_err(ApiError::network);
    }
    resp.json::<T>().await.map_err(|e| ApiError {
        status: 200,
        code: "decode".into(),
        message: format!("unexpected answer from the server: {e}"),
        details: Vec::new(),
    })
}

fn url(path: &str) -> String {
    format!("{BASE}{path}")
}

pub async fn get<T: DeserializeOwned>(path: &str) -> ApiResult<T> {
    finish(Request::get(&url(path)).send().await).await
}

async fn with_body<T: DeserializeOwned, B: Serialize>(
    builder: RequestBuilder,
    body: &B,
) -> ApiResult<T> {
    let req = builder.json(body).map_err(ApiError::network)?;
    finish(req.send().await).await
}

pub async fn post<T: DeserializeOwned, B: Serialize>(path: &str, body: &B) -> ApiResult<T> {
    with_body(Request::post(&url(path)), body).await
}

pub async fn put<T: DeserializeOwned, B: Serialize>(path: &str, body: &B) -> ApiResult<T> {
    with_body(Request::put(&url(path)), body).await
}

pub async fn patch<T: DeserializeOwned, B: Serialize>(path: &str, body: &B) -> ApiResult<T> {
    with_body(Request::patch(&url(path)), body).await
}

pub async fn delete(path: &str) -> ApiResult<()> {
    finish(Request::delete(&url(path)).send().await).await
}

/// Percent-encodes one query value or path segment exactly as `encodeURIComponent` does:
/// everything but ASCII letters, digits and `-_.!~*'()` becomes `%XX` of its UTF-8 bytes.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_encode_uri_component() {
        assert_eq!(enc("create customer"), "create%20customer");
        assert_eq!(enc("a/b?c=d&e#f"), "a%2Fb%3Fc%3Dd%26e%23f");
        assert_eq!(enc("2018-12-31T23:00:00Z"), "2018-12-31T23%3A00%3A00Z");
        assert_eq!(enc("-_.!~*'()"), "-_.!~*'()");
        assert_eq!(enc("é+%"), "%C3%A9%2B%25");
    }
}
