//! Execution queries: batched writes for the journal, claims for workers, reads for the API.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, Value,
};

use super::entities::execution;
use super::stmt;
use crate::core::execution::{lane_id, Claimed, Finished, Mode, NewExecution};
use crate::support::text::{opt_without_nul, without_nul};

/// Splits a batch into pieces of 128, 32, 8, 2 and 1 rows: a multi-row statement per piece,
/// and only five statement shapes, so the database's prepared-statement cache keeps them
/// (a batch of any size as one statement would be prepared anew each time).
fn pieces<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = [128, 32, 8, 2, 1]
            .into_iter()
            .find(|&n| rest.len() >= n)
            .unwrap_or(1);
        let (head, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        Some(head)
    })
}

/// The columns the journal writes, in the order of [`row_values`].
const ROW_COLUMNS: [&str; 26] = [
    "id",
    "integration_id",
    "integration_slug",
    "version",
    "mode",
    "ordered",
    "sequence",
    "status",
    "received_at",
    "started_at",
    "finished_at",
    "attempts",
    "lease_owner",
    "lease_until",
    "next_attempt_at",
    "lane_key",
    "replay_of",
    "idempotency_key",
    "request",
    "response_status",
    "response",
    "steps",
    "logs",
    "error",
    "caller",
    "caller_label",
];

/// The columns a recorded end overwrites on a row already there (the `running` placeholder
/// of a call whose caller gave up).
const FINISHED_COLUMNS: [&str; 9] = [
    "status",
    "started_at",
    "finished_at",
    "attempts",
    "response_status",
    "response",
    "steps",
    "logs",
    "error",
];

/// How a multi-row insert ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnConflict {
    /// A duplicate id is an error.
    Fail,
    /// A duplicate id is left as it is.
    Keep,
    /// A duplicate id takes the new end ([`FINISHED_COLUMNS`]).
    Finish,
}

/// `INSERT INTO executions (..) VALUES (..), .. [ON CONFLICT ..]` for `rows` rows, written
/// once per shape and backend and kept: the journal writes thousands of rows a second, and
/// building the statement through the query builder each time cost more than SQLite's insert.
fn insert_sql(backend: DbBackend, rows: usize, conflict: OnConflict) -> String {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    /// (PostgreSQL?, rows, conflict mode) -> the statement.
    type Cache = Mutex<HashMap<(bool, usize, u8), std::sync::Arc<str>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let pg = backend == DbBackend::Postgres;
    let key = (pg, rows, conflict as u8);
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(sql) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return sql.to_string();
    }
    let tuple = format!("({})", ["?"; ROW_COLUMNS.len()].join(", "));
    let mut sql = format!(
        "INSERT INTO executions ({}) VALUES {}",
        ROW_COLUMNS.join(", "),
        vec![tuple.as_str(); rows].join(", ")
    );
    match conflict {
        OnConflict::Fail => {}
        OnConflict::Keep => sql.push_str(" ON CONFLICT (id) DO NOTHING"),
        OnConflict::Finish => {
            let set: Vec<String> = FINISHED_COLUMNS
                .iter()
                .map(|c| format!("{c} = excluded.{c}"))
                .collect();
            sql.push_str(" ON CONFLICT (id) DO UPDATE SET ");
            sql.push_str(&set.join(", "));
        }
    }
    let sql = stmt(backend, &sql, Vec::new()).sql;
    if let Ok(mut c) = cache.lock() {
        c.insert(key, std::sync::Arc::from(sql.as_str()));
    }
    sql
}

/// How a row starts out beyond what the call brings.
struct RowState<'a> {
    sequence: Option<i64>,
    status: &'static str,
    started_at: Option<i64>,
    lease_owner: Option<&'a str>,
    lease_until: Option<i64>,
    attempts: i32,
    end: Option<&'a Finished>,
}

