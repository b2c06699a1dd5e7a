//! The delivery worker: claims due deliveries, POSTs them signed (Standard Webhooks), records
//! every attempt and schedules the next one.
//!
//! - Unordered subscriptions: due deliveries are claimed in batches (`FOR UPDATE SKIP LOCKED`
//!   on PostgreSQL) and sent in parallel, up to `subscriptions.concurrency`.
//! - Ordered subscriptions: only the oldest unfinished delivery of each is claimed (a
//!   conditional update of that one row), so they go one at a time in event order and a
//!   failing one holds the rest back until it succeeds or is given up.
//! - A claim is a lease of `timeout + 30 s`; deliveries of an instance that stopped (its row
//!   gone from `instances`) or whose lease ran out are claimed again.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::EntityTrait;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use flowgate_api::REDACTED;

use crate::core::retry::{next_delay_ms, retry_after};
use crate::core::webhooks::{open_secret, sign};
use crate::db::entities::{attempt, subscription};
use crate::db::subscriptions::{self as q, AttemptEnd, Claimed};
use crate::domain::subscriptions;
use crate::outbound::client;
use crate::outbound::guard::Guard;
use crate::state::AppState;
use crate::support::text::opt_without_nul;
use crate::support::time::now_us;

/// Bytes of a response body kept with an attempt.
const EXCERPT_BYTES: usize = 2048;
/// A rate-limited delivery that would wait longer than this is given back instead.
const MAX_RATE_WAIT: Duration = Duration::from_secs(1);

/// Per-subscription rate limits of this instance: the next free slot of each.
#[derive(Default)]
struct Limiter(Mutex<HashMap<String, Instant>>);

impl Limiter {
    /// Reserves a slot: how long to wait for it, or `Err(wait)` when that is too long.
    fn reserve(&self, sub: &str, per_second: i32) -> Result<Duration, Duration> {
        let interval = Duration::from_secs_f64(1.0 / f64::from(per_second.max(1)));
        let mut map = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let now = Instant::now();
        let next = map.entry(sub.to_owned()).or_insert(now);
        let slot = (*next).max(now);
        let wait = slot - now;
        if wait > MAX_RATE_WAIT {
            return Err(wait);
        }
        *next = slot + interval;
        Ok(wait)
    }
}

fn build_client(timeout: Duration, guard: &Guard) -> anyhow::Result<reqwest::Client> {
    Ok(client::builder(
        concat!("Flowgate-Webhooks/", env!("CARGO_PKG_VERSION")),
        guard,
    )
    .timeout(timeout)
    .connect_timeout(timeout.min(Duration::from_secs(10)))
    .redirect(reqwest::redirect::Policy::none())
    .build()?)
}

