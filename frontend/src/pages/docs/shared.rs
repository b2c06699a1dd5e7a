//! The docs a consumer opens from a share link (`/share/integrations/:slug?sig=…`): no
//! account, no navigation, only the endpoint's published docs
//! (`GET /api/v1/shared/integrations/{slug}/openapi.json?sig=…`).

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;
use serde_json::Value;

use super::view::{doc_title, DocsView};
use crate::api::{self, enc, ApiError};
use crate::components::{use_route_param, LoadError, Loading};

const INVALID: &str = "This link is not valid or the integration was removed.";

/// The shared document's API path, or `None` without a signature.
pub fn shared_path(slug: &str, sig: &str) -> Option<String> {
    let sig = sig.trim();
    if slug.is_empty() || sig.is_empty() {
        return None;
    }
    Some(format!(
        "/shared/integrations/{}/openapi.json?sig={}",
        enc(slug),
        enc(sig)
    ))
}

#[component]
pub fn SharedDocsPage() -> impl IntoView {
    let slug = use_route_param("slug");
    let query = use_query_map();
    let sig = Memo::new(move |_| query.with(|q| q.get("sig").unwrap_or_default()));
    view! {
        <div class="share-page">
            <header class="share-top">
                <div class="brand brand-large"><span class="brand-mark">"⟶"</span>" Flowgate"</div>
                <span class="muted small">"API documentation"</span>
            </header>
            {move || view! { <SharedDocs path=shared_path(&slug.get(), &sig.get())/> }}
            <footer class="share-foot muted small">
                "Shared by the integration's owner. The docs describe the version callers get right now."
            </footer>
        </div>
    }
}

#[component]
fn SharedDocs(path: Option<String>) -> impl IntoView {
    let doc = RwSignal::new(None::<Result<Value, ApiError>>);
    let path = StoredValue::new(path);
    let load = move || {
        let Some(p) = path.get_value() else {
            return;
        };
        spawn_local(async move {
            let r = api::get::<Value>(&p).await;
            doc.try_set(Some(r));
        });
    };
    load();
    let retry = move |()| {
        doc.set(None);
        load();
    };
    move || {
        if path.with_value(Option::is_none) {
            return invalid().into_any();
        }
        doc.with(|d| match d {
            None => view! { <Loading what="the docs"/> }.into_any(),
            Some(Err(e)) if matches!(e.status, 400 | 401 | 403 | 404 | 410) => invalid().into_any(),
            Some(Err(e)) if e.status == 409 => view! {
                <div class="empty" id="shared-error">
                    <div class="empty-title">"Not available yet"</div>
                    <div class="empty-body">"The integration has no published version at the moment. Ask its owner when it will."</div>
                </div>
            }
            .into_any(),
            Some(Err(e)) => view! {
                <LoadError text=format!("Could not load the docs: {}", e.describe()) on_retry=retry/>
            }
            .into_any(),
            Some(Ok(v)) => {
                let download = path.get_value().map(|p| format!("{}{p}", api::BASE));
                view! {
                    <div class="page-head">
                        <div>
                            <h1 id="docs-title">{doc_title(v)}</h1>
                            <p class="page-sub">"How to call this endpoint."</p>
                        </div>
                        <div class="spacer"></div>
                        {download.map(|href| view! {
                            <a class="btn" id="docs-download" href=href download="openapi.json">"Download openapi.json"</a>
                        })}
                    </div>
                    <DocsView doc=v.clone()/>
                }
                .into_any()
            }
        })
    }
}

fn invalid() -> impl IntoView {
    view! {
        <div class="empty" id="shared-error" role="alert">
            <div class="empty-title">{INVALID}</div>
            <div class="empty-body">"Ask the person who sent it for a new link."</div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_goes_along() {
        assert_eq!(
            shared_path("create customer", "a+b/c="),
            Some("/shared/integrations/create%20customer/openapi.json?sig=a%2Bb%2Fc%3D".to_owned())
        );
        assert_eq!(shared_path("x", " "), None);
        assert_eq!(shared_path("", "s"), None);
    }
}
