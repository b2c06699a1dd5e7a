//! Checking an integration document (everything but its flow, which `flows-runtime`
//! compiles), normalising what is harmless.

use std::collections::HashSet;

use flowgate_api::integrations::MAX_TOLERANCE_S;
use flowgate_api::{ErrorDetail, IntegrationDoc, SignaturePreset, TriggerAuth};

use crate::config::TriggersCfg;

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

pub(crate) fn detail(path: &str, message: impl Into<String>) -> ErrorDetail {
    ErrorDetail {
        path: path.to_owned(),
        step: None,
        field: None,
        message: message.into(),
    }
}

/// Slugs that name an endpoint of the API rather than an integration.
const RESERVED_SLUGS: &[&str] = &["validate"];

pub fn valid_slug(slug: &str) -> bool {
    !RESERVED_SLUGS.contains(&slug)
        && !slug.is_empty()
        && slug.len() <= 64
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !slug.starts_with('-')
}

pub(crate) fn valid_path_segment(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
        && s != "."
        && s != ".."
}

/// Largest `trigger.error_response.body`, as JSON.
const MAX_ERROR_BODY_BYTES: usize = 16 * 1024;

fn valid_media_range(s: &str) -> bool {
    match s.split_once('/') {
        Some((t, sub)) => {
            let ok = |p: &str| {
                !p.is_empty()
                    && (p == "*"
                        || p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c)))
            };
            ok(t) && ok(sub) && !(t == "*" && sub != "*")
        }
        None => false,
    }
}

/// What a document may refer to: live API keys and OAuth clients, stored secrets.
#[derive(Default)]
pub(crate) struct Known {
    pub keys: HashSet<String>,
    pub clients: HashSet<String>,
    pub secrets: HashSet<String>,
}

fn check_ids(
    ids: &[String],
    live: &HashSet<String>,
    at: &str,
    what: &str,
    errs: &mut Vec<ErrorDetail>,
) {
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        if !live.contains(id) {
            errs.push(detail(
                &format!("{at}[{i}]"),
                format!("no {what} with id {id}"),
            ));
        } else if !seen.insert(id) {
            errs.push(detail(&format!("{at}[{i}]"), "is listed twice"));
        }
    }
}

fn check_auth(auth: &mut TriggerAuth, known: &Known, errs: &mut Vec<ErrorDetail>) {
    check_ids(
        auth.keys(),
        &known.keys,
        "trigger.auth.keys",
        "API key",
        errs,
    );
    check_ids(
        auth.clients(),
        &known.clients,
        "trigger.auth.clients",
        "OAuth client",
        errs,
    );
    match auth {
        TriggerAuth::ApiKey { keys } if keys.is_empty() => errs.push(detail(
            "trigger.auth.keys",
            "choose at least one API key (or auth type none)",
        )),
        TriggerAuth::Oauth2 { clients, scope, .. } => {
            if clients.is_empty() {
                errs.push(detail(
                    "trigger.auth.clients",
                    "choose at least one OAuth client",
                ));
            }
            if let Some(s) = scope {
                *s = s.trim().to_owned();
                if let Some(p) = flowgate_api::oauth::scope_problem(s) {
                    errs.push(detail("trigger.auth.scope", p));
                }
            }
        }
        TriggerAuth::Signature {
            preset,
            secret,
            tolerance_s,
            header,
            timestamp_header,
            algorithm,
            encoding,
            prefix,
            clients,
            ..
        } => {
            if *preset == SignaturePreset::MsTeams && !clients.is_empty() {
                errs.push(detail(
                    "trigger.auth.clients",
                    "MS Teams signs in the Authorization header, so its calls cannot carry an access token; use keys (X-API-Key) instead",
                ));
            }
            *secret = secret.trim().to_owned();
            if secret.is_empty() {
                errs.push(detail(
                    "trigger.auth.secret",
                    "name the stored secret that holds the signing key",
                ));
            } else if !known.secrets.contains(secret.as_str()) {
                errs.push(detail(
                    "trigger.auth.secret",
                    format!("there is no stored secret named `{secret}`"),
                ));
            }
            if *tolerance_s == 0 || *tolerance_s > MAX_TOLERANCE_S {
                errs.push(detail(
                    "trigger.auth.tolerance_s",
                    format!("must be 1 to {MAX_TOLERANCE_S} seconds"),
                ));
            }
            let header_ok = |h: &str| flows_runtime::header_problem(h, "").is_none();
            if *preset == SignaturePreset::Generic {
                match header.as_deref().map(str::trim) {
                    Some(h) if !h.is_empty() && header_ok(h) => {}
                    _ => errs.push(detail(
                        "trigger.auth.header",
                        "a generic signature names the header that holds it",
                    )),
                }
                if let Some(th) = timestamp_header.as_deref().map(str::trim) {
                    if !th.is_empty() && !header_ok(th) {
                        errs.push(detail(
                            "trigger.auth.timestamp_header",
                            "must be a header name",
                        ));
                    }
                }
                if prefix.as_ref().is_some_and(|p| p.len() > 100) {
                    errs.push(detail(
                        "trigger.auth.prefix",
                        "must be at most 100 characters",
                    ));
                }
            } else {
                for (field, set) in [
                    ("header", header.is_some()),
                    ("timestamp_header", timestamp_header.is_some()),
                    ("algorithm", algorithm.is_some()),
                    ("encoding", encoding.is_some()),
                    ("prefix", prefix.is_some()),
                ] {
                    if set {
                        errs.push(detail(
                            &format!("trigger.auth.{field}"),
                            format!(
                                "only a generic signature has a {field}; {} fixes it",
                                preset.as_str()
                            ),
                        ));
                    }
                }
            }
        }
        _ => {}
    }
}

