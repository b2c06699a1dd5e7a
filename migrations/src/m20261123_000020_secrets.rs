//! Stored secrets for flows (HTTP step credentials), encrypted at rest.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Secrets {
    Table,
    Name,
    /// `v1:` + base64(nonce || ChaCha20-Poly1305 ciphertext), the name as associated data.
    Value,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Secrets::Table)
                .col(string(Secrets::Name).primary_key())
                .col(text(Secrets::Value))
                .col(big_integer(Secrets::CreatedAt))
                .col(big_integer(Secrets::UpdatedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Secrets::Table).to_owned())
            .await
    }
}
