//! `/oauth-clients`: OAuth2 clients of triggers (the secret is shown once, on creation and
//! rotation).

use actix_web::{web, HttpResponse};
use flowgate_api::{OauthClientIn, Page, RotateIn};

use crate::domain::oauth_clients;
use crate::domain::users::{CurrentUser, Role};
use crate::error::AppResult;
use crate::http::extract::optional_json;
use crate::state::AppState;

type State = web::Data<AppState>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth-clients", web::get().to(list))
        .route("/oauth-clients", web::post().to(create))
        .route("/oauth-clients/{id}/rotate", web::post().to(rotate))
        .route("/oauth-clients/{id}", web::delete().to(revoke));
}

async fn list(state: State, user: CurrentUser) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    Ok(HttpResponse::Ok().json(Page {
        items: oauth_clients::list(&state).await?,
        next_cursor: None,
    }))
}

async fn create(
    state: State,
    user: CurrentUser,
    body: web::Json<OauthClientIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Created().json(oauth_clients::create(&state, body.into_inner()).await?))
}

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

async fn revoke(state: State, user: CurrentUser, id: web::Path<String>) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    oauth_clients::revoke(&state, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
