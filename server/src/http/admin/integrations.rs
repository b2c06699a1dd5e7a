//! `/integrations`: documents, versions, drafts, publishing and test runs.

use actix_web::{web, HttpResponse};
use flowgate_api::{IntegrationDoc, IntegrationPatch, Page, PublishIn, TestRunIn};

use crate::domain::integrations;
use crate::domain::integrations::{drafts, test_runs};
use crate::domain::users::{CurrentUser, Role};
use crate::error::AppResult;
use crate::http::extract::optional_json;
use crate::state::AppState;

type State = web::Data<AppState>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/integrations", web::get().to(list_integrations))
        // Before `/integrations/{slug}`: `validate` is not a slug (and is reserved as one).
        .route(
            "/integrations/validate",
            web::post().to(validate_integration),
        )
        .route("/integrations/{slug}", web::get().to(get_integration))
        .route("/integrations/{slug}", web::put().to(put_integration))
        .route("/integrations/{slug}", web::patch().to(patch_integration))
        .route("/integrations/{slug}", web::delete().to(delete_integration))
        .route(
            "/integrations/{slug}/versions",
            web::get().to(list_versions),
        )
        .route("/integrations/{slug}/draft", web::get().to(get_draft))
        .route("/integrations/{slug}/draft", web::put().to(put_draft))
        .route("/integrations/{slug}/draft", web::delete().to(delete_draft))
        .route("/integrations/{slug}/publish", web::post().to(publish))
        .route("/integrations/{slug}/test", web::post().to(test_run));
}

/// `201 Created` for what a PUT created, `200 OK` for what it replaced.
fn created_or_ok(created: bool, out: impl serde::Serialize) -> HttpResponse {
    if created {
        HttpResponse::Created().json(out)
    } else {
        HttpResponse::Ok().json(out)
    }
}

async fn list_integrations(state: State, _user: CurrentUser) -> AppResult<HttpResponse> {
    let items = integrations::list(&state).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

async fn get_integration(
    state: State,
    _user: CurrentUser,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(integrations::get(&state, &slug).await?))
}

async fn put_integration(
    state: State,
    user: CurrentUser,
    slug: web::Path<String>,
    body: web::Json<IntegrationDoc>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    let saved = integrations::save(&state, &slug, body.into_inner(), &user.id).await?;
    Ok(created_or_ok(saved.created, saved.out))
}

async fn patch_integration(
    state: State,
    user: CurrentUser,
    slug: web::Path<String>,
    body: web::Json<IntegrationPatch>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    let out = integrations::patch(&state, &slug, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn validate_integration(
    state: State,
    user: CurrentUser,
    body: web::Json<IntegrationDoc>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    Ok(HttpResponse::Ok().json(integrations::validate(&state, body.into_inner()).await?))
}

async fn get_draft(
    state: State,
    _user: CurrentUser,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(drafts::get(&state, &slug).await?))
}

async fn put_draft(
    state: State,
    user: CurrentUser,
    slug: web::Path<String>,
    body: web::Json<IntegrationDoc>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    let saved = drafts::save(&state, &slug, body.into_inner(), &user.id).await?;
    Ok(created_or_ok(saved.created, saved.out))
}

async fn delete_draft(
    state: State,
    user: CurrentUser,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    drafts::discard(&state, &slug).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn publish(
    state: State,
    user: CurrentUser,
    slug: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    let input: PublishIn = optional_json(&body)?;
    Ok(HttpResponse::Ok().json(drafts::publish(&state, &slug, input, &user.id).await?))
}

async fn test_run(
    state: State,
    user: CurrentUser,
    slug: web::Path<String>,
    body: web::Json<TestRunIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    Ok(HttpResponse::Ok().json(test_runs::run(&state, &slug, body.into_inner()).await?))
}

async fn delete_integration(
    state: State,
    user: CurrentUser,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    integrations::delete(&state, &slug).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list_versions(
    state: State,
    _user: CurrentUser,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let items = integrations::versions(&state, &slug).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}
