//! Event subscriptions (outbound webhooks): subscriptions, their deliveries (one per event and
//! subscription, also the delivery queue) and every delivery attempt.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    Id,
    Url,
    /// JSON array of patterns (`user.*`, `*`).
    EventTypes,
    Description,
    Enabled,
    DisabledReason,
    /// JSON object of custom headers.
    Headers,
    RateLimit,
    Ordered,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    FailingSince,
    LastSuccessAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SubscriptionDeliveries {
    Table,
    Id,
    SubscriptionId,
    /// The event's id: the `webhook-id` header.
    EventId,
    EventType,
    /// The exact JSON body sent (`{"type","timestamp","data"}`).
    Body,
    Ordered,
    ExecutionId,
    /// `pending`, `delivering`, `succeeded`, `failed`.
    Status,
    Attempts,
    NextAttemptAt,
    LeaseOwner,
    LeaseUntil,
    LastStatus,
    LastError,
    CreatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum DeliveryAttempts {
    Table,
    Id,
    DeliveryId,
    Attempt,
    StartedAt,
    DurationMs,
    Url,
    RequestHeaders,
    ResponseStatus,
    ResponseExcerpt,
    Error,
}

const DUE_INDEX: &str = "idx_subscription_deliveries_due";
const SUB_INDEX: &str = "idx_subscription_deliveries_sub";
const EVENT_INDEX: &str = "idx_subscription_deliveries_event";
const ATTEMPTS_INDEX: &str = "idx_delivery_attempts_delivery";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Subscriptions::Table)
                .col(string(Subscriptions::Id).primary_key())
                .col(text(Subscriptions::Url))
                .col(text(Subscriptions::EventTypes))
                .col(text(Subscriptions::Description))
                .col(boolean(Subscriptions::Enabled))
                .col(text_null(Subscriptions::DisabledReason))
                .col(text(Subscriptions::Headers))
                .col(integer_null(Subscriptions::RateLimit))
                .col(boolean(Subscriptions::Ordered))
                .col(string(Subscriptions::Secret))
                .col(string_null(Subscriptions::PreviousSecret))
                .col(big_integer_null(Subscriptions::PreviousSecretUntil))
                .col(big_integer_null(Subscriptions::FailingSince))
                .col(big_integer_null(Subscriptions::LastSuccessAt))
                .col(big_integer(Subscriptions::CreatedAt))
                .col(big_integer(Subscriptions::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SubscriptionDeliveries::Table)
                .col(string(SubscriptionDeliveries::Id).primary_key())
                .col(string(SubscriptionDeliveries::SubscriptionId))
                .col(string(SubscriptionDeliveries::EventId))
                .col(string(SubscriptionDeliveries::EventType))
                .col(text(SubscriptionDeliveries::Body))
                .col(boolean(SubscriptionDeliveries::Ordered))
                .col(string_null(SubscriptionDeliveries::ExecutionId))
                .col(string(SubscriptionDeliveries::Status))
                .col(integer(SubscriptionDeliveries::Attempts))
                .col(big_integer(SubscriptionDeliveries::NextAttemptAt))
                .col(string_null(SubscriptionDeliveries::LeaseOwner))
                .col(big_integer_null(SubscriptionDeliveries::LeaseUntil))
                .col(integer_null(SubscriptionDeliveries::LastStatus))
                .col(text_null(SubscriptionDeliveries::LastError))
                .col(big_integer(SubscriptionDeliveries::CreatedAt))
                .col(big_integer_null(SubscriptionDeliveries::FinishedAt))
                .to_owned(),
        )
        .await?;
        // Claims: what is due.
        m.create_index(
            Index::create()
                .name(DUE_INDEX)
                .table(SubscriptionDeliveries::Table)
                .col(SubscriptionDeliveries::Status)
                .col(SubscriptionDeliveries::NextAttemptAt)
                .to_owned(),
        )
        .await?;
        // Per subscription in order: lists, FIFO heads.
        m.create_index(
            Index::create()
                .name(SUB_INDEX)
                .table(SubscriptionDeliveries::Table)
                .col(SubscriptionDeliveries::SubscriptionId)
                .col(SubscriptionDeliveries::Id)
                .to_owned(),
        )
        .await?;
        // One delivery per event and subscription: a re-run publishing the same event again
        // adds nothing.
        m.create_index(
            Index::create()
                .name(EVENT_INDEX)
                .table(SubscriptionDeliveries::Table)
                .col(SubscriptionDeliveries::SubscriptionId)
                .col(SubscriptionDeliveries::EventId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DeliveryAttempts::Table)
                .col(string(DeliveryAttempts::Id).primary_key())
                .col(string(DeliveryAttempts::DeliveryId))
                .col(integer(DeliveryAttempts::Attempt))
                .col(big_integer(DeliveryAttempts::StartedAt))
                .col(big_integer(DeliveryAttempts::DurationMs))
                .col(text(DeliveryAttempts::Url))
                .col(text(DeliveryAttempts::RequestHeaders))
                .col(integer_null(DeliveryAttempts::ResponseStatus))
                .col(text_null(DeliveryAttempts::ResponseExcerpt))
                .col(text_null(DeliveryAttempts::Error))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(ATTEMPTS_INDEX)
                .table(DeliveryAttempts::Table)
                .col(DeliveryAttempts::DeliveryId)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(DeliveryAttempts::Table).to_owned())
            .await?;
        m.drop_table(
            Table::drop()
                .table(SubscriptionDeliveries::Table)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Subscriptions::Table).to_owned())
            .await?;
        Ok(())
    }
}
