//! The data store's tables and records, for the admin API: create, describe, delete, list
//! and export records. Flows write and read them through `db::datastore::DbStore`.

use flowgate_api::tables::{
    RecordOut, TableIn, TableOut, TablePatch, MAX_INDEXED_FIELDS, MAX_TABLES,
};
use flowgate_api::Page;

use crate::db::datastore::{self as q, RecordQuery, RecordRow, TableRow};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::support::ids::new_id;
use crate::support::time::{now_us, rfc3339};

/// Most records one export holds.
pub const MAX_EXPORT_RECORDS: u64 = 100_000;
/// Most bytes of record JSON one export reads (the file is made in memory).
pub const MAX_EXPORT_BYTES: usize = 64 * 1024 * 1024;
/// Records read per query while exporting.
const EXPORT_CHUNK: u64 = 1_000;

fn table_out(t: TableRow, records: i64) -> TableOut {
    TableOut {
        id: t.id,
        name: t.name,
        description: t.description,
        key_field: t.key_field,
        indexed_fields: t.indexed_fields,
        records,
        created_at: rfc3339(t.created_at),
        updated_at: rfc3339(t.updated_at),
    }
}

pub fn record_out(r: RecordRow) -> RecordOut {
    RecordOut {
        id: r.id,
        key: r.key,
        data: r.data,
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
        execution_id: r.execution_id,
    }
}

fn field_problem(what: &str, field: &str) -> Option<String> {
    (!flows_runtime::is_identifier(field)).then(|| {
        format!("{what}: `{field}` is not a field name (letters, digits and _, not starting with a digit)")
    })
}

pub async fn list(state: &AppState) -> AppResult<Vec<TableOut>> {
    Ok(q::list_tables(&state.db)
        .await?
        .into_iter()
        .map(|(t, n)| table_out(t, n))
        .collect())
}

async fn table(state: &AppState, name: &str) -> AppResult<TableRow> {
    q::table_by_name(&state.db, name)
        .await?
        .ok_or(AppError::NotFound("table"))
}

pub async fn get(state: &AppState, name: &str) -> AppResult<TableOut> {
    let t = table(state, name).await?;
    let n = q::count_records(&state.db, &t.id).await?;
    Ok(table_out(t, n))
}

pub async fn create(state: &AppState, input: TableIn) -> AppResult<TableOut> {
    let mut problems = Vec::new();
    let name = input.name.trim().to_owned();
    if let Some(p) = flows_runtime::table_name_problem(&name) {
        problems.push(p);
    }
    if let Some(p) = input
        .key_field
        .as_deref()
        .and_then(|k| field_problem("key_field", k))
    {
        problems.push(p);
    }
    if input.indexed_fields.len() > MAX_INDEXED_FIELDS {
        problems.push(format!("indexed_fields: at most {MAX_INDEXED_FIELDS}"));
    }
    let mut indexed: Vec<String> = Vec::new();
    for f in &input.indexed_fields {
        if let Some(p) = field_problem("indexed_fields", f) {
            problems.push(p);
        } else if input.key_field.as_deref() == Some(f.as_str()) {
            problems.push(format!(
                "indexed_fields: `{f}` is the key field (found by key already)"
            ));
        } else if !indexed.contains(f) {
            indexed.push(f.clone());
        }
    }
    if input.description.chars().count() > 500 {
        problems.push("description: at most 500 characters".to_owned());
    }
    if !problems.is_empty() {
        return Err(AppError::BadRequest(problems.join("; ")));
    }
    if q::count_tables(&state.db).await? >= MAX_TABLES as i64 {
        return Err(AppError::Conflict(format!(
            "there are {MAX_TABLES} tables already, the most Flowgate keeps; delete one first"
        )));
    }
    if q::table_by_name(&state.db, &name).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "a table named `{name}` exists already"
        )));
    }
    let now = now_us();
    let row = TableRow {
        id: new_id(),
        name,
        description: input.description.trim().to_owned(),
        key_field: input.key_field,
        indexed_fields: indexed,
        created_at: now,
        updated_at: now,
    };
    q::insert_table(&state.db, &row).await?;
    tracing::info!(table = %row.name, "data store table created");
    Ok(table_out(row, 0))
}

pub async fn update(state: &AppState, name: &str, patch: TablePatch) -> AppResult<TableOut> {
    let t = table(state, name).await?;
    if let Some(d) = patch.description {
        if d.chars().count() > 500 {
            return Err(AppError::BadRequest(
                "description: at most 500 characters".into(),
            ));
        }
        q::set_description(&state.db, &t.id, d.trim()).await?;
    }
    get(state, name).await
}

pub async fn delete(state: &AppState, name: &str) -> AppResult<()> {
    let t = table(state, name).await?;
    q::delete_table(&state.db, &t.id).await?;
    tracing::info!(table = %name, "data store table deleted with its records");
    Ok(())
}

/// What the records list is filtered and paged by.
#[derive(Debug, Default)]
pub struct RecordsQuery {
    pub key: Option<String>,
    /// A field (the key field or an indexed one) and the value it must equal.
    pub field: Option<String>,
    pub value: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
    /// `newest` (default) or `oldest`.
    pub order: Option<String>,
}

