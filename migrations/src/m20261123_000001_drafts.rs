//! Drafts of integrations (saved without being valid, published later) and an index for the
//! per-integration call statistics of the integration list.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IntegrationDrafts {
    Table,
    IntegrationId,
    Document,
    TriggerPath,
    BasedOnVersion,
    SavedBy,
    SavedAt,
}

#[derive(DeriveIden)]
enum Executions {
    Table,
    IntegrationId,
    ReceivedAt,
}

const DRAFT_PATH_INDEX: &str = "idx_integration_drafts_trigger_path";
const RECEIVED_INDEX: &str = "idx_executions_integration_received";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One draft per integration at most; the trigger path is copied out of the document
        // to find drafts that claim a path.
        m.create_table(
            Table::create()
                .table(IntegrationDrafts::Table)
                .col(string(IntegrationDrafts::IntegrationId).primary_key())
                .col(text(IntegrationDrafts::Document))
                .col(string(IntegrationDrafts::TriggerPath))
                .col(big_integer(IntegrationDrafts::BasedOnVersion))
                .col(string_null(IntegrationDrafts::SavedBy))
                .col(big_integer(IntegrationDrafts::SavedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(DRAFT_PATH_INDEX)
                .table(IntegrationDrafts::Table)
                .col(IntegrationDrafts::TriggerPath)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(RECEIVED_INDEX)
                .table(Executions::Table)
                .col(Executions::IntegrationId)
                .col(Executions::ReceivedAt)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(RECEIVED_INDEX)
                .table(Executions::Table)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(IntegrationDrafts::Table).to_owned())
            .await?;
        Ok(())
    }
}
