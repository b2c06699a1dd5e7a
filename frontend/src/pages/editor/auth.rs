//! Who may call a trigger: anyone, API keys, OAuth2 clients or signed webhooks (`signature`),
//! with the pickers each needs (`picks`), and "How to call this", which follows every change.

use flowgate_api::integrations::default_tolerance_s;
use flowgate_api::keys::KeyCreatedOut;
use flowgate_api::{KeyIn, KeyOut, OauthClientOut, SignaturePreset, TriggerAuth};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::ctx::Ctx;
use super::edit::non_blank;
use super::picks::{client_choices, key_choices, picked_mut, picker, Cred};
use super::signature::SignatureSection;
use crate::api;
use crate::components::{origin, CopyButton, ListLoader, Notify};
use crate::format::{fmt_rate, how_to_call, CallTarget, HowToCall};
use crate::session::use_session;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    ApiKey,
    Oauth2,
    Signature,
    Open,
}

fn kind_of(a: &TriggerAuth) -> Kind {
    match a {
        TriggerAuth::ApiKey { .. } => Kind::ApiKey,
        TriggerAuth::Oauth2 { .. } => Kind::Oauth2,
        TriggerAuth::Signature { .. } => Kind::Signature,
        TriggerAuth::None => Kind::Open,
    }
}

/// A kind's settings before anything is picked.
fn fresh(kind: Kind) -> TriggerAuth {
    match kind {
        Kind::ApiKey => TriggerAuth::ApiKey { keys: Vec::new() },
        Kind::Oauth2 => TriggerAuth::Oauth2 {
            clients: Vec::new(),
            keys: Vec::new(),
            scope: None,
        },
        Kind::Signature => TriggerAuth::Signature {
            preset: SignaturePreset::StandardWebhooks,
            secret: String::new(),
            tolerance_s: default_tolerance_s(),
            header: None,
            algorithm: None,
            encoding: None,
            prefix: None,
            timestamp_header: None,
            keys: Vec::new(),
            clients: Vec::new(),
        },
        Kind::Open => TriggerAuth::None,
    }
}

const KINDS: [(Kind, &str, &str, &str); 4] = [
    (
        Kind::ApiKey,
        "auth-api-key",
        "API keys",
        "Callers send a key's secret in the X-API-Key header (or as Authorization: Bearer).",
    ),
    (
        Kind::Oauth2,
        "auth-oauth2",
        "OAuth2 clients",
        "Callers get a short-lived access token at /oauth/token with a client's id and secret, then send it as Authorization: Bearer.",
    ),
    (
        Kind::Signature,
        "auth-signature",
        "Signed webhooks",
        "The sender signs each body with a shared secret (HMAC), the way GitHub, Stripe, Teams and Standard Webhooks senders do.",
    ),
    (
        Kind::Open,
        "auth-none",
        "Anyone with the URL",
        "No credentials: anyone who knows the URL can call it.",
    ),
];

/// The trigger's "Who may call it", and how to call it.
#[component]
pub fn AuthEditor(ctx: Ctx, #[prop(into)] url: Signal<String>) -> impl IntoView {
    let ro = ctx.readonly;
    let kind = Memo::new(move |_| ctx.doc.with(|d| kind_of(&d.trigger.auth)));
    // What each kind had before switching away from it, so switching back restores it.
    let memory = StoredValue::new(Vec::<TriggerAuth>::new());
    let switch = move |k: Kind| {
        ctx.edit(|d| {
            let current = std::mem::replace(&mut d.trigger.auth, TriggerAuth::None);
            let was = kind_of(&current);
            if was == k {
                d.trigger.auth = current;
                return;
            }
            memory.update_value(|m| {
                m.retain(|a| kind_of(a) != was);
                m.push(current);
            });
            d.trigger.auth = memory
                .with_value(|m| m.iter().find(|a| kind_of(a) == k).cloned())
                .unwrap_or_else(|| fresh(k));
        })
    };
    let hint = move || {
        KINDS
            .iter()
            .find(|(k, ..)| *k == kind.get())
            .map(|(.., hint)| *hint)
            .unwrap_or_default()
    };
    view! {
        <fieldset class="field key-picker" id="trigger-auth">
            <legend>"Who may call it"</legend>
            <div class="row" style="gap: 8px 18px; margin-bottom: 4px">
                {KINDS.into_iter().map(|(k, id, label, _)| view! {
                    <label class="check"><input type="radio" name="auth" id=id disabled=ro
                        prop:checked=move || kind.get() == k
                        on:change=move |_| switch(k)/>{label}</label>
                }).collect_view()}
            </div>
            <div class="hint" style="margin-bottom: 8px">{hint}</div>
            {move || match kind.get() {
                Kind::ApiKey => view! { <KeysSection ctx=ctx/> }.into_any(),
                Kind::Oauth2 => view! { <OauthSection ctx=ctx/> }.into_any(),
                Kind::Signature => view! { <SignatureSection ctx=ctx/> }.into_any(),
                Kind::Open => ().into_any(),
            }}
            <CallHow ctx=ctx url=url/>
        </fieldset>
    }
}

