//! What the admin API does with subscriptions, test events and deliveries.

use std::collections::BTreeMap;

use flowgate_api::subscriptions::{pattern_problem, DELIVERY_STATUSES, RESERVED_HEADERS};
use flowgate_api::subscriptions::{
    AttemptOut, DeliveryOut, EventIn, EventOut, RedeliverIn, RedeliverOut, RotateSecretIn,
    SecretOut, SubscriptionCreatedOut, SubscriptionIn, SubscriptionOut, SubscriptionPatch,
};
use flowgate_api::Page;
use flows_runtime::event_type_problem;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, QueryOrder};

use crate::core::notice::Notice;
use crate::core::webhooks::{body_of, deliveries_for, generate_secret, seal_secret};
use crate::db::entities::{attempt, delivery, subscription};
use crate::db::subscriptions as q;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::support::crypto::{open, seal, ServerSecret};
use crate::support::ids::{new_event_id, new_id};
use crate::support::time::{now_us, parse_rfc3339, rfc3339, rfc3339_opt};

/// Largest test event payload, in bytes of JSON.
const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
fn bad(msg: impl Into<String>) -> AppError {
    AppError::BadRequest(msg.into())
}

async fn check_url(state: &AppState, url: &str) -> AppResult<String> {
    let url = url.trim();
    let parsed = reqwest::Url::parse(url).map_err(|_| bad("url must be an http(s) URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad("url must be an http(s) URL with a host"));
    }
    if url.len() > 2048 {
        return Err(bad("url must be at most 2048 characters"));
    }
    state
        .guard
        .check_reachable(&parsed)
        .await
        .map_err(|why| bad(format!("url: {why}")))?;
    Ok(url.to_owned())
}

fn check_patterns(patterns: &[String]) -> AppResult<Vec<String>> {
    if patterns.is_empty() || patterns.len() > 100 {
        return Err(bad("event_types must list 1 to 100 patterns"));
    }
    let mut out: Vec<String> = Vec::new();
    for p in patterns {
        let p = p.trim();
        if let Some(problem) = pattern_problem(p) {
            return Err(bad(problem));
        }
        if !out.iter().any(|x| x == p) {
            out.push(p.to_owned());
        }
    }
    Ok(out)
}

fn check_headers(h: &BTreeMap<String, String>) -> AppResult<BTreeMap<String, String>> {
    if h.len() > 32 {
        return Err(bad("at most 32 custom headers"));
    }
    let mut out = BTreeMap::new();
    for (name, value) in h {
        let lower = name.trim().to_ascii_lowercase();
        if reqwest::header::HeaderName::from_bytes(lower.as_bytes()).is_err() {
            return Err(bad(format!("`{name}` is not a valid header name")));
        }
        if RESERVED_HEADERS.contains(&lower.as_str()) {
            return Err(bad(format!("header `{lower}` is set by Flowgate")));
        }
        if value.len() > 4096 || reqwest::header::HeaderValue::from_str(value).is_err() {
            return Err(bad(format!("the value of header `{lower}` is not valid")));
        }
        out.insert(lower, value.clone());
    }
    Ok(out)
}

fn check_description(d: &str) -> AppResult<String> {
    if d.len() > 1000 {
        return Err(bad("description must be at most 1000 characters"));
    }
    Ok(d.trim().to_owned())
}

fn rate(r: Option<u32>) -> AppResult<Option<i32>> {
    match r {
        None | Some(0) => Ok(None),
        Some(n) if n <= 10_000 => Ok(i32::try_from(n).ok()),
        Some(_) => Err(bad("rate_limit must be at most 10000 per second")),
    }
}

/// Custom header values are secrets: each is sealed (bound to the subscription and the
/// header's name), the names stay readable.
fn seal_headers(
    state: &AppState,
    id: &str,
    headers: &BTreeMap<String, String>,
) -> AppResult<String> {
    let mut sealed = BTreeMap::new();
    for (k, v) in headers {
        sealed.insert(
            k.clone(),
            seal(&state.secret, &format!("subscription-header:{id}:{k}"), v)?,
        );
    }
    Ok(serde_json::to_string(&sealed).map_err(anyhow::Error::from)?)
}

/// The custom headers of a subscription, opened (values stored before sealing are used as
/// they are; one that cannot be opened is left out).
pub fn open_headers(server: &ServerSecret, id: &str, stored: &str) -> BTreeMap<String, String> {
    let raw: BTreeMap<String, String> = serde_json::from_str(stored).unwrap_or_default();
    raw.into_iter()
        .filter_map(|(k, v)| {
            if v.starts_with("v1:") {
                let opened = open(server, &format!("subscription-header:{id}:{k}"), &v)?;
                Some((k, opened))
            } else {
                Some((k, v))
            }
        })
        .collect()
}

pub fn to_out(m: subscription::Model, now: i64) -> SubscriptionOut {
    let previous_open = m.previous_secret_until.filter(|u| *u > now);
    let names: BTreeMap<String, String> = serde_json::from_str(&m.headers).unwrap_or_default();
    SubscriptionOut {
        event_types: serde_json::from_str(&m.event_types).unwrap_or_default(),
        // Values are never shown after they are set.
        headers: names
            .into_keys()
            .map(|k| (k, flowgate_api::REDACTED.to_owned()))
            .collect(),
        id: m.id,
        url: m.url,
        description: m.description,
        enabled: m.enabled,
        disabled_reason: m.disabled_reason,
        rate_limit: m.rate_limit.and_then(|r| u32::try_from(r).ok()),
        ordered: m.ordered,
        previous_secret_expires_at: rfc3339_opt(previous_open),
        failing_since: rfc3339_opt(m.failing_since),
        last_success_at: rfc3339_opt(m.last_success_at),
        created_at: rfc3339(m.created_at),
        updated_at: rfc3339(m.updated_at),
    }
}

async fn find(state: &AppState, id: &str) -> AppResult<subscription::Model> {
    subscription::Entity::find_by_id(id.to_owned())
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("subscription"))
}

