//! Consumer API keys: created with a secret shown once, stored as a keyed digest, revoked at once.

use flowgate_api::{KeyCreatedOut, KeyIn, KeyOut, TriggerAuth};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};

use crate::core::registry::KeyEntry;
use crate::db::entities::api_key;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::support::crypto::{generate_key_secret, key_prefix};
use crate::support::time::{now_us, rfc3339, rfc3339_opt};

pub async fn create(state: &AppState, input: KeyIn) -> AppResult<KeyCreatedOut> {
    let label = input.label.trim().to_owned();
    if label.is_empty() || label.len() > 100 {
        return Err(AppError::BadRequest(
            "label must be 1 to 100 characters".into(),
        ));
    }
    let secret = match input.secret {
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
            s
        }
        None => generate_key_secret(),
    };
    let digest = state.secret.digest(secret.as_bytes());
    let now = now_us();
    let model = api_key::ActiveModel {
        id: Set(crate::support::ids::new_id()),
        label: Set(label),
        prefix: Set(key_prefix(&secret)),
        digest: Set(hex::encode(digest)),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&state.db)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            AppError::Conflict("this secret is already in use by another key".into())
        }
        _ => AppError::Db(e),
    })?;
    reload(state).await?;
    state.announce(crate::core::notice::Notice::Keys).await;
    tracing::info!(key_id = %model.id, "api key created");
    Ok(KeyCreatedOut {
        id: model.id,
        label: model.label,
        prefix: model.prefix,
        secret,
        created_at: rfc3339(model.created_at),
    })
}

pub async fn list(state: &AppState) -> AppResult<Vec<KeyOut>> {
    flush_last_used(state).await?;
    let keys = api_key::Entity::find()
        .filter(api_key::Column::RevokedAt.is_null())
        .order_by_asc(api_key::Column::Id)
        .all(&state.db)
        .await?;
    let integrations = crate::domain::integrations::published(state).await?;
    Ok(keys
        .into_iter()
        .map(|k| {
            let used_by = integrations
                .iter()
                .filter(|(_, doc)| matches!(&doc.trigger.auth, TriggerAuth::ApiKey { keys } if keys.contains(&k.id)))
                .map(|(slug, _)| slug.clone())
                .collect();
            KeyOut {
                id: k.id,
                label: k.label,
                prefix: k.prefix,
                created_at: rfc3339(k.created_at),
                last_used_at: rfc3339_opt(k.last_used_at),
                integrations: used_by,
            }
        })
        .collect())
}

/// Revokes a key: from this moment calls with it are refused.
pub async fn revoke(state: &AppState, id: &str) -> AppResult<()> {
    let key = api_key::Entity::find_by_id(id.to_owned())
        .one(&state.db)
        .await?
        .filter(|k| k.revoked_at.is_none())
        .ok_or(AppError::NotFound("api key"))?;
    let mut am: api_key::ActiveModel = key.into();
    am.revoked_at = Set(Some(now_us()));
    am.update(&state.db).await?;
    reload(state).await?;
    state.announce(crate::core::notice::Notice::Keys).await;
    tracing::info!(key_id = %id, "api key revoked");
    Ok(())
}

/// Rebuilds the in-memory digest table from the database.
pub async fn reload(state: &AppState) -> AppResult<()> {
    let keys = api_key::Entity::find()
        .filter(api_key::Column::RevokedAt.is_null())
        .all(&state.db)
        .await?;
    let entries = keys
        .into_iter()
        .filter_map(|k| {
            let bytes = hex::decode(&k.digest).ok()?;
            let digest: [u8; 32] = bytes.try_into().ok()?;
            Some(KeyEntry { id: k.id, digest })
        })
        .collect();
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