/// A cursor: the last record of a page, `created_at` µs and id.
fn cursor_of(r: &RecordRow) -> String {
    format!("{}_{}", r.created_at, r.id)
}

fn parse_cursor(c: &str) -> AppResult<(i64, String)> {
    c.split_once('_')
        .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_owned())))
        .filter(|(_, id)| !id.is_empty())
        .ok_or_else(|| AppError::BadRequest("cursor is not valid".into()))
}

fn record_query(t: &TableRow, q: RecordsQuery, max: u64) -> AppResult<RecordQuery> {
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > max {
        return Err(AppError::BadRequest(format!("limit must be 1 to {max}")));
    }
    let newest_first = match q.order.as_deref() {
        None | Some("newest") => true,
        Some("oldest") => false,
        Some(_) => {
            return Err(AppError::BadRequest(
                "order must be newest or oldest".into(),
            ))
        }
    };
    let fields = match (q.field, q.value) {
        (Some(f), Some(v)) => {
            if !t.is_queryable(&f) {
                return Err(AppError::BadRequest(format!(
                    "`{f}` is neither the key nor an indexed field of table `{}`",
                    t.name
                )));
            }
            vec![(f, v)]
        }
        (None, None) => Vec::new(),
        _ => return Err(AppError::BadRequest("give both field and value".into())),
    };
    Ok(RecordQuery {
        key: q.key,
        fields,
        after: q.cursor.as_deref().map(parse_cursor).transpose()?,
        limit,
        newest_first,
    })
}

pub async fn records(state: &AppState, name: &str, q: RecordsQuery) -> AppResult<Page<RecordOut>> {
    let t = table(state, name).await?;
    let mut query = record_query(&t, q, 500)?;
    let limit = query.limit;
    query.limit = limit + 1;
    let mut rows = q::query_records(&state.db, &t, &query).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(500));
    let next_cursor = if more {
        rows.last().map(cursor_of)
    } else {
        None
    };
    Ok(Page {
        items: rows.into_iter().map(record_out).collect(),
        next_cursor,
    })
}

pub async fn record(state: &AppState, name: &str, id: &str) -> AppResult<RecordOut> {
    let t = table(state, name).await?;
    q::record_by_id(&state.db, &t.id, id)
        .await?
        .map(record_out)
        .ok_or(AppError::NotFound("record"))
}

pub async fn delete_record(state: &AppState, name: &str, id: &str) -> AppResult<()> {
    let t = table(state, name).await?;
    if !q::delete_record(&state.db, &t.id, id).await? {
        return Err(AppError::NotFound("record"));
    }
    Ok(())
}

/// Every record matching the filter (oldest first unless asked), at most
/// [`MAX_EXPORT_RECORDS`].
pub async fn export_rows(
    state: &AppState,
    name: &str,
    mut q: RecordsQuery,
) -> AppResult<Vec<RecordRow>> {
    let t = table(state, name).await?;
    q.limit = Some(q.limit.unwrap_or(MAX_EXPORT_RECORDS));
    q.order = q.order.or(Some("oldest".to_owned()));
    let mut query = record_query(&t, q, MAX_EXPORT_RECORDS)?;
    let wanted = query.limit;
    let mut out: Vec<RecordRow> = Vec::new();
    let mut bytes = 0usize;
    // In chunks, counting the size as it grows: a large table is refused before it fills
    // the memory.
    while (out.len() as u64) < wanted {
        query.limit = EXPORT_CHUNK.min(wanted - out.len() as u64);
        let chunk = q::query_records(&state.db, &t, &query).await?;
        let done = (chunk.len() as u64) < query.limit;
        for r in chunk {
            bytes += r.data.to_string().len();
            if bytes > MAX_EXPORT_BYTES {
                return Err(AppError::BadRequest(format!(
                    "the export would hold more than {} MiB of records; narrow it with a filter or a limit",
                    MAX_EXPORT_BYTES / (1024 * 1024)
                )));
            }
            query.after = Some((r.created_at, r.id.clone()));
            out.push(r);
        }
        if done {
            break;
        }
    }
    Ok(out)
}

/// The records as CSV: `_id`, `_key`, `_created_at`, `_updated_at`, then every top-level
/// field any record has, in name order; strings as they are, other values as JSON.
pub fn to_csv(rows: &[RecordRow]) -> AppResult<Vec<u8>> {
    let mut fields = std::collections::BTreeSet::new();
    for r in rows {
        if let Some(m) = r.data.as_object() {
            fields.extend(m.keys().cloned());
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let header: Vec<String> = ["_id", "_key", "_created_at", "_updated_at"]
        .into_iter()
        .map(str::to_owned)
        .chain(fields.iter().cloned())
        .collect();
    let csv_err = |e: csv::Error| AppError::Internal(anyhow::anyhow!("writing CSV failed: {e}"));
    w.write_record(&header).map_err(csv_err)?;
    for r in rows {
        let mut line = vec![
            r.id.clone(),
            r.key.clone().unwrap_or_default(),
            rfc3339(r.created_at),
            rfc3339(r.updated_at),
        ];
        for f in &fields {
            line.push(match r.data.get(f) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            });
        }
        w.write_record(&line).map_err(csv_err)?;
    }
    w.into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing CSV failed: {e}")))
}
