//! OAuth2 clients (client credentials grant) and the access tokens they get. A secret is
//! shown once and stored as a keyed digest; tokens are signed and checked without a database
//! read; revoking a client stops its tokens at once (the registry forgets it, here and, by a
//! notice, on the other instances).

use std::sync::Arc;

use flowgate_api::oauth::scope_problem;
use flowgate_api::{OauthClientCreatedOut, OauthClientIn, OauthClientOut, RotateIn, TokenOut};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};

use crate::core::ratelimit::{self, Limiter};
use crate::core::registry::ClientEntry;
use crate::core::tokens::{self, Claims};
use crate::db::entities::oauth_client;
use crate::domain::keys::{check_rate_limit, overlap_us};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::support::crypto::{digest_from_hex, generate_token, same_digest};
use crate::support::time::{now_us, rfc3339, rfc3339_opt};

pub const TOKEN_PATH: &str = "/oauth/token";

fn new_secret() -> String {
    format!("fgcs_{}", generate_token())
}

fn scopes_of(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub async fn create(state: &AppState, input: OauthClientIn) -> AppResult<OauthClientCreatedOut> {
    let label = input.label.trim().to_owned();
    if label.is_empty() || label.len() > 100 {
        return Err(AppError::BadRequest(
            "label must be 1 to 100 characters".into(),
        ));
    }
    let mut scopes: Vec<String> = Vec::new();
    for s in &input.scopes {
        let s = s.trim();
        if let Some(p) = scope_problem(s) {
            return Err(AppError::BadRequest(p));
        }
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_owned());
        }
    }
    check_rate_limit(input.rate_limit.as_ref())?;
    let (per_second, burst) = ratelimit::to_columns(input.rate_limit.as_ref());
    let secret = new_secret();
    let model = oauth_client::ActiveModel {
        id: Set(format!(
            "fgc_{}",
            crate::support::ids::new_id().replace('-', "")
        )),
        label: Set(label),
        secret_digest: Set(hex::encode(state.secret.digest(secret.as_bytes()))),
        previous_digest: Set(None),
        previous_until: Set(None),
        scopes: Set(scopes.join(" ")),
        rate_limit_per_second: Set(per_second),
        rate_limit_burst: Set(burst),
        created_at: Set(now_us()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&state.db)
    .await?;
    changed(state).await?;
    tracing::info!(client_id = %model.id, "oauth client created");
    Ok(created_out(model, secret))
}

fn created_out(m: oauth_client::Model, secret: String) -> OauthClientCreatedOut {
    OauthClientCreatedOut {
        scopes: scopes_of(&m.scopes),
        client_id: m.id,
        client_secret: secret,
        label: m.label,
        created_at: rfc3339(m.created_at),
        previous_until: rfc3339_opt(m.previous_until),
        token_url: TOKEN_PATH.to_owned(),
    }
}

async fn live(state: &AppState, id: &str) -> AppResult<oauth_client::Model> {
    oauth_client::Entity::find_by_id(id.to_owned())
        .one(&state.db)
        .await?
        .filter(|c| c.revoked_at.is_none())
        .ok_or(AppError::NotFound("oauth client"))
}

/// A new secret; the old one keeps getting tokens for `overlap_s` seconds. Tokens already
/// issued stay valid until they expire.
pub async fn rotate(
    state: &AppState,
    id: &str,
    input: RotateIn,
) -> AppResult<OauthClientCreatedOut> {
    if input.secret.is_some() {
        return Err(AppError::BadRequest(
            "OAuth client secrets are generated; leave out `secret`".into(),
        ));
    }
    let overlap = overlap_us(input.overlap_s)?;
    let client = live(state, id).await?;
    let secret = new_secret();
    let previous_until = (overlap > 0).then_some(now_us() + overlap);
    let mut am: oauth_client::ActiveModel = client.clone().into();
    am.previous_digest = Set(previous_until.map(|_| client.secret_digest.clone()));
    am.previous_until = Set(previous_until);
    am.secret_digest = Set(hex::encode(state.secret.digest(secret.as_bytes())));
    let model = am.update(&state.db).await?;
    changed(state).await?;
    tracing::info!(client_id = %id, overlap_s = input.overlap_s, "oauth client secret rotated");
    Ok(created_out(model, secret))
}

pub async fn list(state: &AppState) -> AppResult<Vec<OauthClientOut>> {
    flush_last_used(state).await?;
    let rows = oauth_client::Entity::find()
        .filter(oauth_client::Column::RevokedAt.is_null())
        .order_by_asc(oauth_client::Column::CreatedAt)
        .all(&state.db)
        .await?;
    let integrations = crate::domain::integrations::published(state).await?;
    let now = now_us();
    Ok(rows
        .into_iter()
        .map(|c| OauthClientOut {
            integrations: integrations
                .iter()
                .filter(|(_, doc)| doc.trigger.auth.clients().contains(&c.id))
                .map(|(slug, _)| slug.clone())
                .collect(),
            scopes: scopes_of(&c.scopes),
            previous_until: rfc3339_opt(c.previous_until.filter(|u| *u > now)),
            rate_limit: ratelimit::from_columns(c.rate_limit_per_second, c.rate_limit_burst),
            client_id: c.id,
            label: c.label,
            created_at: rfc3339(c.created_at),
            last_used_at: rfc3339_opt(c.last_used_at),
        })
        .collect())
}

