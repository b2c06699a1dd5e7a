//! The flow editor: trigger settings on top, the steps as a pipeline of cards, a test-run
//! panel beside them, and the version history. Every edit is saved as a draft after a short
//! pause; the server's validation and compile problems come back with it and show on the step
//! (and field) that caused them. Publishing makes the draft the version callers get.

mod auth;
mod ctx;
mod data_picks;
mod edit;
mod fields;
mod forms;
mod http_step;
mod lists;
mod lookup_step;
mod palette;
mod picks;
mod shadow;
mod signature;
mod sql_step;
mod steps;
mod store_step;
mod testrun;
mod trigger;
mod versions;

use std::collections::HashSet;

use flowgate_api::integrations::{DraftOut, PublishIn};
use flowgate_api::IntegrationOut;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::{self, enc, ApiError};
use crate::components::{confirm, Badge, ErrorBox, Loading, Notify};
use crate::format::{plural, short_time};
use crate::model::starter_doc;
use crate::session::use_session;
use ctx::Ctx;
pub use ctx::SaveState;

#[component]
pub fn EditorPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    view! {
        {move || {
            let s = slug();
            view! { <Editor slug=s/> }
        }}
    }
}

#[component]
fn Editor(slug: String) -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let navigate = use_navigate();
    let meta = RwSignal::new(None::<Result<IntegrationOut, ApiError>>);
    let loaded = RwSignal::new(None::<Result<(), ApiError>>);
    let is_draft = RwSignal::new(false);
    let save_state = RwSignal::new(SaveState::Saved(String::new()));
    let show_versions = RwSignal::new(false);
    let ctx = Ctx {
        slug: StoredValue::new(slug.clone()),
        doc: RwSignal::new(
            serde_json::from_value(serde_json::json!({
                "name": "", "trigger": {"path": "", "auth": {"type": "none"}}
            }))
            .unwrap_or_else(|_| starter_doc("", "")),
        ),
        structure: RwSignal::new(0),
        edits: RwSignal::new(0),
        problems: RwSignal::new(Vec::new()),
        collapsed: RwSignal::new(HashSet::new()),
        paths: RwSignal::new(Vec::new()),
        drag: RwSignal::new(None),
        tables: lists::Shared::new("/tables"),
        secrets: lists::Shared::new("/secrets"),
        readonly: !session.can_edit(),
    };
    let path = format!("/integrations/{}", enc(&slug));
    let path = StoredValue::new(path);

    let load_meta = move || {
        spawn_local(async move {
            let r = api::get::<IntegrationOut>(&path.get_value()).await;
            meta.try_set(Some(r));
        })
    };
    let load = move || {
        spawn_local(async move {
            let r = api::get::<DraftOut>(&format!("{}/draft", path.get_value())).await;
            match r {
                Ok(d) => {
                    ctx.doc.set(d.document);
                    ctx.problems.set(d.problems);
                    is_draft.set(d.is_draft);
                    save_state.set(SaveState::Saved(d.saved_at));
                    ctx.structure.update(|n| *n += 1);
                    loaded.set(Some(Ok(())));
                }
                Err(e) => {
                    loaded.try_set(Some(Err(e)));
                }
            }
        });
        load_meta();
    };
    load();

    // Autosave: 700 ms after the last edit, PUT the draft; its answer carries the problems.
    Effect::new(move |_| {
        let n = ctx.edits.get();
        if n == 0 || ctx.readonly {
            return;
        }
        save_state.set(SaveState::Pending);
        spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(700).await;
            if ctx.edits.try_get_untracked() != Some(n) {
                return;
            }
            save_state.try_set(SaveState::Saving);
            let doc = ctx.doc.get_untracked();
            match api::put::<DraftOut, _>(&format!("{}/draft", path.get_value()), &doc).await {
                Ok(d) => {
                    if ctx.edits.try_get_untracked() == Some(n) {
                        ctx.problems.try_set(d.problems);
                        save_state.try_set(SaveState::Saved(d.saved_at));
                    }
                    is_draft.try_set(true);
                    load_meta();
                }
                Err(e) => {
                    if e.status == 400 && !e.details.is_empty() {
                        ctx.problems.try_set(e.details.clone());
                    }
                    save_state.try_set(SaveState::Failed(e.describe()));
                }
            }
        });
    });

    let publishing = RwSignal::new(false);
    let publish = move |_| {
        publishing.set(true);
        spawn_local(async move {
            // Save what is typed right now first, so the published version is what is seen.
            let doc = ctx.doc.get_untracked();
            let saved = api::put::<DraftOut, _>(&format!("{}/draft", path.get_value()), &doc).await;
            let r = match saved {
                Ok(d) if !d.problems.is_empty() => {
                    ctx.problems.set(d.problems);
                    Err(None)
                }
                Ok(_) => api::post::<IntegrationOut, _>(
                    &format!("{}/publish", path.get_value()),
                    &PublishIn::default(),
                )
                .await
                .map_err(Some),
                Err(e) => Err(Some(e)),
            };
            publishing.try_set(false);
            match r {
                Ok(out) => {
                    notify.ok(format!("Published version {}", out.version));
                    ctx.problems.set(Vec::new());
                    is_draft.set(false);
                    meta.set(Some(Ok(out)));
                    save_state.set(SaveState::Saved(String::new()));
                }
                Err(None) => notify.error("Fix the problems marked in red before publishing."),
                Err(Some(e)) => {
                    if !e.details.is_empty() {
                        ctx.problems.set(e.details.clone());
                    }
                    notify.error(format!("Not published: {}", e.describe()));
                }
            }
        });
    };
    let discard = move |_| {
        confirm(
            "Discard the draft?",
            "Your unpublished changes are deleted and the editor shows the published version again.",
            "Discard changes",
            move || {
                spawn_local(async move {
                    match api::delete(&format!("{}/draft", path.get_value())).await {
                        Ok(()) => {
                            notify.ok("Draft discarded");
                            load();
                        }
                        Err(e) => notify.error(format!("Could not discard: {e}")),
                    }
                });
            },
        );
    };

    let status = move || {
        meta.with(|m| match m {
            Some(Ok(m)) => m.status.clone(),
            _ => String::new(),
        })
    };
    let version = move || {
        meta.with(|m| match m {
            Some(Ok(m)) => m.version,
            _ => 0,
        })
    };
    let save_text = move || match save_state.get() {
        SaveState::Saved(at) if at.is_empty() => "All changes published".to_owned(),
        SaveState::Saved(at) => {
            if is_draft.get() {
                format!(
                    "Draft saved {}",
                    short_time(&at).get(11..).unwrap_or_default()
                )
            } else {
                "No unpublished changes".to_owned()
            }
        }
        SaveState::Pending => "Editing…".to_owned(),
        SaveState::Saving => "Saving draft…".to_owned(),
        SaveState::Failed(e) => format!("Not saved: {e}"),
    };
    let problem_count = move || ctx.problems.with(Vec::len);
    let slug_for_link = slug.clone();

    view! {
        <div class="page page-editor">
            {move || match loaded.get() {
                None => view! { <Loading what="the flow"/> }.into_any(),
                Some(Err(e)) if e.status == 404 => view! {
                    <div class="empty"><div class="empty-title">"No such integration"</div>
                    <a href="/integrations">"Back to integrations"</a></div>
                }.into_any(),
                Some(Err(e)) => view! { <ErrorBox error=e.describe()/> }.into_any(),
                Some(Ok(())) => {
                    let navigate = navigate.clone();
                    let slug_for_link = slug_for_link.clone();
                    view! {
                        <div class="editor-head">
                            <div class="editor-title">
                                <div class="crumbs"><a href="/integrations">"Integrations"</a>" / "<span class="mono">{ctx.slug.get_value()}</span></div>
                                <input class="title-input" id="integration-name" aria-label="Integration name"
                                    readonly=ctx.readonly
                                    prop:value=move || ctx.doc.with(|d| d.name.clone())
                                    on:input=move |ev| { let v = event_target_value(&ev); ctx.edit(|d| d.name = v); }/>
                                <div class="editor-meta">
                                    {move || (!status().is_empty()).then(|| view! { <Badge kind=status()/> })}
                                    <span class="muted">{move || if version() > 0 { format!("v{}", version()) } else { "never published".into() }}</span>
                                    <span class=move || match save_state.get() { SaveState::Failed(_) => "save-state failed", _ => "save-state" } id="save-state">{save_text}</span>
                                    {move || (problem_count() > 0).then(|| view! {
                                        <span class="problem-count" id="problem-count">{plural(problem_count(), "problem", "problems")}</span>
                                    })}
                                </div>
                            </div>
                            <div class="spacer"></div>
                            <button class="btn" on:click=move |_| navigate(&format!("/executions?integration={}", slug_for_link), Default::default())>"Executions"</button>
                            <button class="btn" id="show-versions" on:click=move |_| show_versions.set(true)>"History"</button>
                            <Show when=move || !ctx.readonly && is_draft.get() && 0 < version()>
                                <button class="btn" id="discard-draft" on:click=discard>"Discard draft"</button>
                            </Show>
                            <Show when=move || !ctx.readonly>
                                <button class="btn btn-primary" id="publish"
                                    disabled=move || publishing.get() || 0 < problem_count() || (!is_draft.get() && 0 < version())
                                    title=move || if 0 < problem_count() { "Fix the problems first" } else { "Make this draft the version callers get" }
                                    on:click=publish>
                                    {move || if publishing.get() { "Publishing…" } else { "Publish" }}
                                </button>
                            </Show>
                        </div>
                        {move || ctx.problems_at("name").into_iter().map(|p| view! { <div class="problem">{format!("Name {}", p.message)}</div> }).collect_view()}
                        <div class="editor-grid">
                            <div class="editor-main">
                                <trigger::TriggerCard ctx=ctx/>
                                <div class="pipeline-connector" aria-hidden="true"></div>
                                <steps::Pipeline ctx=ctx/>
                                <steps::ErrorHandler ctx=ctx/>
                            </div>
                            <aside class="editor-side">
                                <testrun::TestPanel ctx=ctx/>
                                <shadow::ShadowPanel ctx=ctx save_state=save_state/>
                            </aside>
                        </div>
                    }.into_any()
                }
            }}
            <Show when=move || show_versions.get()>
                <versions::Versions ctx=ctx
                    current=Signal::derive(version)
                    on_close=Callback::new(move |_| show_versions.set(false))
                    on_published=Callback::new(move |_| { show_versions.set(false); load(); })/>
            </Show>
        </div>
    }
}
