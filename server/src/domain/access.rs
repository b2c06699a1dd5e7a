//! Who may call a trigger: the credential a caller presents (an API key, in `X-API-Key` or
//! as a bearer token; an OAuth2 access token), the rate limits of the credential and of the
//! trigger, and the signature over the body. The HTTP layer reads the headers; the rules are
//! here.

use crate::core::registry::Route;
use crate::core::signature;
use crate::core::tokens::{self, TokenError};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::support::crypto::same_digest;
use crate::support::time::now_us;

/// What a caller presented.
#[derive(Default, Clone, Copy)]
pub struct Presented<'a> {
    /// `X-API-Key`.
    pub api_key: Option<&'a [u8]>,
    /// `Authorization: Bearer <this>`.
    pub bearer: Option<&'a str>,
}

pub use flows_runtime::{Caller, CallerKind};

/// Checks the caller's credential against the trigger, then the rate limits (the
/// credential's, then the trigger's). `None` for an open trigger.
pub fn authenticate(
    state: &AppState,
    route: &Route,
    presented: Presented<'_>,
) -> AppResult<Option<Caller>> {
    let caller = credential(state, route, presented)?;
    if let Some(limiter) = &route.limiter {
        limiter
            .check()
            .map_err(|retry_after_s| AppError::RateLimited {
                what: "to this trigger",
                retry_after_s,
            })?;
    }
    Ok(caller)
}

fn credential(
    state: &AppState,
    route: &Route,
    presented: Presented<'_>,
) -> AppResult<Option<Caller>> {
    let access = &route.access;
    if access.open {
        return Ok(None);
    }
    let takes_tokens = !access.clients.is_empty();
    let takes_keys = !access.keys.is_empty();
    if let Some(token) = presented.bearer.filter(|t| t.starts_with(tokens::PREFIX)) {
        if takes_tokens {
            return client_by_token(state, route, token).map(Some);
        }
    }
    let key = presented
        .api_key
        .filter(|k| !k.is_empty())
        .or_else(|| presented.bearer.map(str::as_bytes));
    match key {
        Some(k) if takes_keys => key_by_secret(state, route, k).map(Some),
        _ if takes_tokens => Err(match presented.bearer {
            Some(_) => AppError::InvalidToken(TokenError::Forged.to_string()),
            None => AppError::TokenRequired,
        }),
        _ => Err(AppError::InvalidApiKey),
    }
}

fn key_by_secret(state: &AppState, route: &Route, secret: &[u8]) -> AppResult<Caller> {
    let digest = state.secret.digest(secret);
    let now = now_us();
    let key = state
        .registry
        .key_by_digest(&digest)
        .filter(|k| same_digest(&k.digest, &digest) && route.access.keys.contains(&k.id))
        .filter(|k| k.valid_until.is_none_or(|until| until > now))
        .ok_or(AppError::InvalidApiKey)?;
    if key.expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::ExpiredApiKey);
    }
    if let Some(l) = &key.limiter {
        l.check().map_err(|retry_after_s| AppError::RateLimited {
            what: "with this API key",
            retry_after_s,
        })?;
    }
    state.registry.mark_used(&key.id);
    Ok(Caller {
        kind: CallerKind::ApiKey,
        id: key.id,
        label: key.label.to_string(),
    })
}

fn client_by_token(state: &AppState, route: &Route, token: &str) -> AppResult<Caller> {
    let claims = tokens::read(&state.token_key, token, now_us() / 1_000_000)
        .map_err(|e| AppError::InvalidToken(e.to_string()))?;
    // A revoked (or deleted) client is not in the registry: its tokens stop here.
    let client = state
        .registry
        .client(&claims.client_id)
        .ok_or_else(|| AppError::InvalidToken("the access token's client was revoked".into()))?;
    if !route.access.clients.contains(&client.id) {
        return Err(AppError::InvalidToken(
            "this trigger does not accept this client's tokens".into(),
        ));
    }
    if let Some(scope) = &route.access.scope {
        if !claims.has_scope(scope) {
            return Err(AppError::InsufficientScope(scope.clone()));
        }
    }
    if let Some(l) = &client.limiter {
        l.check().map_err(|retry_after_s| AppError::RateLimited {
            what: "with this OAuth client",
            retry_after_s,
        })?;
    }
    state.registry.mark_client_used(&client.id);
    Ok(Caller {
        kind: CallerKind::OauthClient,
        id: client.id,
        label: client.label.to_string(),
    })
}

/// Checks the trigger's signature over the exact body bytes, then (for schemes with message
/// ids) that the message was not seen before. `header` looks a header up by lower-case name.
pub async fn verify_signature<'a>(
    state: &AppState,
    route: &Route,
    header: impl Fn(&str) -> Option<&'a str>,
    body: &[u8],
) -> AppResult<()> {
    let Some(signing) = &route.signing else {
        return Ok(());
    };
    let Some(secret) = &signing.secret else {
        tracing::warn!(integration = %route.slug, secret = %signing.secret_name, "the trigger's signing secret is not stored; call refused");
        return Err(AppError::InvalidSignature(format!(
            "the trigger's signing secret `{}` is not stored",
            signing.secret_name
        )));
    };
    let now = now_us();
    let verified = signature::verify(
        &signing.scheme,
        secret,
        header,
        body,
        now / 1_000_000,
        signing.tolerance_s,
    )
    .map_err(|e| AppError::InvalidSignature(e.to_string()))?;
    if let (Some(id), Some(sent_at)) = (&verified.message_id, verified.sent_at) {
        let first =
            crate::db::seen::first_sight(&state.db, &route.integration_id, id, sent_at, now)
                .await?;
        if !first {
            return Err(AppError::InvalidSignature(
                signature::SignatureError::Replayed.to_string(),
            ));
        }
    }
    Ok(())
}