/// Runs until shutdown; then lets attempts in flight end (a few seconds at most) and gives
/// the rest back.
pub async fn run(state: AppState) {
    let cfg = state.cfg.subscriptions.clone();
    let timeout = Duration::from_millis(cfg.timeout_ms);
    let client = match build_client(timeout, &state.guard) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "building the webhook HTTP client failed; no deliveries");
            return;
        }
    };
    if let Err(e) = subscriptions::reload(&state).await {
        tracing::warn!(error = %e, "loading subscriptions failed");
    }
    let lease = crate::support::time::ms_to_us(cfg.timeout_ms.saturating_add(30_000));
    let permits = Arc::new(Semaphore::new(cfg.concurrency));
    let limiter = Arc::new(Limiter::default());
    let mut running: JoinSet<()> = JoinSet::new();
    let poll = Duration::from_millis(cfg.poll_interval_ms);
    let prune_every = Duration::from_millis(state.cfg.retention.interval_ms);
    let mut next_prune = tokio::time::Instant::now() + prune_every.min(Duration::from_secs(10));
    loop {
        while running.try_join_next().is_some() {}
        if state.shutdown.is_cancelled() {
            break;
        }
        let mut claimed_any = false;
        let free = permits.available_permits();
        if free > 0 && state.may_start_work() {
            let now = now_us();
            let mut claimed = Vec::new();
            match q::claim_heads(&state.db, &state.instance_id, now, now + lease, free).await {
                Ok(c) => claimed.extend(c),
                Err(e) => tracing::warn!(error = %e, "claiming ordered deliveries failed"),
            }
            let left = free.saturating_sub(claimed.len());
            if left > 0 {
                match q::claim_unordered(&state.db, &state.instance_id, now, now + lease, left)
                    .await
                {
                    Ok(c) => claimed.extend(c),
                    Err(e) => tracing::warn!(error = %e, "claiming deliveries failed"),
                }
            }
            claimed_any = !claimed.is_empty();
            for d in claimed {
                let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                    let _ = q::release(&state.db, &d.id, &state.instance_id, now).await;
                    continue;
                };
                let (state, client, limiter) =
                    (state.clone(), client.clone(), Arc::clone(&limiter));
                running.spawn(async move {
                    let _permit = permit;
                    deliver(&state, &client, &limiter, d).await;
                });
            }
        }
        if tokio::time::Instant::now() >= next_prune {
            next_prune = tokio::time::Instant::now() + prune_every;
            prune(&state).await;
        }
        if claimed_any && permits.available_permits() > 0 {
            continue;
        }
        tokio::select! {
            _ = state.shutdown.cancelled() => {}
            _ = state.subscriptions.woken() => {}
            _ = tokio::time::sleep(poll) => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    let grace = tokio::time::sleep(Duration::from_secs(5));
    tokio::pin!(grace);
    while !running.is_empty() {
        tokio::select! {
            _ = &mut grace => break,
            _ = running.join_next() => {}
        }
    }
    running.abort_all();
    while running.join_next().await.is_some() {}
    match q::release_mine(&state.db, &state.instance_id, now_us()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deliveries = n, "gave back deliveries in flight"),
        Err(e) => {
            tracing::warn!(error = %e, "giving back deliveries failed; they are taken over after their lease")
        }
    }
}

async fn prune(state: &AppState) {
    let hours = state.cfg.subscriptions.retention_hours;
    if hours == 0 {
        return;
    }
    let before = now_us() - i64::try_from(hours.saturating_mul(3_600_000_000)).unwrap_or(0);
    let batch = state.cfg.retention.batch;
    loop {
        match q::prune(&state.db, before, batch).await {
            Ok(n) if n >= batch && !state.shutdown.is_cancelled() => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "pruning deliveries failed");
                return;
            }
        }
    }
}

/// What an attempt got back.
struct Response {
    status: Option<u16>,
    retry_after: Option<Duration>,
    excerpt: Option<String>,
    error: Option<String>,
}

