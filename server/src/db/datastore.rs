//! The data store in the database: tables (`data_tables`), their records (`data_records`,
//! JSON objects, unique by key within a table) and the values of their indexed fields
//! (`data_record_fields`, for equality queries). [`DbStore`] is the data store flows reach.

use flows_runtime::{StoreRead, StoreWrite, StoredRecord};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, QueryResult, Value};
use serde_json::Value as Json;

use super::{begin_write, stmt};
use crate::support::time::now_us;

/// Largest record, as JSON.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// A table as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub key_field: Option<String>,
    pub indexed_fields: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl TableRow {
    fn from_row(r: &QueryResult) -> Result<TableRow, DbErr> {
        let indexed: String = r.try_get("", "indexed_fields")?;
        Ok(TableRow {
            id: r.try_get("", "id")?,
            name: r.try_get("", "name")?,
            description: r.try_get("", "description")?,
            key_field: r.try_get("", "key_field")?,
            indexed_fields: serde_json::from_str(&indexed).unwrap_or_default(),
            created_at: r.try_get("", "created_at")?,
            updated_at: r.try_get("", "updated_at")?,
        })
    }

    /// Whether `field` can be matched by equality (the key field or an indexed field).
    pub fn is_queryable(&self, field: &str) -> bool {
        self.key_field.as_deref() == Some(field) || self.indexed_fields.iter().any(|f| f == field)
    }
}

/// A record as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    pub id: String,
    pub key: Option<String>,
    pub data: Json,
    pub created_at: i64,
    pub updated_at: i64,
    pub execution_id: Option<String>,
}

impl RecordRow {
    fn from_row(r: &QueryResult) -> Result<RecordRow, DbErr> {
        let data: String = r.try_get("", "data")?;
        Ok(RecordRow {
            id: r.try_get("", "id")?,
            key: r.try_get("", "record_key")?,
            data: serde_json::from_str(&data).unwrap_or(Json::Null),
            created_at: r.try_get("", "created_at")?,
            updated_at: r.try_get("", "updated_at")?,
            execution_id: r.try_get("", "execution_id")?,
        })
    }
}

const TABLE_COLUMNS: &str =
    "id, name, description, key_field, indexed_fields, created_at, updated_at";
const RECORD_COLUMNS: &str = "id, record_key, data, created_at, updated_at, execution_id";

pub async fn table_by_name<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<TableRow>, DbErr> {
    let b = db.get_database_backend();
    db.query_one_raw(stmt(
        b,
        &format!("SELECT {TABLE_COLUMNS} FROM data_tables WHERE name = ?"),
        vec![name.into()],
    ))
    .await?
    .as_ref()
    .map(TableRow::from_row)
    .transpose()
}

