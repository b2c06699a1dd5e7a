//! `/api/v1/secrets`: stored secrets (values are accepted, never returned).

use actix_web::{web, HttpResponse};
use flowgate_api::secrets::{SecretIn, SecretOut, SecretValueIn};
use flowgate_api::{ErrorBody, Page};

use crate::domain::secrets;
use crate::domain::users::{CurrentUser, Role};
use crate::error::AppResult;
use crate::state::AppState;

type State = web::Data<AppState>;

/// This file's part of the OpenAPI document (`http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list_handler, create_handler, rotate_handler, delete_handler))]
struct Doc;

impl utoipa::OpenApi for crate::http::openapi::Secrets {
    fn openapi() -> utoipa::openapi::OpenApi {
        Doc::openapi()
    }
}

/// `/secrets` routes: admins only, reading too (names say which systems are reached).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/secrets", web::get().to(list_handler))
        .route("/secrets", web::post().to(create_handler))
        .route("/secrets/{name}", web::put().to(rotate_handler))
        .route("/secrets/{name}", web::delete().to(delete_handler));
}

/// List the stored secrets
///
/// Names, hosts and times; never values. Designers may read them (to name them in HTTP steps and
/// signature triggers).
#[utoipa::path(
    get,
    path = "/api/v1/secrets",
    tag = "secrets",
    operation_id = "list_secrets",
    responses(
        (status = 200, description = "The secrets, by name", body = Page<SecretOut>),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn list_handler(state: State, user: CurrentUser) -> AppResult<HttpResponse> {
    // Names only: designers pick them in HTTP steps and signature triggers.
    user.require(Role::Designer)?;
    Ok(HttpResponse::Ok().json(Page {
        items: secrets::list(&state.db).await?,
        next_cursor: None,
    }))
}

/// Store a secret
///
/// The value is stored encrypted and never returned.
#[utoipa::path(
    post,
    path = "/api/v1/secrets",
    tag = "secrets",
    operation_id = "create_secret",
    request_body = SecretIn,
    responses(
        (status = 201, description = "Stored", body = SecretOut),
        (status = 400, description = "A bad name, value or host pattern, or not a secret \
         (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 409, description = "A secret with this name exists (rotate it instead) \
         (`conflict`)",
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
async fn create_handler(
    state: State,
    user: CurrentUser,
    body: web::Json<SecretIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Created().json(secrets::create(&state, body.into_inner()).await?))
}

/// Rotate a secret
///
/// A new value (and optionally new hosts); the next call of every flow uses it.
#[utoipa::path(
    put,
    path = "/api/v1/secrets/{name}",
    tag = "secrets",
    operation_id = "rotate_secret",
    params(("name" = String, Path, pattern = r"^[A-Za-z0-9._-]{1,128}$",
        description = "The secret's name")),
    request_body = SecretValueIn,
    responses(
        (status = 200, description = "Rotated", body = SecretOut),
        (status = 400, description = "A bad value or host pattern, or not a value (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No secret with this name (`not_found`)", body = ErrorBody),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn rotate_handler(
    state: State,
    user: CurrentUser,
    name: web::Path<String>,
    body: web::Json<SecretValueIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Ok().json(secrets::rotate(&state, &name, body.into_inner()).await?))
}

/// Delete a secret
///
/// Flows that still name it fail their HTTP call until it is created again.
#[utoipa::path(
    delete,
    path = "/api/v1/secrets/{name}",
    tag = "secrets",
    operation_id = "delete_secret",
    params(("name" = String, Path, pattern = r"^[A-Za-z0-9._-]{1,128}$",
        description = "The secret's name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No secret with this name (`not_found`)", body = ErrorBody),
        (status = 409, description = "A published trigger checks signatures with it (`conflict`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn delete_handler(
    state: State,
    user: CurrentUser,
    name: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    secrets::delete(&state, &name).await?;
    Ok(HttpResponse::NoContent().finish())
}
