//! Generated endpoint docs: the OpenAPI document of a trigger, of all triggers, and the
//! share link a consumer can read them through without an account.

use actix_web::{web, HttpRequest, HttpResponse};
use flowgate_api::ErrorBody;
use serde::Deserialize;

use crate::domain::docs;
use crate::domain::users::{CurrentUser, Role};
use crate::error::AppResult;
use crate::state::AppState;

type State = web::Data<AppState>;

/// What a path segment escapes: everything but the unreserved characters (RFC 3986).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// This file's part of the OpenAPI document (`http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    integration_document,
    create_share_link,
    shared_document,
    triggers_document
))]
struct Doc;

impl utoipa::OpenApi for crate::http::openapi::Docs {
    fn openapi() -> utoipa::openapi::OpenApi {
        Doc::openapi()
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/integrations/{slug}/openapi.json",
        web::get().to(integration_document),
    )
    .route(
        "/integrations/{slug}/share-link",
        web::post().to(create_share_link),
    )
    .route(
        "/shared/integrations/{slug}/openapi.json",
        web::get().to(shared_document),
    )
    .route("/openapi/triggers.json", web::get().to(triggers_document));
}

/// Scheme and host consumers call: `public_url` if set, else the request's own.
fn base_url(state: &AppState, req: &HttpRequest) -> String {
    let configured = state.cfg.public_url.trim().trim_end_matches('/');
    if !configured.is_empty() {
        return configured.to_owned();
    }
    request_origin(req)
}

/// The scheme and host the request came to.
fn request_origin(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

fn json_document(doc: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-cache"))
        .json(doc)
}

/// A trigger's endpoint docs
///
/// An OpenAPI 3.1 document of the published trigger: URL, methods, authentication, query
/// parameters, content types, the body's schema from the trigger's sample, the answers the
/// flow can give. No credential or secret is named in it.
#[utoipa::path(
    get,
    path = "/api/v1/integrations/{slug}/openapi.json",
    tag = "docs",
    params(("slug" = String, Path, description = "The integration")),
    responses(
        (status = 200, description = "The OpenAPI document", body = Object),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 404, description = "No such integration (`not_found`)", body = ErrorBody),
        (status = 409, description = "Never published (`not_published`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn integration_document(
    state: State,
    _user: CurrentUser,
    req: HttpRequest,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let base = base_url(&state, &req);
    Ok(json_document(docs::for_slug(&state, &slug, &base).await?))
}

/// Every published trigger's endpoint docs
///
/// One OpenAPI 3.1 document with every published, enabled trigger (a tag per integration).
#[utoipa::path(
    get,
    path = "/api/v1/openapi/triggers.json",
    tag = "docs",
    responses(
        (status = 200, description = "The OpenAPI document", body = Object),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn triggers_document(
    state: State,
    _user: CurrentUser,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let base = base_url(&state, &req);
    Ok(json_document(docs::for_all(&state, &base).await?))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct ShareLinkOut {
    /// The shared docs page; anyone with it can read the docs.
    url: String,
}

/// A link to share a trigger's docs
///
/// A page on this server that anyone with the link can read, without an account. The link
/// stays valid while the integration exists.
#[utoipa::path(
    post,
    path = "/api/v1/integrations/{slug}/share-link",
    tag = "docs",
    params(("slug" = String, Path, description = "The integration")),
    responses(
        (status = 200, description = "The link", body = ShareLinkOut),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the designer role or higher (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such integration (`not_found`)", body = ErrorBody),
        (status = 409, description = "Never published (`not_published`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn create_share_link(
    state: State,
    user: CurrentUser,
    req: HttpRequest,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    let i = crate::domain::integrations::get(&state, &slug).await?;
    if i.version == 0 {
        return Err(crate::error::AppError::NotPublished);
    }
    // The page is the admin UI's; the link is on the admin origin.
    let origin = request_origin(&req);
    let sig = docs::share_sig(&state, &i.id);
    let slug_part = percent_encoding::utf8_percent_encode(&i.slug, SEGMENT);
    Ok(HttpResponse::Ok().json(ShareLinkOut {
        url: format!("{origin}/share/integrations/{slug_part}?sig={sig}"),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SharedQuery {
    /// The signature from the share link.
    #[serde(default)]
    sig: String,
}

/// Shared endpoint docs (no session)
///
/// The document behind a share link. A wrong `sig` is the same `404` as a missing
/// integration.
#[utoipa::path(
    get,
    path = "/api/v1/shared/integrations/{slug}/openapi.json",
    tag = "docs",
    params(("slug" = String, Path, description = "The integration"), SharedQuery),
    responses(
        (status = 200, description = "The OpenAPI document", body = Object),
        (status = 404, description = "No such integration, or a wrong `sig` (`not_found`)", body = ErrorBody),
    )
)]
async fn shared_document(
    state: State,
    req: HttpRequest,
    slug: web::Path<String>,
    q: web::Query<SharedQuery>,
) -> AppResult<HttpResponse> {
    let base = base_url(&state, &req);
    Ok(json_document(
        docs::shared(&state, &slug, &q.sig, &base).await?,
    ))
}
