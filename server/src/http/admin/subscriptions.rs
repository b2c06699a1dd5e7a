//! Admin API handlers of subscriptions, events and deliveries (registered by `http::admin`).
//! Writes need the admin role (publishing a test event: designer); any user may read.

use actix_web::{web, HttpResponse};
use flowgate_api::subscriptions::{
    EventIn, RedeliverIn, RotateSecretIn, SubscriptionIn, SubscriptionPatch,
};
use flowgate_api::Page;
use serde::Deserialize;

use crate::domain::subscriptions::{self as admin, DeliveriesQuery};
use crate::domain::users::{CurrentUser, Role};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

type State = web::Data<AppState>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/subscriptions", web::get().to(list))
        .route("/subscriptions", web::post().to(create))
        .route("/subscriptions/{id}", web::get().to(get))
        .route("/subscriptions/{id}", web::patch().to(patch))
        .route("/subscriptions/{id}", web::delete().to(delete))
        .route(
            "/subscriptions/{id}/rotate-secret",
            web::post().to(rotate_secret),
        )
        .route(
            "/subscriptions/{id}/deliveries",
            web::get().to(list_deliveries),
        )
        .route(
            "/subscriptions/{id}/redeliver",
            web::post().to(redeliver_since),
        )
        .route("/deliveries/{id}", web::get().to(get_delivery))
        .route("/deliveries/{id}/redeliver", web::post().to(redeliver))
        .route("/events", web::post().to(publish));
}

async fn list(state: State, _user: CurrentUser) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Page {
        items: admin::list(&state).await?,
        next_cursor: None,
    }))
}

async fn create(
    state: State,
    user: CurrentUser,
    body: web::Json<SubscriptionIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Created().json(admin::create(&state, body.into_inner()).await?))
}

async fn get(state: State, _user: CurrentUser, id: web::Path<String>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(admin::get(&state, &id).await?))
}

async fn patch(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Json<SubscriptionPatch>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Ok().json(admin::patch(&state, &id, body.into_inner()).await?))
}

async fn delete(state: State, user: CurrentUser, id: web::Path<String>) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    admin::delete(&state, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn rotate_secret(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    let input: RotateSecretIn = if body.iter().all(u8::is_ascii_whitespace) {
        RotateSecretIn::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))?
    };
    Ok(HttpResponse::Ok().json(admin::rotate_secret(&state, &id, input).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveriesParams {
    status: Option<String>,
    event_type: Option<String>,
    limit: Option<u64>,
    cursor: Option<String>,
}

async fn list_deliveries(
    state: State,
    _user: CurrentUser,
    id: web::Path<String>,
    q: web::Query<DeliveriesParams>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let page = admin::list_deliveries(
        &state,
        &id,
        DeliveriesQuery {
            status: q.status,
            event_type: q.event_type,
            limit: q.limit,
            cursor: q.cursor,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn get_delivery(
    state: State,
    _user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(admin::get_delivery(&state, &id).await?))
}

async fn redeliver(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Accepted().json(admin::redeliver(&state, &id).await?))
}

async fn redeliver_since(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Json<RedeliverIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(
        HttpResponse::Accepted()
            .json(admin::redeliver_since(&state, &id, body.into_inner()).await?),
    )
}

async fn publish(
    state: State,
    user: CurrentUser,
    body: web::Json<EventIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    Ok(HttpResponse::Accepted().json(admin::publish(&state, body.into_inner()).await?))
}
