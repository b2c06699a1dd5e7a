//! Fewer B-trees for every execution row (issue 14): a request-response call's record, written
//! once and finished, went into the primary key and six indexes; now into the primary key and
//! three (`slug_id`, `claim`, `caller`):
//! - `idx_executions_idempotency` is gone: idempotency keys are claimed in their own table
//!   (`idempotency_claims`) and nothing reads executions by key.
//! - `idx_executions_lease` (status, lease_owner) is gone: lease renewal finds its rows by id,
//!   the reaper by status (`idx_executions_claim`).
//! - The lane index covers only queued and dead executions (what a lane reads next and
//!   what the dashboard counts as waiting), written as the same `IN` term the queries use,
//!   so SQLite's partial-index rule (the query must contain the index's terms) holds.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in [
            "DROP INDEX idx_executions_idempotency",
            "DROP INDEX idx_executions_lease",
            "DROP INDEX idx_executions_lane",
            "CREATE INDEX idx_executions_waiting ON executions \
             (integration_id, lane_key, sequence) WHERE status IN ('queued', 'dead')",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in [
            "DROP INDEX idx_executions_waiting",
            "CREATE INDEX idx_executions_idempotency ON executions \
             (integration_id, idempotency_key)",
            "CREATE INDEX idx_executions_lease ON executions (status, lease_owner)",
            "CREATE INDEX idx_executions_lane ON executions \
             (status, integration_id, lane_key, sequence)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
