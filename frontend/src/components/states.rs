//! Loading, empty and failed states.

use leptos::prelude::*;

#[component]
pub fn Loading(#[prop(optional, into)] what: String) -> impl IntoView {
    let text = if what.is_empty() {
        "Loading…".to_owned()
    } else {
        format!("Loading {what}…")
    };
    view! { <div class="loading" aria-busy="true"><span class="spinner"></span>{text}</div> }
}

#[component]
pub fn Empty(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="empty">
            <div class="empty-title">{title}</div>
            <div class="empty-body">{children()}</div>
        </div>
    }
}

#[component]
pub fn ErrorBox(error: String) -> impl IntoView {
    view! { <div class="error-box" role="alert">{error}</div> }
}

/// What could not be loaded, with a "Try again" button.
#[component]
pub fn LoadError(
    #[prop(into)] text: String,
    #[prop(into)] on_retry: Callback<()>,
    /// The box's classes (the executions pages use `error-box list-error`).
    #[prop(default = "error-box load-error")]
    class: &'static str,
) -> impl IntoView {
    view! {
        <div class=class role="alert">
            <span>{text}</span>
            <button class="btn btn-small" type="button" on:click=move |_| on_retry.run(())>"Try again"</button>
        </div>
    }
}
