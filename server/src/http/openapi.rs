//! `GET /api/v1/openapi.json`: the admin API's OpenAPI 3.1 document, generated from the
//! handlers' `#[utoipa::path]` annotations and the wire types' schemas (`server/api`, feature
//! `openapi`), built once and served from memory.
//!
//! The files of `http::admin` are private to that module, so this file cannot name their
//! handlers. Each of them implements [`utoipa::OpenApi`] for its marker type here instead
//! ([`Auth`], [`Keys`], ...: its operations and the schemas they use), and [`document`] merges
//! the parts. A file without its part does not compile.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::Digest as _;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::http::session::SESSION_COOKIE;

/// The security scheme of the session token sent as `Authorization: Bearer <token>`.
pub const SESSION_TOKEN: &str = "session_token";
/// The security scheme of the session cookie the UI uses.
pub const SESSION_COOKIE_SCHEME: &str = "session_cookie";
/// The security scheme of an OAuth client's credentials by HTTP Basic (`POST /oauth/token`).
pub const CLIENT_BASIC: &str = "client_basic";

/// `/api/v1/auth` (implemented in `http/admin/auth.rs`).
pub struct Auth;
/// `/api/v1/keys` (`http/admin/keys.rs`).
pub struct Keys;
/// `/api/v1/oauth-clients` (`http/admin/oauth_clients.rs`).
pub struct OauthClients;
/// `/api/v1/integrations` (`http/admin/integrations.rs`).
pub struct Integrations;
/// `/api/v1/executions` and bulk replays (`http/admin/executions.rs`).
pub struct Executions;
/// `/api/v1/users` (`http/admin/users.rs`).
pub struct Users;
/// `/api/v1/subscriptions`, `/deliveries`, `/events` (`http/admin/subscriptions.rs`).
pub struct Subscriptions;
/// `/api/v1/secrets` (`http/admin/secrets.rs`).
pub struct Secrets;
/// Generated endpoint docs and share links (`http/admin/docs.rs`).
pub struct Docs;
/// `/api/v1/stats` (`http/admin/stats.rs`).
pub struct Stats;
/// Shadow replay (`http/admin/shadow.rs`).
pub struct Shadow;
/// `/api/v1/tables`: the data store (`http/admin/tables.rs`).
pub struct Tables;

const DESCRIPTION: &str = "The admin API of Flowgate: integrations (a trigger and a flow), \
their drafts, versions and test runs; executions and replays; API keys, OAuth clients, stored \
secrets, users; event subscriptions and their deliveries. Prose and examples: docs/api.md.\n\n\
Sign in with `POST /api/v1/auth/login`; send the token as `Authorization: Bearer <token>` \
(or the `flowgate_session` cookie the answer sets). Request bodies are JSON \
(`application/json`, at most 4 MiB).\n\n\
Every 4xx/5xx answer carries the `ErrorBody` shape `{\"error\": {\"code\", \"message\", ...}}`, \
`code` stable and machine-readable. Besides the answers each operation lists, any request may \
get `431 headers_too_large` (headers over 16 KiB in all) and `500 internal`; 409 and 503 \
answers carry `Retry-After`.\n\n\
Within `/api/v1` fields are only ever added, never renamed or removed.";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Flowgate admin API",
        version = env!("CARGO_PKG_VERSION"),
        description = DESCRIPTION,
    ),
    servers((url = "/", description = "this server")),
    paths(admin_document, healthz, readyz, super::oauth::token),
    components(schemas(
        // The dashboard's (`GET /api/v1/stats/overview`), listed so that they are in the
        // document whatever documents that route.
        flowgate_api::OverviewOut,
        flowgate_api::IntegrationSeries,
        flowgate_api::Series,
        flowgate_api::Bucket,
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Sign in and out; who is signed in."),
        (name = "users", description = "Accounts and roles (admins only)."),
        (name = "keys", description = "Consumers' API keys (the secret is shown once)."),
        (name = "oauth-clients", description = "OAuth2 clients of triggers (client credentials)."),
        (
            name = "oauth",
            description = "The OAuth2 token endpoint for trigger callers (RFC 6749 §4.4); errors in \
                           the RFC's shape."
        ),
        (
            name = "tables",
            description = "The data store: tables of JSON records that flows write (`store`) and \
                           read (`lookup`)."
        ),
        (
            name = "secrets",
            description = "Stored secrets that flows use by name (values are never returned)."
        ),
        (
            name = "integrations",
            description = "Integration documents, versions, drafts, publishing, validation and test \
                           runs."
        ),
        (
            name = "executions",
            description = "The record of every consumer call; replays and skips."
        ),
        (
            name = "subscriptions",
            description = "Event subscriptions (outbound webhooks), their deliveries, and test \
                           events."
        ),
        (name = "docs", description = "Generated endpoint docs of triggers (OpenAPI) and share links."),
        (name = "stats", description = "The dashboard's figures."),
        (name = "probes", description = "Health and readiness, for load balancers (no session)."),
        (name = "openapi", description = "This document."),
    )
)]
struct Base;

