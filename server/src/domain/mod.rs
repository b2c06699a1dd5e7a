//! Domain services: what the admin API and the ingress do, without HTTP types.

pub mod executions;
pub mod integrations;
pub mod keys;
pub mod users;
