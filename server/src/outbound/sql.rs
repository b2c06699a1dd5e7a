//! External databases for flows' `sql` steps: PostgreSQL only, reached with a connection URL
//! kept as a stored secret. The database's address passes the same guard as HTTP calls (a
//! private or loopback address needs `outbound.allow`) and is connected to as checked; a
//! secret bound to hosts is used only for those. One small pool per secret, made on first
//! use and replaced when the secret's value changes. Statements are always prepared with
//! bound parameters; rows come back as JSON objects (`row_to_json`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use flows_runtime::{SqlAnswer, SqlRequest};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, EntityTrait,
    Statement, Value,
};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::guard::Guard;
use crate::db::entities::secret;
use crate::support::crypto::{self, ServerSecret};

/// Connections one secret's pool keeps at most.
const POOL_SIZE: u32 = 4;
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct FlowSqlClient {
    db: DatabaseConnection,
    server_secret: ServerSecret,
    handle: tokio::runtime::Handle,
    guard: Guard,
    /// Secret name -> (digest of the URL connected to, its pool).
    pools: Mutex<HashMap<String, ([u8; 32], DatabaseConnection)>>,
}

impl FlowSqlClient {
    pub fn new(
        db: DatabaseConnection,
        server_secret: ServerSecret,
        handle: tokio::runtime::Handle,
        guard: Guard,
    ) -> FlowSqlClient {
        FlowSqlClient {
            db,
            server_secret,
            handle,
            guard,
            pools: Mutex::new(HashMap::new()),
        }
    }

    /// The connection URL in secret `name`, with its host replaced by the address checked by
    /// the guard.
    async fn target(&self, name: &str) -> Result<url::Url, String> {
        let row = secret::Entity::find_by_id(name.to_owned())
            .one(&self.db)
            .await
            .map_err(|e| format!("sql: reading secret `{name}` failed: {e}"))?
            .ok_or_else(|| format!("sql: secret `{name}` does not exist"))?;
        let text = crypto::open(&self.server_secret, name, &row.value)
            .ok_or_else(|| format!("sql: secret `{name}` cannot be decrypted"))?;
        let mut url = url::Url::parse(text.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "postgres" | "postgresql"))
            .ok_or_else(|| {
                format!(
                    "sql: secret `{name}` is not a URL like postgres://user:password@host:5432/db"
                )
            })?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("sql: the URL in secret `{name}` has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let hosts: Vec<&str> = row.hosts.split(' ').filter(|h| !h.is_empty()).collect();
        if !hosts.is_empty()
            && !hosts
                .iter()
                .any(|p| flowgate_api::secrets::host_matches(p, &host))
        {
            return Err(format!(
                "sql: secret `{name}` may only be sent to {}, not to {host}",
                hosts.join(", ")
            ));
        }
        let port = url.port().unwrap_or(5432);
        let lookup = tokio::net::lookup_host((host.as_str(), port));
        let addrs: Vec<SocketAddr> = tokio::time::timeout(CONNECT_TIMEOUT, lookup)
            .await
            .map_err(|_| format!("sql: looking up {host} timed out"))?
            .map_err(|e| format!("sql: {host} does not resolve: {e}"))?
            .collect();
        let ok = self
            .guard
            .filter(&host, addrs)
            .map_err(|e| format!("sql: {e}"))?;
        let addr = ok
            .first()
            .ok_or_else(|| format!("sql: {host} did not resolve to any address"))?;
        url.set_ip_host(addr.ip())
            .map_err(|()| format!("sql: the URL in secret `{name}` cannot take an address"))?;
        Ok(url)
    }

    async fn pool(&self, name: &str) -> Result<DatabaseConnection, String> {
        let url = self.target(name).await?;
        let digest: [u8; 32] = Sha256::digest(url.as_str().as_bytes()).into();
        if let Some((d, pool)) = self.pools.lock().ok().and_then(|p| p.get(name).cloned()) {
            if d == digest {
                return Ok(pool);
            }
        }
        let mut opts = ConnectOptions::new(url.to_string());
        opts.max_connections(POOL_SIZE)
            .min_connections(0)
            .connect_timeout(CONNECT_TIMEOUT)
            .acquire_timeout(CONNECT_TIMEOUT)
            .sqlx_logging(false);
        let pool = Database::connect(opts).await.map_err(|e| {
            // The error may quote the URL; say what failed without it.
            tracing::warn!(secret = %name, "connecting to an external database failed");
            match e {
                sea_orm::DbErr::Conn(_) | sea_orm::DbErr::ConnectionAcquire(_) => {
                    format!("sql: cannot connect to the database of secret `{name}`")
                }
                _ => format!("sql: the database of secret `{name}` refused the connection"),
            }
        })?;
        if pool.get_database_backend() != DbBackend::Postgres {
            return Err(format!("sql: secret `{name}` is not a PostgreSQL database"));
        }
        if let Ok(mut pools) = self.pools.lock() {
            pools.insert(name.to_owned(), (digest, pool.clone()));
        }
        Ok(pool)
    }

