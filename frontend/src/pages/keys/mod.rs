//! API keys: a consumer sends one in the `X-API-Key` header (or as a bearer token) when it
//! calls a webhook trigger, and a trigger accepts only the keys picked in its settings.
//!
//! Everyone signed in reads the list; admins create keys (the secret is shown once, in the
//! creation dialog; optionally with an expiry and a rate limit), rename them, rotate them
//! (the old secret keeps working for an overlap) and revoke them.

mod rename;

use flowgate_api::{KeyCreatedOut, KeyIn, KeyOut};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::rotate::{previous_secret, RotateModal, Rotated, Rotating};
use crate::api::{self, enc};
use crate::components::{
    confirm, focused_input, parse_rate_limit, when, AdminButton, CopiedActions, Empty, ListLoader,
    ListMeta, ListTable, Loading, Modal, ModalActions, Notify, PageHead, RateLimitFields,
    RevealButton, SecretOnce,
};
use crate::format::{
    ago, fmt_rate, from_input, input_at, now_us, parse_time_us, plural, sentence, short_time, until,
};
use crate::session::use_session;
use rename::RenameKeyModal;

/// From this many keys on, the list gets a filter box.
const FILTER_FROM: usize = 8;

const COLUMNS: &[(&str, Option<&str>)] = &[
    ("Label", None),
    ("Key", None),
    ("Accepted by", None),
    ("Created", None),
    ("Last used", None),
];

/// What the server accepts as a pasted secret (mirrors the server's rule, so the form can say
/// what is wrong before sending it).
fn secret_problem(secret: &str) -> Option<&'static str> {
    if secret.is_empty() {
        Some("Paste the secret, or untick “Paste an existing secret” to let Flowgate generate one.")
    } else if secret.chars().any(|c| c.is_control() || c.is_whitespace()) {
        Some("The secret cannot contain spaces or line breaks.")
    } else if secret.len() < 24 {
        Some("The secret is too short: it needs at least 24 characters.")
    } else if secret.len() > 256 {
        Some("The secret is too long: at most 256 characters.")
    } else {
        None
    }
}

