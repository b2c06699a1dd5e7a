//! Stored secrets: credentials that flows use by name (the `auth` of HTTP steps). Values are
//! encrypted at rest with ChaCha20-Poly1305 under a key derived from the server secret (the
//! secret's name is the associated data, so a value cannot be moved to another name), are
//! accepted on creation and rotation only, and are never returned or logged.

use flowgate_api::secrets::{SecretIn, SecretOut, SecretValueIn};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, QueryOrder, Set};

use crate::db::entities::secret;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::support::crypto::seal;
use crate::support::time::{now_us, rfc3339};

/// Longest secret value, in bytes.
pub const MAX_VALUE_BYTES: usize = 16 * 1024;

fn out(m: &secret::Model) -> SecretOut {
    SecretOut {
        name: m.name.clone(),
        created_at: rfc3339(m.created_at),
        updated_at: rfc3339(m.updated_at),
        hosts: m
            .hosts
            .split(' ')
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect(),
    }
}

/// The hosts of a secret, checked, as stored (space-separated, lower case).
fn check_hosts(hosts: &[String]) -> AppResult<String> {
    if hosts.len() > 50 {
        return Err(AppError::BadRequest(
            "a secret lists at most 50 hosts".into(),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for h in hosts {
        let h = h.trim().to_ascii_lowercase();
        if let Some(p) = flowgate_api::secrets::host_pattern_problem(&h) {
            return Err(AppError::BadRequest(format!("hosts: {p}")));
        }
        if !out.contains(&h) {
            out.push(h);
        }
    }
    Ok(out.join(" "))
}

fn check_value(value: &str) -> AppResult<()> {
    if value.is_empty() || value.len() > MAX_VALUE_BYTES {
        return Err(AppError::BadRequest(format!(
            "a secret value has 1 to {MAX_VALUE_BYTES} bytes"
        )));
    }
    Ok(())
}

pub async fn list(db: &DatabaseConnection) -> AppResult<Vec<SecretOut>> {
    let rows = secret::Entity::find()
        .order_by_asc(secret::Column::Name)
        .all(db)
        .await?;
    Ok(rows.iter().map(out).collect())
}

/// The published triggers whose signature is checked with this secret.
async fn signing_users(state: &AppState, name: &str) -> AppResult<Vec<String>> {
    Ok(crate::domain::integrations::published(state)
        .await?
        .into_iter()
        .filter(|(_, doc)| doc.trigger.auth.signing_secret() == Some(name))
        .map(|(slug, _)| slug)
        .collect())
}

pub async fn create(state: &AppState, input: SecretIn) -> AppResult<SecretOut> {
    if let Some(problem) = flows_runtime::secret_name_problem(&input.name) {
        return Err(AppError::BadRequest(problem));
    }
    check_value(&input.value)?;
    let hosts = check_hosts(&input.hosts)?;
    if secret::Entity::find_by_id(input.name.clone())
        .one(&state.db)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(format!(
            "a secret named `{}` exists; PUT a new value to rotate it",
            input.name
        )));
    }
    let now = now_us();
    let row = secret::ActiveModel {
        value: Set(seal(&state.secret, &input.name, &input.value)?),
        name: Set(input.name),
        created_at: Set(now),
        updated_at: Set(now),
        hosts: Set(hosts),
    }
    .insert(&state.db)
    .await?;
    tracing::info!(secret = %row.name, "secret created");
    Ok(out(&row))
}

pub async fn rotate(state: &AppState, name: &str, input: SecretValueIn) -> AppResult<SecretOut> {
    check_value(&input.value)?;
    let row = secret::Entity::find_by_id(name.to_owned())
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("secret"))?;
    let mut active: secret::ActiveModel = row.into();
    active.value = Set(seal(&state.secret, name, &input.value)?);
    if let Some(hosts) = &input.hosts {
        active.hosts = Set(check_hosts(hosts)?);
    }
    active.updated_at = Set(now_us());
    let row = active.update(&state.db).await?;
    tracing::info!(secret = %row.name, "secret rotated");
    // Triggers checking signatures with it hold the value in memory: renew it in their
    // routes here (no recompiling), and have the other instances reload theirs.
    if state.registry.renew_signing_secret(name, &input.value) > 0 {
        state
            .announce(crate::core::notice::Notice::Integrations)
            .await;
    }
    Ok(out(&row))
}

pub async fn delete(state: &AppState, name: &str) -> AppResult<()> {
    let users = signing_users(state, name).await?;
    if !users.is_empty() {
        return Err(AppError::Conflict(format!(
            "the signatures of {} are checked with this secret; change their triggers first",
            users.join(", ")
        )));
    }
    let res = secret::Entity::delete_by_id(name.to_owned())
        .exec(&state.db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound("secret"));
    }
    tracing::info!(secret = %name, "secret deleted");
    Ok(())
}
