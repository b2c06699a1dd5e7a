//! `/integrations/{slug}/shadow`: recorded calls run again against the draft, compared.

use actix_web::{web, HttpResponse};
use flowgate_api::ShadowIn;

use crate::domain::integrations::shadow;
use crate::domain::users::{CurrentUser, Role};
use crate::error::AppResult;
use crate::http::extract::optional_json;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/integrations/{slug}/shadow", web::post().to(shadow_replay));
}

async fn shadow_replay(
    state: web::Data<AppState>,
    user: CurrentUser,
    slug: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    let input: ShadowIn = optional_json(&body)?;
    Ok(HttpResponse::Ok().json(shadow::run(&state, &slug, input).await?))
}
