//! `/keys`: consumers' API keys (the secret is shown once, on creation).

use actix_web::{web, HttpResponse};
use flowgate_api::{KeyIn, Page, RotateIn};

use crate::domain::keys;
use crate::domain::users::{CurrentUser, Role};
use crate::error::AppResult;
use crate::http::extract::optional_json;
use crate::state::AppState;

type State = web::Data<AppState>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/keys", web::get().to(list_keys))
        .route("/keys", web::post().to(create_key))
        .route("/keys/{id}/rotate", web::post().to(rotate_key))
        .route("/keys/{id}", web::delete().to(revoke_key));
}

async fn list_keys(state: State, user: CurrentUser) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    let items = keys::list(&state).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

async fn create_key(
    state: State,
    user: CurrentUser,
    body: web::Json<KeyIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Created().json(keys::create(&state, body.into_inner()).await?))
}

async fn revoke_key(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    keys::revoke(&state, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

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
