//! `/oauth-clients`: OAuth2 clients of triggers (the secret is shown once, on creation and
//! rotation).

use actix_web::{web, HttpResponse};
use flowgate_api::{
    ErrorBody, OauthClientCreatedOut, OauthClientIn, OauthClientOut, Page, RotateIn,
};

use crate::domain::oauth_clients;
use crate::domain::users::{CurrentUser, Role};
use crate::error::AppResult;
use crate::http::extract::optional_json;
use crate::state::AppState;

type State = web::Data<AppState>;

/// This file's part of the OpenAPI document (`http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, rotate, revoke))]
struct Doc;

impl utoipa::OpenApi for crate::http::openapi::OauthClients {
    fn openapi() -> utoipa::openapi::OpenApi {
        Doc::openapi()
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth-clients", web::get().to(list))
        .route("/oauth-clients", web::post().to(create))
        .route("/oauth-clients/{id}/rotate", web::post().to(rotate))
        .route("/oauth-clients/{id}", web::delete().to(revoke));
}

/// List the live OAuth clients
///
/// Never their secrets. Designers may read them too.
#[utoipa::path(
    get,
    path = "/api/v1/oauth-clients",
    tag = "oauth-clients",
    operation_id = "list_oauth_clients",
    responses(
        (status = 200, description = "The live clients", body = Page<OauthClientOut>),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn list(state: State, user: CurrentUser) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    Ok(HttpResponse::Ok().json(Page {
        items: oauth_clients::list(&state).await?,
        next_cursor: None,
    }))
}

/// Create an OAuth client
///
/// The answer holds the client secret: it is shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/oauth-clients",
    tag = "oauth-clients",
    operation_id = "create_oauth_client",
    request_body = OauthClientIn,
    responses(
        (status = 201, description = "Created, with its secret", body = OauthClientCreatedOut),
        (status = 400, description = "A bad label, scope or rate limit, or not a client \
         (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn create(
    state: State,
    user: CurrentUser,
    body: web::Json<OauthClientIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Created().json(oauth_clients::create(&state, body.into_inner()).await?))
}

/// Rotate an OAuth client's secret
///
/// The new secret is shown this once; the old one still gets tokens for `overlap_s` seconds (at
/// most 30 days). Tokens already issued keep working until they expire.
#[utoipa::path(
    post,
    path = "/api/v1/oauth-clients/{id}/rotate",
    tag = "oauth-clients",
    operation_id = "rotate_oauth_client",
    params(("id" = String, Path, description = "The client's `client_id`")),
    request_body(
        content = Option<RotateIn>,
        description = "Optional: none or `{}` rotates with no overlap; `secret` is refused \
                       (client secrets are generated)",
        content_type = "application/json"
    ),
    responses(
        (status = 200, description = "Rotated, with the new secret", body = OauthClientCreatedOut),
        (status = 400, description = "Bad JSON or overlap, or a `secret` given (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No live client with this id (`not_found`)", body = ErrorBody),
        (status = 413, description = "The body is over 256 KiB (a plain-text answer)",
         content_type = "text/plain", body = String),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn rotate(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    let input: RotateIn = optional_json(&body)?;
    Ok(HttpResponse::Ok().json(oauth_clients::rotate(&state, &id, input).await?))
}

/// Revoke an OAuth client
///
/// Its secret and every token it holds are refused from that moment.
#[utoipa::path(
    delete,
    path = "/api/v1/oauth-clients/{id}",
    tag = "oauth-clients",
    operation_id = "revoke_oauth_client",
    params(("id" = String, Path, description = "The client's `client_id`")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No live client with this id (`not_found`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn revoke(state: State, user: CurrentUser, id: web::Path<String>) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    oauth_clients::revoke(&state, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