/// The security schemes the operations refer to.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SESSION_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The `token` of `POST /api/v1/auth/login`, as \
                         `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION_COOKIE_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The HttpOnly session cookie `POST /api/v1/auth/login` sets (the web UI's).",
            ))),
        );
        components.add_security_scheme(
            CLIENT_BASIC,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "An OAuth client's `client_id:client_secret` (each URL-encoded), \
                         RFC 6749 §2.3.1.",
                    ))
                    .build(),
            ),
        );
    }
}

/// An optional JSON body (`request_body = Option<T>`, the endpoints that read their body with
/// `http::extract::optional_json`) is described by utoipa as `T` or `null`. The server takes no
/// body or `T`; a JSON `null` is refused. So its schema becomes `T`, the body staying
/// `required: false`. (Runs after the parts are merged: see [`document`].)
struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Schema, SchemaType, Type};
        use utoipa::openapi::RefOr;
        let null = SchemaType::Type(Type::Null);
        let is_null =
            |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == null);
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                let Some(RefOr::T(body)) = op.request_body.as_mut() else {
                    continue;
                };
                if body.required.is_some() {
                    continue;
                }
                for content in body.content.values_mut() {
                    let RefOr::T(content) = content else { continue };
                    let Some(RefOr::T(Schema::OneOf(one_of))) = content.schema.as_ref() else {
                        continue;
                    };
                    if let [only, other] = one_of.items.as_slice() {
                        if is_null(other) {
                            content.schema = Some(only.clone());
                        }
                    }
                }
            }
        }
    }
}

/// The whole document: the base above and every admin file's part.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi()
        .merge_from(Auth::openapi())
        .merge_from(Users::openapi())
        .merge_from(Keys::openapi())
        .merge_from(OauthClients::openapi())
        .merge_from(Secrets::openapi())
        .merge_from(Integrations::openapi())
        .merge_from(Executions::openapi())
        .merge_from(Subscriptions::openapi())
        .merge_from(Docs::openapi())
        .merge_from(Stats::openapi())
        .merge_from(Shadow::openapi())
        .merge_from(Tables::openapi());
    // `modifiers` of `Base` saw only its own operations.
    OptionalBodies.modify(&mut doc);
    doc
}

/// The document as served, with its entity tag.
struct Served {
    json: web::Bytes,
    etag: String,
}

static SERVED: OnceLock<Option<Served>> = OnceLock::new();

fn served() -> Option<&'static Served> {
    SERVED
        .get_or_init(|| match document().to_json() {
            Ok(json) => {
                let digest = sha2::Sha256::digest(json.as_bytes());
                let etag = format!("\"{}\"", hex::encode(digest.get(..12).unwrap_or_default()));
                Some(Served {
                    json: web::Bytes::from(json),
                    etag,
                })
            }
            Err(e) => {
                tracing::error!(error = %e, "the OpenAPI document does not serialise");
                None
            }
        })
        .as_ref()
}

/// The OpenAPI document of the admin API
///
/// Generated from the server's code; the same for every request to one server binary.
/// Revalidate with `If-None-Match` (the answer is `no-cache` with an `ETag`).
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "openapi",
    operation_id = "openapi_document",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json",
         body = serde_json::Value,
         headers(("ETag" = String, description = "Changes when the document does"))),
        (status = 304, description = "The copy the client holds (`If-None-Match`) is current"),
        (status = 500, description = "The document could not be built (logged)",
         body = flowgate_api::ErrorBody),
    )
)]
pub async fn admin_document(req: HttpRequest) -> HttpResponse {
    let Some(doc) = served() else {
        return actix_web::ResponseError::error_response(&crate::error::AppError::Internal(
            anyhow::anyhow!("the OpenAPI document could not be built"),
        ));
    };
    let current = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == doc.etag || t.trim() == "*")
        });
    let mut answer = if current {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    answer
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ETAG, doc.etag.clone()));
    if current {
        return answer.finish();
    }
    answer
        .content_type(header::ContentType::json())
        .body(doc.json.clone())
}

// `/healthz` and `/readyz` are served by `http::health` and `http::ready`; this file cannot
// name those (`http/mod.rs` names this file: `scripts/check-layers` refuses the cycle), so
// their operations are described here.

/// Liveness: the server and its database are up
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "probes",
    operation_id = "health",
    responses(
        (status = 200, description = "Up", body = serde_json::Value,
         example = json!({"status": "ok"})),
        (status = 503, description = "The database does not answer", body = serde_json::Value,
         example = json!({"status": "database unavailable"})),
    )
)]
#[expect(
    dead_code,
    reason = "documentation only: `http::health` serves /healthz"
)]
async fn healthz() {}

/// Readiness: ready to take calls
///
/// The database answers, its schema is this binary's, the workers and the heartbeat run, and
/// the server is not stopping; `503` names what is not.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "probes",
    operation_id = "ready",
    responses(
        (status = 200, description = "Ready", body = serde_json::Value,
         example = json!({"status": "ready", "checks": {"database": "ok", "migrations": "current",
             "workers": "running", "heartbeat": "fresh", "shutting_down": false}})),
        (status = 503, description = "Not ready; `checks` says why", body = serde_json::Value,
         example = json!({"status": "not ready", "checks": {"database": "ok",
             "migrations": "2 pending", "workers": "running", "heartbeat": "fresh",
             "shutting_down": false}})),
    )
)]
#[expect(dead_code, reason = "documentation only: `http::ready` serves /readyz")]
async fn readyz() {}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn json() -> serde_json::Value {
        serde_json::from_slice(&served().unwrap().json).unwrap()
    }

    /// `"METHOD /path"` of every operation in the document.
    fn documented(doc: &serde_json::Value) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                out.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
        out
    }

    /// Files of `http/admin` whose routes this document does not describe yet: the
    /// dashboard's, the generated endpoint docs' and shadow replays' (written at the same time
    /// as this file). Take a file out of this list once its handlers have `#[utoipa::path]`
    /// and a part here.
    const NOT_YET_DOCUMENTED: &[&str] = &[];

    /// `"METHOD /api/v1/path"` of every `.route("/path", web::method()...)` in a file of
    /// `http/admin`: the routes as each file registers them.
    fn registered_admin_routes() -> BTreeSet<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/admin");
        let mut out = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".rs") || NOT_YET_DOCUMENTED.contains(&name.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, _) in text.match_indices(".route(") {
                let rest = text[at + ".route(".len()..].trim_start();
                let Some(rest) = rest.strip_prefix('"') else {
                    panic!("{}: a route whose path is not a literal", path.display());
                };
                let (route, rest) = rest.split_once('"').unwrap();
                let rest = rest.trim_start().strip_prefix(',').unwrap().trim_start();
                let method = rest
                    .strip_prefix("web::")
                    .unwrap()
                    .split('(')
                    .next()
                    .unwrap();
                out.insert(format!("{} /api/v1{route}", method.to_uppercase()));
            }
        }
        out
    }

    #[test]
    fn the_document_is_openapi_3_1_with_info_and_servers() {
        let doc = json();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"]["title"], "Flowgate admin API");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(doc["servers"][0]["url"], "/");
        for scheme in [SESSION_TOKEN, SESSION_COOKIE_SCHEME, CLIENT_BASIC] {
            assert!(
                doc["components"]["securitySchemes"][scheme].is_object(),
                "{scheme}"
            );
        }
    }

    #[test]
    fn every_route_is_documented_and_every_operation_is_a_route() {
        let mut expected = registered_admin_routes();
        assert!(expected.len() > 40, "{expected:?}");
        // Outside `http/admin`: `http/oauth.rs`, and in `http/mod.rs` the probes and this
        // document.
        for extra in [
            "POST /oauth/token",
            "GET /healthz",
            "GET /readyz",
            "GET /api/v1/openapi.json",
        ] {
            expected.insert(extra.to_owned());
        }
        let doc = json();
        let documented = documented(&doc);
        let missing: Vec<_> = expected.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&expected).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "routes without an operation (add `#[utoipa::path]` to the handler and list it in \
             its file's `impl utoipa::OpenApi for openapi::...`): {missing:?}; operations of \
             no route: {unknown:?}"
        );
    }

    #[test]
    fn operations_declare_security_tags_and_answers() {
        let doc = json();
        let public = [
            "POST /api/v1/auth/login",
            "POST /oauth/token",
            "GET /healthz",
            "GET /readyz",
            "GET /api/v1/openapi.json",
            "GET /api/v1/shared/integrations/{slug}/openapi.json",
        ];
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let name = format!("{} {path}", method.to_uppercase());
                assert!(
                    ids.insert(op["operationId"].to_string()),
                    "{name}: operationId"
                );
                assert_eq!(
                    op["tags"].as_array().map(Vec::len),
                    Some(1),
                    "{name}: one tag"
                );
                let answers = op["responses"].as_object().unwrap();
                assert!(answers.keys().any(|s| s.starts_with('2')), "{name}: no 2xx");
                let security = op["security"].as_array();
                if public.contains(&name.as_str()) {
                    continue;
                }
                let schemes: Vec<_> = security
                    .unwrap_or_else(|| panic!("{name}: no security"))
                    .iter()
                    .flat_map(|r| r.as_object().unwrap().keys().cloned())
                    .collect();
                assert_eq!(
                    schemes,
                    [SESSION_TOKEN, SESSION_COOKIE_SCHEME],
                    "{name}: the session, by token or cookie"
                );
                assert!(answers.contains_key("401"), "{name}: no 401");
            }
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = json();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                        out.push(r.clone());
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        refs(&doc, &mut found);
        for r in found {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            assert!(schemas.contains_key(name), "{r}");
        }
        for t in [
            "ErrorBody",
            "OverviewOut",
            "IntegrationDoc",
            "SubscriptionSecretOut",
        ] {
            assert!(schemas.contains_key(t), "{t}");
        }
    }
}
