//! Flows as files: `flowgate export DIR` writes a server's integrations (and, by reference,
//! its keys, OAuth clients, stored secrets and subscriptions) as YAML files; `flowgate apply
//! DIR [--dry-run]` makes a server match them through its admin API, printing a diff.
//!
//! Both talk to a running server over HTTP (so its validation, the registry reload and the
//! other instances all apply, and a remote environment is just another URL). Secrets never
//! reach a file: credentials are written by label and resolved by label in the target,
//! which must already have them. See docs/operations.md ("Flows as files").

pub mod apply;
pub mod client;
pub mod export;
pub mod format;
mod log;
pub mod refs;
mod subs;

pub use apply::{apply, Applied};
pub use client::{Api, ApiError, Credentials};
pub use export::{export, Exported};
pub use log::Log;
