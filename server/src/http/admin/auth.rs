//! `/auth`: sign in (a session token, also as an HttpOnly cookie), sign out, who am I.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use flowgate_api::{ErrorBody, LoginIn, LoginOut, UserOut};

use crate::domain::users;
use crate::domain::users::CurrentUser;
use crate::error::AppResult;
use crate::http::session::{session_token, SESSION_COOKIE};
use crate::state::AppState;

type State = web::Data<AppState>;

/// This file's part of the OpenAPI document (`http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(login, logout, me))]
struct Doc;

impl utoipa::OpenApi for crate::http::openapi::Auth {
    fn openapi() -> utoipa::openapi::OpenApi {
        Doc::openapi()
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/login", web::post().to(login))
        .route("/auth/logout", web::post().to(logout))
        .route("/auth/me", web::get().to(me));
}

/// Sign in
///
/// Answers a session token and sets it as the HttpOnly, SameSite=Strict cookie
/// `flowgate_session`. After 5 failed attempts for one account (20 from one address) within
/// 15 minutes, sign-in is refused with `429` for a while, even with the right password.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginIn,
    responses(
        (status = 200, description = "Signed in", body = LoginOut,
         headers(("Set-Cookie" = String, description = "The session cookie `flowgate_session`"))),
        (status = 400, description = "The body is not a sign-in (`bad_request`)", body = ErrorBody),
        (status = 401, description = "Wrong email or password, or a disabled user \
         (`invalid_credentials`)",
         body = ErrorBody),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
        (status = 429, description = "Too many failed attempts (`rate_limited`)", body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 503, description = "Too many password checks waiting (`busy`)", body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
    )
)]
async fn login(
    state: State,
    req: HttpRequest,
    body: web::Json<LoginIn>,
) -> AppResult<HttpResponse> {
    let client = req.peer_addr().map(|a| a.ip());
    let out = users::login(&state, &body.email, &body.password, client).await?;
    let cookie = Cookie::build(SESSION_COOKIE, out.token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        // Secure when set so, or when a TLS-terminating proxy says the browser uses HTTPS.
        .secure(state.cfg.auth.secure_cookie || crate::http::headers::via_https(req.headers()))
        .max_age(actix_web::cookie::time::Duration::hours(
            i64::try_from(state.cfg.auth.session_ttl_hours).unwrap_or(12),
        ))
        .finish();
    Ok(HttpResponse::Ok().cookie(cookie).json(out))
}

/// Sign out
///
/// Ends the session and removes the cookie.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    responses(
        (status = 204, description = "Signed out",
         headers(("Set-Cookie" = String, description = "Removes `flowgate_session`"))),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn logout(state: State, req: HttpRequest, _user: CurrentUser) -> AppResult<HttpResponse> {
    if let Some(token) = session_token(&req) {
        users::logout(&state, &token).await?;
    }
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

/// The signed-in user
#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "auth",
    responses(
        (status = 200, description = "The user of the session", body = UserOut),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn me(state: State, user: CurrentUser) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(users::get(&state, &user.id).await?))
}
