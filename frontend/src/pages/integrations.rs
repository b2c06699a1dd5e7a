//! The integrations list: search, status, last call and error rate; create, duplicate,
//! enable/disable and delete.

use flowgate_api::integrations::{DraftOut, IntegrationPatch};
use flowgate_api::{IntegrationOut, Page};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use crate::api::{self, enc, ApiError};
use crate::components::{
    confirm, Badge, Empty, ErrorBox, Loading, Modal, ModalActions, Notify, PageHead,
};
use crate::format::ago;
use crate::model::starter_doc;
use crate::session::{use_session, Session};

/// `Create Customer Record` → `create-customer-record`.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(64).collect()
}

fn error_rate(i: &IntegrationOut) -> Option<(u64, u64)> {
    i.stats.as_ref().map(|s| (s.errors_24h, s.calls_24h))
}

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    let session = use_session();
    let items = RwSignal::new(None::<Result<Vec<IntegrationOut>, ApiError>>);
    let search = RwSignal::new(String::new());
    let creating = RwSignal::new(false);
    let duplicating = RwSignal::new(None::<IntegrationOut>);
    let notify = Notify::new();

    let load = move || {
        spawn_local(async move {
            let r = api::get::<Page<IntegrationOut>>("/integrations")
                .await
                .map(|p| p.items);
            items.try_set(Some(r));
        })
    };
    load();

    let toggle = move |i: IntegrationOut| {
        let enable = !i.enabled;
        spawn_local(async move {
            let body = IntegrationPatch {
                enabled: Some(enable),
            };
            match api::patch::<IntegrationOut, _>(&format!("/integrations/{}", enc(&i.slug)), &body)
                .await
            {
                Ok(_) => {
                    notify.ok(format!(
                        "{} {}",
                        i.name,
                        if enable { "enabled" } else { "disabled" }
                    ));
                    load();
                }
                Err(e) => notify.error(format!("Could not change {}: {e}", i.name)),
            }
        });
    };
    let remove = move |i: IntegrationOut| {
        let name = i.name.clone();
        confirm(
            format!("Delete {name}?"),
            format!(
                "The endpoint {} stops answering and every version is deleted. Recorded executions stay until retention removes them.",
                i.endpoint
            ),
            "Delete integration",
            move || {
                let slug = i.slug.clone();
                let name = i.name.clone();
                spawn_local(async move {
                    match api::delete(&format!("/integrations/{}", enc(&slug))).await {
                        Ok(()) => {
                            notify.ok(format!("{name} deleted"));
                            load();
                        }
                        Err(e) => notify.error(format!("Could not delete {name}: {e}")),
                    }
                });
            },
        );
    };

    let filtered = move || {
        let q = search.get().to_lowercase();
        items.with(|r| match r {
            Some(Ok(list)) => Some(Ok(list
                .iter()
                .filter(|i| {
                    q.is_empty()
                        || i.name.to_lowercase().contains(&q)
                        || i.slug.contains(&q)
                        || i.endpoint.to_lowercase().contains(&q)
                })
                .cloned()
                .collect::<Vec<_>>())),
            Some(Err(e)) => Some(Err(e.describe())),
            None => None,
        })
    };

    view! {
        <div class="page">
            <PageHead title="Integrations" sub=|| "Each integration is a webhook endpoint and the flow that answers it.">
                <input type="search" class="search" placeholder="Search by name, slug or path" aria-label="Search integrations"
                    style="width: 260px" prop:value=search on:input=move |ev| search.set(event_target_value(&ev))/>
                <Show when=move || session.can_edit()>
                    <button class="btn btn-primary" id="new-integration" on:click=move |_| creating.set(true)>"New integration"</button>
                </Show>
            </PageHead>
            {move || match filtered() {
                None => view! { <Loading what="integrations"/> }.into_any(),
                Some(Err(e)) => view! { <ErrorBox error=e/> }.into_any(),
                Some(Ok(list)) if list.is_empty() && search.with(String::is_empty) => view! {
                    <Empty title="No integrations yet">
                        "An integration gives another system an endpoint to call and a flow that maps, transforms and answers. "
                        <Show when=move || session.can_edit()>
                            <div><button class="btn btn-primary" on:click=move |_| creating.set(true)>"Create your first integration"</button></div>
                        </Show>
                    </Empty>
                }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <Empty title="Nothing matches">"No integration has that name, slug or path. Clear the search to see them all."</Empty>
                }.into_any(),
                Some(Ok(list)) => view! {
                    <div class="table-wrap">
                        <table class="table" id="integrations">
                            <thead><tr>
                                <th>"Name"</th><th>"Endpoint"</th><th>"Status"</th><th>"Version"</th>
                                <th>"Last call"</th><th class="num">"Errors (24 h)"</th><th></th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|i| integration_row(i, session, duplicating, toggle, remove)).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
            <Show when=move || creating.get()>
                <NewIntegration source=None on_close=Callback::new(move |_| creating.set(false))/>
            </Show>
            {move || duplicating.get().map(|src| view! {
                <NewIntegration source=Some(src) on_close=Callback::new(move |_| duplicating.set(None))/>
            })}
        </div>
    }
}

