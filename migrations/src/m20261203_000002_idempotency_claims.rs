//! Idempotency keys claimed by the database: one row per (integration, credential, key), taken
//! insert-first, so two instances receiving the same key at the same moment run it once.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyClaims {
    Table,
    IntegrationId,
    /// The credential that called (`key:<id>`, `client:<id>`), empty for open triggers.
    Scope,
    Key,
    /// The execution the first call made.
    ExecutionId,
    ClaimedAt,
    /// After this the key may be used again (the trigger's retention).
    ExpiresAt,
}

const EXPIRES_INDEX: &str = "idx_idempotency_claims_expires_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(IdempotencyClaims::Table)
                .col(string(IdempotencyClaims::IntegrationId))
                .col(string(IdempotencyClaims::Scope))
                .col(string(IdempotencyClaims::Key))
                .col(string(IdempotencyClaims::ExecutionId))
                .col(big_integer(IdempotencyClaims::ClaimedAt))
                .col(big_integer(IdempotencyClaims::ExpiresAt))
                .primary_key(
                    Index::create()
                        .col(IdempotencyClaims::IntegrationId)
                        .col(IdempotencyClaims::Scope)
                        .col(IdempotencyClaims::Key),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(EXPIRES_INDEX)
                .table(IdempotencyClaims::Table)
                .col(IdempotencyClaims::ExpiresAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(IdempotencyClaims::Table).to_owned())
            .await
    }
}
