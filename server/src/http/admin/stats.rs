//! `/stats`: the dashboard's figures.

use actix_web::{web, HttpResponse};
use flowgate_api::{ErrorBody, OverviewOut};
use serde::Deserialize;

use crate::domain::stats::{self, Window};
use crate::domain::users::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;

/// This file's part of the OpenAPI document (`http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(overview))]
struct Doc;

impl utoipa::OpenApi for crate::http::openapi::Stats {
    fn openapi() -> utoipa::openapi::OpenApi {
        Doc::openapi()
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stats/overview", web::get().to(overview));
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct OverviewQuery {
    /// `1h` (60 one-minute buckets, the default) or `24h` (48 buckets of 30 minutes).
    #[param(pattern = "^(1h|24h)$")]
    window: Option<String>,
}

/// The dashboard's figures
///
/// Calls, errors, error rate and run-time percentiles over the last hour or day, in all and
/// per integration (failing first, then slowest), in time buckets; dead letters waiting.
#[utoipa::path(
    get,
    path = "/api/v1/stats/overview",
    tag = "stats",
    params(OverviewQuery),
    responses(
        (status = 200, description = "The overview", body = OverviewOut),
        (status = 400, description = "`window` is not `1h` or `24h` (`bad_request`)", body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn overview(
    state: web::Data<AppState>,
    _user: CurrentUser,
    q: web::Query<OverviewQuery>,
) -> AppResult<HttpResponse> {
    let window = Window::parse(q.window.as_deref())?;
    Ok(HttpResponse::Ok().json(stats::overview(&state, window).await?))
}
