//! The model and its pure rules: no database, no application state, no HTTP.

pub mod conclude;
pub mod execution;
pub mod notice;
pub mod ratelimit;
pub mod registry;
pub mod retry;
pub mod signals;
pub mod signature;
pub mod subscription_set;
pub mod throttle;
pub mod tokens;
pub mod trigger;
pub mod webhooks;
