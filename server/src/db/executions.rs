//! Execution queries: batched writes for the journal, claims for workers, reads for the API.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Value,
};

use super::entities::execution;
use super::stmt;
use crate::core::execution::{lane_id, Claimed, Finished, Mode};
use crate::support::text::opt_without_nul;

mod rows;

use rows::pieces;
pub use rows::{insert_queued, insert_running_placeholders, insert_started, upsert_finished};

/// Reserves `count` sequence numbers of an ordered trigger; returns the first.
pub async fn reserve_sequences<C: ConnectionTrait>(
    db: &C,
    integration_id: &str,
    count: i64,
) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(stmt(
            backend,
            "UPDATE lanes SET next_sequence = next_sequence + ? WHERE integration_id = ? RETURNING next_sequence",
            vec![count.into(), integration_id.into()],
        ))
        .await?;
    if let Some(row) = row {
        let next: i64 = row.try_get("", "next_sequence")?;
        return Ok(next - count);
    }
    db.execute_raw(stmt(
        backend,
        "INSERT INTO lanes (integration_id, next_sequence) VALUES (?, ?)",
        vec![integration_id.into(), (count + 1).into()],
    ))
    .await?;
    Ok(1)
}

/// Records the end of executions that were queued before: one statement per 400 rows
/// (`UPDATE … FROM` a `VALUES` list, which SQLite ≥ 3.33 and PostgreSQL both run).
pub async fn finish<C: ConnectionTrait>(db: &C, rows: &[&Finished]) -> Result<(), DbErr> {
    const COLUMNS: usize = 11;
    let backend = db.get_database_backend();
    for chunk in pieces(rows) {
        let tuple = format!("({})", ["?"; COLUMNS].join(", "));
        let sql = format!(
            "WITH v(id, status, started_at, finished_at, attempts, response_status, response, \
             steps, logs, error, next_attempt_at) AS (VALUES {}) \
             UPDATE executions SET status = v.status, started_at = v.started_at, \
             finished_at = v.finished_at, attempts = v.attempts, \
             response_status = v.response_status, response = v.response, steps = v.steps, \
             logs = v.logs, error = v.error, next_attempt_at = v.next_attempt_at, \
             lease_owner = NULL, lease_until = NULL \
             FROM v WHERE executions.id = v.id",
            vec![tuple.as_str(); chunk.len()].join(", ")
        );
        let mut values = Vec::with_capacity(chunk.len() * COLUMNS);
        for f in chunk {
            values.extend([
                f.id.clone().into(),
                f.status.as_str().into(),
                f.started_at.into(),
                f.finished_at.into(),
                f.attempts.into(),
                f.response_status.into(),
                f.response.clone().into(),
                f.steps.clone().into(),
                f.logs.clone().into(),
                opt_without_nul(f.error.clone()).into(),
                f.next_attempt_at.into(),
            ]);
        }
        db.execute_raw(stmt(backend, &sql, values)).await?;
    }
    Ok(())
}

fn claimed_from(row: &sea_orm::QueryResult) -> Result<Claimed, DbErr> {
    let mode: String = row.try_get("", "mode")?;
    Ok(Claimed {
        id: row.try_get("", "id")?,
        mode: if mode == "sync" {
            Mode::Sync
        } else {
            Mode::Async
        },
        status: row.try_get("", "status")?,
        integration_id: row.try_get("", "integration_id")?,
        slug: row.try_get("", "integration_slug")?,
        version: row.try_get("", "version")?,
        sequence: row.try_get("", "sequence")?,
        attempts: row.try_get("", "attempts")?,
        request: row.try_get("", "request")?,
        next_attempt_at: row.try_get("", "next_attempt_at")?,
    })
}

/// Claims up to `limit` queued executions of unordered triggers, oldest first, with a lease.
pub async fn claim_unordered(
    db: &DatabaseConnection,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: u32,
) -> Result<Vec<Claimed>, DbErr> {
    let backend = db.get_database_backend();
    let lock = super::skip_locked(backend);
    let sql = format!(
        "UPDATE executions SET status = 'running', lease_owner = ?, lease_until = ?, started_at = ?, \
         attempts = attempts + 1, next_attempt_at = NULL WHERE id IN (SELECT id FROM executions \
         WHERE status = 'queued' AND ordered = ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?) \
         ORDER BY id LIMIT ?{lock}) \
         RETURNING id, mode, status, integration_id, integration_slug, version, sequence, attempts, \
         request, next_attempt_at"
    );
    let rows = db
        .query_all_raw(stmt(
            backend,
            &sql,
            vec![
                owner.into(),
                lease_until.into(),
                now.into(),
                Value::Bool(Some(false)),
                now.into(),
                i64::from(limit).into(),
            ],
        ))
        .await?;
    let mut claimed = rows
        .iter()
        .map(claimed_from)
        .collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(claimed)
}

