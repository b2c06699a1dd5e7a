//! The rotation dialog the API keys and OAuth clients pages share: how long the current
//! secret keeps working, then the new secret, shown this once.

use flowgate_api::keys::MAX_OVERLAP_S;
use flowgate_api::{KeyCreatedOut, OauthClientCreatedOut, RotateIn};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, enc, ApiResult};
use crate::components::{CopiedActions, Modal, SecretOnce};
use crate::format::{now_us, parse_time_us, short_time, until};

/// What gets a new secret.
#[derive(Clone, PartialEq)]
pub enum Rotating {
    Key { id: String, label: String },
    Client { id: String, label: String },
}

impl Rotating {
    fn id(&self) -> &str {
        match self {
            Rotating::Key { id, .. } | Rotating::Client { id, .. } => id,
        }
    }
    fn label(&self) -> &str {
        match self {
            Rotating::Key { label, .. } | Rotating::Client { label, .. } => label,
        }
    }
    fn noun(&self) -> &'static str {
        match self {
            Rotating::Key { .. } => "key",
            Rotating::Client { .. } => "client",
        }
    }
}

/// The answer of a rotation, whatever was rotated.
#[derive(Clone, PartialEq)]
pub struct Rotated {
    pub id: String,
    pub secret: String,
    pub previous_until: Option<String>,
}

async fn rotate(target: &Rotating, overlap_s: u64) -> ApiResult<Rotated> {
    let body = RotateIn {
        overlap_s,
        secret: None,
    };
    match target {
        Rotating::Key { id, .. } => {
            api::post::<KeyCreatedOut, _>(&format!("/keys/{}/rotate", enc(id)), &body)
                .await
                .map(|k| Rotated {
                    id: k.id,
                    secret: k.secret,
                    previous_until: k.previous_until,
                })
        }
        Rotating::Client { id, .. } => api::post::<OauthClientCreatedOut, _>(
            &format!("/oauth-clients/{}/rotate", enc(id)),
            &body,
        )
        .await
        .map(|c| Rotated {
            id: c.client_id,
            secret: c.client_secret,
            previous_until: c.previous_until,
        }),
    }
}

/// While a rotation's overlap lasts (for a list row): until when the previous secret still
/// works.
pub fn previous_secret(until_at: Option<&str>) -> Option<impl IntoView> {
    let t = until_at?;
    let still = parse_time_us(t).is_some_and(|at| now_us() < at);
    still.then(|| {
        let text = format!("previous secret stops {}", until(t));
        view! { <div class="muted small previous-until" title=format!("until {} UTC", short_time(t))>{text}</div> }
    })
}

/// How long the current secret keeps working: (seconds, words).
const OVERLAPS: [(u64, &str); 5] = [
    (0, "No overlap: the current secret stops at once"),
    (3_600, "1 hour"),
    (86_400, "24 hours"),
    (604_800, "7 days"),
    (MAX_OVERLAP_S, "30 days"),
];

#[component]
pub fn RotateModal(
    target: Rotating,
    #[prop(into)] on_rotated: Callback<Rotated>,
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    let overlap = RwSignal::new(86_400u64);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let rotated = RwSignal::new(None::<Rotated>);
    let target = StoredValue::new(target);
    let noun = target.with_value(|t| t.noun());

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let t = target.get_value();
        let overlap_s = overlap.get_untracked();
        spawn_local(async move {
            let r = rotate(&t, overlap_s).await;
            if busy.try_set(false).is_some() {
                return; // the dialog was closed meanwhile
            }
            match r {
                Ok(out) => {
                    rotated.set(Some(out.clone()));
                    on_rotated.run(out);
                }
                Err(e) if e.status == 403 => {
                    error.set(Some(format!("Only admins rotate the secret of a {noun}.")))
                }
                Err(e) if e.status == 404 => error.set(Some(format!(
                    "This {noun} no longer exists: it was revoked meanwhile."
                ))),
                Err(e) => error.set(Some(format!(
                    "Could not rotate the secret: {}",
                    e.describe()
                ))),
            }
        });
    };

    move || match rotated.get() {
        None => {
            let label = target.with_value(|t| t.label().to_owned());
            let who = match target.get_value() {
                Rotating::Key { .. } => "the system that calls with this key",
                Rotating::Client { .. } => "the system that gets tokens with this client",
            };
            view! {
                <Modal title=format!("Rotate the secret of “{label}”?") on_close=on_close>
                    <form class="rotate-form" on:submit=submit>
                        <p>
                            "Flowgate makes a new secret and shows it once. During the overlap below, the current secret keeps working too, so you can give "
                            {who}" the new one without cutting it off. After that, only the new secret works."
                        </p>
                        <div class="field">
                            <label for="rotate-overlap">"Keep the current secret working for"</label>
                            <select id="rotate-overlap" on:change=move |ev| {
                                if let Ok(v) = event_target_value(&ev).parse::<u64>() { overlap.set(v) }
                            }>
                                {OVERLAPS.iter().map(|(v, l)| view! {
                                    <option value=v.to_string() selected=*v == overlap.get_untracked()>{*l}</option>
                                }).collect_view()}
                            </select>
                            {move || (overlap.get() == 0).then(|| view! {
                                <div class="field-error">"Calls with the current secret are refused as soon as you rotate."</div>
                            })}
                        </div>
                        {move || error.get().map(|e| view! { <div class="error-box" role="alert">{e}</div> })}
                        <div class="modal-actions">
                            <button class="btn" type="button" on:click=move |_| on_close.run(()) autofocus>"Cancel"</button>
                            <button class="btn btn-primary" type="submit" id="rotate-confirm" disabled=move || busy.get()>
                                {move || if busy.get() { "Rotating…" } else { "Rotate secret" }}
                            </button>
                        </div>
                    </form>
                </Modal>
            }
            .into_any()
        }
        Some(r) => {
            let overlap_text = match &r.previous_until {
                Some(t) => format!(
                    "The previous secret keeps working until {} UTC ({}): switch the caller to the new one before then.",
                    short_time(t),
                    until(t)
                ),
                None => "The previous secret no longer works: give the caller the new one now.".to_owned(),
            };
            let id = target.with_value(|t| t.id().to_owned());
            let id_line = match target.get_value() {
                Rotating::Client { .. } => Some(view! {
                    <p>"The client id stays "<code>{id}</code>"."</p>
                }),
                Rotating::Key { .. } => None,
            };
            view! {
                <Modal title="Copy the new secret".to_owned() on_close=on_close>
                    <div class="key-created" id="secret-rotated">
                        <p>{overlap_text}</p>
                        {id_line}
                        <div class="warn-box" role="alert">
                            <strong>"This secret will not be shown again."</strong>
                            " Flowgate keeps only a digest of it. Copy it now and store it somewhere safe."
                        </div>
                        <SecretOnce id="rotated-secret" aria_label="The new secret" secret=r.secret.clone()/>
                    </div>
                    <CopiedActions id="rotate-done" on_close=on_close/>
                </Modal>
            }
            .into_any()
        }
    }
}
