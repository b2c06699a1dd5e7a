//! `subscriptions.yaml` against the target's subscriptions: what to create, what to change.

use flowgate_api::subscriptions::{SubscriptionIn, SubscriptionOut, SubscriptionPatch};
use flowgate_api::REDACTED;

use super::export::subscription_entry;
use super::format::{diff, to_yaml, SubscriptionEntry, SUBSCRIPTIONS_FILE};

/// A change to make.
pub enum SubChange {
    Create {
        name: String,
        input: SubscriptionIn,
    },
    Update {
        name: String,
        id: String,
        patch: SubscriptionPatch,
    },
}

/// What the plan found.
#[derive(Default)]
pub struct SubPlan {
    pub changes: Vec<SubChange>,
    pub unchanged: usize,
    /// Lines for standard output: `unchanged ...`, or a change with its diff.
    pub said: Vec<String>,
    pub problems: Vec<String>,
    pub notes: Vec<String>,
}

/// Matches each entry to a target subscription (same URL and description; else the only one
/// with that URL not matched otherwise) and works out the changes.
pub fn plan(entries: &[SubscriptionEntry], target: &[SubscriptionOut]) -> SubPlan {
    let mut p = SubPlan::default();
    let mut entries: Vec<SubscriptionEntry> = entries.to_vec();
    for e in &mut entries {
        e.normalise();
    }
    for (i, e) in entries.iter().enumerate() {
        if entries
            .iter()
            .take(i)
            .any(|o| o.url == e.url && o.description == e.description)
        {
            p.problems.push(format!(
                "{SUBSCRIPTIONS_FILE}: {} is listed twice (give them distinct descriptions)",
                e.name()
            ));
        }
    }
    // First the exact matches, then the only remaining one with the URL.
    let mut matched: Vec<Option<usize>> = vec![None; entries.len()];
    let mut claimed = vec![false; target.len()];
    // Entries that match several subscriptions: a problem, neither created nor changed.
    let mut ambiguous = vec![false; entries.len()];
    for (i, e) in entries.iter().enumerate() {
        let exact: Vec<usize> = (0..target.len())
            .filter(|&t| {
                target
                    .get(t)
                    .is_some_and(|s| s.url == e.url && s.description == e.description)
            })
            .collect();
        match exact.as_slice() {
            [t] => {
                set(&mut matched, i, Some(*t));
                set(&mut claimed, *t, true);
            }
            [] => {}
            _ => {
                set(&mut ambiguous, i, true);
                p.problems.push(format!(
                    "{SUBSCRIPTIONS_FILE}: {} matches {} subscriptions in the target: give them distinct descriptions",
                    e.name(),
                    exact.len()
                ));
            }
        }
    }
    for (i, e) in entries.iter().enumerate() {
        if matched.get(i).copied().flatten().is_some() || ambiguous.get(i) == Some(&true) {
            continue;
        }
        let by_url: Vec<usize> = (0..target.len())
            .filter(|&t| {
                !claimed.get(t).copied().unwrap_or(true)
                    && target.get(t).is_some_and(|s| s.url == e.url)
            })
            .collect();
        match by_url.as_slice() {
            [t] => {
                set(&mut matched, i, Some(*t));
                set(&mut claimed, *t, true);
            }
            [] => {}
            _ => {
                set(&mut ambiguous, i, true);
                p.problems.push(format!(
                    "{SUBSCRIPTIONS_FILE}: {} matches {} subscriptions with that URL in the target: give the entry the description of one",
                    e.name(),
                    by_url.len()
                ));
            }
        }
    }
    for (i, e) in entries.iter().enumerate() {
        if ambiguous.get(i) == Some(&true) {
            continue;
        }
        match matched
            .get(i)
            .copied()
            .flatten()
            .and_then(|t| target.get(t))
        {
            None => create(&mut p, e),
            Some(cur) => update(&mut p, e, cur),
        }
    }
    for (t, s) in target.iter().enumerate() {
        if !claimed.get(t).copied().unwrap_or(true) {
            p.notes.push(format!(
                "note: subscription {} of the target is not in {SUBSCRIPTIONS_FILE}; left as it is (apply never deletes)",
                subscription_entry(s).name()
            ));
        }
    }
    p
}

/// The entry as it may be shown: header values `[redacted]`.
fn masked(e: &SubscriptionEntry) -> SubscriptionEntry {
    let mut shown = e.clone();
    for v in shown.headers.values_mut() {
        *v = REDACTED.to_owned();
    }
    shown
}

fn set<T>(v: &mut [T], i: usize, value: T) {
    if let Some(slot) = v.get_mut(i) {
        *slot = value;
    }
}