pub async fn create(state: &AppState, input: SubscriptionIn) -> AppResult<SubscriptionCreatedOut> {
    let url = check_url(state, &input.url).await?;
    let patterns = check_patterns(&input.event_types)?;
    let headers = check_headers(&input.headers)?;
    let description = check_description(&input.description)?;
    let rate_limit = rate(input.rate_limit)?;
    let secret = generate_secret();
    let now = now_us();
    let id = new_id();
    let sealed = seal_secret(&state.secret, &id, &secret)?;
    let sealed_headers = seal_headers(state, &id, &headers)?;
    let model = subscription::ActiveModel {
        id: Set(id),
        url: Set(url),
        event_types: Set(serde_json::to_string(&patterns).map_err(anyhow::Error::from)?),
        description: Set(description),
        enabled: Set(input.enabled),
        disabled_reason: Set(None),
        headers: Set(sealed_headers),
        rate_limit: Set(rate_limit),
        ordered: Set(input.ordered),
        secret: Set(sealed),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        failing_since: Set(None),
        last_success_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&state.db)
    .await?;
    changed(state).await?;
    tracing::info!(subscription_id = %model.id, "subscription created");
    Ok(SubscriptionCreatedOut {
        subscription: to_out(model, now),
        secret,
    })
}

pub async fn list(state: &AppState) -> AppResult<Vec<SubscriptionOut>> {
    let now = now_us();
    let subs = subscription::Entity::find()
        .order_by_asc(subscription::Column::Id)
        .all(&state.db)
        .await?;
    Ok(subs.into_iter().map(|m| to_out(m, now)).collect())
}

pub async fn get(state: &AppState, id: &str) -> AppResult<SubscriptionOut> {
    Ok(to_out(find(state, id).await?, now_us()))
}

pub async fn patch(state: &AppState, id: &str, p: SubscriptionPatch) -> AppResult<SubscriptionOut> {
    let m = find(state, id).await?;
    let current_headers = open_headers(&state.secret, &m.id, &m.headers);
    let mut am: subscription::ActiveModel = m.into();
    if let Some(url) = &p.url {
        am.url = Set(check_url(state, url).await?);
    }
    if let Some(t) = &p.event_types {
        am.event_types =
            Set(serde_json::to_string(&check_patterns(t)?).map_err(anyhow::Error::from)?);
    }
    if let Some(d) = &p.description {
        am.description = Set(check_description(d)?);
    }
    if let Some(h) = &p.headers {
        // A value sent back as `[redacted]` (as the API shows it) keeps the current one.
        let mut next = check_headers(h)?;
        for (k, v) in next.iter_mut() {
            if v == flowgate_api::REDACTED {
                match current_headers.get(k) {
                    Some(cur) => *v = cur.clone(),
                    None => return Err(bad(format!("header `{k}`: give its value"))),
                }
            }
        }
        am.headers = Set(seal_headers(state, id, &next)?);
    }
    if p.rate_limit.is_some() {
        am.rate_limit = Set(rate(p.rate_limit)?);
    }
    if let Some(o) = p.ordered {
        am.ordered = Set(o);
    }
    if let Some(e) = p.enabled {
        am.enabled = Set(e);
        if e {
            am.disabled_reason = Set(None);
            am.failing_since = Set(None);
        }
    }
    let now = now_us();
    am.updated_at = Set(now);
    let m = am.update(&state.db).await?;
    changed(state).await?;
    if m.enabled {
        state.subscriptions.wake();
    }
    Ok(to_out(m, now))
}

