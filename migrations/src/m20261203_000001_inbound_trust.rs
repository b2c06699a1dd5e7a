//! Inbound trust: OAuth2 clients, API key expiry / rotation / rate limits, and the webhook
//! ids already seen (replay protection of signed webhooks).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OauthClients {
    Table,
    /// The `client_id`.
    Id,
    Label,
    /// HMAC-SHA256 of the secret under the server secret, hex.
    SecretDigest,
    /// The secret before the last rotation, accepted until `previous_until`.
    PreviousDigest,
    PreviousUntil,
    /// Space-separated scopes the client may ask for.
    Scopes,
    RateLimitPerSecond,
    RateLimitBurst,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    ExpiresAt,
    PreviousDigest,
    PreviousUntil,
    RateLimitPerSecond,
    RateLimitBurst,
}

#[derive(DeriveIden)]
enum SeenWebhooks {
    Table,
    IntegrationId,
    /// The sender's message id (`webhook-id`).
    MessageId,
    /// The signed timestamp: a redelivery signs a new one, a replay repeats it.
    SentAt,
    SeenAt,
}

const SEEN_INDEX: &str = "idx_seen_webhooks_seen_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(OauthClients::Table)
                .col(string(OauthClients::Id).primary_key())
                .col(string(OauthClients::Label))
                .col(string(OauthClients::SecretDigest).unique_key())
                .col(string_null(OauthClients::PreviousDigest))
                .col(big_integer_null(OauthClients::PreviousUntil))
                .col(string(OauthClients::Scopes).default(""))
                .col(integer_null(OauthClients::RateLimitPerSecond))
                .col(integer_null(OauthClients::RateLimitBurst))
                .col(big_integer(OauthClients::CreatedAt))
                .col(big_integer_null(OauthClients::LastUsedAt))
                .col(big_integer_null(OauthClients::RevokedAt))
                .to_owned(),
        )
        .await?;
        // SQLite takes one column per ALTER TABLE.
        let columns = [
            big_integer_null(ApiKeys::ExpiresAt),
            string_null(ApiKeys::PreviousDigest),
            big_integer_null(ApiKeys::PreviousUntil),
            integer_null(ApiKeys::RateLimitPerSecond),
            integer_null(ApiKeys::RateLimitBurst),
        ];
        for mut col in columns {
            m.alter_table(
                Table::alter()
                    .table(ApiKeys::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(SeenWebhooks::Table)
                .col(string(SeenWebhooks::IntegrationId))
                .col(string(SeenWebhooks::MessageId))
                .col(big_integer(SeenWebhooks::SentAt))
                .col(big_integer(SeenWebhooks::SeenAt))
                .primary_key(
                    Index::create()
                        .col(SeenWebhooks::IntegrationId)
                        .col(SeenWebhooks::MessageId)
                        .col(SeenWebhooks::SentAt),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(SEEN_INDEX)
                .table(SeenWebhooks::Table)
                .col(SeenWebhooks::SeenAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(SeenWebhooks::Table).to_owned())
            .await?;
        for col in [
            ApiKeys::ExpiresAt,
            ApiKeys::PreviousDigest,
            ApiKeys::PreviousUntil,
            ApiKeys::RateLimitPerSecond,
            ApiKeys::RateLimitBurst,
        ] {
            m.alter_table(
                Table::alter()
                    .table(ApiKeys::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(OauthClients::Table).to_owned())
            .await
    }
}
