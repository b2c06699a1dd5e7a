//! The modal frame and the button rows at its foot.

use leptos::prelude::*;

#[component]
pub fn Modal(
    title: String,
    #[prop(into)] on_close: Callback<()>,
    children: Children,
    #[prop(optional)] wide: bool,
) -> impl IntoView {
    view! {
        <div class="modal-backdrop" on:keydown=move |ev| { if ev.key() == "Escape" { on_close.run(()) } }>
            <div class=if wide { "modal modal-wide" } else { "modal" } role="dialog" aria-modal="true" aria-label=title.clone()>
                <div class="modal-head">
                    <h2>{title.clone()}</h2>
                    <button class="icon-btn" aria-label="Close" on:click=move |_| on_close.run(())>"×"</button>
                </div>
                {children()}
            </div>
        </div>
    }
}

/// The foot of a modal form: "Cancel", and the submit button `id`, which reads `busy_label`
/// and is disabled while `busy`.
#[component]
pub fn ModalActions(
    #[prop(into)] on_cancel: Callback<()>,
    id: &'static str,
    label: &'static str,
    busy_label: &'static str,
    busy: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <div class="modal-actions">
            <button class="btn" type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button>
            <button class="btn btn-primary" type="submit" id=id disabled=move || busy.get()>
                {move || if busy.get() { busy_label } else { label }}
            </button>
        </div>
    }
}

/// The foot of a modal that shows a secret once: "I have copied it" closes it.
#[component]
pub fn CopiedActions(id: &'static str, #[prop(into)] on_close: Callback<()>) -> impl IntoView {
    view! {
        <div class="modal-actions">
            <button class="btn btn-primary" type="button" id=id on:click=move |_| on_close.run(())>
                "I have copied it"
            </button>
        </div>
    }
}
