//! `/stats`: the dashboard's figures.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::domain::stats::{self, Window};
use crate::domain::users::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stats/overview", web::get().to(overview));
}

#[derive(Deserialize)]
struct OverviewQuery {
    window: Option<String>,
}

async fn overview(
    state: web::Data<AppState>,
    _user: CurrentUser,
    q: web::Query<OverviewQuery>,
) -> AppResult<HttpResponse> {
    let window = Window::parse(q.window.as_deref())?;
    Ok(HttpResponse::Ok().json(stats::overview(&state, window).await?))
}
