//! Subscription tables and queries. `subscription_deliveries` is also the delivery queue:
//! `pending` rows are due at `next_attempt_at`; a claimed row is `delivering` with a lease
//! (`lease_owner`, `lease_until`) that another instance may take over once it expires or its
//! owner is gone from `instances`.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Value,
};

use super::entities::{attempt, delivery, subscription};
use super::stmt;
use crate::core::subscription_set::Entry;
use crate::core::webhooks::NewDelivery;

/// The enabled subscriptions, for matching events.
pub async fn enabled_entries<C: ConnectionTrait>(db: &C) -> Result<Vec<Entry>, DbErr> {
    let subs = subscription::Entity::find()
        .filter(subscription::Column::Enabled.eq(true))
        .order_by_asc(subscription::Column::Id)
        .all(db)
        .await?;
    Ok(subs
        .into_iter()
        .map(|s| Entry {
            patterns: serde_json::from_str(&s.event_types).unwrap_or_default(),
            id: s.id,
            ordered: s.ordered,
        })
        .collect())
}

/// Inserts deliveries; one already there for the same event and subscription is kept.
pub async fn insert_deliveries<C: ConnectionTrait>(
    db: &C,
    rows: &[NewDelivery],
) -> Result<(), DbErr> {
    use sea_orm::ActiveValue::Set;
    for chunk in rows.chunks(64) {
        let models = chunk.iter().map(|d| delivery::ActiveModel {
            id: Set(d.id.clone()),
            subscription_id: Set(d.subscription_id.clone()),
            event_id: Set(d.event_id.clone()),
            event_type: Set(d.event_type.clone()),
            body: Set(d.body.clone()),
            ordered: Set(d.ordered),
            execution_id: Set(d.execution_id.clone()),
            status: Set("pending".to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(d.created_at),
            lease_owner: Set(None),
            lease_until: Set(None),
            last_status: Set(None),
            last_error: Set(None),
            created_at: Set(d.created_at),
            finished_at: Set(None),
        });
        delivery::Entity::insert_many(models)
            .on_conflict_do_nothing_on([
                delivery::Column::SubscriptionId,
                delivery::Column::EventId,
            ])
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// A delivery claimed for one attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub subscription_id: String,
    pub event_id: String,
    pub body: String,
    /// This attempt's number (1 for the first).
    pub attempt: i32,
}

const RETURNING: &str = "RETURNING id, subscription_id, event_id, body, attempts";

/// Due: pending and due, or delivering under a lease that ran out or whose owner is gone.
const DUE: &str = "((status = 'pending' AND next_attempt_at <= ?) OR (status = 'delivering' \
                   AND (lease_until < ? OR lease_owner NOT IN (SELECT id FROM instances))))";

fn claimed_from(row: &sea_orm::QueryResult) -> Result<Claimed, DbErr> {
    Ok(Claimed {
        id: row.try_get("", "id")?,
        subscription_id: row.try_get("", "subscription_id")?,
        event_id: row.try_get("", "event_id")?,
        body: row.try_get("", "body")?,
        attempt: row.try_get("", "attempts")?,
    })
}

/// Claims up to `limit` due deliveries of unordered subscriptions (enabled ones), earliest
/// due first; `FOR UPDATE SKIP LOCKED` on PostgreSQL so instances never claim the same row.
pub async fn claim_unordered(
    db: &DatabaseConnection,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: usize,
) -> Result<Vec<Claimed>, DbErr> {
    let backend = db.get_database_backend();
    let lock = super::skip_locked(backend);
    let sql = format!(
        "UPDATE subscription_deliveries SET status = 'delivering', lease_owner = ?, \
         lease_until = ?, attempts = attempts + 1 WHERE id IN (SELECT id FROM \
         subscription_deliveries WHERE ordered = ? AND {DUE} AND subscription_id IN \
         (SELECT id FROM subscriptions WHERE enabled = ?) ORDER BY next_attempt_at LIMIT ?{lock}) \
         {RETURNING}"
    );
    let rows = db
        .query_all_raw(stmt(
            backend,
            &sql,
            vec![
                owner.into(),
                lease_until.into(),
                Value::Bool(Some(false)),
                now.into(),
                now.into(),
                Value::Bool(Some(true)),
                i64::try_from(limit).unwrap_or(1).into(),
            ],
        ))
        .await?;
    rows.iter().map(claimed_from).collect()
}

/// Claims the due heads of ordered subscriptions: per subscription only its oldest
/// unfinished delivery may be attempted, and only while nobody else holds it. The claim is a
/// conditional update of that one row, so two instances never both win it.
pub async fn claim_heads(
    db: &DatabaseConnection,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: usize,
) -> Result<Vec<Claimed>, DbErr> {
    let backend = db.get_database_backend();
    let heads = db
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT id FROM subscription_deliveries WHERE id IN (SELECT MIN(id) FROM \
                 subscription_deliveries WHERE ordered = ? AND status IN ('pending', 'delivering') \
                 GROUP BY subscription_id) AND {DUE} AND subscription_id IN \
                 (SELECT id FROM subscriptions WHERE enabled = ?) LIMIT ?"
            ),
            vec![
                Value::Bool(Some(true)),
                now.into(),
                now.into(),
                Value::Bool(Some(true)),
                i64::try_from(limit).unwrap_or(1).into(),
            ],
        ))
        .await?;
    let mut out = Vec::new();
    for h in heads {
        let id: String = h.try_get("", "id")?;
        let row = db
            .query_one_raw(stmt(
                backend,
                &format!(
                    "UPDATE subscription_deliveries SET status = 'delivering', lease_owner = ?, \
                     lease_until = ?, attempts = attempts + 1 WHERE id = ? AND {DUE} {RETURNING}"
                ),
                vec![
                    owner.into(),
                    lease_until.into(),
                    id.into(),
                    now.into(),
                    now.into(),
                ],
            ))
            .await?;
        if let Some(row) = row {
            out.push(claimed_from(&row)?);
        }
    }
    Ok(out)
}

