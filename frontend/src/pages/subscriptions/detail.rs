//! One subscription: its settings, health and signing secret on top, its deliveries below,
//! refreshed every 5 s while the page is open.

use flowgate_api::subscriptions::{EventOut, SecretOut, SubscriptionOut};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::actions::{delete_subscription, set_enabled, toggle_failed};
use super::deliveries::deliveries_section;
use super::live::Live;
use super::modals::{RedeliverSinceModal, RotateSecretModal};
use super::overview::{sub_overview, OverviewActions};
use super::rules::example_type;
use super::send_event::SendEventModal;
use super::settings::EditSubscriptionModal;
use crate::components::{use_go, use_poll, use_route_param, Loading, Notify};
use crate::session::use_session;

/// How often the page refreshes its deliveries.
const REFRESH_MS: u32 = 5_000;

#[component]
pub fn SubscriptionPage() -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let id = use_route_param("id");
    let go = use_go();

    let live = Live::new(id);
    let sub = live.sub;
    let fetch = move |force: bool| live.fetch(force);

    let editing = RwSignal::new(false);
    let rotating = RwSignal::new(false);
    let sending = RwSignal::new(false);
    let redeliver_open = RwSignal::new(false);
    let toggling = RwSignal::new(false);

    // A new subscription opened: start over.
    Effect::new(move |_| {
        id.track();
        live.restart();
    });

    // Every 5 s while the page is open; never two requests at once.
    let tick = use_poll(REFRESH_MS, move || {
        if !live.gone() {
            fetch(false);
        }
    });

    let toggle_enabled = move |_| {
        let Some(Ok(s)) = sub.get_untracked() else {
            return;
        };
        if toggling.get_untracked() {
            return;
        }
        toggling.set(true);
        let enable = !s.enabled;
        spawn_local(async move {
            let r = set_enabled(&s.id, enable).await;
            toggling.try_set(false);
            match r {
                Ok(out) => {
                    sub.try_set(Some(Ok(out)));
                    notify.ok(if enable {
                        "Enabled: waiting deliveries go out now"
                    } else {
                        "Disabled: no new deliveries until it is enabled again"
                    });
                }
                Err(e) => notify.error(toggle_failed(&e, enable)),
            }
        });
    };

    let remove = move |_| {
        if let Some(Ok(s)) = sub.get_untracked() {
            delete_subscription(&s, notify, move |_| {
                go.try_run("/subscriptions".to_owned());
            });
        }
    };

    let deliveries_section = deliveries_section(live, session, tick, sending, redeliver_open);

    let head = move || {
        sub.with(|r| match r {
            None => view! { <Loading what="the subscription"/> }.into_any(),
            Some(Err(e)) => {
                let text = match e.status {
                    404 => "This subscription does not exist: it may have been deleted.".to_owned(),
                    403 => "Your role may not read subscriptions.".to_owned(),
                    _ => format!("Could not load the subscription: {}", e.describe()),
                };
                view! {
                    <div class="error-box load-error" role="alert">
                        <span>{text}</span>
                        <a class="btn btn-small" href="/subscriptions">"Back to subscriptions"</a>
                    </div>
                }
                .into_any()
            }
            Some(Ok(s)) => sub_overview(
                s.clone(),
                session.is_admin(),
                session.can_edit(),
                tick,
                toggling,
                OverviewActions {
                    edit: Callback::new(move |()| editing.set(true)),
                    rotate: Callback::new(move |()| rotating.set(true)),
                    send: Callback::new(move |()| sending.set(true)),
                    toggle: Callback::new(move |()| toggle_enabled(())),
                    remove: Callback::new(move |()| remove(())),
                },
            )
            .into_any(),
        })
    };
    let loaded = move || sub.with(|r| matches!(r, Some(Ok(_))));
    // Read once when a dialog opens: a refresh must not reset what is being typed.
    let current = move || sub.with_untracked(|r| r.as_ref().and_then(|r| r.as_ref().ok()).cloned());

    view! {
        <div class="page admin-page sub-page">
            <div class="crumbs"><a href="/subscriptions">"Event subscriptions"</a>" / "</div>
            {head}
            <Show when=loaded>{deliveries_section}</Show>
            <Show when=move || editing.get() && session.is_admin()>
                {move || current().map(|s| view! {
                    <EditSubscriptionModal sub=s
                        on_saved=Callback::new(move |s: SubscriptionOut| {
                            sub.set(Some(Ok(s)));
                            editing.set(false);
                        })
                        on_close=Callback::new(move |()| editing.set(false))/>
                })}
            </Show>
            <Show when=move || rotating.get() && session.is_admin()>
                <RotateSecretModal sub_id=id.get_untracked()
                    on_rotated=Callback::new(move |_: SecretOut| fetch(true))
                    on_close=Callback::new(move |()| rotating.set(false))/>
            </Show>
            <Show when=move || sending.get() && session.can_edit()>
                {move || current().map(|s| view! {
                    <SendEventModal
                        initial_type=example_type(&s.event_types)
                        suggestions=s.event_types.iter().map(|p| example_type(std::slice::from_ref(p))).collect()
                        on_sent=Callback::new(move |_: EventOut| fetch(true))
                        on_close=Callback::new(move |()| sending.set(false))/>
                })}
            </Show>
            <Show when=move || redeliver_open.get() && session.is_admin()>
                <RedeliverSinceModal sub_id=id.get_untracked()
                    on_done=Callback::new(move |_: u64| fetch(true))
                    on_close=Callback::new(move |()| redeliver_open.set(false))/>
            </Show>
        </div>
    }
}
