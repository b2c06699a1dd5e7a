//! Stored secrets bound to hosts: a secret may list the hosts it may be sent to.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Secrets {
    Table,
    /// Space-separated host patterns (`crm.example.com`, `*.example.com`); empty: any host.
    Hosts,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Secrets::Table)
                .add_column(string(Secrets::Hosts).default(""))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Secrets::Table)
                .drop_column(Secrets::Hosts)
                .to_owned(),
        )
        .await
    }
}
