//! Domain services: what the admin API and the ingress do, without HTTP types.

pub mod drafts;
pub mod executions;
pub mod integrations;
pub mod keys;
pub mod test_runs;
pub mod users;