// The lane queries carry the lane index's own term, `status IN ('queued', 'dead')`
// (`idx_executions_waiting` is partial): SQLite uses a partial index only when the query
// repeats its terms.
const LANE_BATCH_SQL: &str = "SELECT id, mode, status, integration_id, integration_slug, \
     version, sequence, attempts, request, next_attempt_at FROM executions \
     WHERE status IN ('queued', 'dead') AND integration_id = ? AND lane_key = ? \
     AND sequence > ? ORDER BY sequence LIMIT ?";
const LANE_HAS_QUEUED_SQL: &str = "SELECT id FROM executions WHERE status IN ('queued', 'dead') \
     AND status = 'queued' AND integration_id = ? AND lane_key = ? LIMIT 1";

/// The next queued (or dead) executions of one ordered lane after `after_sequence`, in order.
pub async fn lane_batch(
    db: &DatabaseConnection,
    integration_id: &str,
    lane_key: &str,
    after_sequence: i64,
    limit: u32,
) -> Result<Vec<Claimed>, DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(stmt(
            backend,
            LANE_BATCH_SQL,
            vec![
                integration_id.into(),
                lane_key.into(),
                after_sequence.into(),
                i64::from(limit).into(),
            ],
        ))
        .await?;
    rows.iter().map(claimed_from).collect()
}

/// Whether an ordered lane has queued executions.
pub async fn lane_has_queued(
    db: &DatabaseConnection,
    integration_id: &str,
    lane_key: &str,
) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(stmt(
            backend,
            LANE_HAS_QUEUED_SQL,
            vec![integration_id.into(), lane_key.into()],
        ))
        .await?;
    Ok(row.is_some())
}

/// Ordered lanes that have queued executions (they must run), as lane ids.
pub async fn lanes_with_work(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(stmt(
            backend,
            "SELECT DISTINCT integration_id, lane_key FROM executions \
             WHERE status = 'queued' AND ordered = ?",
            vec![Value::Bool(Some(true))],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("", "integration_id")?;
            let key: String = r.try_get("", "lane_key")?;
            Ok(lane_id(&id, &key))
        })
        .collect()
}

pub async fn get(db: &DatabaseConnection, id: &str) -> Result<Option<execution::Model>, DbErr> {
    execution::Entity::find_by_id(id.to_owned()).one(db).await
}

pub struct ListFilter {
    pub integration: Option<String>,
    pub status: Option<String>,
    /// Only calls with this credential (`key:<id>`, `client:<id>`).
    pub caller: Option<String>,
    /// Only executions with an id below this one (the cursor).
    pub before_id: Option<String>,
    /// Received at or after this time (µs).
    pub received_from: Option<i64>,
    /// Received before this time (µs).
    pub received_to: Option<i64>,
    pub limit: u64,
}

/// Newest first.
pub async fn list(db: &DatabaseConnection, f: &ListFilter) -> Result<Vec<execution::Model>, DbErr> {
    use execution::Column as C;
    let mut q = execution::Entity::find();
    if let Some(slug) = &f.integration {
        q = q.filter(C::IntegrationSlug.eq(slug.clone()));
    }
    if let Some(status) = &f.status {
        q = q.filter(C::Status.eq(status.clone()));
    }
    if let Some(caller) = &f.caller {
        q = q.filter(C::Caller.eq(caller.clone()));
    }
    if let Some(before) = &f.before_id {
        q = q.filter(C::Id.lt(before.clone()));
    }
    if let Some(from) = f.received_from {
        q = q.filter(C::ReceivedAt.gte(from));
    }
    if let Some(to) = f.received_to {
        q = q.filter(C::ReceivedAt.lt(to));
    }
    // The list does not need the large columns.
    q.select_only()
        .columns([
            C::Id,
            C::IntegrationId,
            C::IntegrationSlug,
            C::Version,
            C::Mode,
            C::Ordered,
            C::Sequence,
            C::Status,
            C::ReceivedAt,
            C::StartedAt,
            C::FinishedAt,
            C::Attempts,
            C::LeaseOwner,
            C::LeaseUntil,
            C::NextAttemptAt,
            C::LaneKey,
            C::ReplayOf,
            C::IdempotencyKey,
            C::ResponseStatus,
            C::Error,
            C::Caller,
            C::CallerLabel,
        ])
        .expr_as(sea_orm::sea_query::Expr::val(""), "request")
        .expr_as(
            sea_orm::sea_query::Expr::val(Option::<String>::None),
            "response",
        )
        .expr_as(
            sea_orm::sea_query::Expr::val(Option::<String>::None),
            "steps",
        )
        .expr_as(
            sea_orm::sea_query::Expr::val(Option::<String>::None),
            "logs",
        )
        .order_by_desc(C::Id)
        .limit(f.limit)
        .all(db)
        .await
}

