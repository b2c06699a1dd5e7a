//! The journal's inserts of new execution rows: multi-row statements of a few shapes,
//! written once and kept.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use crate::core::execution::{Finished, NewExecution};
use crate::db::stmt;
use crate::support::text::{opt_without_nul, without_nul};

/// Splits a batch into pieces of 128, 32, 8, 2 and 1 rows: a multi-row statement per piece,
/// and only five statement shapes, so the database's prepared-statement cache keeps them
/// (a batch of any size as one statement would be prepared anew each time).
pub(super) fn pieces<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
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