pub async fn delete(state: &AppState, id: &str) -> AppResult<()> {
    if !q::delete_subscription(&state.db, id).await? {
        return Err(AppError::NotFound("subscription"));
    }
    changed(state).await?;
    tracing::info!(subscription_id = %id, "subscription deleted");
    Ok(())
}

/// A new secret; the current one keeps signing alongside it for the overlap.
pub async fn rotate_secret(
    state: &AppState,
    id: &str,
    input: RotateSecretIn,
) -> AppResult<SecretOut> {
    let m = find(state, id).await?;
    let overlap = input
        .overlap_secs
        .unwrap_or(state.cfg.subscriptions.rotation_overlap_secs);
    if overlap > 30 * 86_400 {
        return Err(bad("overlap_secs must be at most 30 days"));
    }
    let now = now_us();
    let until = now + i64::try_from(overlap.saturating_mul(1_000_000)).unwrap_or(0);
    let secret = generate_secret();
    let sealed = seal_secret(&state.secret, id, &secret)?;
    let mut am: subscription::ActiveModel = m.clone().into();
    am.previous_secret = Set((overlap > 0).then(|| m.secret.clone()));
    am.previous_secret_until = Set((overlap > 0).then_some(until));
    am.secret = Set(sealed);
    am.updated_at = Set(now);
    am.update(&state.db).await?;
    changed(state).await?;
    tracing::info!(subscription_id = %id, "subscription secret rotated");
    Ok(SecretOut {
        secret,
        previous_secret_expires_at: (overlap > 0).then(|| rfc3339(until)),
    })
}

/// Publishes an event to every enabled subscription that wants it.
pub async fn publish(state: &AppState, input: EventIn) -> AppResult<EventOut> {
    let t = input.event_type.trim().to_owned();
    if let Some(problem) = event_type_problem(&t) {
        return Err(bad(problem));
    }
    let body_len = serde_json::to_string(&input.payload)
        .map(|s| s.len())
        .unwrap_or(0);
    if body_len > MAX_PAYLOAD_BYTES {
        return Err(bad(format!(
            "the payload must be at most {MAX_PAYLOAD_BYTES} bytes of JSON"
        )));
    }
    let now = now_us();
    let id = new_event_id();
    let body = body_of(&t, now, &input.payload);
    // Read before the transaction, so that on SQLite it starts with a write (a read that
    // turns into a write can fail at once when another writer went first). A subscription
    // disabled in between gets a delivery that waits until it is enabled again.
    let subs = q::enabled_entries(&state.db).await?;
    let rows = deliveries_for(&subs, &[(id.clone(), t.clone(), body)], None, now);
    let txn = crate::db::begin_write(&state.db).await?;
    q::insert_deliveries(&txn, &rows).await?;
    if !rows.is_empty() && state.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        crate::db::cluster::notify(&txn, &state.notify_channel, &[Notice::Deliveries.payload()])
            .await?;
    }
    txn.commit().await?;
    if !rows.is_empty() {
        state.subscriptions.wake();
    }
    Ok(EventOut {
        id,
        event_type: t,
        deliveries: u64::try_from(rows.len()).unwrap_or(0),
    })
}

