//! Generated endpoint docs: the OpenAPI document of a trigger, of all triggers, and the
//! share link a consumer can read them through without an account.

use actix_web::{web, HttpRequest, HttpResponse};
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
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

fn json_document(doc: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-cache"))
        .json(doc)
}

async fn integration_document(
    state: State,
    _user: CurrentUser,
    req: HttpRequest,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let base = base_url(&state, &req);
    Ok(json_document(docs::for_slug(&state, &slug, &base).await?))
}

async fn triggers_document(
    state: State,
    _user: CurrentUser,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let base = base_url(&state, &req);
    Ok(json_document(docs::for_all(&state, &base).await?))
}

#[derive(serde::Serialize)]
struct ShareLinkOut {
    url: String,
}

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
    let info = req.connection_info();
    let origin = format!("{}://{}", info.scheme(), info.host());
    let sig = docs::share_sig(&state, &i.id);
    let slug_part = percent_encoding::utf8_percent_encode(&i.slug, SEGMENT);
    Ok(HttpResponse::Ok().json(ShareLinkOut {
        url: format!("{origin}/share/integrations/{slug_part}?sig={sig}"),
    }))
}

#[derive(Deserialize)]
struct SharedQuery {
    #[serde(default)]
    sig: String,
}

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
