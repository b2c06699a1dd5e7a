//! The trigger's credential pickers: checkboxes for the API keys or OAuth clients it
//! accepts, from lists loaded when a section opens.

use flowgate_api::{KeyOut, OauthClientOut, TriggerAuth};
use leptos::prelude::*;
use serde::de::DeserializeOwned;

use super::ctx::Ctx;
use crate::components::ListLoader;

/// Keys or OAuth clients: the two credentials a trigger lists by id.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Cred {
    Key,
    Client,
}

pub fn picked(a: &TriggerAuth, c: Cred) -> &[String] {
    match c {
        Cred::Key => a.keys(),
        Cred::Client => a.clients(),
    }
}

pub fn picked_mut(a: &mut TriggerAuth, c: Cred) -> Option<&mut Vec<String>> {
    match (a, c) {
        (TriggerAuth::ApiKey { keys }, Cred::Key)
        | (TriggerAuth::Oauth2 { keys, .. }, Cred::Key)
        | (TriggerAuth::Signature { keys, .. }, Cred::Key) => Some(keys),
        (TriggerAuth::Oauth2 { clients, .. }, Cred::Client)
        | (TriggerAuth::Signature { clients, .. }, Cred::Client) => Some(clients),
        _ => None,
    }
}

/// One credential a picker offers.
#[derive(Clone)]
pub struct Choice {
    id: String,
    label: String,
    /// Shown after the label (a key's prefix).
    detail: String,
    /// Shown on hover (a client's id and scopes).
    title: String,
    note: Option<&'static str>,
}

pub fn key_choices(keys: &[KeyOut]) -> Vec<Choice> {
    keys.iter()
        .map(|k| Choice {
            id: k.id.clone(),
            label: k.label.clone(),
            detail: format!(" {}…", k.prefix),
            title: k.id.clone(),
            note: k.expired.then_some(" expired"),
        })
        .collect()
}

pub fn client_choices(clients: &[OauthClientOut]) -> Vec<Choice> {
    clients
        .iter()
        .map(|c| Choice {
            id: c.client_id.clone(),
            label: c.label.clone(),
            detail: String::new(),
            title: if c.scopes.is_empty() {
                format!("{} · no scopes", c.client_id)
            } else {
                format!("{} · scopes: {}", c.client_id, c.scopes.join(" "))
            },
            note: None,
        })
        .collect()
}

/// One checkbox of a picker.
fn chip(ctx: Ctx, cred: Cred, c: Choice) -> impl IntoView {
    let (id, id2) = (c.id.clone(), c.id.clone());
    let (key_label, client_label, client_id) = match cred {
        Cred::Key => (Some(c.label.clone()), None, None),
        Cred::Client => (None, Some(c.label.clone()), Some(c.id.clone())),
    };
    let class = match cred {
        Cred::Key => "check chip key-chip",
        Cred::Client => "check chip client-chip",
    };
    view! {
        <label class=class data-key-label=key_label data-client-label=client_label data-client-id=client_id title=c.title.clone()>
            <input type="checkbox" disabled=ctx.readonly
                prop:checked=move || ctx.doc.with(|d| picked(&d.trigger.auth, cred).contains(&id))
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    let id = id2.clone();
                    ctx.edit(|d| if let Some(list) = picked_mut(&mut d.trigger.auth, cred) {
                        list.retain(|k| *k != id);
                        if on { list.push(id); }
                    });
                }/>
            {c.label}<span class="mono muted small">{c.detail}</span>
            {c.note.map(|n| view! { <span class="field-error small">{n}</span> })}
        </label>
    }
}

/// Checkboxes for the keys or clients the trigger accepts; picked ids that no longer exist
/// are listed too, so they can be unticked.
#[component]
fn Picks(ctx: Ctx, cred: Cred, choices: Vec<Choice>) -> impl IntoView {
    let known: Vec<String> = choices.iter().map(|c| c.id.clone()).collect();
    let gone = Memo::new(move |_| {
        ctx.doc.with(|d| {
            picked(&d.trigger.auth, cred)
                .iter()
                .filter(|id| !known.contains(id))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    view! {
        <div class="key-list">
            {choices.into_iter().map(|c| chip(ctx, cred, c)).collect_view()}
            {move || gone.get().into_iter().map(|id| chip(ctx, cred, Choice {
                label: id.clone(),
                title: format!("{id} was revoked or deleted: untick it"),
                id,
                detail: String::new(),
                note: Some(" no longer exists"),
            })).collect_view()}
        </div>
    }
}

/// The picker of a list being loaded: loading, refused (the role may not read it), failed,
/// empty, or its checkboxes.
pub fn picker<T: DeserializeOwned + Clone + Send + Sync + 'static>(
    ctx: Ctx,
    cred: Cred,
    list: ListLoader<T>,
    choices: fn(&[T]) -> Vec<Choice>,
    empty: &'static str,
) -> impl IntoView {
    let what = match cred {
        Cred::Key => "API keys",
        Cred::Client => "OAuth clients",
    };
    move || {
        list.rows.with(|r| match r {
            None => view! { <div class="muted small">{format!("Loading {what}…")}</div> }.into_any(),
            Some(Err(e)) if e.status == 403 => {
                let n = ctx.doc.with_untracked(|d| picked(&d.trigger.auth, cred).len());
                view! { <div class="muted small">{format!("Your role may not list the {what}; this trigger accepts {n}.")}</div> }.into_any()
            }
            Some(Err(e)) => list.failed(e, None, what),
            Some(Ok(items)) if items.is_empty() && picked_empty(ctx, cred) => {
                view! { <div class="muted small">{empty}</div> }.into_any()
            }
            Some(Ok(items)) => view! { <Picks ctx=ctx cred=cred choices=choices(items)/> }.into_any(),
        })
    }
}

fn picked_empty(ctx: Ctx, cred: Cred) -> bool {
    ctx.doc
        .with_untracked(|d| picked(&d.trigger.auth, cred).is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_auth_lists_the_credentials_it_takes() {
        let mut open = TriggerAuth::None;
        assert!(picked_mut(&mut open, Cred::Key).is_none());
        let mut keyed = TriggerAuth::ApiKey { keys: Vec::new() };
        assert!(picked_mut(&mut keyed, Cred::Client).is_none());
        if let Some(k) = picked_mut(&mut keyed, Cred::Key) {
            k.push("k1".into());
        }
        assert_eq!(picked(&keyed, Cred::Key), ["k1".to_owned()]);
        let mut oauth = TriggerAuth::Oauth2 {
            clients: Vec::new(),
            keys: Vec::new(),
            scope: None,
        };
        for (cred, id) in [(Cred::Client, "c1"), (Cred::Key, "k2")] {
            if let Some(list) = picked_mut(&mut oauth, cred) {
                list.push(id.into());
            }
        }
        assert_eq!(picked(&oauth, Cred::Client), ["c1".to_owned()]);
        assert_eq!(picked(&oauth, Cred::Key), ["k2".to_owned()]);
    }
}