/// Gives a claimed delivery back without counting the attempt (rate limit, shutdown).
pub async fn release(
    db: &DatabaseConnection,
    id: &str,
    owner: &str,
    due_at: i64,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    db.execute_raw(stmt(
        backend,
        "UPDATE subscription_deliveries SET status = 'pending', attempts = attempts - 1, \
         next_attempt_at = ?, lease_owner = NULL, lease_until = NULL \
         WHERE id = ? AND status = 'delivering' AND lease_owner = ?",
        vec![due_at.into(), id.into(), owner.into()],
    ))
    .await?;
    Ok(())
}

/// The end of one attempt.
#[derive(Debug, Clone)]
pub struct AttemptEnd {
    /// `succeeded`, `failed` (given up) or `pending` (a retry at `next_attempt_at`).
    pub status: &'static str,
    pub next_attempt_at: i64,
    pub finished_at: Option<i64>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
}

/// Records an attempt and the delivery's new state in one transaction; false if this
/// instance no longer held the delivery (the attempt is recorded all the same).
pub async fn record_attempt(
    db: &DatabaseConnection,
    owner: &str,
    delivery_id: &str,
    attempt: attempt::Model,
    end: &AttemptEnd,
) -> Result<bool, DbErr> {
    use sea_orm::{ActiveModelTrait, IntoActiveModel};
    let backend = db.get_database_backend();
    let txn = super::begin_write(db).await?;
    attempt.into_active_model().insert(&txn).await?;
    let r = txn
        .execute_raw(stmt(
            backend,
            "UPDATE subscription_deliveries SET status = ?, next_attempt_at = ?, finished_at = ?, \
             last_status = ?, last_error = ?, lease_owner = NULL, lease_until = NULL \
             WHERE id = ? AND status = 'delivering' AND lease_owner = ?",
            vec![
                end.status.into(),
                end.next_attempt_at.into(),
                end.finished_at.into(),
                end.last_status.into(),
                end.last_error.clone().into(),
                delivery_id.into(),
                owner.into(),
            ],
        ))
        .await?;
    txn.commit().await?;
    Ok(r.rows_affected() == 1)
}

/// A success: the subscription is healthy again.
pub async fn mark_success(db: &DatabaseConnection, sub_id: &str, now: i64) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    db.execute_raw(stmt(
        backend,
        "UPDATE subscriptions SET last_success_at = ?, failing_since = NULL WHERE id = ? \
         AND (failing_since IS NOT NULL OR last_success_at IS NULL OR last_success_at < ?)",
        vec![now.into(), sub_id.into(), (now - 1_000_000).into()],
    ))
    .await?;
    Ok(())
}