/// Revokes a client: its secret and every token it holds are refused from now on.
pub async fn revoke(state: &AppState, id: &str) -> AppResult<()> {
    let client = live(state, id).await?;
    let mut am: oauth_client::ActiveModel = client.into();
    am.revoked_at = Set(Some(now_us()));
    am.update(&state.db).await?;
    changed(state).await?;
    tracing::info!(client_id = %id, "oauth client revoked");
    Ok(())
}

async fn changed(state: &AppState) -> AppResult<()> {
    reload(state).await?;
    state.announce(crate::core::notice::Notice::Keys).await;
    Ok(())
}

/// Rebuilds the registry's table of live clients.
pub async fn reload(state: &AppState) -> AppResult<()> {
    let rows = oauth_client::Entity::find()
        .filter(oauth_client::Column::RevokedAt.is_null())
        .all(&state.db)
        .await?;
    let entries = rows
        .into_iter()
        .filter_map(|c| {
            Some(ClientEntry {
                label: Arc::from(c.label.as_str()),
                digest: digest_from_hex(&c.secret_digest)?,
                previous: c
                    .previous_digest
                    .as_deref()
                    .and_then(digest_from_hex)
                    .zip(c.previous_until),
                scopes: scopes_of(&c.scopes),
                limiter: ratelimit::from_columns(c.rate_limit_per_second, c.rate_limit_burst)
                    .as_ref()
                    .and_then(Limiter::new)
                    .map(Arc::new),
                id: c.id,
            })
        })
        .collect();
    state.registry.set_clients(entries);
    Ok(())
}

/// Writes `last_used_at` for clients used since the last flush.
pub async fn flush_last_used(state: &AppState) -> AppResult<()> {
    let used = state.registry.take_used_clients();
    if used.is_empty() {
        return Ok(());
    }
    oauth_client::Entity::update_many()
        .col_expr(
            oauth_client::Column::LastUsedAt,
            sea_orm::sea_query::Expr::value(now_us()),
        )
        .filter(oauth_client::Column::Id.is_in(used))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// Why a token request was refused: the RFC 6749 §5.2 error codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantError {
    InvalidRequest(String),
    InvalidClient,
    UnsupportedGrantType(String),
    InvalidScope(String),
}

impl GrantError {
    pub fn code(&self) -> &'static str {
        match self {
            GrantError::InvalidRequest(_) => "invalid_request",
            GrantError::InvalidClient => "invalid_client",
            GrantError::UnsupportedGrantType(_) => "unsupported_grant_type",
            GrantError::InvalidScope(_) => "invalid_scope",
        }
    }

    pub fn description(&self) -> String {
        match self {
            GrantError::InvalidRequest(m) | GrantError::InvalidScope(m) => m.clone(),
            GrantError::InvalidClient => "client authentication failed".into(),
            GrantError::UnsupportedGrantType(g) => {
                format!("grant type `{g}` is not supported; use client_credentials")
            }
        }
    }
}

/// A token request, as the HTTP layer read it.
#[derive(Default)]
pub struct Grant {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
}

/// Issues an access token for a client that proved its secret (RFC 6749 §4.4).
pub fn issue(state: &AppState, grant: Grant) -> Result<TokenOut, GrantError> {
    match grant.grant_type.as_deref() {
        None | Some("") => {
            return Err(GrantError::InvalidRequest(
                "grant_type is required (client_credentials)".into(),
            ))
        }
        Some("client_credentials") => {}
        Some(other) => return Err(GrantError::UnsupportedGrantType(other.to_owned())),
    }
    let (Some(id), Some(secret)) = (grant.client_id, grant.client_secret) else {
        return Err(GrantError::InvalidClient);
    };
    let client = state
        .registry
        .client(&id)
        .ok_or(GrantError::InvalidClient)?;
    let presented = state.secret.digest(secret.as_bytes());
    let now = now_us();
    let current = same_digest(&client.digest, &presented);
    let previous = client
        .previous
        .is_some_and(|(d, until)| until > now && same_digest(&d, &presented));
    if !(current | previous) {
        return Err(GrantError::InvalidClient);
    }
    let requested = scopes_of(grant.scope.as_deref().unwrap_or_default());
    if let Some(s) = requested.iter().find(|s| !client.scopes.contains(s)) {
        return Err(GrantError::InvalidScope(format!(
            "this client may not ask for scope `{s}`"
        )));
    }
    // No scope asked for: every scope the client has (RFC 6749 §3.3 lets the server choose).
    let granted = if requested.is_empty() {
        client.scopes.join(" ")
    } else {
        requested.join(" ")
    };
    let ttl = state.cfg.oauth.token_ttl_secs;
    let issued = now / 1_000_000;
    let claims = Claims {
        client_id: client.id.clone(),
        issued,
        expires: issued.saturating_add(i64::try_from(ttl).unwrap_or(3600)),
        scope: granted.clone(),
    };
    state.registry.mark_client_used(&client.id);
    tracing::info!(client_id = %client.id, "access token issued");
    Ok(TokenOut {
        access_token: tokens::issue(&state.token_key, &claims),
        token_type: "Bearer".into(),
        expires_in: ttl,
        scope: (!granted.is_empty()).then_some(granted),
    })
}
