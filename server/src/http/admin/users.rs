//! `/users`: accounts and roles (admins only).

use actix_web::{web, HttpRequest, HttpResponse};
use flowgate_api::users::UserIn;
use flowgate_api::{ErrorBody, Page, UserOut, UserPatch};

use crate::domain::users;
use crate::domain::users::{CurrentUser, Role};
use crate::error::AppResult;
use crate::http::session::session_token;
use crate::state::AppState;

type State = web::Data<AppState>;

/// This file's part of the OpenAPI document (`http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list_users, create_user, patch_user))]
struct Doc;

impl utoipa::OpenApi for crate::http::openapi::Users {
    fn openapi() -> utoipa::openapi::OpenApi {
        Doc::openapi()
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list_users))
        .route("/users", web::post().to(create_user))
        .route("/users/{id}", web::patch().to(patch_user));
}

/// List the users
///
/// By email.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    responses(
        (status = 200, description = "Every user", body = Page<UserOut>),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn list_users(state: State, user: CurrentUser) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    let items = users::list(&state).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

/// Create a user
///
/// Password at least 8 characters; role `admin`, `designer` (the default) or `viewer`.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = UserIn,
    responses(
        (status = 201, description = "Created", body = UserOut),
        (status = 400, description = "A bad email, password or role, or not a user (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 409, description = "A user with this email exists (`conflict`)", body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
        (status = 503, description = "The server is busy or stopping (`busy`, `shutting_down`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn create_user(
    state: State,
    user: CurrentUser,
    body: web::Json<UserIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    let created = users::create(&state.db, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(users::to_out(&created)))
}

/// Change a user's role, disabled flag or password
///
/// Only the fields given change. Disabling ends the user's sessions at once; a new password ends
/// them too (but the caller's own).
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "The user's id")),
    request_body = UserPatch,
    responses(
        (status = 200, description = "Changed", body = UserOut),
        (status = 400, description = "An unknown role, a short password or an unknown field \
         (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No user with this id (`not_found`)", body = ErrorBody),
        (status = 409, description = "Disabling or demoting yourself, or the last enabled admin \
         (`conflict`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
        (status = 503, description = "The server is busy or stopping (`busy`, `shutting_down`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn patch_user(
    state: State,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Json<UserPatch>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    let token = session_token(&req);
    let out = users::patch(&state, &user, &id, body.into_inner(), token.as_deref()).await?;
    Ok(HttpResponse::Ok().json(out))
}