#[component]
pub fn KeysPage() -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    // A failed refresh keeps the list on screen and says so in a notice; a failed first load
    // replaces the list with the error.
    let loader = ListLoader::<KeyOut>::new("/keys", "keys");
    let keys = loader.rows;
    let load = move || loader.reload();
    let creating = RwSignal::new(false);
    // The key created last, highlighted in the list for a moment.
    let fresh = RwSignal::new(None::<String>);
    let filter = RwSignal::new(String::new());

    let on_created = Callback::new(move |k: KeyCreatedOut| {
        // Shown at once behind the dialog; the reload fills in what the server knows.
        let row = KeyOut {
            id: k.id.clone(),
            label: k.label.clone(),
            prefix: k.prefix.clone(),
            created_at: k.created_at.clone(),
            last_used_at: None,
            integrations: Vec::new(),
            expires_at: k.expires_at.clone(),
            expired: false,
            previous_until: None,
            rate_limit: None,
        };
        keys.update(|list| match list {
            Some(Ok(list)) => {
                if !list.iter().any(|x| x.id == row.id) {
                    list.push(row);
                }
            }
            _ => *list = Some(Ok(vec![row])),
        });
        fresh.set(Some(k.id));
        filter.set(String::new());
        load();
    });
    let on_close = Callback::new(move |()| {
        creating.set(false);
        load();
    });

    // The key being renamed.
    let renaming = RwSignal::new(None::<KeyOut>);
    let rename = move |k: KeyOut| renaming.set(Some(k));
    let on_renamed = Callback::new(move |k: KeyOut| {
        notify.ok(format!("Key renamed to “{}”", k.label));
        keys.update(|list| {
            if let Some(Ok(list)) = list {
                if let Some(row) = list.iter_mut().find(|x| x.id == k.id) {
                    *row = k.clone();
                }
            }
        });
        renaming.set(None);
    });

    // The key whose secret is being rotated.
    let rotating = RwSignal::new(None::<Rotating>);
    let on_rotated = Callback::new(move |r: Rotated| {
        keys.update(|list| {
            if let Some(Ok(list)) = list {
                if let Some(k) = list.iter_mut().find(|k| k.id == r.id) {
                    k.previous_until = r.previous_until.clone();
                }
            }
        });
        load();
    });
    let rotate = move |k: KeyOut| {
        rotating.set(Some(Rotating::Key {
            id: k.id,
            label: k.label,
        }))
    };

    let revoke = move |k: KeyOut| {
        let uses = match k.integrations.len() {
            0 => "No trigger accepts it at the moment.".to_owned(),
            n => format!(
                "{} accept{} it: {}.",
                plural(n, "integration", "integrations"),
                if n == 1 { "s" } else { "" },
                k.integrations.join(", ")
            ),
        };
        confirm(
            format!("Revoke “{}”?", k.label),
            format!(
                "Calls with this key will be refused at once. {uses} This cannot be undone: \
                 to let the consumer in again, create a new key and give it the new secret."
            ),
            "Revoke key",
            move || {
                let id = k.id.clone();
                let label = k.label.clone();
                spawn_local(async move {
                    match api::delete(&format!("/keys/{}", enc(&id))).await {
                        Ok(()) => {
                            keys.try_update(|list| {
                                if let Some(Ok(list)) = list {
                                    list.retain(|x| x.id != id);
                                }
                            });
                            fresh.try_set(None);
                            notify.ok(format!("Key “{label}” revoked"));
                        }
                        Err(e) if e.status == 404 => {
                            notify.error(format!("Key “{label}” was already revoked."));
                            load();
                        }
                        Err(e) => notify.error(format!("Could not revoke “{label}”: {e}")),
                    }
                });
            },
        );
    };

    let table = move || {
        let admin = session.is_admin();
        let q = filter.get().trim().to_lowercase();
        let fresh_id = fresh.get();
        keys.with(|r| match r {
            None => view! { <Loading what="API keys"/> }.into_any(),
            Some(Err(e)) => loader.failed(e, Some("Your role may not read API keys."), "API keys"),
            Some(Ok(list)) if list.is_empty() => view! {
                <Empty title="No API keys yet">
                    <p class="empty-lead">
                        "A key lets another system call your webhook triggers: it sends the key's secret in the "
                        <code>"X-API-Key"</code>" header."
                    </p>
                    <ol class="next-steps">
                        <li>"Create a key and give its secret to the system that will call you."</li>
                        <li>"Open an integration and pick the key in its trigger's settings."</li>
                    </ol>
                    {if admin {
                        view! {
                            <button class="btn btn-primary" type="button" on:click=move |_| creating.set(true)>
                                "Create your first key"
                            </button>
                        }
                        .into_any()
                    } else {
                        view! { <p class="muted small">"Only admins create keys: ask one to create it for you."</p> }
                            .into_any()
                    }}
                </Empty>
            }
            .into_any(),
            Some(Ok(list)) => {
                let shown: Vec<KeyOut> = list
                    .iter()
                    .filter(|k| {
                        q.is_empty()
                            || k.label.to_lowercase().contains(&q)
                            || k.prefix.to_lowercase().contains(&q)
                            || k.integrations.iter().any(|s| s.contains(&q))
                    })
                    .cloned()
                    .collect();
                if shown.is_empty() {
                    return view! {
                        <Empty title="No key matches">
                            "No key has that label, prefix or integration. Clear the filter to see them all."
                        </Empty>
                    }
                    .into_any();
                }
                let rows = shown
                    .into_iter()
                    .map(|k| {
                        let is_new = fresh_id.as_deref() == Some(k.id.as_str());
                        key_row(k, admin, is_new, KeyActions { rename, rotate, revoke })
                    })
                    .collect_view();
                view! {
                    <ListTable class="table keys-table" id="keys" columns=COLUMNS actions=admin>{rows}</ListTable>
                }
                .into_any()
            }
        })
    };

    let count = move || {
        keys.with(|r| match r {
            Some(Ok(list)) if !list.is_empty() => Some(plural(list.len(), "live key", "live keys")),
            _ => None,
        })
    };
    let show_filter =
        move || keys.with(|r| matches!(r, Some(Ok(list)) if list.len() >= FILTER_FROM));

    view! {
        <div class="page admin-page">
            <PageHead title="API keys" sub=|| view! {
                "Systems that call your webhook triggers send a key in the "<code>"X-API-Key"</code>
                " header (or as "<code>"Authorization: Bearer"</code>"). A trigger accepts only the keys picked in its settings."
            }>
                <Show when=show_filter>
                    <input type="search" class="admin-filter" placeholder="Filter by label, prefix or integration"
                        aria-label="Filter keys" prop:value=filter
                        on:input=move |ev| filter.set(event_target_value(&ev))/>
                </Show>
                <AdminButton id="new-key" label="Create key" note="Read-only: only admins create and revoke keys."
                    on_click=move |()| creating.set(true)/>
            </PageHead>
            <ListMeta text=Signal::derive(count)/>
            {table}
            <Show when=move || creating.get() && session.is_admin()>
                <CreateKeyModal on_created=on_created on_close=on_close/>
            </Show>
            {move || renaming.get().map(|key| view! {
                <RenameKeyModal key=key on_renamed=on_renamed
                    on_close=Callback::new(move |()| renaming.set(None))/>
            })}
            {move || rotating.get().map(|target| view! {
                <RotateModal target=target on_rotated=on_rotated
                    on_close=Callback::new(move |()| rotating.set(None))/>
            })}
        </div>
    }
}

