//! Webhook ids already seen on a signed trigger: a replayed message (the same id and signed
//! timestamp again) is refused, on every instance, because the row is claimed insert-first.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set};

use crate::db::entities::seen_webhook;

/// Records a message; `false` when it was seen before.
pub async fn first_sight(
    db: &DatabaseConnection,
    integration_id: &str,
    message_id: &str,
    sent_at: i64,
    now_us: i64,
) -> Result<bool, DbErr> {
    let row = seen_webhook::ActiveModel {
        integration_id: Set(integration_id.to_owned()),
        message_id: Set(message_id.to_owned()),
        sent_at: Set(sent_at),
        seen_at: Set(now_us),
    };
    let res = seen_webhook::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                seen_webhook::Column::IntegrationId,
                seen_webhook::Column::MessageId,
                seen_webhook::Column::SentAt,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(res > 0)
}

/// Forgets messages seen before `before_us` (their timestamps are stale by then).
pub async fn prune(db: &DatabaseConnection, before_us: i64) -> Result<u64, DbErr> {
    let res = seen_webhook::Entity::delete_many()
        .filter(seen_webhook::Column::SeenAt.lt(before_us))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
