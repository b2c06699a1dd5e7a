//! The clipboard: a copy button, and a secret shown once with one.

use leptos::prelude::*;
use leptos::task::spawn_local;

pub fn copy_to_clipboard(text: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(text);
    }
}

#[component]
pub fn CopyButton(
    #[prop(into)] text: Signal<String>,
    #[prop(optional, into)] label: String,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let label = if label.is_empty() {
        "Copy".to_owned()
    } else {
        label
    };
    view! {
        <button class="btn btn-small" type="button" on:click=move |_| {
            copy_to_clipboard(&text.get_untracked());
            copied.set(true);
            spawn_local(async move {
                gloo_timers::future::TimeoutFuture::new(1500).await;
                copied.try_set(false);
            });
        }>{move || if copied.get() { "Copied ✓".to_owned() } else { label.clone() }}</button>
    }
}

/// A secret the server shows this one time, focused (so a screen reader reads it out) and
/// with a button to copy it.
#[component]
pub fn SecretOnce(id: &'static str, aria_label: &'static str, secret: String) -> impl IntoView {
    let secret_ref = NodeRef::<leptos::html::Div>::new();
    secret_ref.on_load(|el| {
        let _ = el.focus();
    });
    view! {
        <div class="secret-line">
            <div class="secret-once" id=id tabindex="0" node_ref=secret_ref
                aria-label=aria_label>{secret.clone()}</div>
            <CopyButton text=secret label="Copy secret"/>
        </div>
    }
}
