//! The admin API (`/api/v1`): one file per resource, each with its routes; handlers are thin
//! and each calls one domain function.

mod auth;
mod docs;
mod executions;
mod integrations;
mod keys;
mod oauth_clients;
mod secrets;
mod shadow;
mod stats;
mod subscriptions;
mod tables;
mod users;

use actix_web::web;

/// Every route of the admin API.
pub fn routes(cfg: &mut web::ServiceConfig) {
    auth::routes(cfg);
    keys::routes(cfg);
    oauth_clients::routes(cfg);
    docs::routes(cfg);
    integrations::routes(cfg);
    executions::routes(cfg);
    users::routes(cfg);
    subscriptions::routes(cfg);
    secrets::routes(cfg);
    stats::routes(cfg);
    shadow::routes(cfg);
    tables::routes(cfg);
}
