//! OAuth clients: systems that call webhook triggers with short-lived access tokens. A client
//! exchanges its id and secret for a token at `/oauth/token` (the client credentials grant),
//! then sends `Authorization: Bearer <token>`; a trigger accepts only the clients picked in
//! its settings.
//!
//! Designers and admins read the list; admins create clients (the secret is shown once, in
//! the creation dialog), rotate their secret (the old one keeps working for an overlap) and
//! revoke them (their tokens stop working at once).

use flowgate_api::oauth::scope_problem;
use flowgate_api::{OauthClientCreatedOut, OauthClientIn, OauthClientOut};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::rotate::{previous_secret, RotateModal, Rotated, Rotating};
use crate::api::{self, enc};
use crate::components::{
    confirm, focused_input, origin, parse_rate_limit, AdminButton, CopiedActions, CopyButton,
    Empty, ListLoader, ListMeta, ListTable, Loading, Modal, ModalActions, Notify, PageHead,
    RateLimitFields, SecretOnce,
};
use crate::format::{ago, fmt_rate, plural, sentence, short_time, token_request};
use crate::session::use_session;

/// From this many clients on, the list gets a filter box.
const FILTER_FROM: usize = 8;

const COLUMNS: &[(&str, Option<&str>)] = &[
    ("Label", None),
    ("Client ID", None),
    ("Scopes", None),
    ("Accepted by", None),
    ("Last token", None),
];

/// Scopes as typed (separated by spaces or commas), each checked, duplicates dropped.
fn parse_scopes(text: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for s in text.split(|c: char| c == ',' || c.is_whitespace()) {
        if s.is_empty() || out.iter().any(|x| x == s) {
            continue;
        }
        if let Some(p) = scope_problem(s) {
            return Err(sentence(&p));
        }
        out.push(s.to_owned());
    }
    Ok(out)
}

/// `fgc_0193…9f3e`: enough to recognise a client id in a narrow column.
fn short_client_id(id: &str) -> String {
    let n = id.chars().count();
    if n <= 16 {
        return id.to_owned();
    }
    let head: String = id.chars().take(8).collect();
    let tail: String = id.chars().skip(n - 4).collect();
    format!("{head}…{tail}")
}

