//! OAuth2 clients (client credentials grant, RFC 6749 §4.4) that may call triggers with a
//! bearer access token from `POST /oauth/token`.

use serde::{Deserialize, Serialize};

use crate::integrations::RateLimit;

/// `POST /api/v1/oauth-clients`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OauthClientIn {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub label: String,
    /// Scopes the client may ask for (1 to 100 letters, digits and `.:_-/` each); empty: none.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(inline, value_type = Vec<Scope>))]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
}

/// Returned once, on creation and rotation: the only time the secret is shown.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OauthClientCreatedOut {
    pub client_id: String,
    pub client_secret: String,
    pub label: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    /// After a rotation: until when the previous secret is still accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_until: Option<String>,
    /// Where tokens are issued, relative to the server (`/oauth/token`).
    pub token_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OauthClientOut {
    pub client_id: String,
    pub label: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    /// When the client last got a token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Slugs of integrations whose trigger accepts this client.
    #[serde(default)]
    pub integrations: Vec<String>,
}

/// The form of `POST /oauth/token` (`application/x-www-form-urlencoded`, RFC 6749 §4.4.2).
/// The client authenticates by HTTP Basic or with `client_id` and `client_secret` here (not
/// both); a field given twice is refused.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenForm {
    /// `client_credentials`.
    pub grant_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Space-separated scopes, each one of the client's; absent: all of the client's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// A successful token answer (RFC 6749 §5.1).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenOut {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// A token error (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenErrorOut {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// One scope, as the document describes it (`OauthClientIn::scopes`).
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(pattern = r"^[A-Za-z0-9.:_/-]{1,100}$")]
pub struct Scope(pub String);

/// What a scope may be made of.
pub fn scope_problem(scope: &str) -> Option<String> {
    if scope.is_empty() || scope.len() > 100 {
        return Some("a scope has 1 to 100 characters".into());
    }
    if !scope
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".:_-/".contains(c))
    {
        return Some(format!(
            "scope `{scope}` may hold letters, digits and . : _ - / only"
        ));
    }
    None
}

debug_redacted!(OauthClientCreatedOut { client_id, label, scopes, created_at, previous_until, token_url } secret { client_secret });
debug_redacted!(TokenOut { token_type, expires_in, scope } secret { access_token });
debug_redacted!(TokenForm { grant_type, client_id, scope } secret { client_secret });
