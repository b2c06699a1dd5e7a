//! Sign-in and users.

use serde::{Deserialize, Serialize};

/// The roles, most powerful first, as the API names them.
pub const ROLES: &[&str] = &["admin", "designer", "viewer"];

/// The shortest password the server accepts, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    pub email: String,
    pub password: String,
}

impl std::fmt::Debug for LoginIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginIn")
            .field("email", &self.email)
            .field("password", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginOut {
    /// Usable as `Authorization: Bearer <token>`; also set as an HttpOnly cookie.
    pub token: String,
    pub expires_at: String,
    pub user: UserOut,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserOut {
    pub id: String,
    pub email: String,
    /// `admin`, `designer` or `viewer`.
    pub role: String,
    pub disabled: bool,
    pub created_at: String,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254))]
    pub email: String,
    /// At least 8 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 8))]
    pub password: String,
    /// `admin`, `designer` (the default) or `viewer`.
    #[serde(default = "default_role")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^(admin|designer|viewer)$"))]
    pub role: String,
}

fn default_role() -> String {
    "designer".to_owned()
}

impl std::fmt::Debug for UserIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserIn")
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// `PATCH /api/v1/users/{id}` (admin): only the fields given change.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// `admin`, `designer` or `viewer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^(admin|designer|viewer)$"))]
    pub role: Option<String>,
    /// A disabled user cannot sign in; their sessions end at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// A new password (at least 8 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 8))]
    pub password: Option<String>,
}

impl std::fmt::Debug for UserPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserPatch")
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_debug_printed() {
        let p = UserPatch {
            password: Some("hunter2hunter2".into()),
            ..UserPatch::default()
        };
        let text = format!("{p:?}");
        assert!(
            !text.contains("hunter2") && text.contains("[redacted]"),
            "{text}"
        );
        let l = LoginIn {
            email: "a@b.c".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{l:?}").contains("hunter2"));
    }
}
