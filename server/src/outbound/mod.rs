//! Outbound HTTP: the client that flows' HTTP steps use (credentials from stored secrets,
//! OAuth2 tokens, retries, redacted traces) and what it shares with the delivery worker.

pub mod client;
pub mod flows;
pub mod guard;
pub mod sql;