/// API keys: pick existing ones, or create one on the spot.
#[component]
fn KeysSection(ctx: Ctx) -> impl IntoView {
    let keys = ListLoader::<KeyOut>::new("/keys", "API keys");
    view! {
        {picker(ctx, Cred::Key, keys, key_choices, "No API keys exist yet. Create one below; its secret is shown once.")}
        <NewKey ctx=ctx keys=keys/>
    }
}

/// "New key for this trigger": created, picked, and its secret shown once.
#[component]
fn NewKey(ctx: Ctx, keys: ListLoader<KeyOut>) -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let new_label = RwSignal::new(String::new());
    let created = RwSignal::new(None::<KeyCreatedOut>);
    let create = move |_| {
        let label = new_label.get_untracked();
        if label.trim().is_empty() {
            notify.error("Give the new key a label (who will use it).");
            return;
        }
        spawn_local(async move {
            let body = KeyIn {
                label,
                secret: None,
                expires_at: None,
                rate_limit: None,
            };
            match api::post::<KeyCreatedOut, _>("/keys", &body).await {
                Ok(k) => {
                    let id = k.id.clone();
                    ctx.edit(|d| {
                        if let Some(list) = picked_mut(&mut d.trigger.auth, Cred::Key) {
                            list.push(id);
                        }
                    });
                    created.set(Some(k));
                    new_label.set(String::new());
                    keys.reload();
                }
                Err(e) => notify.error(format!("Could not create the key: {e}")),
            }
        });
    };
    view! {
        <Show when=move || !ctx.readonly && session.is_admin()>
            <div class="row new-key-row">
                <div class="field">
                    <label for="trigger-new-key">"New key for this trigger"</label>
                    <input id="trigger-new-key" type="text" placeholder="Label, e.g. identity service" prop:value=new_label
                        on:input=move |ev| new_label.set(event_target_value(&ev))/>
                </div>
                <button class="btn" type="button" id="trigger-create-key" on:click=create style="margin-bottom: 12px">"Create and select"</button>
            </div>
        </Show>
        {move || created.get().map(|k| view! {
            <div class="warn-box">
                <b>{format!("Secret of “{}”: copy it now, it is not shown again.", k.label)}</b>
                <div class="secret-once" id="trigger-key-secret">{k.secret.clone()}</div>
                <CopyButton text=k.secret.clone() label="Copy secret"/>
                " "<button class="btn btn-small" type="button" on:click=move |_| created.set(None)>"I saved it"</button>
            </div>
        })}
    }
}

