//! The list of subscriptions: endpoint, event types, health, delivery mode; admins add,
//! enable/disable and delete from here, designers send test events.

use flowgate_api::subscriptions::{EventOut, SubscriptionCreatedOut, SubscriptionOut};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::actions::{delete_subscription, set_enabled, toggle_failed};
use super::parts::{chips, on_control, state_badge};
use super::rules::example_type;
use super::send_event::SendEventModal;
use super::settings::CreateSubscriptionModal;
use crate::api::enc;
use crate::components::{
    use_go, AdminButton, Empty, ListLoader, ListMeta, ListTable, Loading, Notify, PageHead,
};
use crate::format::{ago, plural, short_time};
use crate::session::use_session;

const COLUMNS: &[(&str, Option<&str>)] = &[
    ("Endpoint", None),
    ("Event types", None),
    ("Status", None),
    ("Delivery", None),
    ("Last success", None),
];

#[component]
pub fn SubscriptionsPage() -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    // A failed refresh keeps the list and says so; a failed first load shows the error.
    let loader = ListLoader::<SubscriptionOut>::new("/subscriptions", "subscriptions");
    let subs = loader.rows;
    let load = move || loader.reload();
    let creating = RwSignal::new(false);
    let sending = RwSignal::new(false);
    // The subscription created last, highlighted in the list for a moment.
    let fresh = RwSignal::new(None::<String>);
    // Rows with a change on its way to the server.
    let busy = RwSignal::new(Vec::<String>::new());
    let go = use_go();

    let replace = move |s: SubscriptionOut| {
        subs.try_update(|list| {
            if let Some(Ok(list)) = list {
                match list.iter_mut().find(|x| x.id == s.id) {
                    Some(x) => *x = s,
                    None => list.push(s),
                }
            }
        });
    };

    let on_created = Callback::new(move |c: SubscriptionCreatedOut| {
        let s = c.subscription;
        fresh.set(Some(s.id.clone()));
        subs.update(|list| match list {
            Some(Ok(_)) => {}
            _ => *list = Some(Ok(Vec::new())),
        });
        replace(s);
    });
    let on_close = Callback::new(move |()| {
        creating.set(false);
        load();
    });

    let toggle = move |s: SubscriptionOut| {
        if busy.with_untracked(|b| b.contains(&s.id)) {
            return;
        }
        busy.update(|b| b.push(s.id.clone()));
        let enable = !s.enabled;
        spawn_local(async move {
            let r = set_enabled(&s.id, enable).await;
            busy.try_update(|b| b.retain(|x| *x != s.id));
            match r {
                Ok(out) => {
                    replace(out);
                    notify.ok(if enable {
                        "Enabled: new events are delivered again, and the ones waiting go out now"
                    } else {
                        "Disabled: it gets no new events; pending deliveries wait until it is enabled"
                    });
                }
                Err(e) if e.status == 404 => {
                    notify.error("This subscription was deleted meanwhile.");
                    load();
                }
                Err(e) => notify.error(toggle_failed(&e, enable)),
            }
        });
    };

    let remove = move |s: SubscriptionOut| {
        let id = s.id.clone();
        delete_subscription(&s, notify, move |already| {
            if already {
                load();
            } else {
                subs.try_update(|list| {
                    if let Some(Ok(list)) = list {
                        list.retain(|x| x.id != id);
                    }
                });
            }
        });
    };

    let table = move || {
        let admin = session.is_admin();
        let fresh_id = fresh.get();
        subs.with(|r| match r {
            None => view! { <Loading what="subscriptions"/> }.into_any(),
            Some(Err(e)) => loader.failed(
                e,
                Some("Your role may not read subscriptions."),
                "subscriptions",
            ),
            Some(Ok(list)) if list.is_empty() => view! {
                <Empty title="No subscriptions yet">
                    <p class="empty-lead">
                        "A subscription is a URL that receives the events your flows publish, signed so the receiver can trust them and retried for about a day if it is down."
                    </p>
                    <ol class="next-steps">
                        <li>"Add a subscription: the receiver's URL and the event types it wants (such as "<code>"customer.*"</code>")."</li>
                        <li>"Add an "<strong>"Emit"</strong>" step to a flow, or send a test event, to publish events."</li>
                        <li>"Open the subscription to watch every delivery and its attempts."</li>
                    </ol>
                    {if admin {
                        view! {
                            <div>
                                <button class="btn btn-primary" type="button" on:click=move |_| creating.set(true)>
                                    "Add subscription"
                                </button>
                            </div>
                        }
                        .into_any()
                    } else {
                        view! { <p class="muted small">"Only admins add subscriptions: ask one to add the receiver's URL."</p> }
                            .into_any()
                    }}
                </Empty>
            }
            .into_any(),
            Some(Ok(list)) => {
                let rows = list
                    .iter()
                    .cloned()
                    .map(|s| {
                        let is_new = fresh_id.as_deref() == Some(s.id.as_str());
                        sub_row(s, admin, is_new, busy, toggle, remove, go)
                    })
                    .collect_view();
                view! {
                    <ListTable class="table subs-table" id="subscriptions" columns=COLUMNS actions=admin>{rows}</ListTable>
                }
                .into_any()
            }
        })
    };

    let count = move || {
        subs.with(|r| match r {
            Some(Ok(list)) if !list.is_empty() => {
                let on = list.iter().filter(|s| s.enabled).count();
                let failing = list
                    .iter()
                    .filter(|s| s.enabled && s.failing_since.is_some())
                    .count();
                let mut text = format!(
                    "{} · {} enabled",
                    plural(list.len(), "subscription", "subscriptions"),
                    on
                );
                if 0 < failing {
                    text.push_str(&format!(" · {failing} failing"));
                }
                Some(text)
            }
            _ => None,
        })
    };
    let suggestions = Signal::derive(move || {
        subs.with(|r| match r {
            Some(Ok(list)) => {
                let mut v: Vec<String> = list
                    .iter()
                    .flat_map(|s| s.event_types.iter())
                    .map(|p| example_type(std::slice::from_ref(p)))
                    .collect();
                v.sort();
                v.dedup();
                v
            }
            _ => Vec::new(),
        })
    });
    let first_type = move || {
        subs.with_untracked(|r| match r {
            Some(Ok(list)) => list
                .iter()
                .find(|s| s.enabled)
                .map(|s| example_type(&s.event_types)),
            _ => None,
        })
        .unwrap_or_else(|| "test.ping".into())
    };

    view! {
        <div class="page admin-page subs-page">
            <PageHead title="Event subscriptions" sub=|| view! {
                "Flowgate POSTs every event your flows publish to each enabled subscription whose event types match, signed per "
                <a href="https://www.standardwebhooks.com/" target="_blank" rel="noopener">"Standard Webhooks"</a>
                " and retried for about a day."
            }>
                <Show when=move || session.can_edit()>
                    <button class="btn" type="button" id="send-test-event" on:click=move |_| sending.set(true)>
                        "Send test event"
                    </button>
                </Show>
                <AdminButton id="new-subscription" label="Add subscription" note="Read-only: only admins add and change subscriptions."
                    on_click=move |()| creating.set(true)/>
            </PageHead>
            <ListMeta text=Signal::derive(count)/>
            {table}
            <Show when=move || creating.get() && session.is_admin()>
                <CreateSubscriptionModal on_created=on_created on_close=on_close/>
            </Show>
            <Show when=move || sending.get() && session.can_edit()>
                <SendEventModal
                    initial_type=first_type()
                    suggestions=suggestions.get_untracked()
                    on_sent=Callback::new(move |_: EventOut| load())
                    on_close=Callback::new(move |()| sending.set(false))
                />
            </Show>
        </div>
    }
}

