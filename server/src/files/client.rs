//! The admin API of a running Flowgate, as `export` and `apply` use it.

use std::time::Duration;

use anyhow::Context;
use flowgate_api::{ErrorBody, ErrorDetail, LoginIn, LoginOut};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// How to sign in.
pub enum Credentials {
    /// A session token (`FLOWGATE_TOKEN`), sent as `Authorization: Bearer`.
    Token(String),
    /// Sign in with `POST /api/v1/auth/login` (`FLOWGATE_EMAIL`, `FLOWGATE_PASSWORD`).
    Login { email: String, password: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token([redacted])"),
            Credentials::Login { email, .. } => write!(f, "Login({email}, [redacted])"),
        }
    }
}

impl Credentials {
    /// `FLOWGATE_TOKEN`, else `FLOWGATE_EMAIL` and `FLOWGATE_PASSWORD`.
    pub fn from_env() -> anyhow::Result<Credentials> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        if let Some(token) = var("FLOWGATE_TOKEN") {
            return Ok(Credentials::Token(token));
        }
        match (var("FLOWGATE_EMAIL"), var("FLOWGATE_PASSWORD")) {
            (Some(email), Some(password)) => Ok(Credentials::Login { email, password }),
            _ => anyhow::bail!(
                "set FLOWGATE_TOKEN (a session token), or FLOWGATE_EMAIL and FLOWGATE_PASSWORD"
            ),
        }
    }
}

/// An error answer of the API: its status and `{"error": {...}}` body.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub details: Vec<ErrorDetail>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)?;
        for d in &self.details {
            write!(f, "\n  {}: {}", d.path, d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// A signed-in client of one server's admin API.
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    /// A client for `base` (`http://host:port`) with a session token.
    pub fn new(base: &str, token: &str) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .context("building the HTTP client")?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }

    /// A client for `base`, signed in with the credentials.
    pub async fn connect(base: &str, credentials: Credentials) -> anyhow::Result<Api> {
        let mut api = Api::new(base, "")?;
        match credentials {
            Credentials::Token(t) => api.token = t,
            Credentials::Login { email, password } => {
                let out: LoginOut = api
                    .call(
                        Method::POST,
                        "/api/v1/auth/login",
                        Some(&LoginIn { email, password }),
                    )
                    .await?
                    .map_err(|e| anyhow::anyhow!("signing in to {}: {e}", api.base))?;
                api.token = out.token;
            }
        }
        Ok(api)
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// A call whose error answers are data (`Ok(Err(..))`); a failed connection or an
    /// unreadable answer is an `Err`.
    pub async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> anyhow::Result<Result<T, ApiError>> {
        let what = format!("{method} {}{path}", self.base);
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if !self.token.is_empty() {
            req = req.bearer_auth(&self.token);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.with_context(|| what.clone())?;
        let status = resp.status();
        let bytes = resp.bytes().await.with_context(|| what.clone())?;
        if status.is_success() {
            // 204 and other empty answers read as JSON null.
            let text: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(text)
                .map(Ok)
                .with_context(|| format!("{what}: unexpected answer"));
        }
        let err = match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(b) => ApiError {
                status: status.as_u16(),
                code: b.error.code,
                message: b.error.message,
                details: b.error.details,
            },
            Err(_) => ApiError {
                status: status.as_u16(),
                code: "unexpected".to_owned(),
                message: format!("{what} answered {status}"),
                details: Vec::new(),
            },
        };
        Ok(Err(err))
    }

    /// A `GET` whose every error is fatal.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.call::<T, ()>(Method::GET, path, None)
            .await?
            .with_context(|| format!("GET {}{path}", self.base))
    }

    /// The `items` of a list answer.
    pub async fn list<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<Vec<T>> {
        Ok(self.get::<flowgate_api::Page<T>>(path).await?.items)
    }
}