/// Puts dead executions back in the queue in place (same id, same sequence): attempts start
/// over, the version may change. Returns the ids requeued, oldest first.
pub async fn requeue_dead(
    db: &DatabaseConnection,
    integration_id: &str,
    only_id: Option<&str>,
    received: (Option<i64>, Option<i64>),
    version: Option<i64>,
) -> Result<Vec<String>, DbErr> {
    let backend = db.get_database_backend();
    let mut sql = String::from(
        "UPDATE executions SET status = 'queued', attempts = 0, next_attempt_at = NULL, \
         lease_owner = NULL, lease_until = NULL, version = COALESCE(?, version) \
         WHERE status = 'dead' AND integration_id = ?",
    );
    let mut values: Vec<Value> = vec![version.into(), integration_id.into()];
    if let Some(id) = only_id {
        sql.push_str(" AND id = ?");
        values.push(id.into());
    }
    if let Some(from) = received.0 {
        sql.push_str(" AND received_at >= ?");
        values.push(from.into());
    }
    if let Some(to) = received.1 {
        sql.push_str(" AND received_at < ?");
        values.push(to.into());
    }
    sql.push_str(" RETURNING id");
    let rows = db.query_all_raw(stmt(backend, &sql, values)).await?;
    let mut ids = rows
        .iter()
        .map(|r| r.try_get::<String>("", "id"))
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort();
    Ok(ids)
}

/// Marks a dead execution skipped; false if it is not dead (any more).
pub async fn skip_dead(db: &DatabaseConnection, id: &str) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let r = db
        .execute_raw(stmt(
            backend,
            "UPDATE executions SET status = 'skipped' WHERE id = ? AND status = 'dead'",
            vec![id.into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Finished executions of an integration in a status and time range, oldest first (at most
/// `limit`), for a bulk replay as new executions.
pub async fn finished_in_range(
    db: &DatabaseConnection,
    integration_id: &str,
    status: &str,
    received: (Option<i64>, Option<i64>),
    limit: u64,
) -> Result<Vec<execution::Model>, DbErr> {
    use execution::Column as C;
    let mut q = execution::Entity::find()
        .filter(C::IntegrationId.eq(integration_id.to_owned()))
        .filter(C::Status.eq(status.to_owned()));
    if let Some(from) = received.0 {
        q = q.filter(C::ReceivedAt.gte(from));
    }
    if let Some(to) = received.1 {
        q = q.filter(C::ReceivedAt.lt(to));
    }
    q.order_by_asc(C::Id).limit(limit).all(db).await
}

/// Statuses of executions retention may delete (dead letters have their own age).
const PRUNABLE: &str = "('succeeded', 'failed', 'errored', 'skipped')";

/// Deletes up to `limit` executions in `statuses` (a SQL list) received before `before`.
/// Returns how many were deleted.
pub async fn prune_older(
    db: &DatabaseConnection,
    dead: bool,
    before: i64,
    limit: u64,
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let statuses = if dead { "('dead')" } else { PRUNABLE };
    let sql = format!(
        "DELETE FROM executions WHERE id IN (SELECT id FROM executions WHERE status IN {statuses} \
         AND received_at < ? ORDER BY id LIMIT ?)"
    );
    let r = db
        .execute_raw(stmt(
            backend,
            &sql,
            vec![before.into(), i64::try_from(limit).unwrap_or(1000).into()],
        ))
        .await?;
    Ok(r.rows_affected())
}

/// Deletes up to `limit` finished executions of one integration beyond its newest `keep`.
pub async fn prune_beyond_count(
    db: &DatabaseConnection,
    integration_id: &str,
    keep: u64,
    limit: u64,
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(stmt(
            backend,
            &format!(
                "SELECT id FROM executions WHERE integration_id = ? AND status IN {PRUNABLE} \
                 ORDER BY id DESC LIMIT 1 OFFSET ?"
            ),
            vec![
                integration_id.into(),
                i64::try_from(keep.saturating_sub(1))
                    .unwrap_or(i64::MAX)
                    .into(),
            ],
        ))
        .await?;
    let Some(row) = row else { return Ok(0) };
    let oldest_kept: String = row.try_get("", "id")?;
    let sql = format!(
        "DELETE FROM executions WHERE id IN (SELECT id FROM executions WHERE integration_id = ? \
         AND status IN {PRUNABLE} AND id < ? ORDER BY id LIMIT ?)"
    );
    let r = db
        .execute_raw(stmt(
            backend,
            &sql,
            vec![
                integration_id.into(),
                oldest_kept.into(),
                i64::try_from(limit).unwrap_or(1000).into(),
            ],
        ))
        .await?;
    Ok(r.rows_affected())
}

/// Recent calls of one integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallStats {
    pub integration_id: String,
    /// Newest `received_at`, if any execution is left.
    pub last_call_at: Option<i64>,
    /// Executions received since `since`.
    pub calls: i64,
    /// Of those, the ones `failed`, `errored` or `dead`.
    pub errors: i64,
}

/// Call statistics of every integration in one statement. Each figure is a look-up in the
/// index on `(integration_id, received_at)` (the newest call, the range since `since`), so
/// the cost follows the number of integrations and of recent calls, not the table's size.
pub async fn call_stats(db: &DatabaseConnection, since: i64) -> Result<Vec<CallStats>, DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(stmt(
            backend,
            "SELECT i.id AS integration_id, \
             (SELECT MAX(e.received_at) FROM executions e WHERE e.integration_id = i.id) \
               AS last_call_at, \
             (SELECT COUNT(*) FROM executions e WHERE e.integration_id = i.id \
               AND e.received_at >= ?) AS calls, \
             (SELECT COUNT(*) FROM executions e WHERE e.integration_id = i.id \
               AND e.received_at >= ? AND e.status IN ('failed', 'errored', 'dead')) AS errors \
             FROM integrations i",
            vec![since.into(), since.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(CallStats {
                integration_id: r.try_get("", "integration_id")?,
                last_call_at: r.try_get("", "last_call_at")?,
                calls: r.try_get("", "calls")?,
                errors: r.try_get("", "errors")?,
            })
        })
        .collect()
}

/// Waiting executions of one integration: queued ones, or dead letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub slug: String,
    /// Dead letters (`dead`) rather than the queue (`queued`).
    pub dead: bool,
    pub count: i64,
    /// Oldest `received_at` among them.
    pub oldest: Option<i64>,
    /// Ordered lanes with queued executions (0 for unordered triggers).
    pub lanes: i64,
}

/// The queue and the dead letters per integration, for `/metrics` (one statement).
pub async fn waiting(db: &DatabaseConnection) -> Result<Vec<Waiting>, DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(stmt(
            backend,
            "SELECT integration_slug, status, COUNT(*) AS n, MIN(received_at) AS oldest, \
             COUNT(DISTINCT CASE WHEN ordered THEN lane_key END) AS lanes \
             FROM executions WHERE status IN ('queued', 'dead') \
             GROUP BY integration_slug, status",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Waiting {
                slug: r.try_get("", "integration_slug")?,
                dead: r.try_get::<String>("", "status")? == "dead",
                count: r.try_get("", "n")?,
                oldest: r.try_get("", "oldest")?,
                lanes: r.try_get("", "lanes")?,
            })
        })
        .collect()
}

