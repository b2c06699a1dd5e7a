//! `/integrations/{slug}/shadow`: recorded calls run again against the draft, compared.

use actix_web::{web, HttpResponse};
use flowgate_api::{ErrorBody, ShadowIn, ShadowOut};

use crate::domain::integrations::shadow;
use crate::domain::users::{CurrentUser, Role};
use crate::error::AppResult;
use crate::http::extract::optional_json;
use crate::state::AppState;

/// This file's part of the OpenAPI document (`http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(shadow_replay))]
struct Doc;

impl utoipa::OpenApi for crate::http::openapi::Shadow {
    fn openapi() -> utoipa::openapi::OpenApi {
        Doc::openapi()
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/integrations/{slug}/shadow", web::post().to(shadow_replay));
}

/// Shadow replay: recorded calls against the draft
///
/// Runs the newest finished calls (at most `limit`, in the time range) again against the
/// draft, or the published document without a draft, and compares each answer with the
/// recorded one. Nothing is sent or written: HTTP requests are answered from the recorded
/// calls; one the recording cannot answer is not made and is listed.
#[utoipa::path(
    post,
    path = "/api/v1/integrations/{slug}/shadow",
    tag = "integrations",
    params(("slug" = String, Path, description = "The integration")),
    request_body(content = Option<ShadowIn>, description = "Optional; the defaults replay the newest 20 calls"),
    responses(
        (status = 200, description = "Every call compared", body = ShadowOut),
        (status = 400, description = "A bad limit or time, or an invalid draft (`bad_request`, `validation_failed`)", body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such integration (`not_found`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
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