/// One row of the list.
fn sub_row(
    s: SubscriptionOut,
    admin: bool,
    is_new: bool,
    busy: RwSignal<Vec<String>>,
    toggle: impl Fn(SubscriptionOut) + Copy + Send + Sync + 'static,
    remove: impl Fn(SubscriptionOut) + Copy + Send + Sync + 'static,
    go: Callback<String>,
) -> impl IntoView {
    let href = format!("/subscriptions/{}", enc(&s.id));
    let row_href = href.clone();
    let description = if s.description.is_empty() {
        None
    } else {
        Some(
            view! { <div class="cell-sub muted small" title=s.description.clone()>{s.description.clone()}</div> },
        )
    };
    let status = {
        let reason = (!s.enabled)
            .then(|| s.disabled_reason.clone())
            .flatten()
            .map(
                |r| view! { <div class="disabled-reason small" title=r.clone()>{r.clone()}</div> },
            );
        let failing = s
            .enabled
            .then(|| s.failing_since.clone())
            .flatten()
            .map(|t| {
                view! { <div class="failing small" title=short_time(&t)>"Failing since "{ago(&t)}</div> }
            });
        view! { {state_badge(&s)}{reason}{failing} }
    };
    let delivery = {
        let mode = if s.ordered {
            view! { <span class="mode-tag" title="One at a time, in event order">"Ordered"</span> }
        } else {
            view! { <span class="mode-tag mode-parallel" title="Several at a time">"Parallel"</span> }
        };
        let rate = match s.rate_limit {
            Some(n) => format!("≤ {n}/s"),
            None => "No rate limit".to_owned(),
        };
        view! { {mode}<div class="muted small">{rate}</div> }
    };
    let last = match &s.last_success_at {
        Some(t) => view! { <span title=short_time(t)>{ago(t)}</span> }.into_any(),
        None => view! { <span class="muted">"never"</span> }.into_any(),
    };
    let action = admin.then(|| {
        let id = s.id.clone();
        let is_busy = move || busy.with(|b| b.contains(&id));
        let (s1, s2) = (s.clone(), s.clone());
        let enabled = s.enabled;
        let label = if enabled { "Disable" } else { "Enable" };
        let aria_toggle = format!("{label} the subscription to {}", s.url);
        let aria_delete = format!("Delete the subscription to {}", s.url);
        view! {
            <td class="actions">
                <button class="btn btn-small toggle-subscription" type="button" aria-label=aria_toggle
                    disabled=is_busy on:click=move |_| toggle(s1.clone())>{label}</button>
                <button class="btn btn-small btn-quiet-danger delete-subscription" type="button" aria-label=aria_delete
                    on:click=move |_| remove(s2.clone())>"Delete"</button>
            </td>
        }
    });
    let mut class = String::from("clickable sub-row");
    if is_new {
        class.push_str(" row-new");
    }
    if !s.enabled {
        class.push_str(" sub-off");
    }
    view! {
        <tr class=class data-subscription-url=s.url.clone() data-subscription-id=s.id.clone()
            on:click=move |ev| {
                if !on_control(&ev) {
                    go.run(row_href.clone());
                }
            }>
            <td class="sub-endpoint">
                <a class="sub-url mono" href=href title=s.url.clone()>{s.url.clone()}</a>
                {is_new.then(|| view! { <span class="badge badge-ok new-tag">"new"</span> })}
                {description}
            </td>
            <td class="sub-events">{chips(&s.event_types, 4)}</td>
            <td class="sub-status">{status}</td>
            <td class="sub-delivery">{delivery}</td>
            <td class="nowrap sub-last">{last}</td>
            {action}
        </tr>
    }
}