/// One attempt of one delivery, start to record.
async fn deliver(state: &AppState, client: &reqwest::Client, limiter: &Limiter, d: Claimed) {
    let me = state.instance_id.as_str();
    let sub = match subscription::Entity::find_by_id(d.subscription_id.clone())
        .one(&state.db)
        .await
    {
        Ok(Some(s)) if s.enabled => s,
        Ok(_) => {
            // Disabled or deleted meanwhile: it waits (or goes with its subscription).
            let _ = q::release(&state.db, &d.id, me, now_us()).await;
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, delivery_id = %d.id, "reading the subscription failed");
            let _ = q::release(&state.db, &d.id, me, now_us() + 1_000_000).await;
            return;
        }
    };
    if let Some(rate) = sub.rate_limit.filter(|r| *r > 0) {
        match limiter.reserve(&sub.id, rate) {
            Ok(wait) => tokio::time::sleep(wait).await,
            Err(wait) => {
                let due = now_us() + i64::try_from(wait.as_micros()).unwrap_or(1_000_000);
                if let Err(e) = q::release(&state.db, &d.id, me, due).await {
                    tracing::warn!(error = %e, delivery_id = %d.id, "giving a delivery back failed");
                }
                return;
            }
        }
    }
    let now = now_us();
    let timestamp = now / 1_000_000;
    let current = open_secret(&state.secret, &sub.id, &sub.secret);
    let mut signatures = vec![current
        .as_deref()
        .and_then(|s| sign(s, &d.event_id, timestamp, &d.body))];
    if let (Some(prev), Some(until)) = (&sub.previous_secret, sub.previous_secret_until) {
        if until > now {
            let prev = open_secret(&state.secret, &sub.id, prev);
            signatures.push(
                prev.as_deref()
                    .and_then(|s| sign(s, &d.event_id, timestamp, &d.body)),
            );
        }
    }
    let signature = signatures
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let custom = subscriptions::open_headers(&state.secret, &sub.id, &sub.headers);
    let mut shown: BTreeMap<String, String> = BTreeMap::new();
    let mut req = client.post(&sub.url);
    for (k, v) in &custom {
        req = req.header(k.as_str(), v.as_str());
        // Custom header values are secrets, like the signing secret.
        shown.insert(k.clone(), REDACTED.to_owned());
    }
    let fixed = [
        ("content-type", "application/json".to_owned()),
        ("webhook-id", d.event_id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ];
    for (k, v) in fixed {
        req = req.header(k, v.as_str());
        shown.insert(k.to_owned(), v);
    }
    let started = Instant::now();
    let allowed = reqwest::Url::parse(&sub.url)
        .map_err(|e| e.to_string())
        .and_then(|u| state.guard.check_url(&u));
    let resp = if let Err(why) = allowed {
        Response {
            status: None,
            retry_after: None,
            excerpt: None,
            error: Some(format!("refused: {why}")),
        }
    } else if current.is_some() {
        send(req.body(d.body.clone())).await
    } else {
        // Never sent unsigned: the secret was sealed under another server secret.
        tracing::error!(subscription_id = %sub.id, "the signing secret cannot be decrypted; rotate it");
        Response {
            status: None,
            retry_after: None,
            excerpt: None,
            error: Some(
                "the signing secret cannot be decrypted (was server.secret replaced?); rotate it"
                    .to_owned(),
            ),
        }
    };
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let ended = now_us();
    let end = conclude(state, &sub, &d, &resp, ended).await;
    crate::telemetry::metrics::delivery(match end.status {
        "succeeded" => "succeeded",
        "pending" => "retrying",
        _ => "failed",
    });
    let record = attempt::Model {
        id: crate::support::ids::new_id(),
        delivery_id: d.id.clone(),
        attempt: d.attempt,
        started_at: now,
        duration_ms,
        url: sub.url.clone(),
        request_headers: serde_json::to_string(&shown).unwrap_or_else(|_| "{}".to_owned()),
        response_status: resp.status.map(i32::from),
        response_excerpt: opt_without_nul(resp.excerpt.clone()),
        error: opt_without_nul(resp.error.clone()),
    };
    match q::record_attempt(&state.db, me, &d.id, record, &end).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(delivery_id = %d.id, "delivery was taken over while it was sent")
        }
        Err(e) => {
            tracing::warn!(error = %e, delivery_id = %d.id, "recording a delivery attempt failed; it is sent again after its lease")
        }
    }
    tracing::debug!(delivery_id = %d.id, subscription_id = %sub.id, attempt = d.attempt, status = end.status, "delivery attempt");
}

async fn send(req: reqwest::RequestBuilder) -> Response {
    let mut resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            let error = if let Some(why) = client::refused(&e) {
                format!("refused: {why}")
            } else if e.is_timeout() {
                "timed out".to_owned()
            } else if e.is_connect() {
                format!("connection failed: {}", e.without_url())
            } else {
                e.without_url().to_string()
            };
            return Response {
                status: None,
                retry_after: None,
                excerpt: None,
                error: Some(error),
            };
        }
    };
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(retry_after);
    let mut bytes: Vec<u8> = Vec::new();
    let mut error = None;
    while bytes.len() < EXCERPT_BYTES {
        match resp.chunk().await {
            Ok(Some(c)) => bytes.extend_from_slice(&c),
            Ok(None) => break,
            Err(e) => {
                error = Some(if e.is_timeout() {
                    "timed out reading the answer".to_owned()
                } else {
                    e.without_url().to_string()
                });
                break;
            }
        }
    }
    bytes.truncate(EXCERPT_BYTES);
    let excerpt = String::from_utf8_lossy(&bytes).into_owned();
    if error.is_none() && !(200..300).contains(&status) {
        error = Some(format!("the endpoint answered {status}"));
    }
    Response {
        status: Some(status),
        retry_after,
        excerpt: (!excerpt.is_empty()).then_some(excerpt),
        // A 2xx counts even if reading the rest of its body failed.
        error: if (200..300).contains(&status) {
            None
        } else {
            error
        },
    }
}

