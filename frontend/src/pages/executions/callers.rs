//! Who called: the API keys and OAuth clients a call can come with (the caller filter's
//! choices) and a recorded caller in words.

use flowgate_api::{KeyOut, OauthClientOut, Page};
use flows_runtime::{Caller, CallerKind};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;

/// One choice of the caller filter: its URL value (`key:<id>`, `client:<id>`) and its words.
#[derive(Clone, Debug, PartialEq)]
pub struct CallerChoice {
    pub value: String,
    pub label: String,
    pub kind: CallerKind,
}

/// The keys and clients, once loaded (either list stays empty when it cannot be read).
pub type Callers = RwSignal<Vec<CallerChoice>>;

/// "API key", "OAuth client".
pub fn kind_name(kind: CallerKind) -> &'static str {
    match kind {
        CallerKind::ApiKey => "API key",
        CallerKind::OauthClient => "OAuth client",
    }
}

/// Loads the live keys and clients for the filter.
pub fn load_callers() -> Callers {
    let callers: Callers = RwSignal::new(Vec::new());
    spawn_local(async move {
        let keys = api::get::<Page<KeyOut>>("/keys").await;
        let clients = api::get::<Page<OauthClientOut>>("/oauth-clients").await;
        let keys = keys.map(|p| p.items).unwrap_or_default();
        let clients = clients.map(|p| p.items).unwrap_or_default();
        callers.try_set(caller_choices(&keys, &clients));
    });
    callers
}

/// The filter's choices: keys, then clients, each by label; a label two of them share gets
/// the key's prefix or the client's id, so the two can be told apart.
pub fn caller_choices(keys: &[KeyOut], clients: &[OauthClientOut]) -> Vec<CallerChoice> {
    let mut key_list: Vec<(String, String, String)> = keys
        .iter()
        .map(|k| {
            (
                k.label.clone(),
                format!("key:{}", k.id),
                format!("{}…", k.prefix),
            )
        })
        .collect();
    let mut client_list: Vec<(String, String, String)> = clients
        .iter()
        .map(|c| {
            (
                c.label.clone(),
                format!("client:{}", c.client_id),
                c.client_id.clone(),
            )
        })
        .collect();
    key_list.sort_by_key(|(l, ..)| l.to_lowercase());
    client_list.sort_by_key(|(l, ..)| l.to_lowercase());
    let named = |list: Vec<(String, String, String)>, kind: CallerKind| -> Vec<CallerChoice> {
        let labels: Vec<String> = list.iter().map(|(l, ..)| l.clone()).collect();
        list.into_iter()
            .map(|(label, value, tell)| {
                let shared = labels.iter().filter(|l| **l == label).count() > 1;
                CallerChoice {
                    value,
                    label: if shared {
                        format!("{label} ({tell})")
                    } else {
                        label
                    },
                    kind,
                }
            })
            .collect()
    };
    let mut out = named(key_list, CallerKind::ApiKey);
    out.extend(named(client_list, CallerKind::OauthClient));
    out
}

/// A recorded caller as the list shows it: its label, and what kind of credential it is.
pub fn caller_cell(c: Option<Caller>) -> AnyView {
    match c {
        Some(c) => {
            let kind = kind_name(c.kind);
            let title = format!("{kind} {} (its label when the call came in)", c.id);
            let reference = c.reference();
            view! {
                <td class="cell-caller" title=title data-caller=reference>
                    <span class="caller-label">{c.label}</span>
                    <span class="muted small cell-sub">{kind}</span>
                </td>
            }
            .into_any()
        }
        None => view! {
            <td class="cell-caller" title="No credential: an open or signature-only trigger">
                <span class="muted">"—"</span>
            </td>
        }
        .into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, label: &str, prefix: &str) -> KeyOut {
        serde_json::from_value(serde_json::json!({
            "id": id, "label": label, "prefix": prefix, "created_at": "2026-12-07T10:00:00Z",
            "integrations": []
        }))
        .unwrap_or_else(|e| panic!("key: {e}"))
    }

    fn client(id: &str, label: &str) -> OauthClientOut {
        serde_json::from_value(serde_json::json!({
            "client_id": id, "label": label, "scopes": [], "created_at": "2026-12-07T10:00:00Z",
            "integrations": []
        }))
        .unwrap_or_else(|e| panic!("client: {e}"))
    }

    #[test]
    fn keys_then_clients_by_label_and_twins_told_apart() {
        let keys = [
            key("k2", "billing", "fg_b2"),
            key("k1", "Accounting", "fg_a1"),
            key("k3", "billing", "fg_b3"),
        ];
        let clients = [client("c1", "Partner")];
        let got: Vec<(String, String)> = caller_choices(&keys, &clients)
            .into_iter()
            .map(|c| (c.value, c.label))
            .collect();
        let want = [
            ("key:k1", "Accounting"),
            ("key:k2", "billing (fg_b2…)"),
            ("key:k3", "billing (fg_b3…)"),
            ("client:c1", "Partner"),
        ];
        assert_eq!(
            got,
            want.map(|(v, l)| (v.to_owned(), l.to_owned())).to_vec()
        );
    }

    #[test]
    fn the_values_are_what_the_server_filters_on() {
        let choices = caller_choices(&[key("k1", "a", "p")], &[client("c1", "b")]);
        let caller = |kind, id: &str| Caller {
            kind,
            id: id.to_owned(),
            label: String::new(),
        };
        assert_eq!(
            choices.iter().map(|c| c.value.clone()).collect::<Vec<_>>(),
            [
                caller(CallerKind::ApiKey, "k1").reference(),
                caller(CallerKind::OauthClient, "c1").reference()
            ]
        );
        assert_eq!(choices[1].kind, CallerKind::OauthClient);
    }
}
