//! `/executions`: the record of every call; replays (one, or an integration's) and skips.

use actix_web::{web, HttpResponse};
use flowgate_api::executions::{BulkReplayOut, ReplayIn, ReplayOut};
use flowgate_api::{ErrorBody, ExecutionOut, Page};
use serde::Deserialize;

use crate::domain::executions;
use crate::domain::executions::ListQuery;
use crate::domain::users::{CurrentUser, Role};
use crate::error::AppResult;
use crate::http::extract::optional_json;
use crate::state::AppState;

type State = web::Data<AppState>;

/// This file's part of the OpenAPI document (`http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_executions,
    get_execution,
    replay_execution,
    skip_execution,
    replay_integration
))]
struct Doc;

impl utoipa::OpenApi for crate::http::openapi::Executions {
    fn openapi() -> utoipa::openapi::OpenApi {
        Doc::openapi()
    }
}

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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ExecutionsQuery {
    /// Only this integration's (its slug).
    integration: Option<String>,
    /// Only executions in this status.
    #[param(value_type = Option<flowgate_api::ExecutionStatus>)]
    status: Option<String>,
    /// Only calls made with this credential: `key:<key id>` or `client:<OAuth client id>`.
    caller: Option<String>,
    /// At most this many (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
    /// The `next_cursor` of the page before.
    #[param(format = "uuid")]
    cursor: Option<String>,
    /// Received at or after (RFC 3339).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Received before (RFC 3339).
    #[param(format = DateTime)]
    to: Option<String>,
}

/// List executions
///
/// Newest first, without `request`, `response` and `steps`; pass `next_cursor` back as `cursor` for
/// the next page.
#[utoipa::path(
    get,
    path = "/api/v1/executions",
    tag = "executions",
    params(ExecutionsQuery),
    responses(
        (status = 200, description = "A page of executions", body = Page<ExecutionOut>),
        (status = 400, description = "A bad status, limit, cursor or time, or an unknown parameter \
         type (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
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
            caller: q.caller,
            limit: q.limit,
            cursor: q.cursor,
            from: q.from,
            to: q.to,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Get an execution
///
/// With its request, response, steps and logs.
#[utoipa::path(
    get,
    path = "/api/v1/executions/{id}",
    tag = "executions",
    params(("id" = String, Path, description = "The execution's id")),
    responses(
        (status = 200, description = "The execution", body = ExecutionOut),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 404, description = "No execution with this id (`not_found`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
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

/// Replay an execution
///
/// A dead one goes back to the queue in place (`kind` `requeued`); any other finished one runs
/// again as a new asynchronous execution (`kind` `new`). `status`, `from` and `to` do not apply.
#[utoipa::path(
    post,
    path = "/api/v1/executions/{id}/replay",
    tag = "executions",
    params(("id" = String, Path, description = "The execution's id")),
    request_body(
        content = Option<ReplayIn>,
        description = "Optional",
        content_type = "application/json"
    ),
    responses(
        (status = 202, description = "Queued", body = ReplayOut),
        (status = 400, description = "Bad JSON (`bad_request`)", body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
        (status = 404, description = "No execution with this id (or, for `version` `current`, its \
         integration is not published) (`not_found`)",
         body = ErrorBody),
        (status = 409, description = "The execution is queued or running (`conflict`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 413, description = "The body is over 256 KiB (a plain-text answer)",
         content_type = "text/plain", body = String),
        (status = 503, description = "The server is busy or stopping (`busy`, `shutting_down`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
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

/// Skip a dead execution
///
/// It becomes `skipped` and its blocked ordered lane goes on.
#[utoipa::path(
    post,
    path = "/api/v1/executions/{id}/skip",
    tag = "executions",
    params(("id" = String, Path, description = "The execution's id")),
    responses(
        (status = 200, description = "The execution, now skipped", body = ExecutionOut),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
        (status = 404, description = "No execution with this id (`not_found`)", body = ErrorBody),
        (status = 409, description = "The execution is not dead (`conflict`)", body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn skip_execution(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    Ok(HttpResponse::Ok().json(executions::skip(&state, &id).await?))
}

/// Replay an integration's executions
///
/// The executions in `status` (default `dead`) received in `[from, to)`: dead ones go back to the
/// queue in place; `failed`, `errored` or `succeeded` ones (at most 10,000) run again as new
/// executions.
#[utoipa::path(
    post,
    path = "/api/v1/integrations/{slug}/replay",
    tag = "executions",
    params(("slug" = String, Path, pattern = r"^[a-z0-9_][a-z0-9_-]{0,63}$",
        description = "The integration's slug")),
    request_body(
        content = Option<ReplayIn>,
        description = "Optional",
        content_type = "application/json"
    ),
    responses(
        (status = 202, description = "Queued", body = BulkReplayOut),
        (status = 400, description = "Bad JSON, time or status (`bad_request`)", body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
        (status = 404, description = "No integration with this slug (`not_found`)",
         body = ErrorBody),
        (status = 409, description = "The integration was never published (`conflict`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 413, description = "The body is over 256 KiB (a plain-text answer)",
         content_type = "text/plain", body = String),
        (status = 503, description = "The server is busy or stopping (`busy`, `shutting_down`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
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
