//! HTTP: the admin API under `/api/v1`, consumer endpoints under `/t/`, health, the web UI.

mod admin;
pub mod error;
pub mod extract;
pub mod headers;
mod ingress;
mod metrics;
mod oauth;
pub mod openapi;
pub mod session;
pub mod ui;

use std::net::TcpListener;

use actix_web::{web, App, HttpResponse, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::error::AppError;
use crate::state::AppState;

/// Largest JSON body of an admin request.
const ADMIN_JSON_LIMIT: usize = 4 * 1024 * 1024;

pub fn serve(
    state: AppState,
    listener: TcpListener,
    consumer_listener: Option<TcpListener>,
) -> anyhow::Result<actix_web::dev::Server> {
    let split = match &consumer_listener {
        Some(l) => Some(headers::Split {
            consumer: l.local_addr()?,
        }),
        None => None,
    };
    let workers = match state.cfg.http_workers {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        n => n,
    };
    let ui_files = web::Data::new(ui::UiFiles::new(&state.cfg.ui.dir));
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(ui_files.clone())
            .app_data(web::Data::new(split))
            .app_data(
                web::JsonConfig::default()
                    .limit(ADMIN_JSON_LIMIT)
                    .error_handler(|err, _| {
                        use actix_web::error::JsonPayloadError as E;
                        match err {
                            E::OverflowKnownLength { .. } | E::Overflow { .. } => {
                                AppError::RequestTooLarge {
                                    limit: ADMIN_JSON_LIMIT as u64,
                                }
                            }
                            E::ContentType => AppError::NotJson,
                            other => AppError::BadRequest(format!("invalid JSON body: {other}")),
                        }
                        .into()
                    }),
            )
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                AppError::BadRequest(format!("invalid query: {err}")).into()
            }))
            .app_data(web::PathConfig::default().error_handler(|err, _| {
                AppError::BadRequest(format!("invalid path: {err}")).into()
            }))
            .wrap(actix_web::middleware::from_fn(headers::middleware))
            .wrap(TracingLogger::<crate::telemetry::RequestSpan>::new())
            .route("/healthz", web::get().to(health))
            .route("/readyz", web::get().to(ready))
            .route("/metrics", web::get().to(metrics::serve))
            .route(
                "/api/v1/openapi.json",
                web::get().to(openapi::admin_document),
            )
            .service(web::scope("/api/v1").configure(admin::routes))
            .configure(oauth::routes)
            // A scope with a default service: matched by prefix, no pattern to run per call.
            .service(web::scope("/t").default_service(web::to(ingress::call)))
            // The web UI; unknown `/api/...` paths still get the JSON 404.
            .default_service(web::to(ui::serve))
    })
    .workers(workers)
    .shutdown_timeout(30)
    .listen(listener)?;
    let server = match consumer_listener {
        Some(l) => server.listen(l)?,
        None => server,
    }
    .run();
    Ok(server)
}

async fn health(state: web::Data<AppState>) -> HttpResponse {
    if crate::db::ping(&state.db).await {
        HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "database unavailable"}))
    }
}

/// Ready to take calls: the database answers, its schema is this binary's, the workers and
/// the heartbeat run, and the server is not stopping. `503` names what is not.
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let database = crate::db::ping(&state.db).await;
    let migrations = if database {
        match crate::db::pending_migrations(&state.db).await {
            Ok(0) => "current".to_owned(),
            Ok(n) => format!("{n} pending"),
            Err(_) => "unknown".to_owned(),
        }
    } else {
        "unknown".to_owned()
    };
    let workers = state.workers_up.load(std::sync::atomic::Ordering::Relaxed);
    let heartbeat = state.may_start_work();
    let stopping = state.shutdown.is_cancelled();
    let ok = database && migrations == "current" && workers && heartbeat && !stopping;
    let body = serde_json::json!({
        "status": if ok { "ready" } else { "not ready" },
        "checks": {
            "database": if database { "ok" } else { "unreachable" },
            "migrations": migrations,
            "workers": if workers { "running" } else { "stopped" },
            "heartbeat": if heartbeat { "fresh" } else { "late" },
            "shutting_down": stopping,
        }
    });
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