/// The delivery's state after an attempt; disables the subscription on 410 Gone or when it
/// has failed for too long.
async fn conclude(
    state: &AppState,
    sub: &subscription::Model,
    d: &Claimed,
    resp: &Response,
    now: i64,
) -> AttemptEnd {
    let cfg = &state.cfg.subscriptions;
    let status = resp.status.map(i32::from);
    if resp.error.is_none() && resp.status.is_some_and(|s| (200..300).contains(&s)) {
        if let Err(e) = q::mark_success(&state.db, &sub.id, now).await {
            tracing::warn!(error = %e, "recording a subscription's success failed");
        }
        return AttemptEnd {
            status: "succeeded",
            next_attempt_at: now,
            finished_at: Some(now),
            last_status: status,
            last_error: None,
        };
    }
    let failed = AttemptEnd {
        status: "failed",
        next_attempt_at: now,
        finished_at: Some(now),
        last_status: status,
        last_error: opt_without_nul(resp.error.clone()),
    };
    if resp.status == Some(410) {
        let reason = format!(
            "the endpoint answered 410 Gone at {} (delivery {})",
            crate::support::time::rfc3339(now),
            d.id
        );
        match q::disable(&state.db, &sub.id, &reason, now).await {
            Ok(true) => {
                tracing::warn!(subscription_id = %sub.id, "subscription disabled: 410 Gone");
                let _ = subscriptions::changed(state).await;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "disabling a subscription failed"),
        }
        return failed;
    }
    let disable_before = (cfg.disable_after_secs > 0).then(|| {
        now - i64::try_from(cfg.disable_after_secs.saturating_mul(1_000_000)).unwrap_or(0)
    });
    let reason = format!(
        "every delivery failed for more than {} s (last: {})",
        cfg.disable_after_secs,
        resp.error.as_deref().unwrap_or("error")
    );
    match q::mark_failure(&state.db, &sub.id, now, disable_before, &reason).await {
        Ok(true) => {
            tracing::warn!(subscription_id = %sub.id, "subscription disabled: failing for too long");
            let _ = subscriptions::changed(state).await;
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "recording a subscription's failure failed"),
    }
    let done = usize::try_from(d.attempt).unwrap_or(usize::MAX);
    match next_delay_ms(
        &cfg.retry_schedule_ms,
        done,
        cfg.jitter,
        rand::random::<f64>(),
    ) {
        Some(mut ms) => {
            if let Some(after) = resp.retry_after {
                let cap = cfg.max_retry_after_secs.saturating_mul(1000);
                let after_ms = u64::try_from(after.as_millis())
                    .unwrap_or(u64::MAX)
                    .min(cap);
                ms = ms.max(after_ms);
            }
            AttemptEnd {
                status: "pending",
                next_attempt_at: now + crate::support::time::ms_to_us(ms),
                finished_at: None,
                last_status: status,
                last_error: opt_without_nul(resp.error.clone()),
            }
        }
        None => failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_spaces_slots_and_refuses_long_waits() {
        let l = Limiter::default();
        assert_eq!(l.reserve("s", 2), Ok(Duration::ZERO));
        let w = l.reserve("s", 2).unwrap();
        assert!(w > Duration::from_millis(400) && w <= Duration::from_millis(500));
        let _ = l.reserve("s", 2);
        assert!(l.reserve("s", 2).is_err());
        assert_eq!(l.reserve("other", 2), Ok(Duration::ZERO));
    }
}
