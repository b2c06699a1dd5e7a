//! Stored secrets: credentials flows use by name (HTTP step `auth`). A value is accepted on
//! creation and rotation and never returned.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/secrets`
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretIn {
    /// Letters, digits, `.`, `_` and `-`, 1 to 128 characters.
    pub name: String,
    pub value: String,
}

/// `PUT /api/v1/secrets/{name}`: a new value (rotation).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretValueIn {
    pub value: String,
}

/// A secret as listed: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretOut {
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
}

debug_redacted!(SecretIn { name } secret { value });
debug_redacted!(SecretValueIn {} secret { value });
