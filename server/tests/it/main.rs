//! Flowgate's integration tests: the real server over HTTP, on SQLite and on PostgreSQL.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod admin;
mod cluster;
mod consumers;
mod contract;
mod crash;
mod datastore;
mod delivery;
mod files;
mod handling;
mod http_step;
mod ingress;
mod observe;
mod retries;
mod sql_step;
mod subscriptions;
pub mod support;
mod trust;
mod ui_api;
mod ui_static;
mod users_api;
