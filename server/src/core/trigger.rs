//! A trigger's rules for what it accepts: declared query parameters and media types.

use std::collections::BTreeMap;

use flowgate_api::integrations::QueryParam;

/// Fills in the defaults of a trigger's declared query parameters; the name of a required
/// one that is missing.
pub fn apply_query_params(
    params: &[QueryParam],
    query: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    for p in params {
        if query.contains_key(&p.name) {
            continue;
        }
        match &p.default {
            Some(d) => {
                query.insert(p.name.clone(), d.clone());
            }
            None if p.required => return Err(p.name.clone()),
            None => {}
        }
    }
    Ok(())
}

/// Whether a media range accepts a media type's essence (`text/*` accepts `text/xml`).
pub fn media_matches(range: &str, essence: &str) -> bool {
    if range == "*/*" || range == essence {
        return true;
    }
    match (range.strip_suffix("/*"), essence.split_once('/')) {
        (Some(t), Some((et, _))) => t == et,
        _ => false,
    }
}

/// A body's content type a trigger does not accept (its essence, or `(none)`); `None` when
/// accepted (an empty list accepts anything).
pub fn refused_media_type(accepted: &[String], content_type: Option<&str>) -> Option<String> {
    if accepted.is_empty() {
        return None;
    }
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if accepted.iter().any(|r| media_matches(r, &essence)) {
        None
    } else if essence.is_empty() {
        Some("(none)".to_owned())
    } else {
        Some(essence)
    }
}
