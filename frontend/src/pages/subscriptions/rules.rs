//! What the subscription forms check before sending, in the UI's words. Whether a value is
//! acceptable is decided by the shared rules (`flowgate_api::subscriptions`,
//! `flows_runtime::event_type_problem` and `header_problem`); the wording is the UI's own.

use flowgate_api::subscriptions::RESERVED_HEADERS;

use crate::format::sentence;

/// Why `t` is not an event type, if it is not.
pub fn event_type_problem(t: &str) -> Option<String> {
    let problem = flows_runtime::event_type_problem(t)?;
    // The rule gives one of two reasons. Its reason for "" is the length ("an event type has
    // 1 to 128 characters"), said well enough in its own words; the other is the words.
    let only_the_length = flows_runtime::event_type_problem("").as_ref() == Some(&problem);
    Some(if only_the_length {
        sentence(&problem)
    } else {
        format!(
            "“{t}” is not an event type: use dot-separated words of letters, digits, _ and - (such as customer.created)."
        )
    })
}

/// Why a subscription pattern is not acceptable: an event type, `prefix.*` or `*`.
pub fn pattern_problem(p: &str) -> Option<String> {
    flowgate_api::subscriptions::pattern_problem(p).map(|_| {
        format!(
            "“{p}” is not a valid pattern: use an event type, a prefix such as customer.*, or *."
        )
    })
}

pub fn url_problem(url: &str) -> Option<&'static str> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Some("The URL must start with https:// (or http://).");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Some("The URL needs a host, such as https://crm.example.com/hooks/flowgate.");
    }
    if url.chars().any(char::is_whitespace) {
        return Some("The URL cannot contain spaces.");
    }
    if url.len() > 2048 {
        return Some("The URL is too long: at most 2048 characters.");
    }
    None
}

/// Why a custom header (`name` in lower case) cannot be sent with every delivery.
pub fn header_problem(name: &str, value: &str) -> Option<String> {
    if flows_runtime::header_problem(name, "").is_some() {
        return Some(format!(
            "“{name}” is not a valid header name: use letters, digits and - (such as X-Tenant)."
        ));
    }
    if RESERVED_HEADERS.contains(&name) || name.starts_with("webhook-") {
        return Some(format!(
            "Flowgate sets the {name} header itself: remove it from the custom headers."
        ));
    }
    if value.len() > 4096 || flows_runtime::header_problem(name, value).is_some() {
        return Some(format!(
            "The value of {name} is not valid: at most 4096 characters, on one line."
        ));
    }
    None
}

/// A concrete event type that the patterns accept, to prefill the test form.
pub fn example_type(patterns: &[String]) -> String {
    if let Some(exact) = patterns.iter().find(|p| !p.ends_with('*')) {
        return exact.clone();
    }
    if let Some(prefix) = patterns.iter().find_map(|p| p.strip_suffix(".*")) {
        return format!("{prefix}.test");
    }
    "test.ping".into()
}

pub fn status_help(status: &str) -> &'static str {
    match status {
        "pending" => "Waiting for its next attempt",
        "delivering" => "Being sent right now",
        "succeeded" => "The endpoint answered 2xx",
        "failed" => "Given up after its last attempt; redeliver it by hand",
        _ => "",
    }
}

/// The pill of an HTTP status code.
pub fn code_class(code: u16) -> &'static str {
    match code {
        200..=299 => "code-pill code-ok",
        300..=399 => "code-pill code-info",
        400..=499 => "code-pill code-warn",
        _ => "code-pill code-bad",
    }
}

#[cfg(test)]
mod tests {
    use flowgate_api::subscriptions::pattern_matches;

    use super::*;

    #[test]
    fn event_types_and_patterns() {
        assert_eq!(event_type_problem("customer.created"), None);
        assert_eq!(
            event_type_problem(""),
            Some("An event type has 1 to 128 characters.".to_owned())
        );
        assert_eq!(
            event_type_problem(&"a".repeat(129)),
            Some("An event type has 1 to 128 characters.".to_owned())
        );
        assert_eq!(
            event_type_problem("order..paid"),
            Some("“order..paid” is not an event type: use dot-separated words of letters, digits, _ and - (such as customer.created).".to_owned())
        );
        assert!(event_type_problem("order.").is_some());
        assert!(event_type_problem("a b").is_some());
        for ok in ["*", "customer.*", "order.created"] {
            assert_eq!(pattern_problem(ok), None, "{ok}");
        }
        assert_eq!(
            pattern_problem("customer.**"),
            Some("“customer.**” is not a valid pattern: use an event type, a prefix such as customer.*, or *.".to_owned())
        );
        assert!(pattern_problem("*.created").is_some());
    }

    #[test]
    fn examples_match_their_patterns() {
        for patterns in [
            vec!["order.created".to_owned()],
            vec!["customer.*".to_owned()],
            vec!["*".to_owned()],
            vec!["customer.*".to_owned(), "order.paid".to_owned()],
        ] {
            let t = example_type(&patterns);
            assert!(patterns.iter().any(|p| pattern_matches(p, &t)), "{t}");
        }
        assert_eq!(example_type(&["customer.*".to_owned()]), "customer.test");
    }

    #[test]
    fn urls_and_headers() {
        assert_eq!(url_problem("https://crm.example.com/hooks"), None);
        assert!(url_problem("ftp://x").is_some());
        assert!(url_problem("https://").is_some());
        assert!(url_problem("https://a b.example").is_some());
        assert_eq!(header_problem("x-tenant", "acme"), None);
        assert!(header_problem("x tenant", "acme").is_some());
        assert!(header_problem("content-type", "text/plain").is_some());
        assert!(header_problem("webhook-foo", "1").is_some());
        assert!(header_problem("x-tenant", "a\nb").is_some());
        assert_eq!(header_problem("x-tenant", "a\tb"), None);
        assert!(header_problem("x-tenant", &"a".repeat(4097)).is_some());
        assert_eq!(code_class(204), "code-pill code-ok");
        assert_eq!(code_class(503), "code-pill code-bad");
    }
}
