//! One module per page, and the rotation dialog the API keys and OAuth clients pages share.

pub mod editor;
pub mod executions;
pub mod integrations;
pub mod keys;
pub mod oauth_clients;
mod rotate;
pub mod secrets;
pub mod subscriptions;
pub mod users;