/// What an admin can do to a row's key.
struct KeyActions<A, B, C> {
    rename: A,
    rotate: B,
    revoke: C,
}

/// One row of the list.
fn key_row<A, B, C>(
    k: KeyOut,
    admin: bool,
    is_new: bool,
    actions: KeyActions<A, B, C>,
) -> impl IntoView
where
    A: Fn(KeyOut) + Copy + Send + 'static,
    B: Fn(KeyOut) + Copy + Send + 'static,
    C: Fn(KeyOut) + Copy + Send + 'static,
{
    let KeyActions {
        rename,
        rotate,
        revoke,
    } = actions;
    let uses = if k.integrations.is_empty() {
        view! { <span class="muted small">"No trigger yet"</span> }.into_any()
    } else {
        view! {
            <div class="chips">
                {k.integrations
                    .iter()
                    .map(|slug| {
                        let href = format!("/integrations/{slug}");
                        view! { <a class="chip mono" href=href title="Open this integration">{slug.clone()}</a> }
                    })
                    .collect_view()}
            </div>
        }
        .into_any()
    };
    let last_used = match &k.last_used_at {
        Some(t) => view! { <span title=short_time(t)>{ago(t)}</span> }.into_any(),
        None => view! { <span class="muted">"never"</span> }.into_any(),
    };
    let label = k.label.clone();
    let action = admin.then(|| {
        let (k0, k1, k2) = (k.clone(), k.clone(), k.clone());
        let rename_aria = format!("Rename {label}");
        let rotate_aria = format!("Rotate the secret of {label}");
        let aria = format!("Revoke {label}");
        view! {
            <td class="actions">
                <button class="btn btn-small rename-key" type="button" aria-label=rename_aria
                    title="Change the label; the secret stays the same"
                    on:click=move |_| rename(k0.clone())>"Rename"</button>
                <button class="btn btn-small rotate-key" type="button" aria-label=rotate_aria
                    title="A new secret; the current one keeps working for an overlap you choose"
                    on:click=move |_| rotate(k1.clone())>"Rotate"</button>
                <button class="btn btn-small btn-quiet-danger revoke-key" type="button" aria-label=aria
                    on:click=move |_| revoke(k2.clone())>"Revoke"</button>
            </td>
        }
    });
    let limit = k.rate_limit.map(|r| {
        view! { <div class="muted small key-rate">{format!("at most {}", fmt_rate(r.per_second, r.burst()))}</div> }
    });
    view! {
        <tr data-key-label=k.label.clone() data-key-id=k.id.clone() class=if is_new { "row-new" } else { "" }>
            <td class="key-label">
                <span class="strong">{k.label.clone()}</span>
                {is_new.then(|| view! { <span class="badge badge-ok new-tag">"new"</span> })}
                {limit}
            </td>
            <td>
                <code class="key-prefix" title="The first characters of the secret">{format!("{}…", k.prefix)}</code>
                {expiry(k.expires_at.as_deref(), k.expired)}
                {previous_secret(k.previous_until.as_deref())}
            </td>
            <td class="key-uses">{uses}</td>
            <td class="when" title=ago(&k.created_at)>{when(&k.created_at)}</td>
            <td class="nowrap key-last-used">{last_used}</td>
            {action}
        </tr>
    }
}