/// One row of the list.
fn integration_row(
    i: IntegrationOut,
    session: Session,
    duplicating: RwSignal<Option<IntegrationOut>>,
    toggle: impl Fn(IntegrationOut) + Copy + Send + Sync + 'static,
    remove: impl Fn(IntegrationOut) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let href = format!("/integrations/{}", i.slug);
    let last = i.stats.as_ref().and_then(|s| s.last_call_at.clone());
    let rate = error_rate(&i);
    let i2 = i.clone();
    let i3 = i.clone();
    let i4 = i.clone();
    let published = i.status != "draft";
    view! {
        <tr data-slug=i.slug.clone()>
            <td class="name-cell">
                <a href=href class="strong">{i.name.clone()}</a>
                <div class="muted small mono">
                    {i.slug.clone()}
                    {published.then(|| view! {
                        " · "<a class="docs-link" href=format!("/integrations/{}/docs", enc(&i.slug))
                            title="The endpoint's docs for its consumers">"docs"</a>
                    })}
                </div>
            </td>
            <td class="mono small endpoint-cell">{i.endpoint.clone()}</td>
            <td>
                <Badge kind=i.status.clone()/>
                {i.has_draft.then(|| view! { <span class="muted small" title="Unpublished changes">" · edited"</span> })}
            </td>
            <td class="num">{if i.version > 0 { format!("v{}", i.version) } else { "—".into() }}</td>
            <td title=last.clone().unwrap_or_default()>{last.as_deref().map(ago).unwrap_or_else(|| "never".into())}</td>
            <td class="num">{match rate {
                Some((_, 0)) | None => view! { <span class="muted">"—"</span> }.into_any(),
                Some((e, n)) => {
                    let pct = (e as f64) * 100.0 / (n as f64);
                    let class = if e == 0 { "rate ok" } else if pct < 5.0 { "rate warn" } else { "rate bad" };
                    view! { <span class=class title=format!("{e} of {n} calls")>{format!("{pct:.1} %")}</span> }.into_any()
                }
            }}</td>
            <td class="actions">
                <Show when=move || session.can_edit()>
                    {
                        let i2 = i2.clone();
                        let i3 = i3.clone();
                        let i4 = i4.clone();
                        view! {
                            <button class="btn btn-small" on:click=move |_| duplicating.set(Some(i2.clone()))>"Duplicate"</button>
                            {published.then(|| {
                                let i3 = i3.clone();
                                let label = if i3.enabled { "Disable" } else { "Enable" };
                                view! { <button class="btn btn-small toggle-enabled" on:click=move |_| toggle(i3.clone())>{label}</button> }
                            })}
                            <button class="btn btn-small delete-integration" on:click=move |_| remove(i4.clone())>"Delete"</button>
                        }
                    }
                </Show>
            </td>
        </tr>
    }
}

