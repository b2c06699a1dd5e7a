//! Renaming a key (`PATCH /keys/{id}`): its label is how people recognise it in the list, in
//! trigger settings and in the executions it calls. The secret stays as it is.

use flowgate_api::{KeyOut, KeyPatch};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, enc};
use crate::components::{focused_input, Modal, ModalActions};
use crate::format::sentence;

/// Most characters a label may have (the server's rule).
pub const MAX_LABEL_CHARS: usize = 100;

/// What is wrong with a label typed for a key, if anything.
pub fn label_problem(label: &str) -> Option<&'static str> {
    if label.trim().is_empty() {
        Some("Give the key a label, such as the name of the system that uses it.")
    } else if label.trim().chars().count() > MAX_LABEL_CHARS {
        Some("The label is too long: at most 100 characters.")
    } else {
        None
    }
}

/// The dialog: the label, prefilled; `on_renamed` gets the key as the server answered it.
#[component]
pub fn RenameKeyModal(
    key: KeyOut,
    on_renamed: Callback<KeyOut>,
    on_close: Callback<()>,
) -> impl IntoView {
    let label = RwSignal::new(key.label.clone());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let input_ref = focused_input();
    let id = key.id.clone();
    let old = key.label.clone();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let l = label.get_untracked().trim().to_owned();
        if let Some(problem) = label_problem(&l) {
            error.set(Some(problem.into()));
            return;
        }
        if l == old {
            on_close.run(());
            return;
        }
        busy.set(true);
        error.set(None);
        let id = id.clone();
        spawn_local(async move {
            let body = KeyPatch { label: Some(l) };
            let result = api::patch::<KeyOut, _>(&format!("/keys/{}", enc(&id)), &body).await;
            if busy.try_set(false).is_some() {
                return; // the dialog was closed meanwhile
            }
            match result {
                Ok(k) => on_renamed.run(k),
                Err(e) if e.status == 404 => error.set(Some(
                    "This key no longer exists: it was revoked meanwhile.".into(),
                )),
                Err(e) if e.status == 403 => error.set(Some("Only admins rename keys.".into())),
                Err(e) if e.status == 400 => error.set(Some(sentence(&e.describe()))),
                Err(e) => error.set(Some(format!("Could not rename the key: {}", e.describe()))),
            }
        });
    };

    view! {
        <Modal title=format!("Rename “{}”", key.label) on_close=on_close>
            <form class="rename-key-form" on:submit=submit novalidate>
                <div class="field">
                    <label for="rename-key-label">"Label"</label>
                    <input id="rename-key-label" type="text" maxlength="100" autocomplete="off" required
                        node_ref=input_ref prop:value=label on:input=move |ev| {
                            error.set(None);
                            label.set(event_target_value(&ev));
                        }/>
                    <div class="hint">"The secret stays the same. Executions keep the label their call came with."</div>
                </div>
                {move || error.get().map(|e| view! { <div class="error-box" role="alert" id="rename-key-error">{e}</div> })}
                <ModalActions on_cancel=on_close id="rename-key" label="Rename" busy_label="Saving…" busy=busy/>
            </form>
        </Modal>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_checked_as_the_server_does() {
        assert!(label_problem("  ").is_some());
        assert!(label_problem("Billing system").is_none());
        assert!(label_problem(&"x".repeat(100)).is_none());
        assert!(label_problem(&"é".repeat(101)).is_some());
    }
}
