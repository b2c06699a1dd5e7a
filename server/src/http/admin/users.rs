//! `/users`: accounts and roles (admins only).

use actix_web::{web, HttpRequest, HttpResponse};
use flowgate_api::users::UserIn;
use flowgate_api::{Page, UserPatch};

use crate::domain::users;
use crate::domain::users::{CurrentUser, Role};
use crate::error::AppResult;
use crate::http::session::session_token;
use crate::state::AppState;

type State = web::Data<AppState>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list_users))
        .route("/users", web::post().to(create_user))
        .route("/users/{id}", web::patch().to(patch_user));
}

async fn list_users(state: State, user: CurrentUser) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    let items = users::list(&state).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

async fn create_user(
    state: State,
    user: CurrentUser,
    body: web::Json<UserIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    let created = users::create(&state.db, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(users::to_out(&created)))
}

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