#[component]
pub fn OauthClientsPage() -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let loader = ListLoader::<OauthClientOut>::new("/oauth-clients", "OAuth clients");
    let clients = loader.rows;
    let load = move || loader.reload();
    let creating = RwSignal::new(false);
    let rotating = RwSignal::new(None::<Rotating>);
    // The client created last, highlighted in the list for a moment.
    let fresh = RwSignal::new(None::<String>);
    let filter = RwSignal::new(String::new());

    let on_created = Callback::new(move |c: OauthClientCreatedOut| {
        // Shown at once behind the dialog; the reload fills in what the server knows.
        let row = OauthClientOut {
            client_id: c.client_id.clone(),
            label: c.label.clone(),
            scopes: c.scopes.clone(),
            created_at: c.created_at.clone(),
            last_used_at: None,
            previous_until: None,
            rate_limit: None,
            integrations: Vec::new(),
        };
        clients.update(|list| match list {
            Some(Ok(list)) => {
                if !list.iter().any(|x| x.client_id == row.client_id) {
                    list.push(row);
                }
            }
            _ => *list = Some(Ok(vec![row])),
        });
        fresh.set(Some(c.client_id));
        filter.set(String::new());
        load();
    });
    let on_close = Callback::new(move |()| {
        creating.set(false);
        load();
    });
    let on_rotated = Callback::new(move |r: Rotated| {
        clients.update(|list| {
            if let Some(Ok(list)) = list {
                if let Some(c) = list.iter_mut().find(|c| c.client_id == r.id) {
                    c.previous_until = r.previous_until.clone();
                }
            }
        });
        load();
    });
    let rotate = move |c: OauthClientOut| {
        rotating.set(Some(Rotating::Client {
            id: c.client_id,
            label: c.label,
        }))
    };

    let revoke = move |c: OauthClientOut| {
        let uses = match c.integrations.len() {
            0 => "No trigger accepts it at the moment.".to_owned(),
            n => format!(
                "{} accept{} it: {}.",
                plural(n, "integration", "integrations"),
                if n == 1 { "s" } else { "" },
                c.integrations.join(", ")
            ),
        };
        confirm(
            format!("Revoke “{}”?", c.label),
            format!(
                "It can no longer get tokens, and the tokens it already has stop working at once. {uses} \
                 This cannot be undone: to let the system in again, create a new client."
            ),
            "Revoke client",
            move || {
                let id = c.client_id.clone();
                let label = c.label.clone();
                spawn_local(async move {
                    match api::delete(&format!("/oauth-clients/{}", enc(&id))).await {
                        Ok(()) => {
                            clients.try_update(|list| {
                                if let Some(Ok(list)) = list {
                                    list.retain(|x| x.client_id != id);
                                }
                            });
                            fresh.try_set(None);
                            notify.ok(format!("Client “{label}” revoked"));
                        }
                        Err(e) if e.status == 404 => {
                            notify.error(format!("Client “{label}” was already revoked."));
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
        clients.with(|r| match r {
            None => view! { <Loading what="OAuth clients"/> }.into_any(),
            Some(Err(e)) => loader.failed(e, Some("Your role may not read OAuth clients."), "OAuth clients"),
            Some(Ok(list)) if list.is_empty() => view! {
                <Empty title="No OAuth clients yet">
                    <p class="empty-lead">
                        "A client lets another system call your webhook triggers with short-lived access tokens: it sends its client id and secret to "
                        <code>"/oauth/token"</code>", gets a token, and calls with "<code>"Authorization: Bearer <token>"</code>"."
                    </p>
                    <ol class="next-steps">
                        <li>"Create a client and give its id and secret to the system that will call you."</li>
                        <li>"Open an integration, choose OAuth2 under “Who may call it” and pick the client."</li>
                    </ol>
                    {if admin {
                        view! {
                            <button class="btn btn-primary" type="button" on:click=move |_| creating.set(true)>
                                "Create your first client"
                            </button>
                        }
                        .into_any()
                    } else {
                        view! { <p class="muted small">"Only admins create OAuth clients: ask one to create it for you."</p> }
                            .into_any()
                    }}
                </Empty>
            }
            .into_any(),
            Some(Ok(list)) => {
                let shown: Vec<OauthClientOut> = list
                    .iter()
                    .filter(|c| {
                        q.is_empty()
                            || c.label.to_lowercase().contains(&q)
                            || c.client_id.to_lowercase().contains(&q)
                            || c.scopes.iter().any(|s| s.to_lowercase().contains(&q))
                            || c.integrations.iter().any(|s| s.contains(&q))
                    })
                    .cloned()
                    .collect();
                if shown.is_empty() {
                    return view! {
                        <Empty title="No client matches">
                            "No client has that label, id, scope or integration. Clear the filter to see them all."
                        </Empty>
                    }
                    .into_any();
                }
                let rows = shown
                    .into_iter()
                    .map(|c| {
                        let is_new = fresh_id.as_deref() == Some(c.client_id.as_str());
                        client_row(c, admin, is_new, rotate, revoke)
                    })
                    .collect_view();
                view! {
                    <ListTable class="table keys-table clients-table" id="oauth-clients" columns=COLUMNS actions=admin>{rows}</ListTable>
                }
                .into_any()
            }
        })
    };

    let count = move || {
        clients.with(|r| match r {
            Some(Ok(list)) if !list.is_empty() => {
                Some(plural(list.len(), "live client", "live clients"))
            }
            _ => None,
        })
    };
    let show_filter =
        move || clients.with(|r| matches!(r, Some(Ok(list)) if list.len() >= FILTER_FROM));

    view! {
        <div class="page admin-page">
            <PageHead title="OAuth clients" sub=|| view! {
                "Systems that call your webhook triggers with access tokens: they get one at "<code>"/oauth/token"</code>
                " with their client id and secret, then send "<code>"Authorization: Bearer <token>"</code>
                ". A trigger accepts only the clients picked in its settings."
            }>
                <Show when=show_filter>
                    <input type="search" class="admin-filter" placeholder="Filter by label, id, scope or integration"
                        aria-label="Filter clients" prop:value=filter
                        on:input=move |ev| filter.set(event_target_value(&ev))/>
                </Show>
                <AdminButton id="new-client" label="Create client" note="Read-only: only admins create, rotate and revoke clients."
                    on_click=move |()| creating.set(true)/>
            </PageHead>
            <ListMeta text=Signal::derive(count)/>
            {table}
            <Show when=move || creating.get() && session.is_admin()>
                <CreateClientModal on_created=on_created on_close=on_close/>
            </Show>
            {move || rotating.get().map(|target| view! {
                <RotateModal target=target on_rotated=on_rotated
                    on_close=Callback::new(move |()| rotating.set(None))/>
            })}
        </div>
    }
}

/// One row of the list.
fn client_row(
    c: OauthClientOut,
    admin: bool,
    is_new: bool,
    rotate: impl Fn(OauthClientOut) + Copy + Send + 'static,
    revoke: impl Fn(OauthClientOut) + Copy + Send + 'static,
) -> impl IntoView {
    let uses = if c.integrations.is_empty() {
        view! { <span class="muted small">"No trigger yet"</span> }.into_any()
    } else {
        view! {
            <div class="chips">
                {c.integrations
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
    let scopes = if c.scopes.is_empty() {
        view! { <span class="muted small">"none"</span> }.into_any()
    } else {
        view! {
            <div class="chips client-scopes">
                {c.scopes.iter().map(|s| view! { <span class="chip mono">{s.clone()}</span> }).collect_view()}
            </div>
        }
        .into_any()
    };
    let last_used = match &c.last_used_at {
        Some(t) => view! { <span title=short_time(t)>{ago(t)}</span> }.into_any(),
        None => view! { <span class="muted">"never"</span> }.into_any(),
    };
    let limit = c.rate_limit.map(|r| {
        view! { <div class="muted small client-rate">{format!("at most {}", fmt_rate(r.per_second, r.burst()))}</div> }
    });
    let label = c.label.clone();
    let action = admin.then(|| {
        let (c1, c2) = (c.clone(), c.clone());
        let rotate_aria = format!("Rotate the secret of {label}");
        let aria = format!("Revoke {label}");
        view! {
            <td class="actions">
                <button class="btn btn-small rotate-client" type="button" aria-label=rotate_aria
                    title="A new secret; the current one keeps working for an overlap you choose"
                    on:click=move |_| rotate(c1.clone())>"Rotate"</button>
                <button class="btn btn-small btn-quiet-danger revoke-client" type="button" aria-label=aria
                    on:click=move |_| revoke(c2.clone())>"Revoke"</button>
            </td>
        }
    });
    let id = c.client_id.clone();
    view! {
        <tr data-client-label=c.label.clone() data-client-id=c.client_id.clone() class=if is_new { "row-new" } else { "" }>
            <td class="key-label">
                <span class="strong">{c.label.clone()}</span>
                {is_new.then(|| view! { <span class="badge badge-ok new-tag">"new"</span> })}
                {limit}
                <div class="muted small client-created" title=format!("{} UTC ({})", short_time(&c.created_at), ago(&c.created_at))>
                    {format!("created {}", short_time(&c.created_at).get(..10).unwrap_or_default())}
                </div>
            </td>
            <td class="client-id-cell">
                <code class="key-prefix" title=id.clone()>{short_client_id(&id)}</code>" "
                <CopyButton text=id.clone() label="Copy"/>
                {previous_secret(c.previous_until.as_deref())}
            </td>
            <td>{scopes}</td>
            <td class="key-uses">{uses}</td>
            <td class="nowrap key-last-used">{last_used}</td>
            {action}
        </tr>
    }
}

/// The creation dialog: a form, then (once created) the client's id and secret, the secret
/// shown this one time.
#[component]
fn CreateClientModal(
    on_created: Callback<OauthClientCreatedOut>,
    on_close: Callback<()>,
) -> impl IntoView {
    let label = RwSignal::new(String::new());
    let scopes = RwSignal::new(String::new());
    let per_second = RwSignal::new(String::new());
    let burst = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let created = RwSignal::new(None::<OauthClientCreatedOut>);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let l = label.get_untracked().trim().to_owned();
        if l.is_empty() {
            error.set(Some(
                "Give the client a label, such as the name of the system that will use it.".into(),
            ));
            return;
        }
        if l.chars().count() > 100 {
            error.set(Some(
                "The label is too long: at most 100 characters.".into(),
            ));
            return;
        }
        let scopes = match parse_scopes(&scopes.get_untracked()) {
            Ok(s) => s,
            Err(problem) => {
                error.set(Some(problem));
                return;
            }
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
            let result = api::post::<OauthClientCreatedOut, _>(
                "/oauth-clients",
                &OauthClientIn {
                    label: l,
                    scopes,
                    rate_limit,
                },
            )
            .await;
            if busy.try_set(false).is_some() {
                return; // the dialog was closed meanwhile
            }
            match result {
                Ok(c) => {
                    created.set(Some(c.clone()));
                    on_created.try_run(c);
                }
                Err(e) if e.status == 403 => {
                    error.set(Some("Only admins create OAuth clients.".into()))
                }
                Err(e) if e.status == 400 => error.set(Some(sentence(&e.describe()))),
                Err(e) => error.set(Some(format!(
                    "Could not create the client: {}",
                    e.describe()
                ))),
            }
        });
    };

    move || match created.get() {
        None => {
            let label_ref = focused_input();
            view! {
                <Modal title="Create OAuth client".to_owned() on_close=on_close>
                    <form class="create-client-form" on:submit=submit novalidate>
                        <div class="field">
                            <label for="client-label">"Label"</label>
                            <input id="client-label" type="text" maxlength="100" autocomplete="off"
                                placeholder="Partner order system" required node_ref=label_ref
                                prop:value=label on:input=move |ev| {
                                    error.set(None);
                                    label.set(event_target_value(&ev));
                                }/>
                            <div class="hint">"Name it after the system that will use it, so you know who is cut off if you revoke it."</div>
                        </div>
                        <div class="field">
                            <label for="client-scopes">"Scopes (optional)"</label>
                            <input id="client-scopes" type="text" class="mono" autocomplete="off" spellcheck="false"
                                placeholder="orders:write orders:read"
                                prop:value=scopes on:input=move |ev| {
                                    error.set(None);
                                    scopes.set(event_target_value(&ev));
                                }/>
                            <div class="hint">"What the client may ask for when it gets a token, separated by spaces or commas (letters, digits and . : _ - /). A trigger can require one of them."</div>
                        </div>
                        <details class="sub-details">
                            <summary>"Rate limit (optional)"</summary>
                            <RateLimitFields id="client-rate" per_second=per_second burst=burst
                                hint="Calls per second with this client's tokens (counted on each instance), on top of each trigger's own limit. More get 429 with Retry-After."/>
                        </details>
                        {move || error.get().map(|e| view! { <div class="error-box" role="alert" id="client-error">{e}</div> })}
                        <ModalActions on_cancel=on_close id="create-client" label="Create client" busy_label="Creating…" busy=busy/>
                    </form>
                </Modal>
            }
            .into_any()
        }
        Some(c) => {
            let token_url = format!("{}{}", origin(), c.token_url);
            let example = token_request(&origin(), &c.client_id);
            let scopes_text = if c.scopes.is_empty() {
                "It has no scopes.".to_owned()
            } else {
                format!("It may ask for: {}.", c.scopes.join(", "))
            };
            view! {
                <Modal title="Copy the client's credentials".to_owned() on_close=on_close>
                    <div class="key-created" id="client-created">
                        <p>
                            "The client “"<strong>{c.label.clone()}</strong>"” is ready. Give its id and secret to the system that will call your triggers: it exchanges them for an access token at the token URL, then sends the token as "
                            <code>"Authorization: Bearer …"</code>". "{scopes_text}
                        </p>
                        <div class="field">
                            <label for="client-id">"Client ID"</label>
                            <div class="input-with-button">
                                <input id="client-id" type="text" class="mono" readonly prop:value=c.client_id.clone()/>
                                <CopyButton text=c.client_id.clone() label="Copy"/>
                            </div>
                        </div>
                        <div class="field">
                            <label>"Client secret"</label>
                            <div class="warn-box" role="alert">
                                <strong>"This secret will not be shown again."</strong>
                                " Flowgate keeps only a digest of it. Copy it now and store it somewhere safe, such as the caller's secret store."
                            </div>
                            <SecretOnce id="client-secret" aria_label="The client's secret" secret=c.client_secret.clone()/>
                        </div>
                        <div class="field">
                            <label for="client-token-url">"Token URL"</label>
                            <div class="input-with-button">
                                <input id="client-token-url" type="text" class="mono" readonly prop:value=token_url.clone()/>
                                <CopyButton text=token_url label="Copy"/>
                            </div>
                        </div>
                        <details class="verify-note">
                            <summary>"Getting a token (curl)"</summary>
                            <pre class="json verify-code" id="client-token-example">{example.clone()}</pre>
                            <CopyButton text=example label="Copy"/>
                        </details>
                        <p class="muted small next-step">
                            "Next: open an integration, choose OAuth2 under “Who may call it” and pick “"{c.label.clone()}"”, so the trigger accepts its tokens."
                        </p>
                    </div>
                    <CopiedActions id="client-done" on_close=on_close/>
                </Modal>
            }
            .into_any()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_as_typed() {
        assert_eq!(
            parse_scopes(" orders:write, orders:read orders:write "),
            Ok(vec!["orders:write".to_owned(), "orders:read".to_owned()])
        );
        assert_eq!(parse_scopes(""), Ok(Vec::new()));
        assert!(parse_scopes("orders*").is_err());
    }

    #[test]
    fn client_ids_in_short() {
        assert_eq!(
            short_client_id("fgc_0193ab12cd34ef567890abcdef129f3e"),
            "fgc_0193…9f3e"
        );
        assert_eq!(short_client_id("fgc_short"), "fgc_short");
    }
}
