//! An integration's endpoint docs (`/integrations/:slug/docs`), from the OpenAPI 3.1 document
//! of its published trigger (`GET /api/v1/integrations/{slug}/openapi.json`): read them, download
//! the document, or make a link a consumer can open without an account. The shared page
//! (`/share/integrations/:slug?sig=…`) shows the same docs outside the sign-in gate.
//!
//! `openapi` reads documents, `schema` renders schemas as field trees (the API reference uses
//! both), `endpoint` turns the Flowgate summary into words and snippets, `view` lays it out.

pub(crate) mod endpoint;
pub(crate) mod json;
pub(crate) mod openapi;
pub(crate) mod prose;
pub(crate) mod schema;
mod shared;
pub(crate) mod view;

pub use shared::SharedDocsPage;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use serde_json::Value;

use crate::api::{self, enc, ApiError};
use crate::components::{use_route_param, CopyButton, Empty, LoadError, Loading};
use crate::session::use_session;
use view::{doc_title, DocsView};

#[derive(Debug, Clone, Deserialize)]
struct ShareLinkOut {
    url: String,
}

#[component]
pub fn IntegrationDocsPage() -> impl IntoView {
    let slug = use_route_param("slug");
    view! { {move || view! { <IntegrationDocs slug=slug.get()/> }} }
}

#[component]
fn IntegrationDocs(slug: String) -> impl IntoView {
    let session = use_session();
    let doc = RwSignal::new(None::<Result<Value, ApiError>>);
    let link = RwSignal::new(None::<Result<String, ApiError>>);
    let base = format!("/integrations/{}", enc(&slug));
    let base = StoredValue::new(base);
    let load = move || {
        spawn_local(async move {
            let r = api::get::<Value>(&format!("{}/openapi.json", base.get_value())).await;
            doc.try_set(Some(r));
        })
    };
    load();
    let retry = move |()| {
        doc.set(None);
        load();
    };
    let slug = StoredValue::new(slug);
    let editor_href = move || format!("/integrations/{}", enc(&slug.get_value()));
    let title = move || {
        doc.with(|d| match d {
            Some(Ok(v)) => doc_title(v),
            _ => "Endpoint docs".to_owned(),
        })
    };
    let published = move || doc.with(|d| matches!(d, Some(Ok(_))));

    view! {
        <div class="page docs-page">
            <div class="page-head docs-head">
                <div class="docs-head-text">
                    <div class="crumbs">
                        <a href="/integrations">"Integrations"</a>" / "
                        <a href=editor_href class="mono">{slug.get_value()}</a>" / Docs"
                    </div>
                    <h1 id="docs-title">{title}</h1>
                    <p class="page-sub">"What a consumer needs to call this endpoint, from its published version."</p>
                </div>
                <div class="docs-actions">
                <a class="btn" href=editor_href id="docs-open-editor">"Open the editor"</a>
                <Show when=published>
                    <a class="btn" id="docs-download" href=move || format!("{}{}/openapi.json", api::BASE, base.get_value())
                        download=move || format!("{}.openapi.json", slug.get_value())>"Download openapi.json"</a>
                </Show>
                <Show when=move || published() && session.can_edit()>
                    <ShareButton base=base link=link/>
                </Show>
                </div>
            </div>
            <ShareBox link=link/>
            {move || doc.with(|d| match d {
                None => view! { <Loading what="the docs"/> }.into_any(),
                Some(Err(e)) if e.status == 409 || e.code == "not_published" => view! {
                    <div id="docs-not-published">
                        <Empty title="Not published yet">
                            <p class="empty-lead">"The docs describe the version callers get, and this integration has none yet. Publish it in the editor, then come back."</p>
                            <a class="btn btn-primary" href=editor_href()>"Open the editor"</a>
                        </Empty>
                    </div>
                }.into_any(),
                Some(Err(e)) if e.status == 404 => view! {
                    <Empty title="No such integration">
                        <a href="/integrations">"Back to integrations"</a>
                    </Empty>
                }.into_any(),
                Some(Err(e)) => view! {
                    <LoadError text=format!("Could not load the docs: {}", e.describe()) on_retry=retry/>
                }.into_any(),
                Some(Ok(v)) => view! { <DocsView doc=v.clone()/> }.into_any(),
            })}
        </div>
    }
}

/// The "Share with a consumer" button: asks for a link anyone can open to read these docs.
#[component]
fn ShareButton(
    base: StoredValue<String>,
    link: RwSignal<Option<Result<String, ApiError>>>,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let share = move |_| {
        busy.set(true);
        spawn_local(async move {
            let r = api::post::<ShareLinkOut, _>(
                &format!("{}/share-link", base.get_value()),
                &serde_json::json!({}),
            )
            .await
            .map(|o| o.url);
            link.try_set(Some(r));
            busy.try_set(false);
        });
    };
    view! {
        <button class="btn btn-primary" type="button" id="share-docs" on:click=share disabled=move || busy.get()
            title="A link to these docs for the team that will call the endpoint">
            {move || if busy.get() { "Making the link…" } else { "Share with a consumer" }}
        </button>
    }
}

/// The shared link, once made: copy it or open it; or why it could not be made.
#[component]
fn ShareBox(link: RwSignal<Option<Result<String, ApiError>>>) -> impl IntoView {
    move || {
        link.get().map(|r| match r {
            Ok(url) => view! {
                <section class="card share-box" id="share-link" aria-labelledby="share-h">
                    <div class="share-head">
                        <h2 id="share-h">"A link for your consumer"</h2>
                        <div class="spacer"></div>
                        <button class="icon-btn" type="button" aria-label="Hide the link" on:click=move |_| link.set(None)>"×"</button>
                    </div>
                    <div class="input-with-button">
                        <input type="text" class="mono" readonly id="share-url" aria-label="The shared docs' link" prop:value=url.clone()/>
                        <CopyButton text=url.clone() label="Copy link"/>
                        <a class="btn btn-small" href=url target="_blank" rel="noopener">"Open"</a>
                    </div>
                    <p class="muted small share-note">
                        "Anyone with this link can read these docs, without signing in. They hold no secrets: no API keys, client secrets or signing secrets."
                    </p>
                </section>
            }
            .into_any(),
            Err(e) => view! {
                <div class="error-box" role="alert" id="share-error">{format!("Could not make a share link: {}", e.describe())}</div>
            }
            .into_any(),
        })
    }
}
