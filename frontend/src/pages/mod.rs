//! One module per page.

pub mod editor;
pub mod executions;
pub mod integrations;
pub mod keys;
pub mod secrets;
pub mod subscriptions;
pub mod users;
