//! The head of a subscription's page: title, alerts, settings, health and signing.

use flowgate_api::subscriptions::SubscriptionOut;
use flowgate_api::{sensitive_header, REDACTED};
use leptos::prelude::*;

use super::parts::{chips, state_badge};
use crate::components::CopyButton;
use crate::format::{ago, short_time, until};

pub struct OverviewActions {
    pub edit: Callback<()>,
    pub rotate: Callback<()>,
    pub send: Callback<()>,
    pub toggle: Callback<()>,
    pub remove: Callback<()>,
}

/// The title, alerts, settings, signing and health of a subscription.
pub fn sub_overview(
    s: SubscriptionOut,
    admin: bool,
    can_edit: bool,
    tick: RwSignal<u32>,
    toggling: RwSignal<bool>,
    act: OverviewActions,
) -> impl IntoView {
    let OverviewActions {
        edit,
        rotate,
        send,
        toggle,
        remove,
    } = act;
    let enabled = s.enabled;
    let actions = view! {
        <div class="sub-actions">
            {can_edit.then(|| view! {
                <button class="btn" type="button" id="send-test-event" on:click=move |_| send.run(())>"Send test event"</button>
            })}
            {admin.then(|| view! {
                <button class="btn" type="button" id="toggle-enabled" disabled=move || toggling.get()
                    on:click=move |_| toggle.run(())>{if enabled { "Disable" } else { "Enable" }}</button>
                <button class="btn btn-quiet-danger" type="button" id="delete-subscription"
                    on:click=move |_| remove.run(())>"Delete"</button>
            })}
        </div>
    };
    let alerts = {
        let reason = (!s.enabled).then(|| {
            let text = match &s.disabled_reason {
                Some(r) => format!("Flowgate disabled this subscription: {r}."),
                None => "This subscription is disabled: it gets no new events. Deliveries already queued wait until it is enabled again.".to_owned(),
            };
            view! {
                <div class="warn-box sub-alert" role="status">
                    <span>{text}</span>
                    {admin.then(|| view! {
                        <button class="btn btn-small" type="button" disabled=move || toggling.get()
                            on:click=move |_| toggle.run(())>"Enable it again"</button>
                    })}
                </div>
            }
        });
        let failing = s.enabled.then(|| s.failing_since.clone()).flatten().map(|t| {
            let t2 = t.clone();
            view! {
                <div class="warn-box sub-alert" role="status">
                    <span>
                        "Deliveries have been failing since "<strong title=short_time(&t)>{move || { tick.track(); ago(&t2) }}</strong>
                        ". Flowgate keeps retrying each one for about a day, and disables the subscription after 5 days without a success."
                    </span>
                </div>
            }
        });
        view! { {reason}{failing} }
    };

    let headers = if s.headers.is_empty() {
        view! { <span class="muted">"None"</span> }.into_any()
    } else {
        view! {
            <ul class="header-list">
                {s.headers.iter().map(|(k, v)| header_item(k.clone(), v.clone())).collect_view()}
            </ul>
        }
        .into_any()
    };
    let description = if s.description.is_empty() {
        view! { <span class="muted">"No description"</span> }.into_any()
    } else {
        view! { <span class="pre-line">{s.description.clone()}</span> }.into_any()
    };
    let rotation = s.previous_secret_expires_at.clone().map(|t| {
        let t2 = t.clone();
        view! {
            <div class="info-box rotation-note" role="status">
                "Rotation in progress: the previous secret also signs every delivery until "
                <strong>{short_time(&t)}" UTC"</strong>" ("{move || { tick.track(); until(&t2) }}
                "). Switch the receiver to the new secret before then."
            </div>
        }
    });
    let last_success = match s.last_success_at.clone() {
        Some(t) => {
            let t2 = t.clone();
            view! { <span title=short_time(&t)>{move || { tick.track(); ago(&t2) }}</span> }
                .into_any()
        }
        None => view! { <span class="muted">"No successful delivery yet"</span> }.into_any(),
    };
    let failing_since = match s.failing_since.clone() {
        Some(t) => {
            let t2 = t.clone();
            view! { <span class="failing" title=short_time(&t)>{move || { tick.track(); ago(&t2) }}</span> }.into_any()
        }
        None => view! { <span class="ok-text">"Not failing"</span> }.into_any(),
    };
    let url = s.url.clone();

    view! {
        <div class="sub-head">
            <div class="sub-title">
                <div class="sub-title-line">
                    <h1 class="mono url-text">{s.url.clone()}</h1>
                    {state_badge(&s)}
                </div>
                {(!s.description.is_empty()).then(|| view! { <p class="page-sub">{s.description.clone()}</p> })}
            </div>
            {actions}
        </div>
        {alerts}
        <div class="sub-grid">
            <section class="card sub-settings" aria-labelledby="settings-title">
                <div class="section-head">
                    <h2 id="settings-title">"Settings"</h2>
                    <div class="spacer"></div>
                    {admin.then(|| view! {
                        <button class="btn btn-small" type="button" id="edit-subscription" on:click=move |_| edit.run(())>"Edit"</button>
                    })}
                </div>
                <dl class="kv">
                    <dt>"Endpoint URL"</dt>
                    <dd><span class="id-line"><code class="url-text">{url.clone()}</code><CopyButton text=url label="Copy"/></span></dd>
                    <dt>"Event types"</dt>
                    <dd>{chips(&s.event_types, 100)}</dd>
                    <dt>"Description"</dt>
                    <dd>{description}</dd>
                    <dt>"Order"</dt>
                    <dd>{if s.ordered {
                        "In order, one at a time (a failing delivery holds the later ones back)"
                    } else {
                        "In parallel, no particular order"
                    }}</dd>
                    <dt>"Rate limit"</dt>
                    <dd>{match s.rate_limit {
                        Some(n) => format!("At most {n} deliveries per second (per instance)"),
                        None => "None".to_owned(),
                    }}</dd>
                    <dt>"Custom headers"</dt>
                    <dd>{headers}</dd>
                    <dt>"Created"</dt>
                    <dd title=ago(&s.created_at)>{short_time(&s.created_at)}" UTC"</dd>
                    <dt>"Updated"</dt>
                    <dd title=ago(&s.updated_at)>{short_time(&s.updated_at)}" UTC"</dd>
                    <dt>"ID"</dt>
                    <dd><code>{s.id.clone()}</code></dd>
                </dl>
            </section>
            <div class="sub-side">
                <section class="card sub-health" aria-labelledby="health-title">
                    <h2 id="health-title">"Health"</h2>
                    <dl class="kv">
                        <dt>"Status"</dt>
                        <dd>{if s.enabled { "Enabled" } else { "Disabled" }}</dd>
                        <dt>"Last success"</dt>
                        <dd>{last_success}</dd>
                        <dt>"Failing since"</dt>
                        <dd>{failing_since}</dd>
                    </dl>
                </section>
                <section class="card sub-signing" aria-labelledby="signing-title">
                    <h2 id="signing-title">"Signing secret"</h2>
                    <p class="muted small">
                        "Every delivery is signed ("<code>"webhook-signature"</code>") with the subscription's "
                        <code>"whsec_…"</code>" secret. It is shown only when created or rotated."
                    </p>
                    {rotation}
                    {admin.then(|| view! {
                        <button class="btn" type="button" id="rotate-secret" on:click=move |_| rotate.run(())>"Rotate secret…"</button>
                    })}
                </section>
            </div>
        </div>
    }
}

/// One custom header; credentials are masked until shown.
fn header_item(name: String, value: String) -> impl IntoView {
    if sensitive_header(&name) || value == REDACTED {
        let shown = RwSignal::new(false);
        let v = value.clone();
        view! {
            <li>
                <code class="header-name-text">{name.clone()}": "</code>
                <code class="header-value-text">{move || if shown.get() { v.clone() } else { "••••••••".to_owned() }}</code>
                " "
                <button class="btn-link small" type="button" aria-pressed=move || shown.get().to_string()
                    on:click=move |_| shown.update(|s| *s = !*s)>{move || if shown.get() { "Hide" } else { "Show" }}</button>
            </li>
        }
        .into_any()
    } else {
        view! {
            <li><code class="header-name-text">{name}": "</code><code class="header-value-text">{value}</code></li>
        }
        .into_any()
    }
}
