//! The services: what the admin API and the consumer endpoints do, without HTTP.

pub mod access;
pub mod calls;
pub mod credentials;
pub mod docs;
pub mod executions;
pub mod integrations;
pub mod keys;
pub mod oauth_clients;
pub mod runs;
pub mod secrets;
pub mod stats;
pub mod subscriptions;
pub mod tables;
pub mod users;
