//! `GET /metrics`: the Prometheus text format. Counters and histograms come from
//! `telemetry::metrics`; queue depths, dead letters and the database pool are read here, at
//! scrape time.

use actix_web::{web, HttpResponse};
use sea_orm::{DatabaseConnection, DbBackend};

use crate::state::AppState;

pub async fn serve(state: web::Data<AppState>) -> HttpResponse {
    if let Err(e) = scrape_gauges(&state).await {
        tracing::warn!(error = %e, "reading queue gauges for /metrics failed");
    }
    match crate::telemetry::metrics::render() {
        Some(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .insert_header(("cache-control", "no-store"))
            .body(text),
        None => HttpResponse::ServiceUnavailable().json(flowgate_api::ErrorBody::new(
            "metrics_unavailable",
            "the metrics recorder could not be installed in this process",
        )),
    }
}

/// Integrations seen in an earlier scrape: when their queue empties, their gauges go back to
/// 0 instead of keeping the last value.
static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

async fn scrape_gauges(state: &AppState) -> Result<(), sea_orm::DbErr> {
    pool_gauges(&state.db, state.cfg.database.max_connections);
    let now = crate::support::time::now_us();
    let waiting = crate::db::executions::waiting(&state.db).await?;
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    for slug in seen.iter() {
        for name in [
            "flowgate_queue_depth",
            "flowgate_queue_oldest_age_seconds",
            "flowgate_queue_lanes",
            "flowgate_dead_letters_waiting",
        ] {
            metrics::gauge!(name, "integration" => slug.clone()).set(0.0);
        }
    }
    for w in waiting {
        if !seen.contains(&w.slug) {
            seen.push(w.slug.clone());
        }
        if w.dead {
            metrics::gauge!("flowgate_dead_letters_waiting", "integration" => w.slug)
                .set(w.count as f64);
            continue;
        }
        let age = w.oldest.map_or(0.0, |o| (now - o).max(0) as f64 / 1e6);
        metrics::gauge!("flowgate_queue_depth", "integration" => w.slug.clone())
            .set(w.count as f64);
        metrics::gauge!("flowgate_queue_oldest_age_seconds", "integration" => w.slug.clone())
            .set(age);
        metrics::gauge!("flowgate_queue_lanes", "integration" => w.slug).set(w.lanes as f64);
    }
    Ok(())
}

fn pool_gauges(db: &DatabaseConnection, max: u32) {
    let (size, idle) = match db.get_database_backend() {
        DbBackend::Sqlite => {
            let p = db.get_sqlite_connection_pool();
            (p.size(), p.num_idle())
        }
        DbBackend::Postgres => {
            let p = db.get_postgres_connection_pool();
            (p.size(), p.num_idle())
        }
        _ => return,
    };
    let idle = idle as f64;
    metrics::gauge!("flowgate_db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("flowgate_db_pool_connections", "state" => "in_use")
        .set((f64::from(size) - idle).max(0.0));
    metrics::gauge!("flowgate_db_pool_max_connections").set(f64::from(max));
}