/// Creates an integration as a draft (or a copy of `source`'s current document) and opens it.
#[component]
fn NewIntegration(
    source: Option<IntegrationOut>,
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    let navigate = use_navigate();
    let notify = Notify::new();
    let (init_name, init_path) = match &source {
        Some(s) => (
            format!("{} (copy)", s.name),
            format!("{}-copy", s.trigger.path),
        ),
        None => (String::new(), String::new()),
    };
    let name = RwSignal::new(init_name.clone());
    let slug = RwSignal::new(slugify(&init_name));
    let slug_touched = RwSignal::new(false);
    let path = RwSignal::new(init_path);
    let path_touched = RwSignal::new(source.is_some());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let source = StoredValue::new(source);
    let title = if source.with_value(Option::is_some) {
        "Duplicate integration"
    } else {
        "New integration"
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (n, s, p) = (
            name.get_untracked(),
            slug.get_untracked(),
            path.get_untracked(),
        );
        if n.trim().is_empty() || s.is_empty() || p.trim().is_empty() {
            error.set(Some("Name, slug and path are all needed.".into()));
            return;
        }
        busy.set(true);
        error.set(None);
        let navigate = navigate.clone();
        let src = source.get_value();
        spawn_local(async move {
            let doc = match src {
                Some(src) => {
                    match api::get::<DraftOut>(&format!("/integrations/{}/draft", enc(&src.slug)))
                        .await
                    {
                        Ok(d) => {
                            let mut doc = d.document;
                            doc.name = n.clone();
                            doc.trigger.path = p.trim().trim_start_matches('/').to_owned();
                            Ok(doc)
                        }
                        Err(e) => Err(e),
                    }
                }
                None => Ok(starter_doc(&n, p.trim().trim_start_matches('/'))),
            };
            let result = match doc {
                Ok(doc) => {
                    api::put::<DraftOut, _>(&format!("/integrations/{}/draft", enc(&s)), &doc).await
                }
                Err(e) => Err(e),
            };
            busy.try_set(false);
            match result {
                Ok(_) => {
                    notify.ok(format!("{n} created as a draft"));
                    on_close.run(());
                    navigate(&format!("/integrations/{s}"), Default::default());
                }
                Err(e) if e.status == 409 => {
                    error.set(Some(format!("{} Pick another path or slug.", e.message)))
                }
                Err(e) => error.set(Some(e.describe())),
            }
        });
    };

    view! {
        <Modal title=title.to_owned() on_close=on_close>
            <form on:submit=submit>
                <div class="field">
                    <label for="new-name">"Name"</label>
                    <input id="new-name" type="text" required autofocus placeholder="Create customer record"
                        prop:value=name
                        on:input=move |ev| {
                            let v = event_target_value(&ev);
                            if !slug_touched.get_untracked() { slug.set(slugify(&v)); }
                            if !path_touched.get_untracked() { path.set(format!("acme/{}", slugify(&v))); }
                            name.set(v);
                        }/>
                </div>
                <div class="row">
                    <div class="field">
                        <label for="new-slug">"Slug"</label>
                        <input id="new-slug" type="text" required class="mono" prop:value=slug
                            on:input=move |ev| { slug_touched.set(true); slug.set(event_target_value(&ev)); }/>
                        <div class="hint">"Its id in the admin: lower-case letters, digits, - and _."</div>
                    </div>
                    <div class="field">
                        <label for="new-path">"Endpoint path"</label>
                        <input id="new-path" type="text" required class="mono" prop:value=path
                            on:input=move |ev| { path_touched.set(true); path.set(event_target_value(&ev)); }/>
                        <div class="hint">{move || format!("Callers use /t/{}", path.get().trim_start_matches('/'))}</div>
                    </div>
                </div>
                {move || error.get().map(|e| view! { <div class="error-box" role="alert">{e}</div> })}
                <ModalActions on_cancel=on_close id="create-integration" label="Create draft" busy_label="Creating…" busy=busy/>
            </form>
        </Modal>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_names() {
        assert_eq!(slugify("Create Customer Record"), "create-customer-record");
        assert_eq!(slugify("  ACME: users / sync!! "), "acme-users-sync");
        assert_eq!(slugify("ünïcode ok"), "n-code-ok");
        assert_eq!(slugify("---"), "");
        assert_eq!(slugify(&"x".repeat(100)).len(), 64);
    }
}
