//! Per-consumer identity: the credential a call came with is kept on its execution
//! (`key:<id>` or `client:<id>`, and the credential's label at the time), so the executions
//! list can be filtered by consumer and a consumer can follow only its own calls.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Executions {
    Table,
    Caller,
    CallerLabel,
}

const CALLER_INDEX: &str = "idx_executions_caller";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for col in [Executions::Caller, Executions::CallerLabel] {
            m.alter_table(
                Table::alter()
                    .table(Executions::Table)
                    .add_column(string_null(col))
                    .to_owned(),
            )
            .await?;
        }
        // Only calls with a credential are indexed (open and signed-only triggers add no
        // entry); newest first within a consumer, as the list reads them.
        m.get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX {CALLER_INDEX} ON executions (caller, id) WHERE caller IS NOT NULL"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(CALLER_INDEX)
                .table(Executions::Table)
                .to_owned(),
        )
        .await?;
        for col in [Executions::CallerLabel, Executions::Caller] {
            m.alter_table(
                Table::alter()
                    .table(Executions::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
