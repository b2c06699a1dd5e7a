//! `/api/v1/secrets`: stored secrets (values are accepted, never returned).

use actix_web::{web, HttpResponse};
use flowgate_api::secrets::{SecretIn, SecretValueIn};
use flowgate_api::Page;

use crate::domain::secrets;
use crate::domain::users::{CurrentUser, Role};
use crate::error::AppResult;
use crate::state::AppState;

type State = web::Data<AppState>;

/// `/secrets` routes: admins only, reading too (names say which systems are reached).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/secrets", web::get().to(list_handler))
        .route("/secrets", web::post().to(create_handler))
        .route("/secrets/{name}", web::put().to(rotate_handler))
        .route("/secrets/{name}", web::delete().to(delete_handler));
}

async fn list_handler(state: State, user: CurrentUser) -> AppResult<HttpResponse> {
    // Names only: designers pick them in HTTP steps and signature triggers.
    user.require(Role::Designer)?;
    Ok(HttpResponse::Ok().json(Page {
        items: secrets::list(&state.db).await?,
        next_cursor: None,
    }))
}

async fn create_handler(
    state: State,
    user: CurrentUser,
    body: web::Json<SecretIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Created().json(secrets::create(&state, body.into_inner()).await?))
}

async fn rotate_handler(
    state: State,
    user: CurrentUser,
    name: web::Path<String>,
    body: web::Json<SecretValueIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Ok().json(secrets::rotate(&state, &name, body.into_inner()).await?))
}

async fn delete_handler(
    state: State,
    user: CurrentUser,
    name: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    secrets::delete(&state, &name).await?;
    Ok(HttpResponse::NoContent().finish())
}