/// Checks everything about a document except its flow; normalises what is harmless.
pub(crate) fn check_document(
    limits: &TriggersCfg,
    doc: &mut IntegrationDoc,
    known: &Known,
) -> Vec<ErrorDetail> {
    let mut errs = Vec::new();
    doc.name = doc.name.trim().to_owned();
    if doc.name.is_empty() || doc.name.len() > 200 {
        errs.push(detail("name", "must be 1 to 200 characters"));
    }
    let t = &mut doc.trigger;
    t.path = t.path.trim().trim_start_matches('/').to_owned();
    if t.path.is_empty() || t.path.len() > 200 || !t.path.split('/').all(valid_path_segment) {
        errs.push(detail(
            "trigger.path",
            "must be segments of letters, digits, - _ . ~ separated by /, e.g. acme/CreateCustomerRecord",
        ));
    }
    let mut seen = HashSet::new();
    for (i, m) in t.methods.iter_mut().enumerate() {
        *m = m.to_ascii_uppercase();
        if !METHODS.contains(&m.as_str()) {
            errs.push(detail(
                &format!("trigger.methods[{i}]"),
                format!("must be one of {}", METHODS.join(", ")),
            ));
        } else if !seen.insert(m.clone()) {
            errs.push(detail(&format!("trigger.methods[{i}]"), "is listed twice"));
        }
    }
    if t.methods.is_empty() {
        errs.push(detail("trigger.methods", "enable at least one method"));
    }
    check_auth(&mut t.auth, known, &mut errs);
    if let Some(p) = t.rate_limit.as_ref().and_then(|l| l.problem()) {
        errs.push(detail("trigger.rate_limit", p));
    }
    if t.timeout_ms == 0 || t.timeout_ms > limits.max_timeout_ms {
        errs.push(detail(
            "trigger.timeout_ms",
            format!("must be 1 to {}", limits.max_timeout_ms),
        ));
    }
    if t.max_body_bytes == 0 || t.max_body_bytes > limits.max_body_bytes {
        errs.push(detail(
            "trigger.max_body_bytes",
            format!("must be 1 to {}", limits.max_body_bytes),
        ));
    }
    let mut names = HashSet::new();
    for (i, p) in t.query_params.iter().enumerate() {
        let at = format!("trigger.query_params[{i}]");
        if p.name.is_empty() || p.name.len() > 100 {
            errs.push(detail(&format!("{at}.name"), "must be 1 to 100 characters"));
        } else if !names.insert(p.name.clone()) {
            errs.push(detail(&format!("{at}.name"), "is listed twice"));
        }
        if p.required && p.default.is_some() {
            errs.push(detail(&at, "a required parameter cannot have a default"));
        }
    }
    for (i, ct) in t.content_types.iter_mut().enumerate() {
        *ct = ct.trim().to_ascii_lowercase();
        if !valid_media_range(ct) {
            errs.push(detail(
                &format!("trigger.content_types[{i}]"),
                "must be a media type like application/json or text/*",
            ));
        }
    }
    if let Some(e) = &t.error_response {
        if !(400..=599).contains(&e.status) {
            errs.push(detail(
                "trigger.error_response.status",
                "must be 400 to 599",
            ));
        }
        if serde_json::to_vec(&e.body).map_or(true, |b| b.len() > MAX_ERROR_BODY_BYTES) {
            errs.push(detail(
                "trigger.error_response.body",
                format!("must be at most {MAX_ERROR_BODY_BYTES} bytes of JSON"),
            ));
        }
    }
    let r = &t.retry;
    if r.max_attempts == 0 || r.max_attempts > 100 {
        errs.push(detail("trigger.retry.max_attempts", "must be 1 to 100"));
    }
    if r.initial_delay_ms == 0 || r.initial_delay_ms > r.max_delay_ms {
        errs.push(detail(
            "trigger.retry.initial_delay_ms",
            "must be at least 1 and at most max_delay_ms",
        ));
    }
    if r.max_delay_ms > 7 * 24 * 3_600_000 {
        errs.push(detail(
            "trigger.retry.max_delay_ms",
            "must be at most 7 days",
        ));
    }
    for (i, m) in r.retry_if.iter().enumerate() {
        let ok = m == "error"
            || (m.len() == 3
                && m.ends_with("xx")
                && matches!(m.as_bytes().first(), Some(b'1'..=b'5')))
            || m.parse::<u16>().is_ok_and(|n| (100..=599).contains(&n));
        if !ok {
            errs.push(detail(
                &format!("trigger.retry.retry_if[{i}]"),
                "must be `error`, a status class like `5xx` or a status like `429`",
            ));
        }
    }
    if let Some(path) = &t.lane_key {
        if !t.ordered {
            errs.push(detail(
                "trigger.lane_key",
                "only an ordered trigger has lanes (set ordered: true)",
            ));
        }
        if let Err(e) = flows_runtime::JsonPath::parse(path) {
            errs.push(detail("trigger.lane_key", e));
        }
    }
    if let Some(idem) = &t.idempotency {
        if idem.header.trim().is_empty()
            || flows_runtime::header_problem(idem.header.trim(), "").is_some()
        {
            errs.push(detail(
                "trigger.idempotency.header",
                "must be a header name",
            ));
        }
        if let Some(path) = &idem.body_path {
            if let Err(e) = flows_runtime::JsonPath::parse(path) {
                errs.push(detail("trigger.idempotency.body_path", e));
            }
        }
        if idem.retention_hours == 0 || idem.retention_hours > 24 * 90 {
            errs.push(detail(
                "trigger.idempotency.retention_hours",
                "must be 1 to 2160 (90 days)",
            ));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_paths() {
        assert!(valid_slug("create-customer_2"));
        assert!(!valid_slug("Create"));
        assert!(!valid_slug(""));
        assert!(!valid_slug("-x"));
        assert!(!valid_slug("validate"));
        assert!(valid_slug("validate-orders"));
        assert!("acme/CreateCustomerRecord"
            .split('/')
            .all(valid_path_segment));
        assert!(!"acme//x".split('/').all(valid_path_segment));
        assert!(!"acme/..".split('/').all(valid_path_segment));
    }

    #[test]
    fn media_ranges() {
        assert!(valid_media_range("application/json"));
        assert!(valid_media_range("text/*"));
        assert!(valid_media_range("*/*"));
        assert!(valid_media_range("application/vnd.api+json"));
        assert!(!valid_media_range("*/json"));
        assert!(!valid_media_range("json"));
    }
}
