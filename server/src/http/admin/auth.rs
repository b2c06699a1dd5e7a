//! `/auth`: sign in (a session token, also as an HttpOnly cookie), sign out, who am I.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use flowgate_api::LoginIn;

use crate::domain::users;
use crate::domain::users::CurrentUser;
use crate::error::AppResult;
use crate::http::session::{session_token, SESSION_COOKIE};
use crate::state::AppState;

type State = web::Data<AppState>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/login", web::post().to(login))
        .route("/auth/logout", web::post().to(logout))
        .route("/auth/me", web::get().to(me));
}

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

async fn logout(state: State, req: HttpRequest, _user: CurrentUser) -> AppResult<HttpResponse> {
    if let Some(token) = session_token(&req) {
        users::logout(&state, &token).await?;
    }
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

async fn me(state: State, user: CurrentUser) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(users::get(&state, &user.id).await?))
}
