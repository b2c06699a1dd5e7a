//! Consumer API keys: created with a secret shown once, stored as a keyed digest, with an
//! optional expiry and rate limit; rotated with an overlap; revoked at once.

use std::sync::Arc;

use flowgate_api::keys::MAX_OVERLAP_S;
use flowgate_api::{KeyCreatedOut, KeyIn, KeyOut, KeyPatch, RateLimit, RotateIn};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};

use crate::core::ratelimit::{self, Limiter};
use crate::core::registry::KeyEntry;
use crate::db::entities::api_key;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::support::crypto::{digest_from_hex, generate_key_secret, key_prefix};
use crate::support::time::{now_us, parse_rfc3339, rfc3339, rfc3339_opt};

fn pasted_or_new(secret: Option<String>) -> AppResult<String> {
    match secret {
        Some(s) => {
            let s = s.trim().to_owned();
            if s.len() < 24
                || s.len() > 256
                || s.chars().any(|c| c.is_control() || c.is_whitespace())
            {
                return Err(AppError::BadRequest(
                    "a pasted secret must be 24 to 256 visible characters without spaces".into(),
                ));
            }
            Ok(s)
        }
        None => Ok(generate_key_secret()),
    }
}

/// 400 unless a rate limit is usable.
pub(crate) fn check_rate_limit(limit: Option<&RateLimit>) -> AppResult<()> {
    match limit.and_then(RateLimit::problem) {
        Some(p) => Err(AppError::BadRequest(format!("rate_limit: {p}"))),
        None => Ok(()),
    }
}

/// The overlap of a rotation, in µs, checked.
pub(crate) fn overlap_us(overlap_s: u64) -> AppResult<i64> {
    if overlap_s > MAX_OVERLAP_S {
        return Err(AppError::BadRequest(format!(
            "overlap_s must be at most {MAX_OVERLAP_S} (30 days)"
        )));
    }
    Ok(i64::try_from(overlap_s).unwrap_or(0) * 1_000_000)
}

fn conflict_or_db(e: sea_orm::DbErr) -> AppError {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            AppError::Conflict("this secret is already in use by another key".into())
        }
        _ => AppError::Db(e),
    }
}

/// A key's label, trimmed; 400 unless 1 to 100 characters.
fn checked_label(label: &str) -> AppResult<String> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 100 || label.contains('\0') {
        return Err(AppError::BadRequest(
            "label must be 1 to 100 characters".into(),
        ));
    }
    Ok(label.to_owned())
}

pub async fn create(state: &AppState, input: KeyIn) -> AppResult<KeyCreatedOut> {
    let label = checked_label(&input.label)?;
    let now = now_us();
    let expires_at = match input.expires_at.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => {
            let at = parse_rfc3339(text).ok_or_else(|| {
                AppError::BadRequest(
                    "expires_at must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z".into(),
                )
            })?;
            if at <= now {
                return Err(AppError::BadRequest("expires_at is in the past".into()));
            }
            Some(at)
        }
    };
    check_rate_limit(input.rate_limit.as_ref())?;
    let secret = pasted_or_new(input.secret)?;
    let (per_second, burst) = ratelimit::to_columns(input.rate_limit.as_ref());
    let model = api_key::ActiveModel {
        id: Set(crate::support::ids::new_id()),
        label: Set(label),
        prefix: Set(key_prefix(&secret)),
        digest: Set(hex::encode(state.secret.digest(secret.as_bytes()))),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
        expires_at: Set(expires_at),
        previous_digest: Set(None),
        previous_until: Set(None),
        rate_limit_per_second: Set(per_second),
        rate_limit_burst: Set(burst),
    }
    .insert(&state.db)
    .await
    .map_err(conflict_or_db)?;
    changed(state).await?;
    tracing::info!(key_id = %model.id, "api key created");
    Ok(KeyCreatedOut {
        id: model.id,
        label: model.label,
        prefix: model.prefix,
        secret,
        created_at: rfc3339(model.created_at),
        expires_at: rfc3339_opt(model.expires_at),
        previous_until: None,
    })
}

/// A new secret for a key; the old one keeps working for `overlap_s` seconds.
pub async fn rotate(state: &AppState, id: &str, input: RotateIn) -> AppResult<KeyCreatedOut> {
    let overlap = overlap_us(input.overlap_s)?;
    let key = live(state, id).await?;
    let secret = pasted_or_new(input.secret)?;
    let now = now_us();
    let previous_until = (overlap > 0).then_some(now + overlap);
    let mut am: api_key::ActiveModel = key.clone().into();
    am.previous_digest = Set(previous_until.map(|_| key.digest.clone()));
    am.previous_until = Set(previous_until);
    am.digest = Set(hex::encode(state.secret.digest(secret.as_bytes())));
    am.prefix = Set(key_prefix(&secret));
    let model = am.update(&state.db).await.map_err(conflict_or_db)?;
    changed(state).await?;
    tracing::info!(key_id = %id, overlap_s = input.overlap_s, "api key rotated");
    Ok(KeyCreatedOut {
        id: model.id,
        label: model.label,
        prefix: model.prefix,
        secret,
        created_at: rfc3339(model.created_at),
        expires_at: rfc3339_opt(model.expires_at),
        previous_until: rfc3339_opt(model.previous_until),
    })
}

