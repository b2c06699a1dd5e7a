//! Flowgate's database schema, as portable sea-orm-migration steps (SQLite and PostgreSQL).

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_initial;
mod m20261123_000001_drafts;
mod m20261123_000010_subscriptions;
mod m20261123_000020_secrets;
mod m20261203_000001_inbound_trust;
mod m20261203_000002_idempotency_claims;
mod m20261203_000003_secret_hosts;
mod m20261207_000001_callers;
mod m20261207_000002_data_store;
mod m20261207_000003_lean_execution_indexes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_initial::Migration),
            Box::new(m20261123_000001_drafts::Migration),
            Box::new(m20261123_000010_subscriptions::Migration),
            Box::new(m20261123_000020_secrets::Migration),
            Box::new(m20261203_000001_inbound_trust::Migration),
            Box::new(m20261203_000002_idempotency_claims::Migration),
            Box::new(m20261203_000003_secret_hosts::Migration),
            Box::new(m20261207_000001_callers::Migration),
            Box::new(m20261207_000002_data_store::Migration),
            Box::new(m20261207_000003_lean_execution_indexes::Migration),
        ]
    }
}