/// When a key stops working, under its prefix: "expired", or how soon (nothing when it never
/// expires).
fn expiry(expires_at: Option<&str>, expired: bool) -> Option<AnyView> {
    let t = expires_at?;
    let full = format!("{} UTC", short_time(t));
    Some(if expired {
        view! {
            <div class="key-expiry"><span class="badge badge-error key-expired" title=format!("Expired {full}: calls with this key are refused")>"expired"</span></div>
        }
        .into_any()
    } else {
        view! { <div class="muted small key-expiry" title=full>{format!("expires {}", until(t))}</div> }.into_any()
    })
}

/// The creation dialog: a form, then (once created) the secret, shown this one time.
#[component]
fn CreateKeyModal(on_created: Callback<KeyCreatedOut>, on_close: Callback<()>) -> impl IntoView {
    let label = RwSignal::new(String::new());
    let paste = RwSignal::new(false);
    let secret = RwSignal::new(String::new());
    let reveal = RwSignal::new(false);
    let expires = RwSignal::new(String::new());
    let per_second = RwSignal::new(String::new());
    let burst = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let created = RwSignal::new(None::<KeyCreatedOut>);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let l = label.get_untracked().trim().to_owned();
        if l.is_empty() {
            error.set(Some(
                "Give the key a label, such as the name of the system that will use it.".into(),
            ));
            return;
        }
        if l.chars().count() > 100 {
            error.set(Some(
                "The label is too long: at most 100 characters.".into(),
            ));
            return;
        }
        let s = if paste.get_untracked() {
            let s = secret.get_untracked().trim().to_owned();
            if let Some(problem) = secret_problem(&s) {
                error.set(Some(problem.into()));
                return;
            }
            Some(s)
        } else {
            None
        };
        let expires_at = match expires.get_untracked().trim() {
            "" => None,
            typed => match from_input(typed) {
                Some(at) if parse_time_us(&at).is_some_and(|us| now_us() < us) => Some(at),
                Some(_) => {
                    error.set(Some(
                        "The expiry is in the past: pick a later time, or leave it empty.".into(),
                    ));
                    return;
                }
                None => {
                    error.set(Some(
                        "Pick a date and time (UTC) for the expiry, or leave it empty.".into(),
                    ));
                    return;
                }
            },
        };
        let rate_limit = match parse_rate_limit(&per_second.get_untracked(), &burst.get_untracked())
        {
            Ok(r) => r,
            Err(problem) => {
                error.set(Some(problem));
                return;
            }
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = api::post::<KeyCreatedOut, _>(
                "/keys",
                &KeyIn {
                    label: l,
                    secret: s,
                    expires_at,
                    rate_limit,
                },
            )
            .await;
            if busy.try_set(false).is_some() {
                return; // the dialog was closed meanwhile
            }
            match result {
                Ok(k) => {
                    secret.set(String::new());
                    created.set(Some(k.clone()));
                    on_created.try_run(k);
                }
                Err(e) if e.status == 409 => error.set(Some(format!(
                    "{} Paste a different secret, or let Flowgate generate one.",
                    sentence(&e.message)
                ))),
                Err(e) if e.status == 403 => error.set(Some("Only admins create keys.".into())),
                Err(e) => error.set(Some(format!("Could not create the key: {}", e.describe()))),
            }
        });
    };

    move || match created.get() {
        None => {
            let label_ref = focused_input();
            let secret_hint = move || {
                let n = secret.with(|s| s.trim().len());
                if n == 0 {
                    "24 to 256 visible characters, no spaces. Use this when the consumer already has a secret you must keep."
                        .to_owned()
                } else {
                    format!(
                        "{} — 24 to 256 visible characters, no spaces.",
                        plural(n, "character", "characters")
                    )
                }
            };
            view! {
                <Modal title="Create API key".to_owned() on_close=on_close>
                    <form class="create-key-form" on:submit=submit novalidate>
                        <div class="field">
                            <label for="key-label">"Label"</label>
                            <input id="key-label" type="text" maxlength="100" autocomplete="off"
                                placeholder="Billing system" required node_ref=label_ref
                                prop:value=label on:input=move |ev| {
                                    error.set(None);
                                    label.set(event_target_value(&ev));
                                }/>
                            <div class="hint">"Name it after the system that will use it, so you know who is cut off if you revoke it."</div>
                        </div>
                        <div class="field">
                            <label class="check" for="key-paste">
                                <input id="key-paste" type="checkbox" prop:checked=paste
                                    on:change=move |ev| {
                                        error.set(None);
                                        paste.set(event_target_checked(&ev));
                                    }/>
                                "Paste an existing secret"
                            </label>
                            <div class="hint check-hint">"Otherwise Flowgate generates a strong one for you."</div>
                        </div>
                        <Show when=move || paste.get()>
                            <div class="field">
                                <label for="key-paste-secret">"Secret"</label>
                                <div class="input-with-button">
                                    <input id="key-paste-secret" class="mono"
                                        type=move || if reveal.get() { "text" } else { "password" }
                                        autocomplete="off" spellcheck="false"
                                        prop:value=secret on:input=move |ev| {
                                            error.set(None);
                                            secret.set(event_target_value(&ev));
                                        }/>
                                    <RevealButton reveal=reveal controls="key-paste-secret"/>
                                </div>
                                <div class="hint">{secret_hint}</div>
                            </div>
                        </Show>
                        <div class="field">
                            <label for="key-expires">"Expires (optional, UTC)"</label>
                            <input id="key-expires" type="datetime-local" prop:value=expires
                                on:input=move |ev| {
                                    error.set(None);
                                    expires.set(event_target_value(&ev));
                                }/>
                            <div class="presets">
                                {EXPIRY_PRESETS.iter().map(|(days, text)| {
                                    let days = *days;
                                    view! {
                                        <button class="btn btn-small" type="button" on:click=move |_| {
                                            error.set(None);
                                            expires.set(if days == 0 { String::new() } else { days_from_now(days) });
                                        }>{*text}</button>
                                    }
                                }).collect_view()}
                            </div>
                            <div class="hint">"From this moment the key is refused. Empty: it works until you revoke it."</div>
                        </div>
                        <details class="sub-details">
                            <summary>"Rate limit (optional)"</summary>
                            <RateLimitFields id="key-rate" per_second=per_second burst=burst
                                hint="Calls per second with this key (counted on each instance), on top of each trigger's own limit. More get 429 with Retry-After."/>
                        </details>
                        {move || error.get().map(|e| view! { <div class="error-box" role="alert" id="key-error">{e}</div> })}
                        <ModalActions on_cancel=on_close id="create-key" label="Create key" busy_label="Creating…" busy=busy/>
                    </form>
                </Modal>
            }
            .into_any()
        }
        Some(k) => {
            let label_text = k.label.clone();
            let expiry_line = k.expires_at.clone().map(|t| {
                view! { <p class="muted small">{format!("It expires on {} UTC ({}).", short_time(&t), until(&t))}</p> }
            });
            view! {
                <Modal title="Copy the new key's secret".to_owned() on_close=on_close>
                    <div class="key-created" id="key-created">
                        <p>
                            "The key “"<strong>{k.label.clone()}</strong>"” is ready. Give this secret to the system that will call your triggers; it sends it in the "
                            <code>"X-API-Key"</code>" header."
                        </p>
                        <div class="warn-box" role="alert">
                            <strong>"This secret will not be shown again."</strong>
                            " Flowgate keeps only a digest of it. Copy it now and store it somewhere safe, such as the consumer's secret store."
                        </div>
                        <SecretOnce id="key-secret" aria_label="The key's secret" secret=k.secret.clone()/>
                        {expiry_line}
                        <p class="muted small next-step">
                            "Next: open an integration and pick “"{label_text}"” in its trigger's settings, so the trigger accepts it."
                        </p>
                    </div>
                    <CopiedActions id="key-done" on_close=on_close/>
                </Modal>
            }
            .into_any()
        }
    }
}

/// Quick picks for the expiry: (days from now, words); 0 clears it.
const EXPIRY_PRESETS: [(i64, &str); 4] = [
    (30, "30 days"),
    (90, "90 days"),
    (365, "1 year"),
    (0, "Never"),
];

/// The value of a `datetime-local` input (UTC) `days` from now.
fn days_from_now(days: i64) -> String {
    input_at(now_us() + days * 86_400_000_000)
}
