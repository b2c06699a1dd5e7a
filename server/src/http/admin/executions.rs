//! `/executions`: the record of every call; replays (one, or an integration's) and skips.

use actix_web::{web, HttpResponse};
use flowgate_api::executions::ReplayIn;
use serde::Deserialize;

use crate::domain::executions;
use crate::domain::executions::ListQuery;
use crate::domain::users::{CurrentUser, Role};
use crate::error::AppResult;
use crate::http::extract::optional_json;
use crate::state::AppState;

type State = web::Data<AppState>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/executions", web::get().to(list_executions))
        .route("/executions/{id}", web::get().to(get_execution))
        .route("/executions/{id}/replay", web::post().to(replay_execution))
        .route("/executions/{id}/skip", web::post().to(skip_execution))
        .route(
            "/integrations/{slug}/replay",
            web::post().to(replay_integration),
        );
}

#[derive(Deserialize)]
struct ExecutionsQuery {
    integration: Option<String>,
    status: Option<String>,
    limit: Option<u64>,
    cursor: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

async fn list_executions(
    state: State,
    _user: CurrentUser,
    q: web::Query<ExecutionsQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let page = executions::list(
        &state,
        ListQuery {
            integration: q.integration,
            status: q.status,
            limit: q.limit,
            cursor: q.cursor,
            from: q.from,
            to: q.to,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn get_execution(
    state: State,
    _user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(executions::get(&state, &id).await?))
}

fn replay_input(body: &web::Bytes) -> AppResult<ReplayIn> {
    optional_json(body)
}

async fn replay_execution(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    let out = executions::replay(&state, &id, replay_input(&body)?).await?;
    Ok(HttpResponse::Accepted().json(out))
}

async fn skip_execution(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    Ok(HttpResponse::Ok().json(executions::skip(&state, &id).await?))
}

async fn replay_integration(
    state: State,
    user: CurrentUser,
    slug: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    let out = executions::replay_bulk(&state, &slug, replay_input(&body)?).await?;
    Ok(HttpResponse::Accepted().json(out))
}
