//! Stored secrets (admin): credentials that HTTP steps use by name. A value goes in once, on
//! creation or rotation, and never comes back out.

use flowgate_api::secrets::{SecretIn, SecretOut, SecretValueIn};
use flowgate_api::Page;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, enc, ApiError};
use crate::components::{confirm, Empty, ErrorBox, Loading, Modal, ModalActions, Notify, PageHead};
use crate::format::{ago, short_time};
use crate::session::use_session;

#[derive(Clone, PartialEq)]
enum Editing {
    New,
    Rotate(String),
}

#[component]
pub fn SecretsPage() -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let list = RwSignal::new(None::<Result<Vec<SecretOut>, ApiError>>);
    let editing = RwSignal::new(None::<Editing>);
    let load = move || {
        spawn_local(async move {
            let r = api::get::<Page<SecretOut>>("/secrets")
                .await
                .map(|p| p.items);
            list.try_set(Some(r));
        })
    };
    if session.is_admin() {
        load();
    }
    let remove = move |name: String| {
        let n2 = name.clone();
        confirm(
            format!("Delete the secret {name}?"),
            "HTTP steps that use it fail until a secret of that name exists again; publishing a flow that names it is refused.",
            "Delete secret",
            move || {
                let name = n2.clone();
                spawn_local(async move {
                    match api::delete(&format!("/secrets/{}", enc(&name))).await {
                        Ok(()) => {
                            notify.ok(format!("Secret {name} deleted"));
                            load();
                        }
                        Err(e) => notify.error(format!("Could not delete {name}: {e}")),
                    }
                });
            },
        );
    };
    view! {
        <div class="page">
            <PageHead title="Secrets" sub=|| "Passwords, tokens and client secrets that HTTP steps send, referred to by name. Values are encrypted at rest and never shown again.">
                <Show when=move || session.is_admin()>
                    <button class="btn btn-primary" id="new-secret" on:click=move |_| editing.set(Some(Editing::New))>"Add secret"</button>
                </Show>
            </PageHead>
            <Show when=move || session.is_admin() fallback=|| view! { <div class="empty">"Only admins manage secrets."</div> }>
                {move || match list.get() {
                    None => view! { <Loading what="secrets"/> }.into_any(),
                    Some(Err(e)) => view! { <ErrorBox error=e.describe()/> }.into_any(),
                    Some(Ok(items)) if items.is_empty() => view! {
                        <Empty title="No secrets yet">
                            "Add the token or password a flow needs to call another system, then pick its name in the HTTP step's credentials."
                        </Empty>
                    }.into_any(),
                    Some(Ok(items)) => view! {
                        <div class="table-wrap">
                            <table class="table" id="secrets">
                                <thead><tr><th>"Name"</th><th>"Sent only to"</th><th>"Created"</th><th>"Changed"</th><th></th></tr></thead>
                                <tbody>
                                    {items.into_iter().map(|s| secret_row(s, editing, remove)).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }}
            </Show>
            {move || editing.get().map(|e| view! {
                <SecretForm editing=e on_done=Callback::new(move |changed: bool| { editing.set(None); if changed { load(); } })/>
            })}
        </div>
    }
}

/// One row of the list.
fn secret_row(
    s: SecretOut,
    editing: RwSignal<Option<Editing>>,
    remove: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let n1 = s.name.clone();
    let n2 = s.name.clone();
    view! {
        <tr data-secret=s.name.clone()>
            <td class="mono strong">{s.name.clone()}</td>
            <td class="secret-hosts">{if s.hosts.is_empty() {
                view! { <span class="muted">"any host"</span> }.into_any()
            } else {
                view! { <span class="mono">{s.hosts.join(", ")}</span> }.into_any()
            }}</td>
            <td>{short_time(&s.created_at)}</td>
            <td title=short_time(&s.updated_at)>{ago(&s.updated_at)}</td>
            <td class="actions">
                <button class="btn btn-small" on:click=move |_| editing.set(Some(Editing::Rotate(n1.clone())))>"New value"</button>
                <button class="btn btn-small delete-secret" on:click=move |_| remove(n2.clone())>"Delete"</button>
            </td>
        </tr>
    }
}

#[component]
fn SecretForm(editing: Editing, #[prop(into)] on_done: Callback<bool>) -> impl IntoView {
    let notify = Notify::new();
    let rotate = match &editing {
        Editing::Rotate(n) => Some(n.clone()),
        Editing::New => None,
    };
    let title = match &rotate {
        Some(n) => format!("New value for {n}"),
        None => "Add secret".to_owned(),
    };
    let name = RwSignal::new(rotate.clone().unwrap_or_default());
    let value = RwSignal::new(String::new());
    let hosts = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let rotating = rotate.is_some();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (n, v) = (name.get_untracked(), value.get_untracked());
        if n.trim().is_empty() || v.is_empty() {
            error.set(Some("A name and a value are both needed.".into()));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let r = if rotating {
                api::put::<SecretOut, _>(
                    &format!("/secrets/{}", enc(&n)),
                    // Rotation keeps the hosts the secret is bound to.
                    &SecretValueIn {
                        value: v,
                        hosts: None,
                    },
                )
                .await
            } else {
                api::post::<SecretOut, _>(
                    "/secrets",
                    &SecretIn {
                        name: n.trim().to_owned(),
                        value: v,
                        hosts: hosts
                            .get_untracked()
                            .split([',', ' ', '\n'])
                            .map(str::trim)
                            .filter(|h| !h.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    },
                )
                .await
            };
            busy.try_set(false);
            match r {
                Ok(s) => {
                    notify.ok(if rotating {
                        format!("{} has a new value", s.name)
                    } else {
                        format!("Secret {} added", s.name)
                    });
                    on_done.run(true);
                }
                Err(e) => error.set(Some(e.describe())),
            }
        });
    };
    view! {
        <Modal title=title on_close=Callback::new(move |_| on_done.run(false))>
            <form on:submit=submit>
                <div class="field">
                    <label for="secret-name">"Name"</label>
                    <input id="secret-name" type="text" class="mono" placeholder="identity-api-token" readonly=rotating
                        prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                    <div class="hint">"Letters, digits, . _ and -. Steps refer to it by this name."</div>
                </div>
                <div class="field">
                    <label for="secret-value">"Value"</label>
                    <input id="secret-value" type="password" autocomplete="off" prop:value=value
                        on:input=move |ev| value.set(event_target_value(&ev))/>
                    <div class="hint">"Stored encrypted; it cannot be read back, only replaced."</div>
                </div>
                <Show when=move || !rotating>
                    <div class="field">
                        <label for="secret-hosts">"Send only to (optional)"</label>
                        <input id="secret-hosts" type="text" class="mono" placeholder="crm.example.com, *.example.com"
                            prop:value=hosts on:input=move |ev| hosts.set(event_target_value(&ev))/>
                        <div class="hint">"Hosts this secret may be sent to, comma-separated; an HTTP call to any other host fails instead of leaking it. Empty: any host."</div>
                    </div>
                </Show>
                {move || error.get().map(|e| view! { <div class="error-box" role="alert">{e}</div> })}
                <ModalActions on_cancel=move |()| on_done.run(false) id="save-secret" label="Save" busy_label="Save" busy=busy/>
            </form>
        </Modal>
    }
}
