//! One module per page, and the rotation dialog the API keys and OAuth clients pages share.
//! The endpoint docs (`docs`) read OpenAPI documents; the API reference reuses that reader.

pub mod api_reference;
pub mod dashboard;
pub mod docs;
pub mod editor;
pub mod executions;
pub mod integrations;
pub mod keys;
pub mod oauth_clients;
mod rotate;
pub mod secrets;
pub mod subscriptions;
pub mod tables;
pub mod users;
