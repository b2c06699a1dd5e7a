//! The admin API's reference (`/api-reference`), from its own OpenAPI 3.1 document
//! (`GET /api/v1/openapi.json`): every operation grouped by tag, with its parameters, request
//! body and responses; schemas (`$ref`s resolved) as field trees. An operation's details are
//! rendered when it is opened.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use super::docs::openapi::{by_tag, full_path, operations, Operation};
use super::docs::schema::SchemaTree;
use super::docs::view::{inline, ParamsTable, Prose, RepliesList};
use crate::api::{self, ApiError};
use crate::components::{LoadError, Loading, PageHead};
use crate::format::plural;

/// Schemas nest at most this deep in the reference.
const DEPTH: usize = 5;

/// Whether an operation matches the filter box (method, path, summary, tag, operation id).
pub fn matches(op: &Operation, path: &str, q: &str) -> bool {
    let q = q.trim().to_lowercase();
    if q.is_empty() {
        return true;
    }
    let hay = format!(
        "{} {} {} {} {}",
        op.method,
        path,
        op.summary,
        op.operation_id,
        op.tags.join(" ")
    )
    .to_lowercase();
    q.split_whitespace().all(|w| hay.contains(w))
}

/// A tag as a heading: `oauth-clients` → `OAuth clients`.
pub fn tag_title(tag: &str) -> String {
    let words: Vec<String> = tag
        .split(['-', '_', ' '])
        .filter(|w| !w.is_empty())
        .enumerate()
        .map(|(i, w)| match w.to_lowercase().as_str() {
            "oauth" => "OAuth".to_owned(),
            "api" => "API".to_owned(),
            "openapi" => "OpenAPI".to_owned(),
            lower if i == 0 => {
                let mut c = lower.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            }
            lower => lower.to_owned(),
        })
        .collect();
    words.join(" ")
}

#[component]
pub fn ApiReferencePage() -> impl IntoView {
    let doc = RwSignal::new(None::<Result<Arc<Value>, ApiError>>);
    let filter = RwSignal::new(String::new());
    let load = move || {
        spawn_local(async move {
            let r = api::get::<Value>("/openapi.json").await.map(Arc::new);
            doc.try_set(Some(r));
        })
    };
    load();
    let retry = move |()| {
        doc.set(None);
        load();
    };
    let body = move || {
        doc.with(|d| match d {
            None => view! { <Loading what="the API reference"/> }.into_any(),
            Some(Err(e)) => view! {
                <LoadError text=format!("Could not load the API reference: {}", e.describe()) on_retry=retry/>
            }
            .into_any(),
            Some(Ok(v)) => reference(v.clone(), filter.into()).into_any(),
        })
    };
    let version = move || {
        doc.with(|d| match d {
            Some(Ok(v)) => v
                .pointer("/info/version")
                .and_then(Value::as_str)
                .map(|s| format!("Version {s} · ")),
            _ => None,
        })
    };
    view! {
        <div class="page api-ref">
            <PageHead title="API reference" sub=move || view! {
                {version}"Everything this UI does goes through the admin API under "<code>"/api/v1"</code>
                ", signed in with the session cookie. "
                <a href="/api/v1/openapi.json" download="flowgate-admin.openapi.json" id="api-ref-download">"Download openapi.json"</a>
            }>
                <input type="search" class="admin-filter" placeholder="Filter: method, path, summary"
                    aria-label="Filter operations" prop:value=filter
                    on:input=move |ev| filter.set(event_target_value(&ev))/>
            </PageHead>
            {body}
        </div>
    }
}

/// Every operation, rendered once; the filter hides what does not match (an opened
/// operation stays open while the filter changes).
fn reference(doc: Arc<Value>, filter: Signal<String>) -> impl IntoView {
    let ops: Vec<(String, Operation)> = operations(&doc)
        .into_iter()
        .map(|o| (full_path(&doc, &o.path), o))
        .collect();
    if ops.is_empty() {
        return view! { <div class="empty"><div class="empty-title">"The document lists no operations."</div></div> }
            .into_any();
    }
    let paths = StoredValue::new(ops.clone());
    let shown = Memo::new(move |_| {
        let q = filter.get();
        paths.with_value(|ops| ops.iter().filter(|(p, o)| matches(o, p, &q)).count())
    });
    let groups = by_tag(&doc, ops.into_iter().map(|(_, o)| o).collect());
    let about = doc
        .pointer("/info/description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    view! {
        {(!about.is_empty()).then(|| view! {
            <details class="card api-about" id="api-about">
                <summary>"About this API: signing in, errors, versioning"</summary>
                <Prose text=about/>
            </details>
        })}
        <div class="list-meta muted small">{move || plural(shown.get(), "operation", "operations")}</div>
        {move || (shown.get() == 0).then(|| view! {
            <div class="empty"><div class="empty-title">"No operation matches the filter."</div></div>
        })}
        <div id="api-operations">
            {groups.into_iter().map(|(tag, desc, ops)| {
                let doc = doc.clone();
                let keys: Vec<(String, Operation)> = ops.iter().map(|o| (full_path(&doc, &o.path), o.clone())).collect();
                let any = Memo::new(move |_| {
                    let q = filter.get();
                    keys.iter().any(|(p, o)| matches(o, p, &q))
                });
                view! {
                    <section class="card api-tag" data-tag=tag.clone() aria-label=tag.clone() hidden=move || !any.get()>
                        <h2>{tag_title(&tag)}</h2>
                        {(!desc.is_empty()).then(|| view! { <p class="muted small">{inline(&desc)}</p> })}
                        <div class="api-ops">
                            {ops.into_iter().map(|op| view! { <OperationItem doc=doc.clone() op=op filter=filter/> }).collect_view()}
                        </div>
                    </section>
                }
            }).collect_view()}
        </div>
    }
    .into_any()
}