/// A failure: remembers since when the subscription fails; true if it has failed since
/// before `disable_before` and was disabled now (with `reason`).
pub async fn mark_failure(
    db: &DatabaseConnection,
    sub_id: &str,
    now: i64,
    disable_before: Option<i64>,
    reason: &str,
) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    db.execute_raw(stmt(
        backend,
        "UPDATE subscriptions SET failing_since = ? WHERE id = ? AND failing_since IS NULL",
        vec![now.into(), sub_id.into()],
    ))
    .await?;
    let Some(before) = disable_before else {
        return Ok(false);
    };
    let r = db
        .execute_raw(stmt(
            backend,
            "UPDATE subscriptions SET enabled = ?, disabled_reason = ?, updated_at = ? \
             WHERE id = ? AND enabled = ? AND failing_since IS NOT NULL AND failing_since < ?",
            vec![
                Value::Bool(Some(false)),
                reason.into(),
                now.into(),
                sub_id.into(),
                Value::Bool(Some(true)),
                before.into(),
            ],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Disables a subscription with a reason; true if it was enabled.
pub async fn disable(
    db: &DatabaseConnection,
    sub_id: &str,
    reason: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let r = db
        .execute_raw(stmt(
            backend,
            "UPDATE subscriptions SET enabled = ?, disabled_reason = ?, updated_at = ? \
             WHERE id = ? AND enabled = ?",
            vec![
                Value::Bool(Some(false)),
                reason.into(),
                now.into(),
                sub_id.into(),
                Value::Bool(Some(true)),
            ],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Deliveries of one subscription, newest first, for the API.
pub struct ListFilter {
    pub subscription_id: String,
    pub status: Option<String>,
    pub event_type: Option<String>,
    pub before_id: Option<String>,
    pub limit: u64,
}

pub async fn list_deliveries(
    db: &DatabaseConnection,
    f: &ListFilter,
) -> Result<Vec<delivery::Model>, DbErr> {
    use delivery::Column as C;
    let mut q = delivery::Entity::find().filter(C::SubscriptionId.eq(f.subscription_id.clone()));
    if let Some(s) = &f.status {
        q = q.filter(C::Status.eq(s.clone()));
    }
    if let Some(t) = &f.event_type {
        q = q.filter(C::EventType.eq(t.clone()));
    }
    if let Some(b) = &f.before_id {
        q = q.filter(C::Id.lt(b.clone()));
    }
    q.order_by_desc(C::Id).limit(f.limit).all(db).await
}

pub async fn attempts_of(
    db: &DatabaseConnection,
    delivery_id: &str,
) -> Result<Vec<attempt::Model>, DbErr> {
    attempt::Entity::find()
        .filter(attempt::Column::DeliveryId.eq(delivery_id.to_owned()))
        .order_by_asc(attempt::Column::Id)
        .all(db)
        .await
}

/// Queues finished deliveries again (the schedule starts over). `only_id`: one delivery
/// (succeeded or failed); else the failed ones of a subscription created since `since`.
pub async fn requeue(
    db: &DatabaseConnection,
    only_id: Option<&str>,
    subscription: Option<(&str, i64)>,
    now: i64,
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let mut sql = String::from(
        "UPDATE subscription_deliveries SET status = 'pending', attempts = 0, \
         next_attempt_at = ?, finished_at = NULL, lease_owner = NULL, lease_until = NULL WHERE ",
    );
    let mut values: Vec<Value> = vec![now.into()];
    if let Some(id) = only_id {
        sql.push_str("id = ? AND status IN ('succeeded', 'failed')");
        values.push(id.into());
    } else if let Some((sub, since)) = subscription {
        sql.push_str("subscription_id = ? AND status = 'failed' AND created_at >= ?");
        values.push(sub.into());
        values.push(since.into());
    } else {
        return Ok(0);
    }
    let r = db.execute_raw(stmt(backend, &sql, values)).await?;
    Ok(r.rows_affected())
}

/// Deletes a subscription with its deliveries and their attempts.
pub async fn delete_subscription(db: &DatabaseConnection, id: &str) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let txn = super::begin_write(db).await?;
    txn.execute_raw(stmt(
        backend,
        "DELETE FROM delivery_attempts WHERE delivery_id IN \
         (SELECT id FROM subscription_deliveries WHERE subscription_id = ?)",
        vec![id.into()],
    ))
    .await?;
    txn.execute_raw(stmt(
        backend,
        "DELETE FROM subscription_deliveries WHERE subscription_id = ?",
        vec![id.into()],
    ))
    .await?;
    let r = txn
        .execute_raw(stmt(
            backend,
            "DELETE FROM subscriptions WHERE id = ?",
            vec![id.into()],
        ))
        .await?;
    txn.commit().await?;
    Ok(r.rows_affected() == 1)
}

/// Deletes up to `limit` finished deliveries created before `before`, with their attempts.
pub async fn prune(db: &DatabaseConnection, before: i64, limit: u64) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(stmt(
            backend,
            "SELECT id FROM subscription_deliveries WHERE status IN ('succeeded', 'failed') \
             AND created_at < ? ORDER BY id LIMIT ?",
            vec![before.into(), i64::try_from(limit).unwrap_or(1000).into()],
        ))
        .await?;
    let ids = rows
        .iter()
        .map(|r| r.try_get::<String>("", "id"))
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Ok(0);
    }
    let txn = super::begin_write(db).await?;
    attempt::Entity::delete_many()
        .filter(attempt::Column::DeliveryId.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    let r = delivery::Entity::delete_many()
        .filter(delivery::Column::Id.is_in(ids))
        .filter(delivery::Column::Status.is_in(["succeeded", "failed"]))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(r.rows_affected)
}

/// On a graceful stop: deliveries this instance still holds are due again at once (the
/// interrupted attempt is not counted).
pub async fn release_mine(db: &DatabaseConnection, owner: &str, now: i64) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let r = db
        .execute_raw(stmt(
            backend,
            "UPDATE subscription_deliveries SET status = 'pending', attempts = attempts - 1, \
             next_attempt_at = ?, lease_owner = NULL, lease_until = NULL \
             WHERE status = 'delivering' AND lease_owner = ?",
            vec![now.into(), owner.into()],
        ))
        .await?;
    Ok(r.rows_affected())
}
