//! Confirmation of destructive actions: one dialog for the whole app, asked for by `confirm`.

use std::sync::Arc;

use leptos::prelude::*;

#[derive(Clone)]
pub struct ConfirmRequest {
    pub title: String,
    pub message: String,
    pub action: String,
    pub on_confirm: Arc<dyn Fn() + Send + Sync>,
}

#[derive(Clone, Copy)]
pub struct Confirmer(pub RwSignal<Option<ConfirmRequest>>);

/// Asks before doing something that cannot be undone.
pub fn confirm(
    title: impl Into<String>,
    message: impl Into<String>,
    action: impl Into<String>,
    on_confirm: impl Fn() + Send + Sync + 'static,
) {
    if let Some(Confirmer(sig)) = use_context::<Confirmer>() {
        sig.set(Some(ConfirmRequest {
            title: title.into(),
            message: message.into(),
            action: action.into(),
            on_confirm: Arc::new(on_confirm),
        }));
    }
}

#[component]
pub fn ConfirmDialog() -> impl IntoView {
    let Some(Confirmer(req)) = use_context::<Confirmer>() else {
        return ().into_any();
    };
    view! {
        <Show when=move || req.with(Option::is_some)>
            {move || {
                req.get()
                    .map(|r| {
                        let run = r.on_confirm.clone();
                        view! {
                            <div class="modal-backdrop confirm-backdrop">
                                <div class="modal" role="alertdialog" aria-modal="true" aria-labelledby="confirm-title">
                                    <h2 id="confirm-title">{r.title.clone()}</h2>
                                    <p>{r.message.clone()}</p>
                                    <div class="modal-actions">
                                        <button class="btn" on:click=move |_| req.set(None) autofocus>"Cancel"</button>
                                        <button class="btn btn-danger" id="confirm-action"
                                            on:click=move |_| { req.set(None); run(); }>{r.action.clone()}</button>
                                    </div>
                                </div>
                            </div>
                        }
                    })
            }}
        </Show>
    }
    .into_any()
}
