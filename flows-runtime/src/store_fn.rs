//! The data store, as script functions: `store_insert`, `store_upsert`, `store_delete`,
//! `store_get` and `store_find`; `store` and `lookup` steps compile to calls of them. Each
//! hands its request to the [`DataStore`](crate::io::DataStore) the server gave the runtime.

use rhai::{Array, Dynamic, Engine, ImmutableString, Map, INT};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::convert::{to_dynamic, to_json, to_text};
use crate::io::{StoreRead, StoreWrite, StoredRecord};
use crate::model::MAX_LOOKUP_LIMIT;
use crate::run_state::{time_left, with_run, Res};
use crate::validate::table_name_problem;

/// Most records one write may carry.
pub const MAX_STORE_BATCH: usize = 1_000;
/// Fields of a record the store sets itself; not written from a record.
const META_FIELDS: [&str; 3] = ["_id", "_created_at", "_updated_at"];

pub(crate) fn register_store(engine: &mut Engine) {
    engine.register_fn(
        "store_insert",
        |table: ImmutableString, records: Dynamic| -> Res<Dynamic> {
            write_records(&table, &records, false)
        },
    );
    engine.register_fn(
        "store_upsert",
        |table: ImmutableString, records: Dynamic| -> Res<Dynamic> {
            write_records(&table, &records, true)
        },
    );
    engine.register_fn(
        "store_delete",
        |table: ImmutableString, keys: Dynamic| -> Res<INT> {
            let what = "store_delete";
            let table = checked_table(what, &table)?;
            let keys: Vec<String> = if keys.is_array() {
                keys.into_array()
                    .unwrap_or_default()
                    .iter()
                    .map(|k| key_text(what, k))
                    .collect::<Result<_, _>>()?
            } else {
                vec![key_text(what, &keys)?]
            };
            if keys.len() > MAX_STORE_BATCH {
                return Err(format!("{what}: at most {MAX_STORE_BATCH} keys at once").into());
            }
            let removed = write(StoreWrite::Delete { table, keys })?;
            Ok(INT::try_from(removed.len()).unwrap_or(INT::MAX))
        },
    );
    engine.register_fn(
        "store_get",
        |table: ImmutableString, key: Dynamic| -> Res<Dynamic> {
            let what = "store_get";
            let table = checked_table(what, &table)?;
            let key = key_text(what, &key)?;
            let found = read(StoreRead::Get { table, key })?;
            Ok(found.first().map_or(Dynamic::UNIT, record_dynamic))
        },
    );
    engine.register_fn(
        "store_find",
        |table: ImmutableString, filter: Map| -> Res<Array> { find(&table, &filter, &Map::new()) },
    );
    engine.register_fn(
        "store_find",
        |table: ImmutableString, filter: Map, options: Map| -> Res<Array> {
            find(&table, &filter, &options)
        },
    );
}

fn checked_table(what: &str, table: &str) -> Result<String, String> {
    match table_name_problem(table) {
        Some(problem) => Err(format!("{what}: {problem}")),
        None => Ok(table.to_owned()),
    }
}

/// A key as the store keeps it: a string as it is, a number or a boolean as its text.
fn key_text(what: &str, key: &Dynamic) -> Result<String, String> {
    if key.is_string() || key.is_int() || key.is_float() || key.is_bool() {
        let text = to_text(key);
        if text.is_empty() || text.len() > 255 {
            return Err(format!("{what}: a key must be 1 to 255 bytes"));
        }
        Ok(text)
    } else {
        Err(format!(
            "{what}: a key must be a string or a number, not {}",
            key.type_name()
        ))
    }
}