async fn live(state: &AppState, id: &str) -> AppResult<api_key::Model> {
    api_key::Entity::find_by_id(id.to_owned())
        .one(&state.db)
        .await?
        .filter(|k| k.revoked_at.is_none())
        .ok_or(AppError::NotFound("api key"))
}

pub async fn list(state: &AppState) -> AppResult<Vec<KeyOut>> {
    flush_last_used(state).await?;
    let keys = api_key::Entity::find()
        .filter(api_key::Column::RevokedAt.is_null())
        .order_by_asc(api_key::Column::Id)
        .all(&state.db)
        .await?;
    let integrations = crate::domain::integrations::published(state).await?;
    let now = now_us();
    Ok(keys
        .into_iter()
        .map(|k| key_out(k, &integrations, now))
        .collect())
}

/// A key as the API shows it, with the published integrations that accept it.
fn key_out(
    k: api_key::Model,
    integrations: &[(String, flowgate_api::IntegrationDoc)],
    now: i64,
) -> KeyOut {
    let used_by = integrations
        .iter()
        .filter(|(_, doc)| doc.trigger.auth.keys().contains(&k.id))
        .map(|(slug, _)| slug.clone())
        .collect();
    KeyOut {
        expired: k.expires_at.is_some_and(|at| at <= now),
        expires_at: rfc3339_opt(k.expires_at),
        previous_until: rfc3339_opt(k.previous_until.filter(|u| *u > now)),
        rate_limit: ratelimit::from_columns(k.rate_limit_per_second, k.rate_limit_burst),
        id: k.id,
        label: k.label,
        prefix: k.prefix,
        created_at: rfc3339(k.created_at),
        last_used_at: rfc3339_opt(k.last_used_at),
        integrations: used_by,
    }
}

/// Changes a live key's label (calls record it from then on).
pub async fn update(state: &AppState, id: &str, patch: KeyPatch) -> AppResult<KeyOut> {
    flush_last_used(state).await?;
    let mut key = live(state, id).await?;
    if let Some(label) = patch.label.as_deref() {
        let label = checked_label(label)?;
        if label != key.label {
            let mut am: api_key::ActiveModel = key.into();
            am.label = Set(label);
            key = am.update(&state.db).await?;
            changed(state).await?;
            tracing::info!(key_id = %id, "api key relabelled");
        }
    }
    let integrations = crate::domain::integrations::published(state).await?;
    Ok(key_out(key, &integrations, now_us()))
}

/// Revokes a key: from this moment calls with it are refused.
pub async fn revoke(state: &AppState, id: &str) -> AppResult<()> {
    let key = live(state, id).await?;
    let mut am: api_key::ActiveModel = key.into();
    am.revoked_at = Set(Some(now_us()));
    am.update(&state.db).await?;
    changed(state).await?;
    tracing::info!(key_id = %id, "api key revoked");
    Ok(())
}

async fn changed(state: &AppState) -> AppResult<()> {
    reload(state).await?;
    state.announce(crate::core::notice::Notice::Keys).await;
    Ok(())
}

/// Rebuilds the in-memory digest table from the database (a previous secret of a rotation
/// is a second entry, valid until the end of the overlap).
pub async fn reload(state: &AppState) -> AppResult<()> {
    let keys = api_key::Entity::find()
        .filter(api_key::Column::RevokedAt.is_null())
        .all(&state.db)
        .await?;
    let now = now_us();
    let mut entries = Vec::with_capacity(keys.len());
    for k in keys {
        let label: Arc<str> = Arc::from(k.label.as_str());
        let limiter = ratelimit::from_columns(k.rate_limit_per_second, k.rate_limit_burst)
            .as_ref()
            .and_then(Limiter::new)
            .map(Arc::new);
        let Some(digest) = digest_from_hex(&k.digest) else {
            continue;
        };
        if let (Some(prev), Some(until)) = (k.previous_digest.as_deref(), k.previous_until) {
            if let Some(prev) = digest_from_hex(prev).filter(|_| until > now) {
                entries.push(KeyEntry {
                    id: k.id.clone(),
                    label: label.clone(),
                    digest: prev,
                    expires_at: k.expires_at,
                    valid_until: Some(until),
                    limiter: limiter.clone(),
                });
            }
        }
        entries.push(KeyEntry {
            id: k.id,
            label,
            digest,
            expires_at: k.expires_at,
            valid_until: None,
            limiter,
        });
    }
    state.registry.set_keys(entries);
    Ok(())
}

/// Writes `last_used_at` for keys used since the last flush (runs every few seconds).
pub async fn flush_last_used(state: &AppState) -> AppResult<()> {
    let used = state.registry.take_used();
    if used.is_empty() {
        return Ok(());
    }
    let now = now_us();
    api_key::Entity::update_many()
        .col_expr(
            api_key::Column::LastUsedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(api_key::Column::Id.is_in(used))
        .exec(&state.db)
        .await?;
    Ok(())
}
