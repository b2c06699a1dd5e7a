//! "Send a test event": publishes an event as a flow's Emit step would.

use flowgate_api::subscriptions::{EventIn, EventOut};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::rules::event_type_problem;
use crate::api;
use crate::components::{CodeArea, Modal, Notify};
use crate::format::{plural, sentence};

#[component]
pub fn SendEventModal(
    initial_type: String,
    suggestions: Vec<String>,
    on_sent: Callback<EventOut>,
    on_close: Callback<()>,
) -> impl IntoView {
    let notify = Notify::new();
    let event_type = RwSignal::new(initial_type);
    let payload = RwSignal::new("{\n  \"test\": true\n}".to_owned());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let sent = RwSignal::new(None::<EventOut>);
    let type_ref = NodeRef::<leptos::html::Input>::new();
    type_ref.on_load(|el| {
        let _ = el.focus();
        el.select();
    });

    let json_problem = move || {
        payload.with(|p| {
            if p.trim().is_empty() {
                return None;
            }
            serde_json::from_str::<serde_json::Value>(p)
                .err()
                .map(|e| format!("Not valid JSON: {e}"))
        })
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let t = event_type.get_untracked().trim().to_owned();
        if t.is_empty() {
            error.set(Some(
                "Enter an event type, such as customer.created.".into(),
            ));
            return;
        }
        if t.contains('*') {
            error.set(Some(
                "A test event has one concrete type: wildcards belong in subscriptions, not events."
                    .into(),
            ));
            return;
        }
        if let Some(p) = event_type_problem(&t) {
            error.set(Some(p));
            return;
        }
        let text = payload.get_untracked();
        let value = if text.trim().is_empty() {
            serde_json::Value::Object(serde_json::Map::new())
        } else {
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) => v,
                Err(e) => {
                    error.set(Some(format!("The payload is not valid JSON: {e}.")));
                    return;
                }
            }
        };
        busy.set(true);
        error.set(None);
        sent.set(None);
        spawn_local(async move {
            let body = EventIn {
                event_type: t,
                payload: value,
            };
            let r = api::post::<EventOut, _>("/events", &body).await;
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(out) => {
                    notify.ok(format!(
                        "Event {} published to {}",
                        out.event_type,
                        plural(out.deliveries as usize, "subscription", "subscriptions")
                    ));
                    sent.set(Some(out.clone()));
                    on_sent.run(out);
                }
                Err(e) if e.status == 403 => error.set(Some(
                    "Only admins and designers publish test events.".into(),
                )),
                Err(e) if e.status == 400 || e.status == 413 => {
                    error.set(Some(sentence(&e.describe())))
                }
                Err(e) => error.set(Some(format!(
                    "Could not publish the event: {}",
                    e.describe()
                ))),
            }
        });
    };

    let result = move || {
        sent.get().map(|out| {
            if out.deliveries == 0 {
                view! {
                    <div class="warn-box" role="status" id="event-result">
                        "Published as "<code>{out.id.clone()}</code>", but no enabled subscription wants "
                        <code>{out.event_type.clone()}</code>": nothing was delivered. Check the subscriptions' event types."
                    </div>
                }
                .into_any()
            } else {
                view! {
                    <div class="ok-box" role="status" id="event-result">
                        "Published as "<code>{out.id.clone()}</code>" — "
                        {plural(out.deliveries as usize, "delivery", "deliveries")}
                        " queued. Open a subscription to follow its delivery."
                    </div>
                }
                .into_any()
            }
        })
    };

    view! {
        <Modal title="Send a test event".to_owned() on_close=on_close>
            <form class="sub-form event-form" on:submit=submit novalidate>
                <p class="muted small form-lead">
                    "Publishes an event as a flow's Emit step would: every enabled subscription whose event types match gets a delivery."
                </p>
                <div class="field">
                    <label for="event-type">"Event type"</label>
                    <input id="event-type" type="text" class="mono" autocomplete="off" spellcheck="false"
                        list="event-type-suggestions" maxlength="128" node_ref=type_ref
                        prop:value=event_type on:input=move |ev| {
                            error.set(None);
                            event_type.set(event_target_value(&ev));
                        }/>
                    <datalist id="event-type-suggestions">
                        {suggestions.into_iter().map(|s| view! { <option value=s></option> }).collect_view()}
                    </datalist>
                    <div class="hint">"One concrete type, such as customer.created (no wildcards)."</div>
                </div>
                <div class="field">
                    <label for="event-payload">"Payload (JSON)"</label>
                    <CodeArea id="event-payload" label="Payload (JSON)" rows=8 value=payload.get_untracked()
                        on_input=Callback::new(move |v: String| {
                            error.set(None);
                            payload.set(v);
                        })/>
                    {move || match json_problem() {
                        Some(p) => view! { <div class="field-error">{p}</div> }.into_any(),
                        None => view! {
                            <div class="hint">
                                "Receivers get "<code>"{\"type\", \"timestamp\", \"data\"}"</code>" with this payload as "<code>"data"</code>"."
                            </div>
                        }
                        .into_any(),
                    }}
                </div>
                {move || error.get().map(|e| view! { <div class="error-box" role="alert" id="event-error">{e}</div> })}
                {result}
                <div class="modal-actions">
                    <button class="btn" type="button" on:click=move |_| on_close.run(())>
                        {move || if sent.with(Option::is_some) { "Done" } else { "Cancel" }}
                    </button>
                    <button class="btn btn-primary" type="submit" id="send-event" aria-disabled=move || busy.get().to_string()>
                        {move || if busy.get() {
                            "Sending…"
                        } else if sent.with(Option::is_some) {
                            "Send again"
                        } else {
                            "Send event"
                        }}
                    </button>
                </div>
            </form>
        </Modal>
    }
}
