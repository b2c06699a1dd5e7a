//! Admin API handlers of subscriptions, events and deliveries (registered by `http::admin`).
//! Writes need the admin role (publishing a test event: designer); any user may read.

use actix_web::{web, HttpResponse};
use flowgate_api::subscriptions::{
    DeliveryOut, EventIn, EventOut, RedeliverIn, RedeliverOut, RotateSecretIn, SecretOut,
    SubscriptionCreatedOut, SubscriptionIn, SubscriptionOut, SubscriptionPatch,
};
use flowgate_api::{ErrorBody, Page};
use serde::Deserialize;

use crate::domain::subscriptions::{self as admin, DeliveriesQuery};
use crate::domain::users::{CurrentUser, Role};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

type State = web::Data<AppState>;

/// This file's part of the OpenAPI document (`http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    create,
    get,
    patch,
    delete,
    rotate_secret,
    list_deliveries,
    redeliver_since,
    get_delivery,
    redeliver,
    publish
))]
struct Doc;

impl utoipa::OpenApi for crate::http::openapi::Subscriptions {
    fn openapi() -> utoipa::openapi::OpenApi {
        Doc::openapi()
    }
}

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

/// List the subscriptions
///
/// Never their secrets.
#[utoipa::path(
    get,
    path = "/api/v1/subscriptions",
    tag = "subscriptions",
    operation_id = "list_subscriptions",
    responses(
        (status = 200, description = "Every subscription", body = Page<SubscriptionOut>),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn list(state: State, _user: CurrentUser) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Page {
        items: admin::list(&state).await?,
        next_cursor: None,
    }))
}

/// Create a subscription
///
/// The answer holds the signing secret: it is shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/subscriptions",
    tag = "subscriptions",
    operation_id = "create_subscription",
    request_body = SubscriptionIn,
    responses(
        (status = 201, description = "Created, with its secret", body = SubscriptionCreatedOut),
        (status = 400, description = "A bad or non-public URL, pattern, header, description or \
         rate limit, or not a subscription (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn create(
    state: State,
    user: CurrentUser,
    body: web::Json<SubscriptionIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Created().json(admin::create(&state, body.into_inner()).await?))
}

/// Get a subscription
#[utoipa::path(
    get,
    path = "/api/v1/subscriptions/{id}",
    tag = "subscriptions",
    operation_id = "get_subscription",
    params(("id" = String, Path, description = "The subscription's id")),
    responses(
        (status = 200, description = "The subscription", body = SubscriptionOut),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 404, description = "No subscription with this id (`not_found`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn get(state: State, _user: CurrentUser, id: web::Path<String>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(admin::get(&state, &id).await?))
}

/// Change a subscription
///
/// Only the fields given change; enabling clears `disabled_reason`; a header value sent as
/// `[redacted]` keeps the current one.
#[utoipa::path(
    patch,
    path = "/api/v1/subscriptions/{id}",
    tag = "subscriptions",
    operation_id = "patch_subscription",
    params(("id" = String, Path, description = "The subscription's id")),
    request_body = SubscriptionPatch,
    responses(
        (status = 200, description = "Changed", body = SubscriptionOut),
        (status = 400, description = "A bad field, or an unknown one (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No subscription with this id (`not_found`)",
         body = ErrorBody),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn patch(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Json<SubscriptionPatch>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Ok().json(admin::patch(&state, &id, body.into_inner()).await?))
}

