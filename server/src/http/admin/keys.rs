//! `/keys`: consumers' API keys (the secret is shown once, on creation).

use actix_web::{web, HttpResponse};
use flowgate_api::{ErrorBody, KeyCreatedOut, KeyIn, KeyOut, KeyPatch, Page, RotateIn};

use crate::domain::keys;
use crate::domain::users::{CurrentUser, Role};
use crate::error::AppResult;
use crate::http::extract::optional_json;
use crate::state::AppState;

type State = web::Data<AppState>;

/// This file's part of the OpenAPI document (`http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list_keys, create_key, update_key, rotate_key, revoke_key))]
struct Doc;

impl utoipa::OpenApi for crate::http::openapi::Keys {
    fn openapi() -> utoipa::openapi::OpenApi {
        Doc::openapi()
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/keys", web::get().to(list_keys))
        .route("/keys", web::post().to(create_key))
        .route("/keys/{id}/rotate", web::post().to(rotate_key))
        .route("/keys/{id}", web::patch().to(update_key))
        .route("/keys/{id}", web::delete().to(revoke_key));
}

/// List the live API keys
///
/// Never their secrets. Designers may read them too.
#[utoipa::path(
    get,
    path = "/api/v1/keys",
    tag = "keys",
    responses(
        (status = 200, description = "The live keys", body = Page<KeyOut>),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn list_keys(state: State, user: CurrentUser) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    let items = keys::list(&state).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

/// Create an API key
///
/// The answer holds the secret: it is shown this once (Flowgate keeps a keyed digest).
#[utoipa::path(
    post,
    path = "/api/v1/keys",
    tag = "keys",
    request_body = KeyIn,
    responses(
        (status = 201, description = "Created, with its secret", body = KeyCreatedOut),
        (status = 400, description = "A bad label, secret, expiry or rate limit, or not a key \
         (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 409, description = "The pasted secret is in use by another key (`conflict`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn create_key(
    state: State,
    user: CurrentUser,
    body: web::Json<KeyIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Created().json(keys::create(&state, body.into_inner()).await?))
}

/// Change an API key
///
/// Its label; the secret stays (rotate it for a new one). Executions keep the label their
/// call came with.
#[utoipa::path(
    patch,
    path = "/api/v1/keys/{id}",
    tag = "keys",
    params(("id" = String, Path, description = "The key's id")),
    request_body = KeyPatch,
    responses(
        (status = 200, description = "The key as it is now", body = KeyOut),
        (status = 400, description = "A field is not valid (`bad_request`)", body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No live key with this id (`not_found`)", body = ErrorBody),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn update_key(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Json<KeyPatch>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Ok().json(keys::update(&state, &id, body.into_inner()).await?))
}

/// Revoke an API key
///
/// Calls with it fail from that moment.
#[utoipa::path(
    delete,
    path = "/api/v1/keys/{id}",
    tag = "keys",
    params(("id" = String, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No live key with this id (`not_found`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn revoke_key(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    keys::revoke(&state, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate an API key's secret
///
/// The new secret is shown this once; the old one keeps working for `overlap_s` seconds (at most 30
/// days).
#[utoipa::path(
    post,
    path = "/api/v1/keys/{id}/rotate",
    tag = "keys",
    params(("id" = String, Path, description = "The key's id")),
    request_body(
        content = Option<RotateIn>,
        description = "Optional: none or `{}` rotates with a generated secret and no overlap",
        content_type = "application/json"
    ),
    responses(
        (status = 200, description = "Rotated, with the new secret", body = KeyCreatedOut),
        (status = 400, description = "Bad JSON, overlap or pasted secret (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No live key with this id (`not_found`)", body = ErrorBody),
        (status = 409, description = "The pasted secret is in use by another key (`conflict`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 413, description = "The body is over 256 KiB (a plain-text answer)",
         content_type = "text/plain", body = String),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn rotate_key(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    let input: RotateIn = optional_json(&body)?;
    Ok(HttpResponse::Ok().json(keys::rotate(&state, &id, input).await?))
}