fn create(p: &mut SubPlan, e: &SubscriptionEntry) {
    for k in e
        .headers
        .iter()
        .filter(|(_, v)| *v == REDACTED)
        .map(|(k, _)| k)
    {
        p.problems.push(format!(
            "{SUBSCRIPTIONS_FILE}: {}: headers.{k}: a new subscription needs the header's value, not `{REDACTED}` (give it, or leave the header out and add it in the target)",
            e.name()
        ));
    }
    let text = to_yaml(&masked(e)).unwrap_or_default();
    p.said.push(format!(
        "create subscription {}\n{}",
        e.name(),
        diff(
            "",
            &text,
            "subscription (not in the target)",
            SUBSCRIPTIONS_FILE
        )
    ));
    p.changes.push(SubChange::Create {
        name: e.name(),
        input: SubscriptionIn {
            url: e.url.clone(),
            event_types: e.event_types.clone(),
            description: e.description.clone(),
            enabled: e.enabled,
            headers: e.headers.clone(),
            rate_limit: e.rate_limit,
            ordered: e.ordered,
        },
    });
}

fn update(p: &mut SubPlan, e: &SubscriptionEntry, cur: &SubscriptionOut) {
    let now = subscription_entry(cur);
    for k in e
        .headers
        .iter()
        .filter(|(k, v)| *v == REDACTED && !now.headers.contains_key(*k))
        .map(|(k, _)| k)
    {
        p.problems.push(format!(
            "{SUBSCRIPTIONS_FILE}: {}: headers.{k}: the target has no such header, so `{REDACTED}` cannot keep its value; give the value",
            e.name()
        ));
    }
    // A value in the file (not `[redacted]`) is always sent: the target never shows its own.
    let sets_values = e.headers.values().any(|v| v != REDACTED);
    if now == *e && !sets_values {
        p.unchanged += 1;
        p.said.push(format!("unchanged subscription {}", e.name()));
        return;
    }
    let patch = SubscriptionPatch {
        url: (now.url != e.url).then(|| e.url.clone()),
        event_types: (now.event_types != e.event_types).then(|| e.event_types.clone()),
        description: (now.description != e.description).then(|| e.description.clone()),
        enabled: (now.enabled != e.enabled).then_some(e.enabled),
        headers: (now.headers != e.headers || sets_values).then(|| e.headers.clone()),
        rate_limit: (now.rate_limit != e.rate_limit).then_some(e.rate_limit.unwrap_or(0)),
        ordered: (now.ordered != e.ordered).then_some(e.ordered),
    };
    let mut text = diff(
        &to_yaml(&now).unwrap_or_default(),
        &to_yaml(&masked(e)).unwrap_or_default(),
        &format!("subscription {} (target)", cur.id),
        SUBSCRIPTIONS_FILE,
    );
    if sets_values {
        text.push_str(
            "(header values from the file are sent: the target cannot show its own to compare)\n",
        );
    }
    p.said
        .push(format!("update subscription {}\n{text}", e.name()));
    p.changes.push(SubChange::Update {
        name: e.name(),
        id: cur.id.clone(),
        patch,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn out(id: &str, url: &str, description: &str) -> SubscriptionOut {
        SubscriptionOut {
            id: id.into(),
            url: url.into(),
            event_types: vec!["b.x".into(), "a.*".into()],
            description: description.into(),
            enabled: true,
            disabled_reason: None,
            headers: BTreeMap::from([("x-auth".to_owned(), REDACTED.to_owned())]),
            rate_limit: None,
            ordered: false,
            previous_secret_expires_at: None,
            failing_since: None,
            last_success_at: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn entry(url: &str, description: &str) -> SubscriptionEntry {
        subscription_entry(&out("", url, description))
    }

    #[test]
    fn matches_by_url_then_description() {
        let target = [out("1", "https://a", "one"), out("2", "https://a", "two")];
        let p = plan(
            &[entry("https://a", "two"), entry("https://a", "one")],
            &target,
        );
        assert_eq!((p.unchanged, p.changes.len()), (2, 0), "{:?}", p.problems);
        // One with the URL: matched even though its description changed.
        let mut e = entry("https://b", "new");
        e.rate_limit = Some(5);
        let p = plan(&[e], &[out("3", "https://b", "old")]);
        match p.changes.as_slice() {
            [SubChange::Update { id, patch, .. }] => {
                assert_eq!(id, "3");
                assert_eq!(patch.description.as_deref(), Some("new"));
                assert_eq!(patch.rate_limit, Some(5));
                assert_eq!(patch.headers, None);
            }
            _ => panic!("expected one update"),
        }
        // Two with the URL and neither description: ambiguous.
        let p = plan(&[entry("https://a", "three")], &target);
        assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
    }

    #[test]
    fn redacted_headers_cannot_be_created() {
        let p = plan(&[entry("https://new", "")], &[]);
        assert!(
            p.problems.iter().any(|m| m.contains("headers.x-auth")),
            "{:?}",
            p.problems
        );
        let mut e = entry("https://new", "");
        e.headers.insert("x-auth".into(), "value".into());
        let p = plan(&[e], &[out("9", "https://other", "")]);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert!(matches!(p.changes.as_slice(), [SubChange::Create { .. }]));
        assert_eq!(p.notes.len(), 1);
        assert!(!p.said.concat().contains("value"), "{:?}", p.said);
    }
}