    async fn run(&self, req: SqlRequest) -> Result<SqlAnswer, String> {
        let left = req.deadline.saturating_duration_since(Instant::now());
        let work = async {
            let pool = self.pool(&req.connection).await?;
            let values: Vec<Value> = req.params.iter().map(bind).collect();
            let query = req.query.trim().trim_end_matches(';');
            match statement_kind(query) {
                Kind::Rows => {
                    let sql = format!(
                        "SELECT row_to_json(fg_row)::text AS fg_json FROM ({query}) AS fg_row LIMIT {}",
                        u64::from(req.max_rows) + 1
                    );
                    rows(&pool, sql, values, req.max_rows).await
                }
                Kind::Returning => {
                    let sql = format!(
                        "WITH fg_row AS ({query}) SELECT row_to_json(fg_row)::text AS fg_json FROM fg_row"
                    );
                    rows(&pool, sql, values, req.max_rows).await
                }
                Kind::Command => {
                    let res = pool
                        .execute_raw(Statement::from_sql_and_values(
                            DbBackend::Postgres,
                            query,
                            values,
                        ))
                        .await
                        .map_err(db_error)?;
                    Ok(SqlAnswer {
                        rows: Vec::new(),
                        count: res.rows_affected(),
                    })
                }
            }
        };
        tokio::time::timeout(left, work)
            .await
            .map_err(|_| "sql: the statement did not end before the flow's time limit".to_owned())?
    }
}

impl flows_runtime::SqlClient for FlowSqlClient {
    fn query(&self, request: SqlRequest) -> Result<SqlAnswer, String> {
        self.handle.block_on(self.run(request))
    }
}

/// What a statement gives back.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// A query (`SELECT`, `WITH`, `VALUES`, `TABLE`): its rows.
    Rows,
    /// A change with `RETURNING`: the rows it returns.
    Returning,
    /// Any other statement: the number of rows it changed.
    Command,
}

fn statement_kind(query: &str) -> Kind {
    let lower = query.trim_start().to_ascii_lowercase();
    let first = lower.split_whitespace().next().unwrap_or_default();
    if matches!(first, "select" | "with" | "values" | "table") {
        Kind::Rows
    } else if lower.split_whitespace().any(|w| w == "returning") {
        Kind::Returning
    } else {
        Kind::Command
    }
}

/// A flow's value as a parameter: text, a number, a boolean, `NULL`, or JSON (`jsonb`).
fn bind(v: &Json) -> Value {
    match v {
        Json::Null => Value::String(None),
        Json::Bool(b) => Value::Bool(Some(*b)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::BigInt(Some(i)),
            None => Value::Double(n.as_f64()),
        },
        Json::String(s) => Value::String(Some(s.clone())),
        other => Value::Json(Some(Box::new(other.clone()))),
    }
}

async fn rows(
    pool: &DatabaseConnection,
    sql: String,
    values: Vec<Value>,
    max_rows: u32,
) -> Result<SqlAnswer, String> {
    let found = pool
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await
        .map_err(db_error)?;
    if found.len() > max_rows as usize {
        return Err(format!(
            "sql: the statement gave more than max_rows ({max_rows}) rows"
        ));
    }
    let mut out = Vec::with_capacity(found.len());
    for r in &found {
        let text: String = r.try_get("", "fg_json").map_err(db_error)?;
        out.push(serde_json::from_str(&text).unwrap_or(Json::Null));
    }
    Ok(SqlAnswer {
        count: out.len() as u64,
        rows: out,
    })
}

/// The database's own message (it names the problem in the statement), without the
/// driver's wrapping.
fn db_error(e: sea_orm::DbErr) -> String {
    let text = e.to_string();
    let message = text
        .rsplit_once("error returned from database: ")
        .map_or(text.as_str(), |(_, m)| m);
    format!("sql: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_told_apart() {
        assert_eq!(statement_kind("SELECT 1"), Kind::Rows);
        assert_eq!(
            statement_kind("  with x as (select 1) select * from x"),
            Kind::Rows
        );
        assert_eq!(statement_kind("VALUES (1)"), Kind::Rows);
        assert_eq!(
            statement_kind("INSERT INTO t (a) VALUES ($1) RETURNING id"),
            Kind::Returning
        );
        assert_eq!(
            statement_kind("update t set a = $1\nreturning *"),
            Kind::Returning
        );
        assert_eq!(statement_kind("DELETE FROM t WHERE id = $1"), Kind::Command);
        assert_eq!(
            statement_kind("UPDATE t SET note = 'returning' WHERE a = 1"),
            Kind::Command
        );
    }

    #[test]
    fn parameters_keep_their_types() {
        assert_eq!(bind(&serde_json::json!(7)), Value::BigInt(Some(7)));
        assert_eq!(bind(&serde_json::json!(1.5)), Value::Double(Some(1.5)));
        assert_eq!(
            bind(&serde_json::json!("x")),
            Value::String(Some("x".into()))
        );
        assert_eq!(bind(&serde_json::json!(null)), Value::String(None));
        assert!(matches!(
            bind(&serde_json::json!({"a": 1})),
            Value::Json(Some(_))
        ));
    }
}
