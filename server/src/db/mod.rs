//! Persistence: connection, migrations, entities and the queries the rest of the server uses.

pub mod cluster;
pub mod datastore;
pub mod entities;
pub mod executions;
pub mod idempotency;
pub mod journal;
pub mod secrets;
pub mod seen;
pub mod stats;
pub mod subscriptions;

use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, Value,
};

use crate::config::Config;

/// The row-lock clause of a claim's inner SELECT: `FOR UPDATE SKIP LOCKED` on PostgreSQL, so
/// instances never claim the same row; nothing on SQLite, whose writes are serialised anyway.
pub fn skip_locked(backend: DbBackend) -> &'static str {
    if backend == DbBackend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    }
}

/// Starts a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`BEGIN IMMEDIATE`), waiting up to the busy timeout: a deferred transaction that reads
/// first and writes later fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT) when
/// another connection wrote in between. PostgreSQL ignores the mode.
pub async fn begin_write<C: sea_orm::TransactionTrait>(
    db: &C,
) -> Result<C::Transaction, sea_orm::DbErr> {
    db.begin_with_options(sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Opens the database named by the settings (creating the SQLite file and data dir if needed).
pub async fn connect(cfg: &Config) -> anyhow::Result<DatabaseConnection> {
    let url = cfg.effective_database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&cfg.data_dir)?;
    }
    connect_url(
        &url,
        cfg.database.max_connections,
        &cfg.database.sqlite_synchronous,
    )
    .await
}

pub async fn connect_url(
    url: &str,
    max_connections: u32,
    sqlite_sync: &str,
) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections.max(2))
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    let full = sqlite_sync == "full";
    opts.map_sqlx_sqlite_opts(move |o| {
        use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
        o.journal_mode(SqliteJournalMode::Wal)
            .synchronous(if full {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .busy_timeout(Duration::from_secs(10))
            // Multi-row inserts keep a statement journal (to undo a half-done statement);
            // in memory it costs no file writes.
            .pragma("temp_store", "memory")
            .create_if_missing(true)
    });
    let db = Database::connect(opts).await?;
    Ok(db)
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await?;
    Ok(())
}

/// A statement written with `?` placeholders, turned into `$1, $2, ...` for PostgreSQL.
pub fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 16);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Whether the database answers (for the health check).
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

/// How many of this binary's migrations the database has not applied.
pub async fn pending_migrations(db: &DatabaseConnection) -> Result<usize, sea_orm::DbErr> {
    Ok(Migrator::get_pending_migrations(db).await?.len())
}

/// Whether the database refused a write for its data (PostgreSQL: a data exception or an
/// integrity violation, SQLSTATE class 22 or 23; SQLite: a constraint), which trying again
/// cannot fix, rather than for a passing reason (a lost connection, a lock).
pub fn refused_data(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    let (DbErr::Exec(RuntimeErr::SqlxError(err)) | DbErr::Query(RuntimeErr::SqlxError(err))) = e
    else {
        return false;
    };
    let Some(db_err) = err.as_database_error() else {
        return false;
    };
    match db_err.code() {
        Some(code) if code.len() == 5 => code.starts_with("22") || code.starts_with("23"),
        _ => db_err.message().contains("constraint failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered_for_postgres() {
        let s = stmt(
            DbBackend::Postgres,
            "UPDATE t SET a = ? WHERE b = ? AND c = ?",
            vec![],
        );
        assert_eq!(s.sql, "UPDATE t SET a = $1 WHERE b = $2 AND c = $3");
        let s = stmt(DbBackend::Sqlite, "SELECT ? ", vec![]);
        assert_eq!(s.sql, "SELECT ? ");
    }
}
