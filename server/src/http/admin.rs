//! The admin API handlers: thin, each calls one domain function.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use flowgate_api::executions::ReplayIn;
use flowgate_api::users::UserIn;
use flowgate_api::{
    IntegrationDoc, IntegrationPatch, KeyIn, LoginIn, Page, PublishIn, TestRunIn, UserPatch,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{session_token, SESSION_COOKIE};
use crate::domain::executions::ListQuery;
use crate::domain::users::{CurrentUser, Role};
use crate::domain::{drafts, executions, integrations, keys, test_runs, users};
use crate::error::AppResult;
use crate::AppState;

type State = web::Data<AppState>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/login", web::post().to(login))
        .route("/auth/logout", web::post().to(logout))
        .route("/auth/me", web::get().to(me))
        .route("/keys", web::get().to(list_keys))
        .route("/keys", web::post().to(create_key))
        .route("/keys/{id}", web::delete().to(revoke_key))
        .route("/integrations", web::get().to(list_integrations))
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
        .route("/integrations/{slug}/test", web::post().to(test_run))
        .route("/executions", web::get().to(list_executions))
        .route("/executions/{id}", web::get().to(get_execution))
        .route("/executions/{id}/replay", web::post().to(replay_execution))
        .route("/executions/{id}/skip", web::post().to(skip_execution))
        .route(
            "/integrations/{slug}/replay",
            web::post().to(replay_integration),
        )
        .route("/users", web::get().to(list_users))
        .route("/users", web::post().to(create_user))
        .route("/users/{id}", web::patch().to(patch_user));
    crate::subscriptions::routes::routes(cfg);
    crate::secrets::routes(cfg);
}

async fn login(state: State, body: web::Json<LoginIn>) -> AppResult<HttpResponse> {
    let out = users::login(&state, &body.email, &body.password).await?;
    let cookie = Cookie::build(SESSION_COOKIE, out.token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.cfg.auth.secure_cookie)
        .max_age(actix_web::cookie::time::Duration::hours(
            i64::try_from(state.cfg.auth.session_ttl_hours).unwrap_or(12),
        ))
        .finish();
    Ok(HttpResponse::Ok().cookie(cookie).json(out))
}

async fn logout(state: State, req: HttpRequest, _user: CurrentUser) -> AppResult<HttpResponse> {
    if let Some(token) = session_token(&req) {
        users::logout(&state, &token).await?;
    }
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

async fn me(state: State, user: CurrentUser) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(users::get(&state, &user.id).await?))
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
    Ok(if saved.created {
        HttpResponse::Created().json(saved.out)
    } else {
        HttpResponse::Ok().json(saved.out)
    })
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
    Ok(if saved.created {
        HttpResponse::Created().json(saved.out)
    } else {
        HttpResponse::Ok().json(saved.out)
    })
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

#[derive(Deserialize)]
struct ExecutionsQuery {
    integration: Option<String>,
    status: Option<String>,
    limit: Option<u64>,
    cursor: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

async fn list_executions(
    state: State,
    _user: CurrentUser,
    q: web::Query<ExecutionsQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let page = executions::list(
        &state,
        ListQuery {
            integration: q.integration,
            status: q.status,
            limit: q.limit,
            cursor: q.cursor,
            from: q.from,
            to: q.to,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn get_execution(
    state: State,
    _user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(executions::get(&state, &id).await?))
}

async fn list_users(state: State, user: CurrentUser) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    let items = users::list(&state).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

async fn create_user(
    state: State,
    user: CurrentUser,
    body: web::Json<UserIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    let created = users::create(&state.db, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(users::to_out(&created)))
}

async fn patch_user(
    state: State,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Json<UserPatch>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    let token = session_token(&req);
    let out = users::patch(&state, &user, &id, body.into_inner(), token.as_deref()).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// An optional JSON body: none (or empty) means the defaults.
fn optional_json<T: DeserializeOwned + Default>(body: &web::Bytes) -> AppResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| crate::error::AppError::BadRequest(format!("invalid JSON body: {e}")))
}

fn replay_input(body: &web::Bytes) -> AppResult<ReplayIn> {
    optional_json(body)
}

async fn replay_execution(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    let out = executions::replay(&state, &id, replay_input(&body)?).await?;
    Ok(HttpResponse::Accepted().json(out))
}

async fn skip_execution(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    Ok(HttpResponse::Ok().json(executions::skip(&state, &id).await?))
}

async fn replay_integration(
    state: State,
    user: CurrentUser,
    slug: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    let out = executions::replay_bulk(&state, &slug, replay_input(&body)?).await?;
    Ok(HttpResponse::Accepted().json(out))
}
