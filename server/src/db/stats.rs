//! The dashboard's figures, aggregated in the database: calls, errors and a run-time
//! histogram per integration and time bucket, so the answer's size follows integrations ×
//! buckets, not the number of calls.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use super::stmt;

/// Upper edges (exclusive) of the run-time classes, in microseconds; the last class is
/// open-ended. Percentiles are interpolated within a class.
pub const CLASS_EDGES_US: [i64; 16] = [
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    30_000_000,
    60_000_000,
    300_000_000,
];

/// One group: an integration, a bucket and a run-time class (`None`: not finished).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub integration_id: String,
    pub bucket: i64,
    pub class: Option<usize>,
    pub calls: i64,
    pub errors: i64,
}

fn class_expr() -> String {
    let mut sql = String::from("CASE WHEN finished_at IS NULL THEN -1");
    for (i, edge) in CLASS_EDGES_US.iter().enumerate() {
        sql.push_str(&format!(
            " WHEN finished_at - received_at < {edge} THEN {i}"
        ));
    }
    sql.push_str(&format!(" ELSE {} END", CLASS_EDGES_US.len()));
    sql
}

/// Executions received in `[from, to)`, grouped by integration, bucket of `bucket_us` and
/// run-time class. Uses the index on `(integration_id, received_at)` per integration.
pub async fn cells(
    db: &DatabaseConnection,
    from: i64,
    to: i64,
    bucket_us: i64,
) -> Result<Vec<Cell>, DbErr> {
    let class = class_expr();
    let sql = format!(
        "SELECT integration_id, (received_at - ?) / ? AS bucket, CAST({class} AS BIGINT) AS class, \
         COUNT(*) AS calls, \
         SUM(CASE WHEN status IN ('failed', 'errored', 'dead') THEN 1 ELSE 0 END) AS errors \
         FROM executions WHERE received_at >= ? AND received_at < ? \
         GROUP BY integration_id, bucket, class"
    );
    let rows = db
        .query_all_raw(stmt(
            db.get_database_backend(),
            &sql,
            vec![from.into(), bucket_us.into(), from.into(), to.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            let class: i64 = r.try_get("", "class")?;
            Ok(Cell {
                integration_id: r.try_get("", "integration_id")?,
                bucket: r.try_get("", "bucket")?,
                class: usize::try_from(class).ok(),
                calls: r.try_get("", "calls")?,
                errors: r.try_get::<Option<i64>>("", "errors")?.unwrap_or(0),
            })
        })
        .collect()
}

/// Dead letters waiting per integration id.
pub async fn dead_letters(db: &DatabaseConnection) -> Result<Vec<(String, i64)>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db.get_database_backend(),
            "SELECT integration_id, COUNT(*) AS n FROM executions WHERE status = 'dead' \
             GROUP BY integration_id",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "integration_id")?, r.try_get("", "n")?)))
        .collect()
}

/// `(id, slug, name)` of every integration.
pub async fn names(db: &DatabaseConnection) -> Result<Vec<(String, String, String)>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db.get_database_backend(),
            "SELECT id, slug, name FROM integrations",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("", "id")?,
                r.try_get("", "slug")?,
                r.try_get("", "name")?,
            ))
        })
        .collect()
}
