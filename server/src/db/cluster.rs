//! Instances sharing one database: who is alive, who owns which ordered lane, and giving the
//! work of dead instances back.
//!
//! An instance is alive while its `heartbeat_at` is recent. A claimed execution belongs to the
//! instance in its `lease_owner`; an ordered lane to the instance in `lanes.owner`. Both are
//! valid only while that instance is alive, so nothing has to be renewed per execution.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use super::stmt;

/// Records a starting instance.
pub async fn register(db: &DatabaseConnection, id: &str, now: i64) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    db.execute_raw(stmt(
        backend,
        "INSERT INTO instances (id, started_at, heartbeat_at) VALUES (?, ?, ?)",
        vec![id.into(), now.into(), now.into()],
    ))
    .await?;
    Ok(())
}

/// Records that this instance is alive; false if its row was gone (another instance took it
/// for dead and took its work back), in which case it is registered again.
pub async fn heartbeat(db: &DatabaseConnection, id: &str, now: i64) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let updated = db
        .execute_raw(stmt(
            backend,
            "UPDATE instances SET heartbeat_at = ? WHERE id = ?",
            vec![now.into(), id.into()],
        ))
        .await?
        .rows_affected();
    if updated == 1 {
        return Ok(true);
    }
    register(db, id, now).await?;
    Ok(false)
}

/// What [`reap`] gave back.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reaped {
    /// Asynchronous executions back in the queue.
    pub requeued: u64,
    /// Request-response executions ended as errored (their caller is gone).
    pub closed: u64,
    /// Ordered lanes released.
    pub lanes: u64,
}

/// Gives back the work of instances not heard from since `alive_since`: their running
/// asynchronous executions go back to the queue, their running request-response executions
/// end as errored, their lanes are released, and their rows are removed.
pub async fn reap(db: &DatabaseConnection, alive_since: i64, now: i64) -> Result<Reaped, DbErr> {
    let backend = db.get_database_backend();
    // A dead owner, or a lease nobody renewed: every instance renews the leases of the runs
    // it holds at each heartbeat, so an expired one is a run its instance lost.
    let dead_owner = "(lease_owner IS NULL OR lease_owner NOT IN \
                      (SELECT id FROM instances WHERE heartbeat_at >= ?) \
                      OR (lease_until IS NOT NULL AND lease_until < ?))";
    let requeued = db
        .execute_raw(stmt(
            backend,
            &format!(
                "UPDATE executions SET status = 'queued', lease_owner = NULL, lease_until = NULL \
                 WHERE status = 'running' AND mode = 'async' AND {dead_owner}"
            ),
            vec![alive_since.into(), now.into()],
        ))
        .await?
        .rows_affected();
    let closed = db
        .execute_raw(stmt(
            backend,
            &format!(
                "UPDATE executions SET status = 'errored', finished_at = ?, lease_owner = NULL, \
                 error = 'the instance running this execution stopped before it ended' \
                 WHERE status = 'running' AND mode = 'sync' AND {dead_owner}"
            ),
            vec![now.into(), alive_since.into(), now.into()],
        ))
        .await?
        .rows_affected();
    let lanes = db
        .execute_raw(stmt(
            backend,
            "UPDATE lanes SET owner = NULL WHERE owner IS NOT NULL AND owner NOT IN \
             (SELECT id FROM instances WHERE heartbeat_at >= ?)",
            vec![alive_since.into()],
        ))
        .await?
        .rows_affected();
    db.execute_raw(stmt(
        backend,
        "DELETE FROM instances WHERE heartbeat_at < ?",
        vec![alive_since.into()],
    ))
    .await?;
    Ok(Reaped {
        requeued,
        closed,
        lanes,
    })
}

