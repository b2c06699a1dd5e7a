//! "Add subscription" (the form, then the signing secret shown once) and "Edit settings"
//! (the same form, sending only what changed).

use flowgate_api::subscriptions::{SubscriptionCreatedOut, SubscriptionOut, SubscriptionPatch};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::form::{Draft, SettingsFields};
use super::parts::secret_block;
use crate::api::{self, enc};
use crate::components::{CopiedActions, Modal, ModalActions, Notify};
use crate::format::sentence;

/// "Add subscription": the form, then (once created) the secret, shown this one time.
#[component]
pub fn CreateSubscriptionModal(
    on_created: Callback<SubscriptionCreatedOut>,
    on_close: Callback<()>,
) -> impl IntoView {
    let draft = Draft::new();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let created = RwSignal::new(None::<SubscriptionCreatedOut>);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let body = match draft.settings() {
            Ok(s) => s.create(),
            Err(e) => {
                error.set(Some(e));
                return;
            }
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let r = api::post::<SubscriptionCreatedOut, _>("/subscriptions", &body).await;
            if busy.try_set(false).is_some() {
                return; // the dialog was closed meanwhile
            }
            match r {
                Ok(c) => {
                    created.set(Some(c.clone()));
                    on_created.try_run(c);
                }
                Err(e) if e.status == 403 => {
                    error.set(Some("Only admins add subscriptions.".into()))
                }
                Err(e) if e.status == 400 => error.set(Some(sentence(&e.describe()))),
                Err(e) => error.set(Some(format!(
                    "Could not add the subscription: {}",
                    e.describe()
                ))),
            }
        });
    };

    move || {
        match created.get() {
        None => view! {
            <Modal title="Add subscription".to_owned() on_close=on_close>
                <form class="sub-form" on:submit=submit novalidate>
                    <SettingsFields draft=draft error=error/>
                    {move || error.get().map(|e| view! { <div class="error-box" role="alert" id="sub-error">{e}</div> })}
                    <ModalActions on_cancel=on_close id="create-subscription" label="Add subscription" busy_label="Adding…" busy=busy/>
                </form>
            </Modal>
        }
        .into_any(),
        Some(c) => {
            let href = format!("/subscriptions/{}", enc(&c.subscription.id));
            view! {
                <Modal title="Save the signing secret".to_owned() on_close=on_close>
                    <div class="sub-created" id="sub-created">
                        <p>
                            "The subscription to "<strong class="mono url-text">{c.subscription.url.clone()}</strong>
                            " is ready. Flowgate signs every delivery with this secret, so the receiver can tell that a request really comes from Flowgate and was not altered."
                        </p>
                        {secret_block(c.secret.clone())}
                        <p class="muted small next-step">
                            "Next: publish an event with an Emit step in a flow, or send a test event, then "
                            <a href=href>"open the subscription"</a>" to watch its deliveries."
                        </p>
                    </div>
                    <CopiedActions id="sub-done" on_close=on_close/>
                </Modal>
            }
            .into_any()
        }
    }
    }
}

/// "Edit settings": the same form, sending only what changed.
#[component]
pub fn EditSubscriptionModal(
    sub: SubscriptionOut,
    on_saved: Callback<SubscriptionOut>,
    on_close: Callback<()>,
) -> impl IntoView {
    let notify = Notify::new();
    let draft = Draft::of(&sub);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let original = StoredValue::new(sub);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let old = original.get_value();
        let patch = match draft.settings() {
            Ok(s) => s.patch(&old),
            Err(e) => {
                error.set(Some(e));
                return;
            }
        };
        if patch == SubscriptionPatch::default() {
            notify.ok("Nothing changed");
            on_close.run(());
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let r = api::patch::<SubscriptionOut, _>(
                &format!("/subscriptions/{}", enc(&old.id)),
                &patch,
            )
            .await;
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(s) => {
                    notify.ok("Settings saved");
                    on_saved.run(s);
                }
                Err(e) if e.status == 403 => {
                    error.set(Some("Only admins change subscriptions.".into()))
                }
                Err(e) if e.status == 404 => error.set(Some(
                    "This subscription no longer exists: it was deleted meanwhile.".into(),
                )),
                Err(e) if e.status == 400 => error.set(Some(sentence(&e.describe()))),
                Err(e) => error.set(Some(format!("Could not save: {}", e.describe()))),
            }
        });
    };

    view! {
        <Modal title="Edit subscription".to_owned() on_close=on_close>
            <form class="sub-form" on:submit=submit novalidate>
                <SettingsFields draft=draft error=error editing=true/>
                {move || error.get().map(|e| view! { <div class="error-box" role="alert" id="sub-error">{e}</div> })}
                <ModalActions on_cancel=on_close id="save-subscription" label="Save changes" busy_label="Saving…" busy=busy/>
            </form>
        </Modal>
    }
}