#[component]
fn OperationItem(doc: Arc<Value>, op: Operation, filter: Signal<String>) -> impl IntoView {
    let open = RwSignal::new(false);
    let path = full_path(&doc, &op.path);
    let method = op.method.clone();
    let visible = {
        let (op, path) = (op.clone(), path.clone());
        Memo::new(move |_| matches(&op, &path, &filter.get()))
    };
    let op = StoredValue::new(op);
    let doc = StoredValue::new(doc);
    let summary = op.with_value(|o| o.summary.clone());
    let deprecated = op.with_value(|o| o.deprecated);
    view! {
        <details class="api-op" data-method=method.clone() data-path=path.clone() hidden=move || !visible.get()
            on:toggle=move |ev| {
                use wasm_bindgen::JsCast;
                if let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlDetailsElement>().ok()) {
                    open.set(el.open());
                }
            }>
            <summary>
                <span class=format!("method-badge method-{}", method.to_lowercase())>{method.clone()}</span>
                <code class="api-path">{path.clone()}</code>
                <span class="api-summary">{summary}</span>
                {deprecated.then(|| view! { <span class="badge badge-warn">"deprecated"</span> })}
            </summary>
            <Show when=move || open.get()>
                {move || op.with_value(|o| operation_body(doc.get_value(), o.clone()))}
            </Show>
        </details>
    }
}

fn operation_body(doc: Arc<Value>, op: Operation) -> impl IntoView {
    let body = op.body.clone().map(|b| {
        let media = b
            .media
            .iter()
            .find(|m| m.media_type.contains("json"))
            .or_else(|| b.media.first())
            .cloned();
        let types = b
            .media
            .iter()
            .map(|m| m.media_type.clone())
            .collect::<Vec<_>>()
            .join(", ");
        let doc = doc.clone();
        view! {
            <div class="section-title">{if b.required { "Request body (required)" } else { "Request body" }}</div>
            {(!b.description.is_empty()).then(|| view! { <p class="small">{inline(&b.description)}</p> })}
            {(!types.is_empty()).then(|| view! { <p class="muted small">{format!("Content type: {types}")}</p> })}
            {media.and_then(|m| m.schema).map(|sc| view! { <SchemaTree doc=doc.clone() schema=sc max_depth=DEPTH/> })}
        }
    });
    view! {
        <div class="api-op-body">
            <Prose text=op.description.clone() class="api-desc"/>
            {(!op.operation_id.is_empty()).then(|| view! { <p class="muted small">"Operation "<code>{op.operation_id.clone()}</code></p> })}
            {(!op.params.is_empty()).then(|| view! {
                <div class="section-title">"Parameters"</div>
                <ParamsTable params=op.params.clone()/>
            })}
            {body}
            {(!op.responses.is_empty()).then(|| view! {
                <div class="section-title">"Responses"</div>
                <RepliesList doc=doc.clone() replies=op.responses.clone() max_depth=DEPTH/>
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_read_as_headings() {
        assert_eq!(tag_title("oauth-clients"), "OAuth clients");
        assert_eq!(tag_title("keys"), "Keys");
        assert_eq!(tag_title("openapi"), "OpenAPI");
        assert_eq!(tag_title("Other"), "Other");
        assert_eq!(tag_title(""), "");
    }

    #[test]
    fn the_filter_reads_every_word() {
        let op = Operation {
            method: "POST".into(),
            path: "/keys".into(),
            summary: "Create an API key".into(),
            description: String::new(),
            operation_id: "create_key".into(),
            tags: vec!["keys".into()],
            deprecated: false,
            params: Vec::new(),
            body: None,
            responses: Vec::new(),
        };
        assert!(matches(&op, "/api/v1/keys", ""));
        assert!(matches(&op, "/api/v1/keys", "post keys"));
        assert!(matches(&op, "/api/v1/keys", "API KEY"));
        assert!(matches(&op, "/api/v1/keys", "/api/v1/keys"));
        assert!(!matches(&op, "/api/v1/keys", "delete keys"));
    }
}