/// Renews the leases of the runs this instance holds.
pub async fn renew_leases(
    db: &DatabaseConnection,
    me: &str,
    ids: &[String],
    until: i64,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut values: Vec<sea_orm::Value> = vec![until.into(), me.into()];
        values.extend(chunk.iter().map(|id| id.clone().into()));
        db.execute_raw(stmt(
            backend,
            &format!(
                "UPDATE executions SET lease_until = ? WHERE lease_owner = ? AND status = 'running' \
                 AND lease_until IS NOT NULL AND id IN ({marks})"
            ),
            values,
        ))
        .await?;
    }
    Ok(())
}

/// Takes (or keeps) an ordered lane (a lane id) for this instance: true if it is ours.
pub async fn own_lane(
    db: &DatabaseConnection,
    lane: &str,
    me: &str,
    alive_since: i64,
) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    // Already ours: nothing to write. A read takes no write lock, and every lane looks again
    // at each heartbeat (a hundred keyed lanes writing each time held up the journal).
    let row = db
        .query_one_raw(stmt(
            backend,
            "SELECT owner FROM lanes WHERE integration_id = ?",
            vec![lane.into()],
        ))
        .await?;
    if let Some(row) = &row {
        let owner: Option<String> = row.try_get("", "owner")?;
        if owner.as_deref() == Some(me) {
            return Ok(true);
        }
    }
    if row.is_none() && lane.contains('/') {
        // A keyed lane has its row only while it runs somewhere.
        db.execute_raw(stmt(
            backend,
            "INSERT INTO lanes (integration_id, next_sequence, owner) VALUES (?, 0, NULL) \
             ON CONFLICT DO NOTHING",
            vec![lane.into()],
        ))
        .await?;
    }
    let integration_id = lane;
    let updated = db
        .execute_raw(stmt(
            backend,
            "UPDATE lanes SET owner = ? WHERE integration_id = ? AND (owner IS NULL OR owner = ? \
             OR owner NOT IN (SELECT id FROM instances WHERE heartbeat_at >= ?))",
            vec![
                me.into(),
                integration_id.into(),
                me.into(),
                alive_since.into(),
            ],
        ))
        .await?
        .rows_affected();
    Ok(updated == 1)
}

/// On a graceful stop: the lanes go to other instances at once, and this instance is gone.
pub async fn leave(db: &DatabaseConnection, me: &str) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    db.execute_raw(stmt(
        backend,
        "UPDATE lanes SET owner = NULL WHERE owner = ?",
        vec![me.into()],
    ))
    .await?;
    db.execute_raw(stmt(
        backend,
        "DELETE FROM instances WHERE id = ?",
        vec![me.into()],
    ))
    .await?;
    Ok(())
}

/// The PostgreSQL channel the instances of one Flowgate tell each other about work on:
/// `flowgate_<schema>`, so that several Flowgates in one database (one schema each) stay apart.
pub async fn channel_name(db: &DatabaseConnection) -> Result<String, DbErr> {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(String::new());
    }
    let row = db
        .query_one_raw(stmt(
            db.get_database_backend(),
            "SELECT current_schema() AS s",
            vec![],
        ))
        .await?;
    let schema: String = match row {
        Some(r) => r.try_get("", "s")?,
        None => String::new(),
    };
    let clean: String = schema
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(50)
        .collect();
    Ok(format!("flowgate_{clean}"))
}

/// Sends notifications on `channel`; inside a transaction they are delivered when it commits.
pub async fn notify<C: ConnectionTrait>(
    db: &C,
    channel: &str,
    payloads: &[String],
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    for p in payloads {
        db.execute_raw(stmt(
            backend,
            "SELECT pg_notify(?, ?)",
            vec![channel.into(), p.clone().into()],
        ))
        .await?;
    }
    Ok(())
}

/// A keyed lane with nothing left to do: its row goes, if this instance owns it.
pub async fn drop_lane(db: &DatabaseConnection, lane: &str, me: &str) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    db.execute_raw(stmt(
        backend,
        "DELETE FROM lanes WHERE integration_id = ? AND owner = ?",
        vec![lane.into(), me.into()],
    ))
    .await?;
    Ok(())
}