/// `store_insert`/`store_upsert`: a map is one record (the answer: its id), an array of
/// maps a batch (the answer: their ids), written in one transaction.
fn write_records(table: &str, records: &Dynamic, upsert: bool) -> Res<Dynamic> {
    let what = if upsert {
        "store_upsert"
    } else {
        "store_insert"
    };
    let table = checked_table(what, table)?;
    let single = records.is_map();
    let items: Vec<Dynamic> = if single {
        vec![records.clone()]
    } else {
        records.clone().into_array().map_err(|_| {
            format!(
                "{what}: give a record (a map) or an array of them, not {}",
                records.type_name()
            )
        })?
    };
    if items.len() > MAX_STORE_BATCH {
        return Err(format!(
            "{what}: at most {MAX_STORE_BATCH} records at once, not {}",
            items.len()
        )
        .into());
    }
    let op = with_run(|st| {
        st.store_writes = st.store_writes.saturating_add(1);
        Ok((st.store_writes, st.run_key.clone()))
    })?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if !item.is_map() {
            return Err(format!("{what}: record {i} is {}, not a map", item.type_name()).into());
        }
        let mut json = to_json(item).map_err(|e| format!("{what}: record {i} {e}"))?;
        if let Value::Object(m) = &mut json {
            for f in META_FIELDS {
                m.remove(f);
            }
        }
        out.push((record_id(op.1.as_deref(), op.0, i), json));
    }
    if out.is_empty() {
        return Ok(if single {
            Dynamic::UNIT
        } else {
            Dynamic::from_array(Array::new())
        });
    }
    let write_req = if upsert {
        StoreWrite::Upsert {
            table,
            records: out,
        }
    } else {
        StoreWrite::Insert {
            table,
            records: out,
        }
    };
    let ids = write(write_req)?;
    Ok(if single {
        ids.into_iter()
            .next()
            .map_or(Dynamic::UNIT, |id| Dynamic::from(ImmutableString::from(id)))
    } else {
        Dynamic::from_array(
            ids.into_iter()
                .map(|id| Dynamic::from(ImmutableString::from(id)))
                .collect(),
        )
    })
}

/// The id of record `i` of the `op`-th write of a run: derived from the execution, so the
/// same execution writing again (a retry) gives the same ids; random in test runs.
fn record_id(run: Option<&str>, op: u32, i: usize) -> String {
    match run {
        Some(run) => {
            let digest = Sha256::digest(format!("{run}:{op}:{i}").as_bytes());
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(digest.get(..16).unwrap_or(&[0u8; 16]));
            uuid::Uuid::new_v8(bytes).to_string()
        }
        None => uuid::Uuid::now_v7().to_string(),
    }
}

fn find(table: &str, filter: &Map, options: &Map) -> Res<Array> {
    let what = "store_find";
    let table = checked_table(what, table)?;
    if filter.is_empty() {
        return Err(format!("{what}: give at least one field to match").into());
    }
    let mut pairs = Vec::with_capacity(filter.len());
    for (field, value) in filter {
        pairs.push((field.to_string(), key_text(what, value)?));
    }
    let limit = match options.get("limit") {
        None => 100,
        Some(v) => v
            .as_int()
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (1..=MAX_LOOKUP_LIMIT).contains(n))
            .ok_or_else(|| format!("{what}: limit must be 1 to {MAX_LOOKUP_LIMIT}"))?,
    };
    let newest_first = match options.get("order").map(to_text).as_deref() {
        None | Some("newest") => true,
        Some("oldest") => false,
        Some(other) => {
            return Err(format!("{what}: order must be `newest` or `oldest`, not `{other}`").into())
        }
    };
    let found = read(StoreRead::Find {
        table,
        filter: pairs,
        limit,
        newest_first,
    })?;
    Ok(found.iter().map(record_dynamic).collect())
}

fn write(req: StoreWrite) -> Result<Vec<String>, Box<rhai::EvalAltResult>> {
    let (store, run) = with_run(|st| Ok((st.store.clone(), st.run_key.clone())))?;
    let store = store.ok_or("the data store is not available here")?;
    let (_, deadline) = time_left()?;
    store
        .write(run.as_deref(), req, deadline)
        .map_err(Into::into)
}

fn read(req: StoreRead) -> Result<Vec<StoredRecord>, Box<rhai::EvalAltResult>> {
    let store =
        with_run(|st| Ok(st.store.clone()))?.ok_or("the data store is not available here")?;
    let (_, deadline) = time_left()?;
    store.read(req, deadline).map_err(Into::into)
}

/// A record as flows see it: its fields, plus `_id`, `_created_at` and `_updated_at`
/// (RFC 3339).
fn record_dynamic(r: &StoredRecord) -> Dynamic {
    let mut map = to_dynamic(&r.data).try_cast::<Map>().unwrap_or_default();
    map.insert(
        "_id".into(),
        Dynamic::from(ImmutableString::from(r.id.as_str())),
    );
    for (k, us) in [
        ("_created_at", r.created_at_us),
        ("_updated_at", r.updated_at_us),
    ] {
        let text = chrono::DateTime::from_timestamp_micros(us)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .unwrap_or_default();
        map.insert(k.into(), Dynamic::from(ImmutableString::from(text)));
    }
    Dynamic::from_map(map)
}
