//! Stored secrets: credentials flows use by name (HTTP step `auth`). A value is accepted on
//! creation and rotation and never returned.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/secrets`
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SecretIn {
    /// Letters, digits, `.`, `_` and `-`, 1 to 128 characters.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z0-9._-]{1,128}$"))]
    pub name: String,
    /// 1 byte to 16 KiB.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub value: String,
    /// The hosts this secret may be sent to (`crm.example.com`, `*.example.com`); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

/// `PUT /api/v1/secrets/{name}`: a new value (rotation).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SecretValueIn {
    /// 1 byte to 16 KiB.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub value: String,
    /// New hosts; absent: unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<String>>,
}

/// A secret as listed: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretOut {
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// What is wrong with a host pattern, if anything.
pub fn host_pattern_problem(p: &str) -> Option<String> {
    let rest = p.strip_prefix("*.").unwrap_or(p);
    let ok = !rest.is_empty()
        && p.len() <= 253
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    (!ok).then(|| format!("`{p}` is not a host name or `*.domain` pattern"))
}

/// Whether a host matches a pattern (`*.example.com` matches its subdomains).
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.');
    match pattern.strip_prefix("*.") {
        Some(domain) => {
            host.len() > domain.len() + 1
                && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain)
                && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
        }
        None => pattern.eq_ignore_ascii_case(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns() {
        assert!(host_matches("crm.example.com", "CRM.example.com"));
        assert!(!host_matches("crm.example.com", "evil.com"));
        assert!(host_matches("*.example.com", "a.b.example.com"));
        assert!(!host_matches("*.example.com", "example.com"));
        assert!(!host_matches("*.example.com", "badexample.com"));
        assert!(host_pattern_problem("*.example.com").is_none());
        assert!(host_pattern_problem("a b").is_some());
        assert!(host_pattern_problem("*.").is_some());
    }
}

debug_redacted!(SecretIn { name } secret { value });
debug_redacted!(SecretValueIn {} secret { value });