/// Delete a subscription
///
/// With its deliveries and their attempts.
#[utoipa::path(
    delete,
    path = "/api/v1/subscriptions/{id}",
    tag = "subscriptions",
    operation_id = "delete_subscription",
    params(("id" = String, Path, description = "The subscription's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No subscription with this id (`not_found`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn delete(state: State, user: CurrentUser, id: web::Path<String>) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    admin::delete(&state, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate a subscription's signing secret
///
/// The new secret is shown this once; until `previous_secret_expires_at` deliveries are signed with
/// both.
#[utoipa::path(
    post,
    path = "/api/v1/subscriptions/{id}/rotate-secret",
    tag = "subscriptions",
    operation_id = "rotate_subscription_secret",
    params(("id" = String, Path, description = "The subscription's id")),
    request_body(
        content = Option<RotateSecretIn>,
        description = "Optional",
        content_type = "application/json"
    ),
    responses(
        (status = 200, description = "Rotated, with the new secret", body = SecretOut),
        (status = 400, description = "Bad JSON or an overlap over 30 days (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No subscription with this id (`not_found`)",
         body = ErrorBody),
        (status = 413, description = "The body is over 256 KiB (a plain-text answer)",
         content_type = "text/plain", body = String),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DeliveriesParams {
    /// Only deliveries in this status: `pending`, `delivering`, `succeeded` or `failed`.
    status: Option<String>,
    /// Only deliveries of this event type.
    event_type: Option<String>,
    /// At most this many (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
    /// The `next_cursor` of the page before.
    #[param(format = "uuid")]
    cursor: Option<String>,
}

/// List a subscription's deliveries
///
/// Newest first, without bodies and attempts; pass `next_cursor` back as `cursor` for the next
/// page.
#[utoipa::path(
    get,
    path = "/api/v1/subscriptions/{id}/deliveries",
    tag = "subscriptions",
    params(("id" = String, Path, description = "The subscription's id"), DeliveriesParams),
    responses(
        (status = 200, description = "A page of deliveries", body = Page<DeliveryOut>),
        (status = 400, description = "A bad status, limit or cursor, or an unknown parameter \
         (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 404, description = "No subscription with this id (`not_found`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
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

/// Get a delivery
///
/// With the body sent and every attempt.
#[utoipa::path(
    get,
    path = "/api/v1/deliveries/{id}",
    tag = "subscriptions",
    params(("id" = String, Path, description = "The delivery's id")),
    responses(
        (status = 200, description = "The delivery", body = DeliveryOut),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 404, description = "No delivery with this id (`not_found`)", body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn get_delivery(
    state: State,
    _user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(admin::get_delivery(&state, &id).await?))
}

/// Send a delivery again
///
/// A finished one is queued again at once, same `webhook-id`, its schedule starting over.
#[utoipa::path(
    post,
    path = "/api/v1/deliveries/{id}/redeliver",
    tag = "subscriptions",
    operation_id = "redeliver_delivery",
    params(("id" = String, Path, description = "The delivery's id")),
    responses(
        (status = 202, description = "Queued again", body = DeliveryOut),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No delivery with this id (`not_found`)", body = ErrorBody),
        (status = 409, description = "The delivery is pending or delivering (`conflict`)",
         body = ErrorBody,
         headers(("Retry-After" = String, description = "Seconds to wait"))),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
async fn redeliver(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Accepted().json(admin::redeliver(&state, &id).await?))
}

/// Send a subscription's failed deliveries again
///
/// Every `failed` delivery created since `since`.
#[utoipa::path(
    post,
    path = "/api/v1/subscriptions/{id}/redeliver",
    tag = "subscriptions",
    params(("id" = String, Path, description = "The subscription's id")),
    request_body = RedeliverIn,
    responses(
        (status = 202, description = "Queued again", body = RedeliverOut),
        (status = 400, description = "A bad time, or not a redelivery (`bad_request`)",
         body = ErrorBody),
        (status = 401, description = "No valid session (`unauthorized`)", body = ErrorBody),
        (status = 403, description = "Needs the admin role (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No subscription with this id (`not_found`)",
         body = ErrorBody),
        (status = 413, description = "The body is over 4 MiB (`payload_too_large`)",
         body = ErrorBody),
        (status = 415, description = "The body is not `application/json` \
         (`unsupported_media_type`)",
         body = ErrorBody),
    ),
    security(("session_token" = []), ("session_cookie" = []))
)]
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

/// Publish a test event
///
/// To every enabled subscription whose patterns match; the deliveries are written before the
/// answer.
#[utoipa::path(
    post,
    path = "/api/v1/events",
    tag = "subscriptions",
    operation_id = "publish_event",
    request_body = EventIn,
    responses(
        (status = 202, description = "Published", body = EventOut),
        (status = 400, description = "A bad event type or a payload over 256 KiB, or not an event \
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
async fn publish(
    state: State,
    user: CurrentUser,
    body: web::Json<EventIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Designer)?;
    Ok(HttpResponse::Accepted().json(admin::publish(&state, body.into_inner()).await?))
}
