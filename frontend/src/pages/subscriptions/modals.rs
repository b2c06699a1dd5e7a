//! Secret rotation (the new secret shown once) and redelivery of the failed deliveries since
//! a time.

use flowgate_api::subscriptions::{RedeliverIn, RedeliverOut, RotateSecretIn, SecretOut};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::parts::secret_block;
use crate::api::{self, enc};
use crate::components::{focused_input, CopiedActions, Modal, ModalActions, Notify};
use crate::format::{from_input, input_at, now_us, plural, sentence, short_time, until};

#[component]
pub fn RotateSecretModal(
    sub_id: String,
    on_rotated: Callback<SecretOut>,
    on_close: Callback<()>,
) -> impl IntoView {
    let overlap = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let rotated = RwSignal::new(None::<SecretOut>);
    let sub_id = StoredValue::new(sub_id);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let overlap_secs = overlap.get_untracked().parse::<u64>().ok();
        busy.set(true);
        error.set(None);
        let id = sub_id.get_value();
        spawn_local(async move {
            let r = api::post::<SecretOut, _>(
                &format!("/subscriptions/{}/rotate-secret", enc(&id)),
                &RotateSecretIn { overlap_secs },
            )
            .await;
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(s) => {
                    rotated.set(Some(s.clone()));
                    on_rotated.run(s);
                }
                Err(e) if e.status == 403 => {
                    error.set(Some("Only admins rotate signing secrets.".into()))
                }
                Err(e) if e.status == 404 => error.set(Some(
                    "This subscription no longer exists: it was deleted meanwhile.".into(),
                )),
                Err(e) => error.set(Some(format!(
                    "Could not rotate the secret: {}",
                    e.describe()
                ))),
            }
        });
    };

    let options = [
        ("", "24 hours (default)"),
        ("3600", "1 hour"),
        ("604800", "7 days"),
        ("0", "No overlap: the current secret stops at once"),
    ];

    move || {
        match rotated.get() {
        None => view! {
            <Modal title="Rotate the signing secret?".to_owned() on_close=on_close>
                <form class="rotate-form" on:submit=submit>
                    <p>
                        "Flowgate generates a new secret and shows it once. During the overlap below, every delivery is signed with "
                        <strong>"both"</strong>" the new and the current secret ("<code>"webhook-signature: v1,<new> v1,<old>"</code>
                        "), so the receiver keeps accepting deliveries while you switch it to the new secret. After that, only the new one signs."
                    </p>
                    <div class="field">
                        <label for="rotate-overlap">"Keep the current secret signing for"</label>
                        <select id="rotate-overlap" on:change=move |ev| overlap.set(event_target_value(&ev))>
                            {options.iter().map(|(v, l)| view! { <option value=*v selected=v.is_empty()>{*l}</option> }).collect_view()}
                        </select>
                        {move || (overlap.get() == "0").then(|| view! {
                            <div class="field-error">"Deliveries signed with the new secret only will fail until the receiver has it."</div>
                        })}
                    </div>
                    {move || error.get().map(|e| view! { <div class="error-box" role="alert">{e}</div> })}
                    <div class="modal-actions">
                        <button class="btn" type="button" on:click=move |_| on_close.run(()) autofocus>"Cancel"</button>
                        <button class="btn btn-primary" type="submit" id="confirm-action" disabled=move || busy.get()>
                            {move || if busy.get() { "Rotating…" } else { "Rotate secret" }}
                        </button>
                    </div>
                </form>
            </Modal>
        }
        .into_any(),
        Some(s) => {
            let overlap_text = match &s.previous_secret_expires_at {
                Some(t) => format!(
                    "The previous secret keeps signing until {} UTC ({}): update the receiver before then.",
                    short_time(t),
                    until(t)
                ),
                None => "The previous secret no longer signs: update the receiver now, or its signature checks fail.".to_owned(),
            };
            view! {
                <Modal title="Save the new signing secret".to_owned() on_close=on_close>
                    <div class="sub-created" id="secret-rotated">
                        <p>{overlap_text}</p>
                        {secret_block(s.secret.clone())}
                    </div>
                    <CopiedActions id="sub-done" on_close=on_close/>
                </Modal>
            }
            .into_any()
        }
    }
    }
}

#[component]
pub fn RedeliverSinceModal(
    sub_id: String,
    on_done: Callback<u64>,
    on_close: Callback<()>,
) -> impl IntoView {
    let notify = Notify::new();
    let since = RwSignal::new(hours_ago(24.0));
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let sub_id = StoredValue::new(sub_id);
    let input_ref = focused_input();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let Some(at) = from_input(&since.get_untracked()) else {
            error.set(Some(
                "Pick a date and time (UTC), such as 2026-11-23 08:00.".into(),
            ));
            return;
        };
        busy.set(true);
        error.set(None);
        let id = sub_id.get_value();
        spawn_local(async move {
            let r = api::post::<RedeliverOut, _>(
                &format!("/subscriptions/{}/redeliver", enc(&id)),
                &RedeliverIn { since: at },
            )
            .await;
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(out) => {
                    if out.requeued == 0 {
                        notify.ok("No failed delivery since then: nothing to redeliver");
                    } else {
                        notify.ok(format!(
                            "{} queued again",
                            plural(
                                out.requeued as usize,
                                "failed delivery",
                                "failed deliveries"
                            )
                        ));
                    }
                    on_done.run(out.requeued);
                    on_close.run(());
                }
                Err(e) if e.status == 403 => {
                    error.set(Some("Only admins redeliver events.".into()))
                }
                Err(e) if e.status == 400 => error.set(Some(sentence(&e.describe()))),
                Err(e) => error.set(Some(format!("Could not redeliver: {}", e.describe()))),
            }
        });
    };
    let preset = move |hours: f64| {
        move |_| {
            error.set(None);
            since.set(hours_ago(hours));
        }
    };

    view! {
        <Modal title="Redeliver failed deliveries".to_owned() on_close=on_close>
            <form class="redeliver-form" on:submit=submit novalidate>
                <p class="muted">
                    "Every delivery of this subscription that has "<strong>"failed"</strong>
                    " and was created since this time is queued again at once, with the same "<code>"webhook-id"</code>
                    "; its attempts start over."
                </p>
                <div class="field">
                    <label for="redeliver-since">"Failed since (UTC)"</label>
                    <input id="redeliver-since" type="datetime-local" step="1" node_ref=input_ref
                        prop:value=since on:input=move |ev| {
                            error.set(None);
                            since.set(event_target_value(&ev));
                        }/>
                    <div class="presets">
                        <button class="btn btn-small" type="button" on:click=preset(1.0)>"Last hour"</button>
                        <button class="btn btn-small" type="button" on:click=preset(24.0)>"Last 24 hours"</button>
                        <button class="btn btn-small" type="button" on:click=preset(24.0 * 7.0)>"Last 7 days"</button>
                    </div>
                </div>
                {move || error.get().map(|e| view! { <div class="error-box" role="alert">{e}</div> })}
                <ModalActions on_cancel=on_close id="redeliver-failed" label="Redeliver failed" busy_label="Queuing…" busy=busy/>
            </form>
        </Modal>
    }
}

/// The value of a `datetime-local` input (read as UTC) `hours` ago.
fn hours_ago(hours: f64) -> String {
    input_at(now_us() - (hours * 3_600_000_000.0) as i64)
}
