//! What the UI says about users: the role names people read, and the checks a form makes
//! before sending (the server checks again). The roles themselves and the password rule come
//! from `flowgate_api::users`.

use flowgate_api::users::{MIN_PASSWORD_CHARS, ROLES};

/// What the UI calls each of the server's roles, and what it may do (docs/api.md).
fn role_text(role: &str) -> Option<(&'static str, &'static str)> {
    match role {
        "admin" => Some(("Admin", "Everything, including users and API keys.")),
        "designer" => Some((
            "Designer",
            "Builds, tests and publishes integrations; reads API keys.",
        )),
        "viewer" => Some(("Viewer", "Reads integrations and executions.")),
        _ => None,
    }
}

/// The roles a user can be given, as (value, label), in the server's order.
pub fn role_options() -> impl Iterator<Item = (&'static str, String)> {
    ROLES.iter().map(|r| (*r, role_name(r)))
}

/// Whether the server knows this role.
pub fn is_role(role: &str) -> bool {
    ROLES.contains(&role)
}

pub fn role_name(role: &str) -> String {
    role_text(role)
        .map(|(name, _)| name.to_owned())
        .unwrap_or_else(|| role.to_owned())
}

pub fn role_help(role: &str) -> &'static str {
    role_text(role).map_or("", |(_, help)| help)
}

/// What the server would refuse in an email address (mirrors its check).
pub fn email_problem(email: &str) -> Option<&'static str> {
    let e = email.trim();
    match e.split_once('@') {
        _ if e.is_empty() => Some("Enter the person's email address."),
        Some((local, domain)) if !local.is_empty() && domain.contains('.') && e.len() <= 254 => {
            None
        }
        _ => Some("Enter a valid email address, such as ada@example.com."),
    }
}

pub fn password_problem(password: &str) -> Option<String> {
    let n = password.chars().count();
    (n < MIN_PASSWORD_CHARS).then(|| {
        format!("The password needs at least {MIN_PASSWORD_CHARS} characters ({n} so far).")
    })
}

pub fn password_hint(password: &str) -> String {
    let n = password.chars().count();
    if n == 0 {
        format!("At least {MIN_PASSWORD_CHARS} characters.")
    } else if n < MIN_PASSWORD_CHARS {
        format!("At least {MIN_PASSWORD_CHARS} characters — {n} so far.")
    } else {
        format!("{n} characters ✓")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_of_the_server_has_a_name_and_help() {
        for r in ROLES {
            assert!(role_text(r).is_some(), "{r}");
        }
        assert_eq!(
            role_options().collect::<Vec<_>>(),
            [
                ("admin", "Admin".to_owned()),
                ("designer", "Designer".to_owned()),
                ("viewer", "Viewer".to_owned())
            ]
        );
        assert_eq!(role_name("auditor"), "auditor");
        assert_eq!(role_help("auditor"), "");
        assert!(is_role("viewer") && !is_role("auditor"));
    }

    #[test]
    fn form_checks() {
        assert!(email_problem("ada@example.com").is_none());
        assert!(email_problem("").is_some());
        assert!(email_problem("ada@localhost").is_some());
        assert_eq!(
            password_problem("short"),
            Some("The password needs at least 8 characters (5 so far).".to_owned())
        );
        assert!(password_problem("long enough").is_none());
        assert_eq!(password_hint(""), "At least 8 characters.");
        assert_eq!(password_hint("abc"), "At least 8 characters — 3 so far.");
        assert_eq!(password_hint("abcdefghij"), "10 characters ✓");
    }
}