/// OAuth2: the clients, an optional scope the token must carry, and API keys accepted too.
#[component]
fn OauthSection(ctx: Ctx) -> impl IntoView {
    let ro = ctx.readonly;
    let clients = ListLoader::<OauthClientOut>::new("/oauth-clients", "OAuth clients");
    let keys = ListLoader::<KeyOut>::new("/keys", "API keys");
    let scope0 = ctx.doc.with_untracked(|d| match &d.trigger.auth {
        TriggerAuth::Oauth2 { scope, .. } => scope.clone().unwrap_or_default(),
        _ => String::new(),
    });
    let with_keys = ctx
        .doc
        .with_untracked(|d| !d.trigger.auth.keys().is_empty());
    // Every scope some client may ask for, offered as the field is typed.
    let all_scopes = move || {
        clients.rows.with(|r| {
            let mut all: Vec<String> = match r {
                Some(Ok(list)) => list.iter().flat_map(|c| c.scopes.clone()).collect(),
                _ => Vec::new(),
            };
            all.sort();
            all.dedup();
            all
        })
    };
    // Picked clients that cannot get a token with the required scope.
    let scope_warnings = move || {
        let (scope, ids) = ctx.doc.with(|d| match &d.trigger.auth {
            TriggerAuth::Oauth2 { scope, clients, .. } => {
                (scope.clone().unwrap_or_default(), clients.clone())
            }
            _ => (String::new(), Vec::new()),
        });
        let scope = scope.trim().to_owned();
        if scope.is_empty() {
            return Vec::new();
        }
        clients.rows.with(|r| match r {
            Some(Ok(list)) => list
                .iter()
                .filter(|c| ids.contains(&c.client_id) && !c.scopes.contains(&scope))
                .map(|c| {
                    let has = if c.scopes.is_empty() {
                        "none".to_owned()
                    } else {
                        c.scopes.join(", ")
                    };
                    format!(
                        "“{}” cannot get a token with the scope {scope} (its scopes: {has}).",
                        c.label
                    )
                })
                .collect(),
            _ => Vec::new(),
        })
    };
    view! {
        {picker(ctx, Cred::Client, clients, client_choices, "No OAuth clients exist yet.")}
        <div class="hint" style="margin-bottom: 10px">
            "Clients are created, rotated and revoked on the "<a href="/oauth-clients">"OAuth clients page"</a>
            " (admins); a client's secret is shown once, when it is created."
        </div>
        <div class="field" style="max-width: 360px">
            <label for="auth-scope">"Required scope (optional)"</label>
            <input id="auth-scope" type="text" class="mono" placeholder="orders:write" readonly=ro
                list="auth-scope-options" autocomplete="off" spellcheck="false" prop:value=scope0
                on:input=move |ev| {
                    let v = non_blank(event_target_value(&ev)).map(|s| s.trim().to_owned());
                    ctx.edit(|d| if let TriggerAuth::Oauth2 { scope, .. } = &mut d.trigger.auth { *scope = v });
                }/>
            <datalist id="auth-scope-options">
                {move || all_scopes().into_iter().map(|s| view! { <option value=s/> }).collect_view()}
            </datalist>
            <div class="hint">"The token must carry this scope. A client asks for it when it gets the token, and may only ask for scopes it was given."</div>
            {move || scope_warnings().into_iter().map(|w| view! { <div class="field-error">{w}</div> }).collect_view()}
        </div>
        <details class="sub-details" open=with_keys>
            <summary>"Also accept API keys"</summary>
            <div class="hint" style="margin-bottom: 6px">"Callers with one of these keys (X-API-Key header) get in without a token."</div>
            {picker(ctx, Cred::Key, keys, key_choices, "No API keys exist yet: create them on the API keys page.")}
        </details>
    }
}

/// "How to call this": what a caller sends, in words, and a script that does it, following
/// the settings as they change.
#[component]
fn CallHow(ctx: Ctx, url: Signal<String>) -> impl IntoView {
    let how = Memo::new(move |_| {
        let url = url.get();
        let origin = origin();
        ctx.doc.with(|d| {
            let t = &d.trigger;
            let mut how: HowToCall = how_to_call(&CallTarget {
                origin: &origin,
                url: &url,
                method: t.methods.first().map(String::as_str).unwrap_or("POST"),
                auth: &t.auth,
                body: None,
                consumer: false,
            });
            if let Some(r) = t.rate_limit {
                how.what.push(format!(
                    "At most {}; more get 429 with a Retry-After header.",
                    fmt_rate(r.per_second, r.burst())
                ));
            }
            how
        })
    });
    let script = Signal::derive(move || how.with(|h| h.script.clone()));
    view! {
        <details class="verify-note call-how" id="call-how" open>
            <summary>"How to call this"</summary>
            <div id="call-what">
                {move || how.with(|h| h.what.iter().map(|w| view! { <p>{w.clone()}</p> }).collect_view())}
            </div>
            <pre class="json verify-code" id="call-snippet">{script}</pre>
            <div class="row" style="justify-content: space-between; margin-top: 6px">
                <span class="muted small">"Calls reach the published version: publish first to try what you see here."</span>
                <CopyButton text=script label="Copy"/>
            </div>
        </details>
    }
}