/// Integrations that have executions.
pub async fn integrations_with_executions(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(stmt(
            backend,
            "SELECT DISTINCT integration_id FROM executions",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get("", "integration_id"))
        .collect()
}

#[cfg(test)]
mod tests {
    use sea_orm::ConnectionTrait;

    /// SQLite's plan for `sql` (`EXPLAIN QUERY PLAN`), one line per step.
    async fn plan(db: &sea_orm::DatabaseConnection, sql: &str) -> String {
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                format!("EXPLAIN QUERY PLAN {sql}"),
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.try_get::<String>("", "detail").unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The lane queries stay on the partial lane index: a query that stops repeating the
    /// index's terms would scan the table on every lane step.
    #[tokio::test]
    async fn lane_queries_use_the_partial_lane_index() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = crate::db::connect_url(&url, 2, "normal").await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        // Plans from fresh connections: a pooled one may still read a snapshot taken before
        // the last migration (seen once in CI: the old lane index in the plan).
        db.close().await.unwrap();
        let db = crate::db::connect_url(&url, 2, "normal").await.unwrap();
        for sql in [super::LANE_BATCH_SQL, super::LANE_HAS_QUEUED_SQL] {
            let p = plan(&db, sql).await;
            assert!(p.contains("idx_executions_waiting"), "{sql}\n{p}");
        }
    }

    #[test]
    fn pieces_cover_the_batch_in_few_shapes() {
        for n in [0usize, 1, 2, 3, 7, 8, 9, 127, 128, 129, 300, 513] {
            let rows: Vec<usize> = (0..n).collect();
            let parts: Vec<&[usize]> = super::pieces(&rows).collect();
            assert_eq!(parts.concat(), rows, "{n}");
            assert!(
                parts.iter().all(|p| [128, 32, 8, 2, 1].contains(&p.len())),
                "{n}"
            );
        }
    }
}