/// Every table, by name, with its number of records.
pub async fn list_tables(db: &DatabaseConnection) -> Result<Vec<(TableRow, i64)>, DbErr> {
    let b = db.get_database_backend();
    let rows = db
        .query_all_raw(stmt(
            b,
            &format!(
                "SELECT {TABLE_COLUMNS}, (SELECT COUNT(*) FROM data_records r WHERE r.table_id = t.id) AS records \
                 FROM data_tables t ORDER BY name"
            ),
            Vec::new(),
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((TableRow::from_row(r)?, r.try_get::<i64>("", "records")?)))
        .collect()
}

pub async fn count_records(db: &DatabaseConnection, table_id: &str) -> Result<i64, DbErr> {
    let b = db.get_database_backend();
    let row = db
        .query_one_raw(stmt(
            b,
            "SELECT COUNT(*) AS n FROM data_records WHERE table_id = ?",
            vec![table_id.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

pub async fn count_tables(db: &DatabaseConnection) -> Result<i64, DbErr> {
    let b = db.get_database_backend();
    let row = db
        .query_one_raw(stmt(b, "SELECT COUNT(*) AS n FROM data_tables", Vec::new()))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

pub async fn insert_table(db: &DatabaseConnection, t: &TableRow) -> Result<(), DbErr> {
    let b = db.get_database_backend();
    db.execute_raw(stmt(
        b,
        &format!("INSERT INTO data_tables ({TABLE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"),
        vec![
            t.id.clone().into(),
            t.name.clone().into(),
            t.description.clone().into(),
            t.key_field.clone().into(),
            serde_json::to_string(&t.indexed_fields)
                .unwrap_or_else(|_| "[]".into())
                .into(),
            t.created_at.into(),
            t.updated_at.into(),
        ],
    ))
    .await?;
    Ok(())
}

pub async fn set_description(
    db: &DatabaseConnection,
    id: &str,
    description: &str,
) -> Result<(), DbErr> {
    let b = db.get_database_backend();
    db.execute_raw(stmt(
        b,
        "UPDATE data_tables SET description = ?, updated_at = ? WHERE id = ?",
        vec![description.into(), now_us().into(), id.into()],
    ))
    .await?;
    Ok(())
}

/// Removes a table with its records.
pub async fn delete_table(db: &DatabaseConnection, id: &str) -> Result<(), DbErr> {
    let txn = begin_write(db).await?;
    let b = txn.get_database_backend();
    for sql in [
        "DELETE FROM data_record_fields WHERE table_id = ?",
        "DELETE FROM data_records WHERE table_id = ?",
        "DELETE FROM data_tables WHERE id = ?",
    ] {
        txn.execute_raw(stmt(b, sql, vec![id.into()])).await?;
    }
    txn.commit().await
}

/// What a page of records is chosen by.
#[derive(Debug, Default)]
pub struct RecordQuery {
    pub key: Option<String>,
    /// Fields (the key field or indexed ones) and the text their values must equal.
    pub fields: Vec<(String, String)>,
    /// After this record of the previous page: its (created_at, id).
    pub after: Option<(i64, String)>,
    pub limit: u64,
    pub newest_first: bool,
}

/// Records of a table, newest (or oldest) first.
pub async fn query_records<C: ConnectionTrait>(
    db: &C,
    table: &TableRow,
    q: &RecordQuery,
) -> Result<Vec<RecordRow>, DbErr> {
    let b = db.get_database_backend();
    let mut sql = format!("SELECT {RECORD_COLUMNS} FROM data_records WHERE table_id = ?");
    let mut values: Vec<Value> = vec![table.id.clone().into()];
    if let Some(k) = &q.key {
        sql.push_str(" AND record_key = ?");
        values.push(k.clone().into());
    }
    for (field, value) in &q.fields {
        if table.key_field.as_deref() == Some(field.as_str()) {
            sql.push_str(" AND record_key = ?");
            values.push(value.clone().into());
        } else {
            sql.push_str(
                " AND id IN (SELECT record_id FROM data_record_fields \
                 WHERE table_id = ? AND field = ? AND value = ?)",
            );
            values.extend([
                table.id.clone().into(),
                field.clone().into(),
                value.clone().into(),
            ]);
        }
    }
    let (cmp, dir) = if q.newest_first {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some((at, id)) = &q.after {
        sql.push_str(&format!(
            " AND (created_at {cmp} ? OR (created_at = ? AND id {cmp} ?))"
        ));
        values.extend([(*at).into(), (*at).into(), id.clone().into()]);
    }
    sql.push_str(&format!(" ORDER BY created_at {dir}, id {dir} LIMIT ?"));
    values.push(i64::try_from(q.limit).unwrap_or(i64::MAX).into());
    let rows = db.query_all_raw(stmt(b, &sql, values)).await?;
    rows.iter().map(RecordRow::from_row).collect()
}

pub async fn record_by_id(
    db: &DatabaseConnection,
    table_id: &str,
    id: &str,
) -> Result<Option<RecordRow>, DbErr> {
    let b = db.get_database_backend();
    db.query_one_raw(stmt(
        b,
        &format!("SELECT {RECORD_COLUMNS} FROM data_records WHERE table_id = ? AND id = ?"),
        vec![table_id.into(), id.into()],
    ))
    .await?
    .as_ref()
    .map(RecordRow::from_row)
    .transpose()
}

/// Removes one record; `false` if there was none.
pub async fn delete_record(
    db: &DatabaseConnection,
    table_id: &str,
    id: &str,
) -> Result<bool, DbErr> {
    let txn = begin_write(db).await?;
    let b = txn.get_database_backend();
    txn.execute_raw(stmt(
        b,
        "DELETE FROM data_record_fields WHERE record_id = ?",
        vec![id.into()],
    ))
    .await?;
    let res = txn
        .execute_raw(stmt(
            b,
            "DELETE FROM data_records WHERE table_id = ? AND id = ?",
            vec![table_id.into(), id.into()],
        ))
        .await?;
    txn.commit().await?;
    Ok(res.rows_affected() > 0)
}

/// A scalar as the store compares it: a string as it is, numbers and booleans as their JSON.
fn scalar_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Why a write failed, for the flow.
type WriteResult<T> = Result<T, String>;

/// One record checked for its table: its key (if the table has a key field) and its JSON.
fn prepare(
    what: &str,
    table: &TableRow,
    i: usize,
    data: &Json,
) -> WriteResult<(Option<String>, String)> {
    if !data.is_object() {
        return Err(format!("{what}: record {i} is not an object"));
    }
    let text = serde_json::to_string(data).map_err(|e| format!("{what}: record {i}: {e}"))?;
    if text.len() > MAX_RECORD_BYTES {
        return Err(format!(
            "{what}: record {i} is {} bytes of JSON; a record may have at most {MAX_RECORD_BYTES}",
            text.len()
        ));
    }
    let key = match &table.key_field {
        None => None,
        Some(field) => match data.get(field).and_then(scalar_text) {
            Some(k) if !k.is_empty() && k.len() <= 255 => Some(k),
            _ => {
                return Err(format!(
                    "{what}: record {i} has no `{field}` (the key of table `{}`): a string or a number of 1 to 255 bytes",
                    table.name
                ))
            }
        },
    };
    Ok((key, text))
}

/// Writes the indexed field values of a record; `replacing`: the record existed, its old
/// values go first.
async fn write_fields<C: ConnectionTrait>(
    db: &C,
    table: &TableRow,
    (id, data): (&str, &Json),
    replacing: bool,
) -> Result<(), DbErr> {
    if table.indexed_fields.is_empty() {
        return Ok(());
    }
    let b = db.get_database_backend();
    if replacing {
        db.execute_raw(stmt(
            b,
            "DELETE FROM data_record_fields WHERE record_id = ?",
            vec![id.into()],
        ))
        .await?;
    }
    for field in &table.indexed_fields {
        if let Some(value) = data.get(field).and_then(scalar_text) {
            db.execute_raw(stmt(
                b,
                "INSERT INTO data_record_fields (table_id, field, value, record_id) VALUES (?, ?, ?, ?)",
                vec![table.id.clone().into(), field.clone().into(), value.into(), id.into()],
            ))
            .await?;
        }
    }
    Ok(())
}

fn unique_violation(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Writes a flow's records in one transaction (see [`StoreWrite`]).
pub async fn write(
    db: &DatabaseConnection,
    run: Option<&str>,
    request: StoreWrite,
) -> WriteResult<Vec<String>> {
    let table_name = match &request {
        StoreWrite::Insert { table, .. }
        | StoreWrite::Upsert { table, .. }
        | StoreWrite::Delete { table, .. } => table.clone(),
    };
    let db_err = |e: DbErr| {
        tracing::warn!(error = %e, table = %table_name, "a data store write failed");
        format!("store: the database refused the write to `{table_name}`")
    };
    let table = table_by_name(db, &table_name)
        .await
        .map_err(db_err)?
        .ok_or_else(|| format!("store: there is no table `{table_name}`"))?;
    let txn = begin_write(db).await.map_err(db_err)?;
    let b = txn.get_database_backend();
    let now = now_us();
    let mut out = Vec::new();
    match request {
        StoreWrite::Insert { records, .. } => {
            for (i, (id, data)) in records.iter().enumerate() {
                let (key, text) = prepare("store_insert", &table, i, data)?;
                // One µs apart: a batch keeps its order in lists and `lookup`.
                let at = now + i64::try_from(i).unwrap_or(0);
                let res = txn
                    .query_all_raw(stmt(
                        b,
                        "INSERT INTO data_records (id, table_id, record_key, data, created_at, updated_at, execution_id) \
                         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id",
                        vec![
                            id.clone().into(),
                            table.id.clone().into(),
                            key.clone().into(),
                            text.into(),
                            at.into(),
                            at.into(),
                            run.map(str::to_owned).into(),
                        ],
                    ))
                    .await;
                match res {
                    // Written before, by this execution's earlier attempt.
                    Ok(rows) if rows.is_empty() => {}
                    Ok(_) => {
                        write_fields(&txn, &table, (id, data), false)
                            .await
                            .map_err(db_err)?;
                        out.push(id.clone());
                    }
                    Err(e) if unique_violation(&e) => {
                        return Err(format!(
                            "store_insert: table `{}` has a record with key `{}` already (upsert replaces it)",
                            table.name,
                            key.unwrap_or_default()
                        ));
                    }
                    Err(e) => return Err(db_err(e)),
                }
            }
        }
        StoreWrite::Upsert { records, .. } => {
            if table.key_field.is_none() {
                return Err(format!(
                    "store_upsert: table `{}` has no key field; insert into it instead",
                    table.name
                ));
            }
            for (i, (id, data)) in records.iter().enumerate() {
                let (key, text) = prepare("store_upsert", &table, i, data)?;
                let at = now + i64::try_from(i).unwrap_or(0);
                let row = txn
                    .query_one_raw(stmt(
                        b,
                        "INSERT INTO data_records (id, table_id, record_key, data, created_at, updated_at, execution_id) \
                         VALUES (?, ?, ?, ?, ?, ?, ?) \
                         ON CONFLICT (table_id, record_key) WHERE record_key IS NOT NULL DO UPDATE \
                         SET data = excluded.data, updated_at = excluded.updated_at, execution_id = excluded.execution_id \
                         RETURNING id",
                        vec![
                            id.clone().into(),
                            table.id.clone().into(),
                            key.into(),
                            text.into(),
                            at.into(),
                            at.into(),
                            run.map(str::to_owned).into(),
                        ],
                    ))
                    .await
                    .map_err(db_err)?;
                let written: String = row
                    .ok_or_else(|| "store_upsert: the database answered nothing".to_owned())?
                    .try_get("", "id")
                    .map_err(db_err)?;
                write_fields(&txn, &table, (&written, data), true)
                    .await
                    .map_err(db_err)?;
                out.push(written);
            }
        }
        StoreWrite::Delete { keys, .. } => {
            if table.key_field.is_none() {
                return Err(format!(
                    "store_delete: table `{}` has no key field; its records are removed in the UI or the API",
                    table.name
                ));
            }
            for key in keys {
                let rows = txn
                    .query_all_raw(stmt(
                        b,
                        "DELETE FROM data_records WHERE table_id = ? AND record_key = ? RETURNING id",
                        vec![table.id.clone().into(), key.into()],
                    ))
                    .await
                    .map_err(db_err)?;
                for r in rows {
                    let id: String = r.try_get("", "id").map_err(db_err)?;
                    txn.execute_raw(stmt(
                        b,
                        "DELETE FROM data_record_fields WHERE record_id = ?",
                        vec![id.clone().into()],
                    ))
                    .await
                    .map_err(db_err)?;
                    out.push(id);
                }
            }
        }
    }
    txn.commit().await.map_err(db_err)?;
    Ok(out)
}

/// Reads for a flow (see [`StoreRead`]).
pub async fn read(db: &DatabaseConnection, request: StoreRead) -> WriteResult<Vec<StoredRecord>> {
    let (table_name, query) = match request {
        StoreRead::Get { table, key } => (
            table,
            RecordQuery {
                key: Some(key),
                limit: 1,
                newest_first: true,
                ..RecordQuery::default()
            },
        ),
        StoreRead::Find {
            table,
            filter,
            limit,
            newest_first,
        } => (
            table,
            RecordQuery {
                fields: filter,
                limit: u64::from(limit),
                newest_first,
                ..RecordQuery::default()
            },
        ),
    };
    let db_err = |e: DbErr| {
        tracing::warn!(error = %e, table = %table_name, "a data store read failed");
        format!("store: the database could not read `{table_name}`")
    };
    let table = table_by_name(db, &table_name)
        .await
        .map_err(db_err)?
        .ok_or_else(|| format!("store: there is no table `{table_name}`"))?;
    if query.key.is_some() && table.key_field.is_none() {
        return Err(format!(
            "store_get: table `{}` has no key field",
            table.name
        ));
    }
    for (field, _) in &query.fields {
        if !table.is_queryable(field) {
            return Err(format!(
                "store_find: `{field}` is neither the key nor an indexed field of table `{}` (indexed: {})",
                table.name,
                if table.indexed_fields.is_empty() { "none".to_owned() } else { table.indexed_fields.join(", ") }
            ));
        }
    }
    let rows = query_records(db, &table, &query).await.map_err(db_err)?;
    Ok(rows
        .into_iter()
        .map(|r| StoredRecord {
            id: r.id,
            data: r.data,
            created_at_us: r.created_at,
            updated_at_us: r.updated_at,
        })
        .collect())
}

/// The data store flows reach: each call runs on the flow's (blocking) thread and waits for
/// the database on the server's runtime.
pub struct DbStore {
    db: DatabaseConnection,
    handle: tokio::runtime::Handle,
    /// Shadow replays: writes are not made (and answer as if no record was written).
    read_only: bool,
}

impl DbStore {
    pub fn new(db: DatabaseConnection, handle: tokio::runtime::Handle) -> DbStore {
        DbStore {
            db,
            handle,
            read_only: false,
        }
    }

    /// A store that reads but never writes (shadow replays have no side effects).
    pub fn read_only(db: DatabaseConnection, handle: tokio::runtime::Handle) -> DbStore {
        DbStore {
            db,
            handle,
            read_only: true,
        }
    }
}

impl flows_runtime::DataStore for DbStore {
    fn write(
        &self,
        run: Option<&str>,
        request: StoreWrite,
        deadline: std::time::Instant,
    ) -> Result<Vec<String>, String> {
        if self.read_only {
            return Ok(Vec::new());
        }
        self.handle
            .block_on(within(deadline, write(&self.db, run, request)))
    }

    fn read(
        &self,
        request: StoreRead,
        deadline: std::time::Instant,
    ) -> Result<Vec<StoredRecord>, String> {
        self.handle
            .block_on(within(deadline, read(&self.db, request)))
    }
}

/// `work`, unless the flow's deadline comes first (a write's transaction then rolls back).
async fn within<T>(
    deadline: std::time::Instant,
    work: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    tokio::time::timeout(left, work).await.map_err(|_| {
        "store: the data store did not answer before the flow's time limit".to_owned()
    })?
}