/// One row's values, in the order of [`ROW_COLUMNS`].
fn row_values(out: &mut Vec<Value>, e: &NewExecution, st: RowState<'_>) {
    let end = st.end;
    out.extend([
        e.id.clone().into(),
        e.integration_id.clone().into(),
        e.slug.clone().into(),
        e.version.into(),
        e.mode.as_str().into(),
        e.ordered.into(),
        st.sequence.into(),
        st.status.into(),
        e.received_at.into(),
        end.map_or(st.started_at, |f| Some(f.started_at)).into(),
        end.map(|f| f.finished_at).into(),
        end.map_or(st.attempts, |f| f.attempts).into(),
        st.lease_owner.map(str::to_owned).into(),
        st.lease_until.into(),
        Option::<i64>::None.into(),
        without_nul(&e.lane_key).into_owned().into(),
        e.replay_of.clone().into(),
        opt_without_nul(e.idempotency_key.clone()).into(),
        e.request.clone().into(),
        end.and_then(|f| f.response_status).into(),
        end.and_then(|f| f.response.clone()).into(),
        end.map(|f| f.steps.clone()).into(),
        end.map(|f| f.logs.clone()).into(),
        opt_without_nul(end.and_then(|f| f.error.clone())).into(),
        e.caller
            .as_ref()
            .map(flows_runtime::Caller::reference)
            .into(),
        e.caller
            .as_ref()
            .map(|c| without_nul(&c.label).into_owned())
            .into(),
    ]);
}

/// Writes `rows` as multi-row inserts of the shapes of [`pieces`].
async fn insert_rows<'a, C: ConnectionTrait, T>(
    db: &C,
    rows: &'a [T],
    conflict: OnConflict,
    state: impl Fn(&'a T) -> (&'a NewExecution, RowState<'a>),
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    for chunk in pieces(rows) {
        let mut values = Vec::with_capacity(chunk.len() * ROW_COLUMNS.len());
        for r in chunk {
            let (e, st) = state(r);
            row_values(&mut values, e, st);
        }
        let sql = insert_sql(backend, chunk.len(), conflict);
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}

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

/// Inserts accepted calls (queued), `sequences` parallel to `rows`.
pub async fn insert_queued<C: ConnectionTrait>(
    db: &C,
    rows: &[(&NewExecution, Option<i64>)],
) -> Result<(), DbErr> {
    insert_rows(db, rows, OnConflict::Fail, |(e, seq)| {
        (
            *e,
            RowState {
                sequence: *seq,
                status: "queued",
                started_at: None,
                lease_owner: None,
                lease_until: None,
                attempts: 0,
                end: None,
            },
        )
    })
    .await
}

/// Inserts accepted calls that start at once in this instance's unordered pool: running
/// here with a lease, as a claim would leave them (`started` is the start and the lease's end).
pub async fn insert_started<C: ConnectionTrait>(
    db: &C,
    rows: &[&NewExecution],
    owner: &str,
    (now, lease_until): (i64, i64),
) -> Result<(), DbErr> {
    insert_rows(db, rows, OnConflict::Fail, |e| {
        (
            *e,
            RowState {
                sequence: None,
                status: "running",
                started_at: Some(now),
                lease_owner: Some(owner),
                lease_until: Some(lease_until),
                attempts: 1,
                end: None,
            },
        )
    })
    .await
}

/// Inserts finished request-response executions; `placeholder` rows never overwrite.
pub async fn upsert_finished<C: ConnectionTrait>(
    db: &C,
    rows: &[(&NewExecution, &Finished)],
) -> Result<(), DbErr> {
    insert_rows(db, rows, OnConflict::Finish, |(e, f)| {
        (
            *e,
            RowState {
                sequence: None,
                status: f.status.as_str(),
                started_at: None,
                lease_owner: None,
                lease_until: None,
                attempts: 0,
                end: Some(*f),
            },
        )
    })
    .await
}

/// Writes a "running" row for a request-response call that outlived its caller's timeout,
/// unless the final row is already there.
pub async fn insert_running_placeholders<C: ConnectionTrait>(
    db: &C,
    rows: &[(&NewExecution, i64)],
    owner: &str,
) -> Result<(), DbErr> {
    insert_rows(db, rows, OnConflict::Keep, |(e, started)| {
        (
            *e,
            RowState {
                sequence: None,
                status: "running",
                started_at: Some(*started),
                lease_owner: Some(owner),
                lease_until: None,
                attempts: 1,
                end: None,
            },
        )
    })
    .await
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
