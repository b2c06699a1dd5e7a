//! `/integrations`: documents, versions, drafts, publishing and test runs.

use actix_web::{web, HttpResponse};
use flowgate_api::integrations::VersionOut;
use flowgate_api::{
    DraftOut, ErrorBody, IntegrationDoc, IntegrationOut, IntegrationPatch, Page, PublishIn,
    TestRunIn, TestRunOut, ValidateOut,
};

use crate::domain::integrations;
use crate::domain::integrations::{drafts, test_runs};
use crate::domain::users::{CurrentUser, Role};
use crate::error::AppResult;
use crate::http::extract::optional_json;
use crate::state::AppState;

type State = web::Data<AppState>;

/// This file's part of the OpenAPI document (`http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_integrations,
    validate_integration,
    get_integration,
    put_integration,
    patch_integration,
    delete_integration,
    list_versions,
    get_draft,
    put_draft,
    delete_draft,
    publish,
    test_run
))]
struct Doc;

impl utoipa::OpenApi for crate::http::openapi::Integrations {
    fn openapi() -> utoipa::openapi::OpenApi {
        Doc::openapi()
    }
}

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

/// List the integrations
///
/// By slug, never-published ones too, each with the calls of the last 24 hours (`stats`).
#[utoipa::path(
    get,
    path = "/api/v1/integrations",
    tag = "integrations",
    responses(
        (status = 200, description = "Every integration", body = Page<IntegrationOut>),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn list_integrations(state: State, _user: CurrentUser) -> AppResult<HttpResponse> {
    let items = integrations::list(&state).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

/// Get an integration
#[utoipa::path(
    get,
    path = "/api/v1/integrations/{slug}",
    tag = "integrations",
    params(("slug" = String, Path, pattern = r"^[a-z0-9_][a-z0-9_-]{0,63}$",
        description = "The integration's slug: 1 to 64 of `a-z 0-9 - _`, not starting with `-`")),
    responses(
        (status = 200, description = "The integration (its published document, or its draft when \
         never published)",
         body = IntegrationOut),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 404, description = "No integration with this slug (`not_found`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn get_integration(
    state: State,
    _user: CurrentUser,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(integrations::get(&state, &slug).await?))
}

/// Save and publish an integration
///
/// Validates, compiles and publishes the document as a new immutable version; discards the draft.
#[utoipa::path(
    put,
    path = "/api/v1/integrations/{slug}",
    tag = "integrations",
    params(("slug" = String, Path, pattern = r"^[a-z0-9_][a-z0-9_-]{0,63}$",
        description = "The integration's slug: 1 to 64 of `a-z 0-9 - _`, not starting with `-`")),
    request_body = IntegrationDoc,
    responses(
        (status = 200, description = "Published as the next version of an existing integration",
         body = IntegrationOut),
        (status = 201, description = "Created and published", body = IntegrationOut),
        (status = 400, description = "Not an integration document (`bad_request`), or an invalid \
         one or slug (`validation_failed`, every problem in `details`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
        (status = 409, description = "The trigger path is used by another integration (`conflict`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
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

/// Turn an integration's endpoint on or off
///
/// Without a new version; the published document and the draft get the same `enabled`.
#[utoipa::path(
    patch,
    path = "/api/v1/integrations/{slug}",
    tag = "integrations",
    params(("slug" = String, Path, pattern = r"^[a-z0-9_][a-z0-9_-]{0,63}$",
        description = "The integration's slug: 1 to 64 of `a-z 0-9 - _`, not starting with `-`")),
    request_body = IntegrationPatch,
    responses(
        (status = 200, description = "The integration", body = IntegrationOut),
        (status = 400, description = "Bad JSON or an unknown field (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
        (status = 404, description = "No integration with this slug (`not_found`)",
         body = ErrorBody),
        (status = 409, description = "The integration was never published (`conflict`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
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

/// Validate an integration document
///
/// Every problem of the document; nothing is saved.
#[utoipa::path(
    post,
    path = "/api/v1/integrations/validate",
    tag = "integrations",
    request_body = IntegrationDoc,
    responses(
        (status = 200, description = "The problems (empty: valid)", body = ValidateOut),
        (status = 400, description = "Not an integration document (bad JSON, unknown fields) \
         (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn validate_integration(
    state: State,
    user: CurrentUser,
    body: web::Json<IntegrationDoc>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    Ok(HttpResponse::Ok().json(integrations::validate(&state, body.into_inner()).await?))
}

/// Get the document being edited
///
/// The draft, or the published document when there is none (`is_draft` false), with every problem
/// it has.
#[utoipa::path(
    get,
    path = "/api/v1/integrations/{slug}/draft",
    tag = "integrations",
    params(("slug" = String, Path, pattern = r"^[a-z0-9_][a-z0-9_-]{0,63}$",
        description = "The integration's slug: 1 to 64 of `a-z 0-9 - _`, not starting with `-`")),
    responses(
        (status = 200, description = "The draft", body = DraftOut),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 404, description = "No integration with this slug (`not_found`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn get_draft(
    state: State,
    _user: CurrentUser,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(drafts::get(&state, &slug).await?))
}

/// Save a draft
///
/// Valid or not (its problems come back); a slug without an integration creates it unpublished.
#[utoipa::path(
    put,
    path = "/api/v1/integrations/{slug}/draft",
    tag = "integrations",
    params(("slug" = String, Path, pattern = r"^[a-z0-9_][a-z0-9_-]{0,63}$",
        description = "The integration's slug: 1 to 64 of `a-z 0-9 - _`, not starting with `-`")),
    request_body = IntegrationDoc,
    responses(
        (status = 200, description = "Saved", body = DraftOut),
        (status = 201, description = "Saved, and the integration created (unpublished)",
         body = DraftOut),
        (status = 400, description = "Not an integration document (`bad_request`), or an invalid \
         slug (`validation_failed`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
        (status = 409, description = "The trigger path is used by another integration (`conflict`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
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

/// Discard the draft
#[utoipa::path(
    delete,
    path = "/api/v1/integrations/{slug}/draft",
    tag = "integrations",
    params(("slug" = String, Path, pattern = r"^[a-z0-9_][a-z0-9_-]{0,63}$",
        description = "The integration's slug: 1 to 64 of `a-z 0-9 - _`, not starting with `-`")),
    responses(
        (status = 204, description = "Discarded"),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
        (status = 404, description = "No integration with this slug, or no draft (`not_found`)",
         body = ErrorBody),
        (status = 409, description = "The integration was never published: its draft is all it has \
         (`conflict`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn delete_draft(
    state: State,
    user: CurrentUser,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    drafts::discard(&state, &slug).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Publish the draft, or roll back to a version
///
/// No body or `{}`: publishes the draft as the next version. `{"version": n}`: publishes the
/// document of stored version n again, as the next version. The draft is discarded either way.
#[utoipa::path(
    post,
    path = "/api/v1/integrations/{slug}/publish",
    tag = "integrations",
    operation_id = "publish_integration",
    params(("slug" = String, Path, pattern = r"^[a-z0-9_][a-z0-9_-]{0,63}$",
        description = "The integration's slug: 1 to 64 of `a-z 0-9 - _`, not starting with `-`")),
    request_body(
        content = Option<PublishIn>,
        description = "Optional",
        content_type = "application/json"
    ),
    responses(
        (status = 200, description = "Published", body = IntegrationOut),
        (status = 400, description = "Bad JSON (`bad_request`), no draft (`no_draft`), or the \
         document is invalid (`validation_failed`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
        (status = 404, description = "No integration with this slug, or no such version \
         (`not_found`)",
         body = ErrorBody),
        (status = 409, description = "The trigger path is used by another integration (`conflict`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 413, description = "The body is over 256 KiB (a plain-text answer)",
         content_type = "text/plain", body = String),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
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

/// Run a flow once on a sample call, recording nothing
///
/// With the given document, else the draft, else the published document. A call the trigger would
/// refuse is not an API error: `200` with `status` `failed`. HTTP steps make their calls for real.
#[utoipa::path(
    post,
    path = "/api/v1/integrations/{slug}/test",
    tag = "integrations",
    operation_id = "test_integration",
    params(("slug" = String, Path, pattern = r"^[a-z0-9_][a-z0-9_-]{0,63}$",
        description = "The integration's slug: 1 to 64 of `a-z 0-9 - _`, not starting with `-`")),
    request_body = TestRunIn,
    responses(
        (status = 200, description = "What the run did", body = TestRunOut),
        (status = 400, description = "Not a test run (`bad_request`), or the flow does not compile \
         or the slug is invalid (`validation_failed`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
        (status = 404, description = "No document given and no integration with this slug \
         (`not_found`)",
         body = ErrorBody),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn test_run(
    state: State,
    user: CurrentUser,
    slug: web::Path<String>,
    body: web::Json<TestRunIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    Ok(HttpResponse::Ok().json(test_runs::run(&state, &slug, body.into_inner()).await?))
}

/// Delete an integration
///
/// With its versions and its draft.
#[utoipa::path(
    delete,
    path = "/api/v1/integrations/{slug}",
    tag = "integrations",
    params(("slug" = String, Path, pattern = r"^[a-z0-9_][a-z0-9_-]{0,63}$",
        description = "The integration's slug: 1 to 64 of `a-z 0-9 - _`, not starting with `-`")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)",
         body = ErrorBody),
        (status = 404, description = "No integration with this slug (`not_found`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn delete_integration(
    state: State,
    user: CurrentUser,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    integrations::delete(&state, &slug).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List an integration's published versions
///
/// Newest first; empty for a never-published integration.
#[utoipa::path(
    get,
    path = "/api/v1/integrations/{slug}/versions",
    tag = "integrations",
    params(("slug" = String, Path, pattern = r"^[a-z0-9_][a-z0-9_-]{0,63}$",
        description = "The integration's slug: 1 to 64 of `a-z 0-9 - _`, not starting with `-`")),
    responses(
        (status = 200, description = "The versions", body = Page<VersionOut>),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 404, description = "No integration with this slug (`not_found`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
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