fn delivery_out(m: delivery::Model, attempts: Option<Vec<attempt::Model>>) -> DeliveryOut {
    let full = attempts.is_some();
    DeliveryOut {
        body: full.then(|| serde_json::from_str(&m.body).ok()).flatten(),
        attempt_log: attempts
            .unwrap_or_default()
            .into_iter()
            .map(|a| AttemptOut {
                attempt: a.attempt,
                started_at: rfc3339(a.started_at),
                duration_ms: a.duration_ms,
                url: a.url,
                request_headers: serde_json::from_str(&a.request_headers).unwrap_or_default(),
                response_status: a.response_status.and_then(|s| u16::try_from(s).ok()),
                response_excerpt: a.response_excerpt,
                error: a.error,
            })
            .collect(),
        next_attempt_at: matches!(m.status.as_str(), "pending").then(|| rfc3339(m.next_attempt_at)),
        id: m.id,
        subscription_id: m.subscription_id,
        event_id: m.event_id,
        event_type: m.event_type,
        status: m.status,
        attempts: m.attempts,
        created_at: rfc3339(m.created_at),
        finished_at: rfc3339_opt(m.finished_at),
        last_status: m.last_status.and_then(|s| u16::try_from(s).ok()),
        last_error: m.last_error,
        execution_id: m.execution_id,
    }
}

pub struct DeliveriesQuery {
    pub status: Option<String>,
    pub event_type: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

pub async fn list_deliveries(
    state: &AppState,
    sub_id: &str,
    query: DeliveriesQuery,
) -> AppResult<Page<DeliveryOut>> {
    find(state, sub_id).await?;
    if let Some(s) = &query.status {
        if !DELIVERY_STATUSES.contains(&s.as_str()) {
            return Err(bad(format!(
                "status must be one of {}",
                DELIVERY_STATUSES.join(", ")
            )));
        }
    }
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > 500 {
        return Err(bad("limit must be 1 to 500"));
    }
    if let Some(c) = &query.cursor {
        if uuid::Uuid::parse_str(c).is_err() {
            return Err(bad("cursor is not valid"));
        }
    }
    let mut rows = q::list_deliveries(
        &state.db,
        &q::ListFilter {
            subscription_id: sub_id.to_owned(),
            status: query.status,
            event_type: query.event_type,
            before_id: query.cursor,
            limit: limit + 1,
        },
    )
    .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(50));
    let next_cursor = if more {
        rows.last().map(|r| r.id.clone())
    } else {
        None
    };
    Ok(Page {
        items: rows.into_iter().map(|m| delivery_out(m, None)).collect(),
        next_cursor,
    })
}

pub async fn get_delivery(state: &AppState, id: &str) -> AppResult<DeliveryOut> {
    let m = delivery::Entity::find_by_id(id.to_owned())
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("delivery"))?;
    let attempts = q::attempts_of(&state.db, id).await?;
    Ok(delivery_out(m, Some(attempts)))
}

async fn requeued(state: &AppState, n: u64) {
    if n > 0 {
        state.subscriptions.wake();
        state.announce(Notice::Deliveries).await;
    }
}

/// Sends a finished delivery again (same `webhook-id`), the schedule starting over.
pub async fn redeliver(state: &AppState, id: &str) -> AppResult<DeliveryOut> {
    let n = q::requeue(&state.db, Some(id), None, now_us()).await?;
    if n == 0 {
        let d = get_delivery(state, id).await?;
        return Err(AppError::Conflict(format!(
            "the delivery is still {}; only finished deliveries can be sent again",
            d.status
        )));
    }
    requeued(state, n).await;
    get_delivery(state, id).await
}

/// Sends again every failed delivery of a subscription created since a time.
pub async fn redeliver_since(
    state: &AppState,
    sub_id: &str,
    input: RedeliverIn,
) -> AppResult<RedeliverOut> {
    find(state, sub_id).await?;
    let since = parse_rfc3339(&input.since)
        .ok_or_else(|| bad("since must be an RFC 3339 timestamp like 2026-11-23T08:00:00Z"))?;
    let n = q::requeue(&state.db, None, Some((sub_id, since)), now_us()).await?;
    requeued(state, n).await;
    Ok(RedeliverOut { requeued: n })
}

/// Reloads the snapshot of enabled subscriptions from the database.
pub async fn reload(state: &AppState) -> Result<(), sea_orm::DbErr> {
    let entries = q::enabled_entries(&state.db).await?;
    state.subscriptions.replace(entries);
    Ok(())
}

/// After a change: reload here, and tell the other instances (PostgreSQL).
pub async fn changed(state: &AppState) -> Result<(), sea_orm::DbErr> {
    reload(state).await?;
    state.announce(Notice::Subscriptions).await;
    Ok(())
}
