//! Sign-in and users.

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Serialize, Deserialize)]
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
pub struct LoginOut {
    /// Usable as `Authorization: Bearer <token>`; also set as an HttpOnly cookie.
    pub token: String,
    pub expires_at: String,
    pub user: UserOut,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserOut {
    pub id: String,
    pub email: String,
    /// `admin`, `designer` or `viewer`.
    pub role: String,
    pub disabled: bool,
    pub created_at: String,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    pub email: String,
    pub password: String,
    #[serde(default = "default_role")]
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
