//! Users, sessions, API keys, integrations and their versions, ordered-lane counters, executions.
//!
//! Timestamps are Unix microseconds (UTC) in BIGINT columns; ids are UUIDv7 strings, so
//! ordering by id is ordering by creation time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    Role,
    Disabled,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Label,
    Prefix,
    Digest,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Id,
    Slug,
    Name,
    Enabled,
    TriggerPath,
    Version,
    Document,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum IntegrationVersions {
    Table,
    Id,
    IntegrationId,
    Version,
    Document,
    Source,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Lanes {
    Table,
    IntegrationId,
    NextSequence,
    Owner,
}

#[derive(DeriveIden)]
enum Instances {
    Table,
    Id,
    StartedAt,
    HeartbeatAt,
}

#[derive(DeriveIden)]
enum Executions {
    Table,
    Id,
    IntegrationId,
    IntegrationSlug,
    Version,
    Mode,
    Ordered,
    Sequence,
    Status,
    ReceivedAt,
    StartedAt,
    FinishedAt,
    Attempts,
    LeaseOwner,
    LeaseUntil,
    NextAttemptAt,
    LaneKey,
    ReplayOf,
    IdempotencyKey,
    Request,
    ResponseStatus,
    Response,
    Steps,
    Logs,
    Error,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(string(Users::Id).primary_key())
                .col(string_uniq(Users::Email))
                .col(string(Users::PasswordHash))
                .col(string(Users::Role))
                .col(boolean(Users::Disabled).default(false))
                .col(big_integer(Users::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(string(Sessions::Id).primary_key())
                .col(string(Sessions::UserId))
                .col(big_integer(Sessions::CreatedAt))
                .col(big_integer(Sessions::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_sessions_user")
                .table(Sessions::Table)
                .col(Sessions::UserId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ApiKeys::Table)
                .col(string(ApiKeys::Id).primary_key())
                .col(string(ApiKeys::Label))
                .col(string(ApiKeys::Prefix))
                .col(string_uniq(ApiKeys::Digest))
                .col(big_integer(ApiKeys::CreatedAt))
                .col(big_integer_null(ApiKeys::LastUsedAt))
                .col(big_integer_null(ApiKeys::RevokedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Integrations::Table)
                .col(string(Integrations::Id).primary_key())
                .col(string_uniq(Integrations::Slug))
                .col(string(Integrations::Name))
                .col(boolean(Integrations::Enabled).default(true))
                .col(string_uniq(Integrations::TriggerPath))
                .col(big_integer(Integrations::Version))
                .col(text(Integrations::Document))
                .col(big_integer(Integrations::CreatedAt))
                .col(big_integer(Integrations::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(IntegrationVersions::Table)
                .col(string(IntegrationVersions::Id).primary_key())
                .col(string(IntegrationVersions::IntegrationId))
                .col(big_integer(IntegrationVersions::Version))
                .col(text(IntegrationVersions::Document))
                .col(text(IntegrationVersions::Source))
                .col(string_null(IntegrationVersions::CreatedBy))
                .col(big_integer(IntegrationVersions::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_versions_integration_version")
                .table(IntegrationVersions::Table)
                .col(IntegrationVersions::IntegrationId)
                .col(IntegrationVersions::Version)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Lanes::Table)
                .col(string(Lanes::IntegrationId).primary_key())
                .col(big_integer(Lanes::NextSequence))
                .col(string_null(Lanes::Owner))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Instances::Table)
                .col(string(Instances::Id).primary_key())
                .col(big_integer(Instances::StartedAt))
                .col(big_integer(Instances::HeartbeatAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Executions::Table)
                .col(string(Executions::Id).primary_key())
                .col(string(Executions::IntegrationId))
                .col(string(Executions::IntegrationSlug))
                .col(big_integer(Executions::Version))
                .col(string(Executions::Mode))
                .col(boolean(Executions::Ordered))
                .col(big_integer_null(Executions::Sequence))
                .col(string(Executions::Status))
                .col(big_integer(Executions::ReceivedAt))
                .col(big_integer_null(Executions::StartedAt))
                .col(big_integer_null(Executions::FinishedAt))
                .col(integer(Executions::Attempts).default(0))
                .col(string_null(Executions::LeaseOwner))
                .col(big_integer_null(Executions::LeaseUntil))
                .col(big_integer_null(Executions::NextAttemptAt))
                .col(string(Executions::LaneKey).default(""))
                .col(string_null(Executions::ReplayOf))
                .col(string_null(Executions::IdempotencyKey))
                .col(text(Executions::Request))
                .col(integer_null(Executions::ResponseStatus))
                .col(text_null(Executions::Response))
                .col(text_null(Executions::Steps))
                .col(text_null(Executions::Logs))
                .col(text_null(Executions::Error))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "idx_executions_slug_id",
                vec![Executions::IntegrationSlug, Executions::Id],
            ),
            (
                "idx_executions_claim",
                vec![Executions::Status, Executions::Ordered, Executions::Id],
            ),
            (
                "idx_executions_idempotency",
                vec![Executions::IntegrationId, Executions::IdempotencyKey],
            ),
            (
                "idx_executions_lease",
                vec![Executions::Status, Executions::LeaseOwner],
            ),
            (
                "idx_executions_lane",
                vec![
                    Executions::Status,
                    Executions::IntegrationId,
                    Executions::LaneKey,
                    Executions::Sequence,
                ],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Executions::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        // Claims look only at queued rows: a partial index stays small however many finished
        // executions the table holds, and needs no statistics to be the right plan.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_executions_queued ON executions (ordered, id) \
                 WHERE status = 'queued'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Executions::Table.into_iden(),
            Instances::Table.into_iden(),
            Lanes::Table.into_iden(),
            IntegrationVersions::Table.into_iden(),
            Integrations::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
