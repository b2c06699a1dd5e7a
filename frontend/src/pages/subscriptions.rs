//! Event subscriptions (outbound webhooks): URLs that receive the events flows publish (the
//! `emit` step), signed per Standard Webhooks and retried for about a day.
//!
//! Everyone signed in reads subscriptions and their deliveries; designers also publish test
//! events; admins add, change, enable/disable, delete subscriptions, rotate their signing
//! secrets (shown once) and redeliver.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use flowgate_api::subscriptions::{
    AttemptOut, DeliveryOut, EventIn, EventOut, RedeliverIn, RedeliverOut, RotateSecretIn,
    SecretOut, SubscriptionCreatedOut, SubscriptionIn, SubscriptionOut, SubscriptionPatch,
};
use flowgate_api::Page;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map};
use leptos_router::NavigateOptions;
use wasm_bindgen::JsCast;

use crate::api::{self, enc, ApiError};
use crate::app::use_session;
use crate::components::{
    ago, confirm, short_time, CodeArea, CopyButton, Empty, JsonBlock, Loading, Modal, Notify,
};

/// How often the detail page refreshes its deliveries.
const REFRESH_MS: u32 = 5_000;
/// Deliveries fetched at first, and added by "Show more" (the server allows up to 500).
const PAGE: u64 = 50;
const MAX_PAGE: u64 = 500;
/// Delivery statuses, in the order a delivery goes through them.
const STATUSES: [&str; 4] = ["pending", "delivering", "succeeded", "failed"];
/// Headers Flowgate sets itself (mirrors the server's rule).
const RESERVED_HEADERS: [&str; 8] = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "content-length",
    "host",
    "connection",
    "transfer-encoding",
];
const PATTERN_HINT: &str = "An exact type (order.created), a prefix (customer.* matches customer.created and customer.address.changed, not customer itself), or * for every event. Separate them with commas or press Enter.";

// ---------------------------------------------------------------------------------------------
// Small helpers.

/// The server's messages start in lower case (they read well after "Could not …: ").
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `2026-11-23 12:01:02` as date and time, which may wrap onto two lines in a narrow table.
fn when(rfc3339: &str) -> impl IntoView {
    let text = short_time(rfc3339);
    let (date, time) = text.split_once(' ').unwrap_or((text.as_str(), ""));
    view! { <span class="nowrap">{date.to_owned()}</span>" "<span class="nowrap muted">{time.to_owned()}</span> }
}

/// "in 4 min" for a time to come.
fn until(rfc3339: &str) -> String {
    let then = js_sys::Date::parse(rfc3339);
    if then.is_nan() {
        return rfc3339.to_owned();
    }
    let secs = ((then - js_sys::Date::now()) / 1000.0).round();
    if secs <= 0.0 {
        return "due now".into();
    }
    let s = secs as u64;
    match s {
        0..=59 => format!("in {s} s"),
        60..=3599 => format!("in {} min", s / 60),
        3600..=172_799 => match s % 3600 / 60 {
            0 => format!("in {} h", s / 3600),
            m => format!("in {} h {m} min", s / 3600),
        },
        _ => format!("in {} d", s / 86400),
    }
}

fn iso_at(ms: f64) -> String {
    String::from(js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms)).to_iso_string())
}

/// The value of a `datetime-local` input (read as UTC) `hours` ago.
fn input_hours_ago(hours: f64) -> String {
    iso_at(js_sys::Date::now() - hours * 3_600_000.0)
        .chars()
        .take(16)
        .collect()
}

/// A `datetime-local` value, read as UTC → RFC 3339 (`2026-11-23T08:00:00Z`).
fn input_to_rfc3339(value: &str) -> Option<String> {
    let v = value.trim();
    if v.len() < 16 {
        return None;
    }
    let mut s = v.to_owned();
    if s.len() == 16 {
        s.push_str(":00");
    }
    if !s.ends_with(['Z', 'z']) {
        s.push('Z');
    }
    let ms = js_sys::Date::parse(&s);
    if ms.is_nan() {
        return None;
    }
    let iso = iso_at(ms);
    Some(format!("{}Z", iso.chars().take(19).collect::<String>()))
}

fn duration(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

fn code_class(code: u16) -> &'static str {
    match code {
        200..=299 => "code-pill code-ok",
        300..=399 => "code-pill code-info",
        400..=499 => "code-pill code-warn",
        _ => "code-pill code-bad",
    }
}

/// A header whose value is a credential: shown masked until asked.
fn sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "x-api-key"
    ) || n.contains("token")
        || n.contains("secret")
}

/// Why an event type is not acceptable (mirrors the server).
fn event_type_problem(t: &str) -> Option<String> {
    if t.is_empty() || t.len() > 128 {
        return Some("An event type has 1 to 128 characters.".into());
    }
    if t.split('.').any(|seg| {
        seg.is_empty()
            || !seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }) {
        return Some(format!(
            "“{t}” is not an event type: use dot-separated words of letters, digits, _ and - (such as customer.created)."
        ));
    }
    None
}

/// Why a subscription pattern is not acceptable: an event type, `prefix.*` or `*`.
fn pattern_problem(p: &str) -> Option<String> {
    if p == "*" {
        return None;
    }
    let base = p.strip_suffix(".*").unwrap_or(p);
    event_type_problem(base).map(|_| {
        format!(
            "“{p}” is not a valid pattern: use an event type, a prefix such as customer.*, or *."
        )
    })
}

fn url_problem(url: &str) -> Option<&'static str> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Some("The URL must start with https:// (or http://).");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Some("The URL needs a host, such as https://crm.example.com/hooks/flowgate.");
    }
    if url.chars().any(char::is_whitespace) {
        return Some("The URL cannot contain spaces.");
    }
    if url.len() > 2048 {
        return Some("The URL is too long: at most 2048 characters.");
    }
    None
}

fn header_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// A concrete event type that the patterns accept, to prefill the test form.
fn example_type(patterns: &[String]) -> String {
    if let Some(exact) = patterns.iter().find(|p| !p.ends_with('*')) {
        return exact.clone();
    }
    if let Some(prefix) = patterns.iter().find_map(|p| p.strip_suffix(".*")) {
        return format!("{prefix}.test");
    }
    "test.ping".into()
}

fn status_help(status: &str) -> &'static str {
    match status {
        "pending" => "Waiting for its next attempt",
        "delivering" => "Being sent right now",
        "succeeded" => "The endpoint answered 2xx",
        "failed" => "Given up after its last attempt; redeliver it by hand",
        _ => "",
    }
}

/// An element inside a link, button or field: a click there is not a row click.
fn on_control(ev: &leptos::ev::MouseEvent) -> bool {
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| {
            el.closest("a, button, input, select, textarea, label, summary, pre")
                .ok()
        })
        .flatten()
        .is_some()
}

fn chips(patterns: &[String], max: usize) -> impl IntoView {
    let extra = patterns.len().saturating_sub(max);
    let all = patterns.join(", ");
    view! {
        <div class="chips" title=all>
            {patterns
                .iter()
                .take(max)
                .map(|p| {
                    let class = if p == "*" { "chip mono chip-all" } else { "chip mono" };
                    view! { <span class=class>{p.clone()}</span> }
                })
                .collect_view()}
            {(0 < extra).then(|| view! { <span class="chip chip-more">{format!("+{extra}")}</span> })}
        </div>
    }
}

/// Enabled / disabled, and why when Flowgate disabled it.
fn state_badge(s: &SubscriptionOut) -> impl IntoView {
    if s.enabled {
        view! { <span class="badge badge-ok">"Enabled"</span> }.into_any()
    } else if s.disabled_reason.is_some() {
        view! { <span class="badge badge-error" title="Disabled by Flowgate">"Disabled"</span> }
            .into_any()
    } else {
        view! { <span class="badge badge-disabled">"Disabled"</span> }.into_any()
    }
}

// ---------------------------------------------------------------------------------------------
// The list.

#[component]
pub fn SubscriptionsPage() -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let subs = RwSignal::new(None::<Result<Vec<SubscriptionOut>, ApiError>>);
    let creating = RwSignal::new(false);
    let sending = RwSignal::new(false);
    // The subscription created last, highlighted in the list for a moment.
    let fresh = RwSignal::new(None::<String>);
    // Rows with a change on its way to the server.
    let busy = RwSignal::new(Vec::<String>::new());
    let go = Callback::new({
        let navigate = use_navigate();
        move |path: String| navigate(&path, NavigateOptions::default())
    });

    // A failed refresh keeps the list and says so; a failed first load shows the error.
    let load = move || {
        spawn_local(async move {
            match api::get::<Page<SubscriptionOut>>("/subscriptions").await {
                Ok(page) => {
                    subs.try_set(Some(Ok(page.items)));
                }
                Err(e) => {
                    let shown = subs
                        .try_with_untracked(|k| matches!(k, Some(Ok(_))))
                        .unwrap_or(false);
                    if shown {
                        notify.error(format!("Could not refresh the subscriptions: {e}"));
                    } else {
                        subs.try_set(Some(Err(e)));
                    }
                }
            }
        });
    };
    load();
    let retry = move |_| {
        subs.set(None);
        load();
    };

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
            let body = SubscriptionPatch {
                enabled: Some(enable),
                ..SubscriptionPatch::default()
            };
            let r =
                api::patch::<SubscriptionOut, _>(&format!("/subscriptions/{}", enc(&s.id)), &body)
                    .await;
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
                Err(e) if e.status == 403 => {
                    notify.error("Only admins enable and disable subscriptions.")
                }
                Err(e) if e.status == 404 => {
                    notify.error("This subscription was deleted meanwhile.");
                    load();
                }
                Err(e) => notify.error(format!(
                    "Could not {} the subscription: {e}",
                    if enable { "enable" } else { "disable" }
                )),
            }
        });
    };

    let remove = move |s: SubscriptionOut| {
        confirm(
            "Delete this subscription?",
            format!(
                "{} will get no more events. Its deliveries and their attempts are deleted too, \
                 including pending ones that were not sent yet. This cannot be undone.",
                s.url
            ),
            "Delete subscription",
            move || {
                let id = s.id.clone();
                spawn_local(async move {
                    match api::delete(&format!("/subscriptions/{}", enc(&id))).await {
                        Ok(()) => {
                            subs.try_update(|list| {
                                if let Some(Ok(list)) = list {
                                    list.retain(|x| x.id != id);
                                }
                            });
                            notify.ok("Subscription deleted");
                        }
                        Err(e) if e.status == 404 => {
                            notify.error("This subscription was already deleted.");
                            load();
                        }
                        Err(e) if e.status == 403 => {
                            notify.error("Only admins delete subscriptions.")
                        }
                        Err(e) => notify.error(format!("Could not delete the subscription: {e}")),
                    }
                });
            },
        );
    };

    let table = move || {
        let admin = session.is_admin();
        let fresh_id = fresh.get();
        subs.with(|r| match r {
            None => view! { <Loading what="subscriptions"/> }.into_any(),
            Some(Err(e)) => {
                let text = if e.status == 403 {
                    "Your role may not read subscriptions.".to_owned()
                } else {
                    format!("Could not load the subscriptions: {}", e.describe())
                };
                view! {
                    <div class="error-box load-error" role="alert">
                        <span>{text}</span>
                        <button class="btn btn-small" type="button" on:click=retry>"Try again"</button>
                    </div>
                }
                .into_any()
            }
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
                    <div class="table-wrap">
                        <table class="table subs-table" id="subscriptions">
                            <thead>
                                <tr>
                                    <th scope="col">"Endpoint"</th>
                                    <th scope="col">"Event types"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Delivery"</th>
                                    <th scope="col">"Last success"</th>
                                    {admin.then(|| view! { <th scope="col" class="actions"><span class="sr-only">"Actions"</span></th> })}
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
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
            <div class="page-head">
                <div>
                    <h1>"Event subscriptions"</h1>
                    <p class="page-sub">
                        "Flowgate POSTs every event your flows publish to each enabled subscription whose event types match, signed per "
                        <a href="https://www.standardwebhooks.com/" target="_blank" rel="noopener">"Standard Webhooks"</a>
                        " and retried for about a day."
                    </p>
                </div>
                <div class="spacer"></div>
                <Show when=move || session.can_edit()>
                    <button class="btn" type="button" id="send-test-event" on:click=move |_| sending.set(true)>
                        "Send test event"
                    </button>
                </Show>
                <Show
                    when=move || session.is_admin()
                    fallback=|| view! { <span class="muted small read-only-note">"Read-only: only admins add and change subscriptions."</span> }
                >
                    <button class="btn btn-primary" type="button" id="new-subscription" on:click=move |_| creating.set(true)>
                        "Add subscription"
                    </button>
                </Show>
            </div>
            {move || count().map(|c| view! { <div class="list-meta muted small">{c}</div> })}
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

// ---------------------------------------------------------------------------------------------
// The settings form (create and edit).

#[derive(Clone, Copy)]
struct HeaderRow {
    key: u32,
    name: RwSignal<String>,
    value: RwSignal<String>,
}

/// The form's state.
#[derive(Clone, Copy)]
struct Draft {
    url: RwSignal<String>,
    patterns: RwSignal<Vec<String>>,
    /// What is being typed in the event types box (not yet a chip).
    typing: RwSignal<String>,
    description: RwSignal<String>,
    ordered: RwSignal<bool>,
    rate: RwSignal<String>,
    headers: RwSignal<Vec<HeaderRow>>,
    next_key: StoredValue<u32>,
}

/// What the form says, checked.
struct Settings {
    url: String,
    event_types: Vec<String>,
    description: String,
    ordered: bool,
    rate_limit: Option<u32>,
    headers: BTreeMap<String, String>,
}

impl Draft {
    fn new() -> Self {
        Draft {
            url: RwSignal::new(String::new()),
            patterns: RwSignal::new(Vec::new()),
            typing: RwSignal::new(String::new()),
            description: RwSignal::new(String::new()),
            ordered: RwSignal::new(false),
            rate: RwSignal::new(String::new()),
            headers: RwSignal::new(Vec::new()),
            next_key: StoredValue::new(0),
        }
    }

    fn of(s: &SubscriptionOut) -> Self {
        let d = Draft::new();
        d.url.set(s.url.clone());
        d.patterns.set(s.event_types.clone());
        d.description.set(s.description.clone());
        d.ordered.set(s.ordered);
        d.rate
            .set(s.rate_limit.map(|n| n.to_string()).unwrap_or_default());
        for (k, v) in &s.headers {
            d.add_header(k.clone(), v.clone());
        }
        d
    }

    fn add_header(self, name: String, value: String) {
        let key = self.next_key.get_value();
        self.next_key.set_value(key + 1);
        let row = HeaderRow {
            key,
            name: RwSignal::new(name),
            value: RwSignal::new(value),
        };
        self.headers.update(|h| h.push(row));
    }

    /// Turns the words typed so far into chips.
    fn add_patterns(self, text: &str) {
        let words: Vec<String> = text
            .split([',', ' ', '\n', '\t', ';'])
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        if words.is_empty() {
            return;
        }
        self.patterns.update(|p| {
            for w in words {
                if !p.contains(&w) {
                    p.push(w);
                }
            }
        });
    }

    fn commit_typing(self) {
        let t = self.typing.get_untracked();
        if !t.trim().is_empty() {
            self.add_patterns(&t);
            self.typing.set(String::new());
        }
    }

    fn settings(self) -> Result<Settings, String> {
        self.commit_typing();
        let url = self.url.get_untracked().trim().to_owned();
        if url.is_empty() {
            return Err("Enter the URL that should receive the events.".into());
        }
        if let Some(p) = url_problem(&url) {
            return Err(p.into());
        }
        let event_types = self.patterns.get_untracked();
        if event_types.is_empty() {
            return Err(
                "Add at least one event type, such as customer.* (or * for every event).".into(),
            );
        }
        if event_types.len() > 100 {
            return Err("At most 100 event types.".into());
        }
        if let Some(problem) = event_types.iter().find_map(|p| pattern_problem(p)) {
            return Err(problem);
        }
        let description = self.description.get_untracked().trim().to_owned();
        if description.len() > 1000 {
            return Err("The description is too long: at most 1000 characters.".into());
        }
        let rate = self.rate.get_untracked();
        let rate_limit = match rate.trim() {
            "" => None,
            r => match r.parse::<u32>() {
                Ok(n) if (1..=10_000).contains(&n) => Some(n),
                _ => {
                    return Err("The rate limit is a whole number of deliveries per second, from 1 to 10000 — or leave it empty for no limit.".into())
                }
            },
        };
        let mut headers = BTreeMap::new();
        for row in self.headers.get_untracked() {
            let name = row.name.get_untracked().trim().to_ascii_lowercase();
            let value = row.value.get_untracked();
            if name.is_empty() && value.trim().is_empty() {
                continue;
            }
            if name.is_empty() {
                return Err("A custom header has a value but no name.".into());
            }
            if !header_name_ok(&name) {
                return Err(format!(
                    "“{name}” is not a valid header name: use letters, digits and - (such as X-Tenant)."
                ));
            }
            if RESERVED_HEADERS.contains(&name.as_str()) || name.starts_with("webhook-") {
                return Err(format!(
                    "Flowgate sets the {name} header itself: remove it from the custom headers."
                ));
            }
            if value.len() > 4096 || value.chars().any(|c| c.is_control() && c != '\t') {
                return Err(format!(
                    "The value of {name} is not valid: at most 4096 characters, on one line."
                ));
            }
            if headers.insert(name.clone(), value).is_some() {
                return Err(format!("The header {name} is listed twice."));
            }
        }
        if headers.len() > 32 {
            return Err("At most 32 custom headers.".into());
        }
        Ok(Settings {
            url,
            event_types,
            description,
            ordered: self.ordered.get_untracked(),
            rate_limit,
            headers,
        })
    }
}

impl Settings {
    fn create(self) -> SubscriptionIn {
        SubscriptionIn {
            url: self.url,
            event_types: self.event_types,
            description: self.description,
            enabled: true,
            headers: self.headers,
            rate_limit: self.rate_limit,
            ordered: self.ordered,
        }
    }

    /// Only what changed (`rate_limit: 0` removes the limit).
    fn patch(self, old: &SubscriptionOut) -> SubscriptionPatch {
        SubscriptionPatch {
            url: (self.url != old.url).then_some(self.url),
            event_types: (self.event_types != old.event_types).then_some(self.event_types),
            description: (self.description != old.description).then_some(self.description),
            enabled: None,
            headers: (self.headers != old.headers).then_some(self.headers),
            rate_limit: (self.rate_limit != old.rate_limit).then(|| self.rate_limit.unwrap_or(0)),
            ordered: (self.ordered != old.ordered).then_some(self.ordered),
        }
    }
}

#[component]
fn SettingsFields(
    draft: Draft,
    error: RwSignal<Option<String>>,
    /// Editing an existing subscription (some hints differ).
    #[prop(optional)]
    editing: bool,
) -> impl IntoView {
    let url_ref = NodeRef::<leptos::html::Input>::new();
    url_ref.on_load(|el| {
        let _ = el.focus();
    });
    let events_ref = NodeRef::<leptos::html::Input>::new();
    let clear = move || error.set(None);
    let bad_patterns = move || {
        draft.patterns.with(|p| {
            p.iter()
                .filter_map(|x| pattern_problem(x))
                .collect::<Vec<_>>()
        })
    };
    let ordered_hint = if editing {
        "A failing delivery holds the later ones back until it succeeds or is given up (up to about 28 h). A change applies to events published afterwards."
    } else {
        "A failing delivery holds the later ones back until it succeeds or is given up (up to about 28 h). Leave it off unless the receiver needs strict order."
    };
    view! {
        <div class="field">
            <label for="sub-url">"Endpoint URL"</label>
            <input id="sub-url" type="url" inputmode="url" autocomplete="off" spellcheck="false" class="mono"
                placeholder="https://crm.example.com/hooks/flowgate" maxlength="2048" required node_ref=url_ref
                prop:value=draft.url on:input=move |ev| {
                    clear();
                    draft.url.set(event_target_value(&ev));
                }/>
            <div class="hint">"Flowgate POSTs each event here as JSON. Any 2xx answer within 15 s counts as delivered."</div>
        </div>
        <div class="field">
            <label for="sub-events">"Event types"</label>
            <div class="chip-input" on:click=move |ev| {
                if !on_control(&ev) {
                    if let Some(el) = events_ref.get_untracked() {
                        let _ = el.focus();
                    }
                }
            }>
                <For each=move || draft.patterns.get() key=|p| p.clone() let:p>
                    {
                        let bad = pattern_problem(&p);
                        let class = if bad.is_some() { "chip chip-edit mono chip-bad" } else { "chip chip-edit mono" };
                        let aria = format!("Remove {p}");
                        let gone = p.clone();
                        view! {
                            <span class=class title=bad>
                                {p.clone()}
                                <button type="button" class="chip-x" aria-label=aria on:click=move |_| {
                                    clear();
                                    draft.patterns.update(|list| list.retain(|x| *x != gone));
                                }>"×"</button>
                            </span>
                        }
                    }
                </For>
                <input id="sub-events" type="text" autocomplete="off" spellcheck="false" class="mono"
                    aria-describedby="sub-events-hint" node_ref=events_ref
                    placeholder=move || if draft.patterns.with(Vec::is_empty) { "customer.*, order.created" } else { "Add another…" }
                    prop:value=draft.typing
                    on:input=move |ev| {
                        clear();
                        let v = event_target_value(&ev);
                        match v.rfind([',', ' ', ';', '\n', '\t']) {
                            Some(i) => {
                                draft.add_patterns(&v[..i]);
                                draft.typing.set(v[i + 1..].to_owned());
                            }
                            None => draft.typing.set(v),
                        }
                    }
                    on:keydown=move |ev: web_sys::KeyboardEvent| {
                        let key = ev.key();
                        if key == "Enter" && !draft.typing.with_untracked(|t| t.trim().is_empty()) {
                            ev.prevent_default();
                            draft.commit_typing();
                        } else if key == "Backspace" && draft.typing.with_untracked(String::is_empty) {
                            draft.patterns.update(|p| {
                                p.pop();
                            });
                        }
                    }
                    on:blur=move |_| draft.commit_typing()/>
            </div>
            <div class="hint" id="sub-events-hint">{PATTERN_HINT}</div>
            {move || {
                let bad = bad_patterns();
                (!bad.is_empty()).then(|| view! { <div class="field-error">{bad.join(" ")}</div> })
            }}
        </div>
        <div class="field">
            <label for="sub-description">"Description "<span class="muted optional">"(optional)"</span></label>
            <textarea id="sub-description" rows="2" maxlength="1000" class="plain-textarea"
                placeholder="Who receives this and why, e.g. “CRM sync of customer changes”"
                prop:value=draft.description on:input=move |ev| {
                    clear();
                    draft.description.set(event_target_value(&ev));
                }></textarea>
        </div>
        <div class="row sub-form-row">
            <div class="field">
                <label for="sub-rate-limit">"Rate limit "<span class="muted optional">"(optional)"</span></label>
                <div class="input-suffix">
                    <input id="sub-rate-limit" type="number" min="1" max="10000" step="1" inputmode="numeric"
                        placeholder="No limit" prop:value=draft.rate on:input=move |ev| {
                            clear();
                            draft.rate.set(event_target_value(&ev));
                        }/>
                    <span class="suffix muted">"per second"</span>
                </div>
                <div class="hint">"Per Flowgate instance. Empty: as fast as the receiver answers."</div>
            </div>
            <div class="field">
                <span class="field-label">"Order"</span>
                <label class="check" for="sub-ordered">
                    <input id="sub-ordered" type="checkbox" prop:checked=draft.ordered on:change=move |ev| {
                        clear();
                        draft.ordered.set(event_target_checked(&ev));
                    }/>
                    "Deliver in order, one at a time"
                </label>
                <div class="hint check-hint">{ordered_hint}</div>
            </div>
        </div>
        <fieldset class="field headers-field">
            <legend>"Custom headers "<span class="muted optional">"(optional)"</span></legend>
            <div class="hint headers-hint">
                "Sent with every delivery, such as a tenant id or a token the receiver expects. Flowgate sets "
                <code>"webhook-*"</code>" and "<code>"content-type"</code>" itself."
            </div>
            <For each=move || draft.headers.get() key=|r| r.key let:row>
                <div class="header-row">
                    <input type="text" class="header-name mono" aria-label="Header name" placeholder="X-Tenant"
                        autocomplete="off" spellcheck="false"
                        prop:value=row.name on:input=move |ev| {
                            clear();
                            row.name.set(event_target_value(&ev));
                        }/>
                    <input type=move || if sensitive_header(&row.name.get()) { "password" } else { "text" }
                        class="header-value mono" aria-label="Header value" placeholder="acme"
                        autocomplete="off" spellcheck="false"
                        prop:value=row.value on:input=move |ev| {
                            clear();
                            row.value.set(event_target_value(&ev));
                        }/>
                    <button type="button" class="icon-btn remove-header" aria-label="Remove this header"
                        on:click=move |_| {
                            clear();
                            draft.headers.update(|h| h.retain(|x| x.key != row.key));
                        }>"×"</button>
                </div>
            </For>
            <button type="button" class="btn btn-small" id="add-header"
                on:click=move |_| draft.add_header(String::new(), String::new())>"+ Add header"</button>
        </fieldset>
    }
}

/// The signing secret, shown this once, with how to use it.
fn secret_block(secret: String) -> impl IntoView {
    let secret_ref = NodeRef::<leptos::html::Div>::new();
    secret_ref.on_load(|el| {
        let _ = el.focus();
    });
    view! {
        <div class="warn-box" role="alert">
            <strong>"This secret will not be shown again."</strong>
            " Copy it now into the receiver's configuration or secret store. If it is lost, rotate the secret on the subscription's page."
        </div>
        <div class="secret-line">
            <div class="secret-once" id="sub-secret" tabindex="0" node_ref=secret_ref
                aria-label="The signing secret">{secret.clone()}</div>
            <CopyButton text=secret label="Copy secret"/>
        </div>
        <div class="verify-note">
            <h3>"How the receiver checks a delivery"</h3>
            <p>
                "Every delivery carries "<code>"webhook-id"</code>", "<code>"webhook-timestamp"</code>" and "
                <code>"webhook-signature"</code>". Compute the HMAC-SHA256 of "
                <code>"{webhook-id}.{webhook-timestamp}.{raw body}"</code>
                ", keyed with the base64-decoded part of the secret after "<code>"whsec_"</code>
                ", encode it in base64 and compare it with each "<code>"v1,…"</code>
                " signature in the header. Reject old timestamps (say, over 5 minutes) and dedupe on "<code>"webhook-id"</code>"."
            </p>
            <details>
                <summary>"Example (Node.js)"</summary>
                <pre class="json verify-code">{VERIFY_EXAMPLE}</pre>
            </details>
            <p class="muted small">
                "The "<a href="https://www.standardwebhooks.com/" target="_blank" rel="noopener">"Standard Webhooks"</a>
                " libraries do all of this for you."
            </p>
        </div>
    }
}

const VERIFY_EXAMPLE: &str = r#"const crypto = require("node:crypto");
// secret: "whsec_…"; rawBody: the exact bytes received, as a string
function verify(secret, headers, rawBody) {
  const id = headers["webhook-id"], ts = headers["webhook-timestamp"];
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const expected = crypto.createHmac("sha256", key)
    .update(`${id}.${ts}.${rawBody}`).digest("base64");
  return headers["webhook-signature"].split(" ")
    .some((s) => s.split(",")[1] === expected);
}"#;

/// "Add subscription": the form, then (once created) the secret, shown this one time.
#[component]
fn CreateSubscriptionModal(
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
                    <div class="modal-actions">
                        <button class="btn" type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                        <button class="btn btn-primary" type="submit" id="create-subscription" disabled=move || busy.get()>
                            {move || if busy.get() { "Adding…" } else { "Add subscription" }}
                        </button>
                    </div>
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
                    <div class="modal-actions">
                        <button class="btn btn-primary" type="button" id="sub-done" on:click=move |_| on_close.run(())>
                            "I have copied it"
                        </button>
                    </div>
                </Modal>
            }
            .into_any()
        }
    }
    }
}

/// "Edit settings": the same form, sending only what changed.
#[component]
fn EditSubscriptionModal(
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
                <div class="modal-actions">
                    <button class="btn" type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                    <button class="btn btn-primary" type="submit" id="save-subscription" disabled=move || busy.get()>
                        {move || if busy.get() { "Saving…" } else { "Save changes" }}
                    </button>
                </div>
            </form>
        </Modal>
    }
}

// ---------------------------------------------------------------------------------------------
// Test events.

#[component]
fn SendEventModal(
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

// ---------------------------------------------------------------------------------------------
// One subscription.

/// What the deliveries table shows.
#[derive(Clone, PartialEq)]
enum ListState {
    Loading,
    Failed(String),
    Empty { filtered: bool },
    Rows,
}

#[component]
pub fn SubscriptionPage() -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let go = Callback::new({
        let navigate = use_navigate();
        move |path: String| navigate(&path, NavigateOptions::default())
    });

    let sub = RwSignal::new(None::<Result<SubscriptionOut, ApiError>>);
    let deliveries = RwSignal::new(None::<Result<Vec<DeliveryOut>, ApiError>>);
    let has_more = RwSignal::new(false);
    let limit = RwSignal::new(PAGE);
    let status_filter = RwSignal::new(String::new());
    let type_filter = RwSignal::new(String::new());
    let type_typing = RwSignal::new(String::new());
    // The filters changed and their answer is on its way: the table is dimmed.
    let stale = RwSignal::new(false);
    let refresh_error = RwSignal::new(None::<String>);
    let expanded = RwSignal::new(None::<String>);
    let detail = RwSignal::new(None::<(String, Result<DeliveryOut, ApiError>)>);
    let redelivering = RwSignal::new(Vec::<String>::new());
    let tick = RwSignal::new(0u32);
    let in_flight = StoredValue::new(false);
    let again = StoredValue::new(false);

    let editing = RwSignal::new(false);
    let rotating = RwSignal::new(false);
    let sending = RwSignal::new(false);
    let redeliver_open = RwSignal::new(false);
    let toggling = RwSignal::new(false);

    // One delivery with its attempts and body.
    let load_detail = move |did: String| {
        spawn_local(async move {
            let r = api::get::<DeliveryOut>(&format!("/deliveries/{}", enc(&did))).await;
            if expanded.try_get_untracked().flatten().as_deref() == Some(did.as_str()) {
                let shown_ok = detail
                    .try_with_untracked(|d| matches!(d, Some((x, Ok(_))) if *x == did))
                    .unwrap_or(false);
                // A failed refresh keeps what is shown.
                if r.is_ok() || !shown_ok {
                    detail.try_set(Some((did, r)));
                }
            }
        });
    };

    // The subscription and its deliveries, one request at a time: a call while one is on its
    // way either asks for another round (`force`: the filters changed) or is dropped (timer).
    let fetch = move |force: bool| {
        match in_flight.try_get_value() {
            None => return,
            Some(true) => {
                if force {
                    again.set_value(true);
                }
                return;
            }
            Some(false) => {}
        }
        in_flight.set_value(true);
        spawn_local(async move {
            loop {
                let Some(sid) = id.try_get_untracked() else {
                    return;
                };
                if sid.is_empty() {
                    break;
                }
                let mut query = format!("limit={}", limit.get_untracked());
                let st = status_filter.get_untracked();
                if !st.is_empty() {
                    query.push_str(&format!("&status={}", enc(&st)));
                }
                let et = type_filter.get_untracked();
                if !et.is_empty() {
                    query.push_str(&format!("&event_type={}", enc(&et)));
                }
                let path = format!("/subscriptions/{}", enc(&sid));
                let s = api::get::<SubscriptionOut>(&path).await;
                let d = match &s {
                    Err(e) if e.status == 404 || e.status == 403 => None,
                    _ => Some(
                        api::get::<Page<DeliveryOut>>(&format!("{path}/deliveries?{query}")).await,
                    ),
                };
                if again.try_get_value() == Some(true) {
                    again.set_value(false);
                    continue; // the filters changed meanwhile: this answer is stale
                }
                let sub_shown = sub
                    .try_with_untracked(|x| matches!(x, Some(Ok(_))))
                    .unwrap_or(false);
                let mut problems = Vec::new();
                match s {
                    Ok(s) => {
                        let same = sub
                            .try_with_untracked(|x| matches!(x, Some(Ok(old)) if *old == s))
                            .unwrap_or(false);
                        if !same {
                            sub.try_set(Some(Ok(s)));
                        }
                    }
                    Err(e) if sub_shown && e.status != 404 => problems.push(e.describe()),
                    Err(e) => {
                        sub.try_set(Some(Err(e)));
                    }
                }
                match d {
                    None => {}
                    Some(Ok(page)) => {
                        has_more.try_set(page.next_cursor.is_some());
                        let same = deliveries
                            .try_with_untracked(
                                |x| matches!(x, Some(Ok(old)) if *old == page.items),
                            )
                            .unwrap_or(false);
                        // Reload the open delivery when its row moved on.
                        let open = expanded.try_get_untracked().flatten();
                        if let Some(open) = open {
                            let row = page.items.iter().find(|x| x.id == open);
                            let loaded = detail
                                .try_with_untracked(|x| match x {
                                    Some((did, Ok(dd))) if *did == open => Some(dd.clone()),
                                    _ => None,
                                })
                                .flatten();
                            if let (Some(row), Some(dd)) = (row, loaded) {
                                if row.status != dd.status
                                    || row.attempts != dd.attempts
                                    || row.finished_at != dd.finished_at
                                {
                                    load_detail(open);
                                }
                            }
                        }
                        if !same {
                            deliveries.try_set(Some(Ok(page.items)));
                        }
                    }
                    Some(Err(e)) => {
                        let shown = deliveries
                            .try_with_untracked(|x| matches!(x, Some(Ok(_))))
                            .unwrap_or(false);
                        if shown && !stale.try_get_untracked().unwrap_or(false) {
                            problems.push(e.describe());
                        } else {
                            deliveries.try_set(Some(Err(e)));
                        }
                    }
                }
                stale.try_set(false);
                refresh_error.try_set((!problems.is_empty()).then(|| problems.join(" ")));
                break;
            }
            in_flight.try_set_value(false);
        });
    };

    // A new subscription opened: start over.
    Effect::new(move |_| {
        id.track();
        sub.set(None);
        deliveries.set(None);
        expanded.set(None);
        detail.set(None);
        refresh_error.set(None);
        fetch(true);
    });

    // Every 5 s while the page is open; never two requests at once.
    let alive = Arc::new(AtomicBool::new(true));
    on_cleanup({
        let alive = alive.clone();
        move || alive.store(false, Ordering::Relaxed)
    });
    spawn_local(async move {
        loop {
            TimeoutFuture::new(REFRESH_MS).await;
            if !alive.load(Ordering::Relaxed) {
                break;
            }
            tick.try_update(|t| *t = t.wrapping_add(1));
            let gone = sub
                .try_with_untracked(
                    |s| matches!(s, Some(Err(e)) if e.status == 404 || e.status == 403),
                )
                .unwrap_or(true);
            if !gone {
                fetch(false);
            }
        }
    });

    let refilter = move || {
        stale.set(true);
        limit.set(PAGE);
        fetch(true);
    };
    let apply_type = move || {
        let t = type_typing.get_untracked().trim().to_owned();
        if t != type_filter.get_untracked() {
            type_filter.set(t);
            refilter();
        }
    };
    let clear_filters = move |_| {
        status_filter.set(String::new());
        type_filter.set(String::new());
        type_typing.set(String::new());
        refilter();
    };
    let show_more = move |_| {
        limit.update(|l| *l = (*l + PAGE).min(MAX_PAGE));
        stale.set(true);
        fetch(true);
    };

    let toggle_row = Callback::new(move |did: String| {
        if expanded.get_untracked().as_deref() == Some(did.as_str()) {
            expanded.set(None);
        } else {
            expanded.set(Some(did.clone()));
            let loaded = detail.with_untracked(|d| matches!(d, Some((x, _)) if *x == did));
            if !loaded {
                detail.set(None);
            }
            load_detail(did);
        }
    });

    let redeliver = Callback::new(move |d: DeliveryOut| {
        if redelivering.with_untracked(|r| r.contains(&d.id)) {
            return;
        }
        redelivering.update(|r| r.push(d.id.clone()));
        spawn_local(async move {
            let r =
                api::post::<DeliveryOut, _>(&format!("/deliveries/{}/redeliver", enc(&d.id)), &())
                    .await;
            redelivering.try_update(|r| r.retain(|x| *x != d.id));
            match r {
                Ok(out) => {
                    notify.ok(format!(
                        "{} queued again: same webhook-id, its attempts start over",
                        out.event_type
                    ));
                    deliveries.try_update(|list| {
                        if let Some(Ok(list)) = list {
                            if let Some(x) = list.iter_mut().find(|x| x.id == out.id) {
                                *x = DeliveryOut {
                                    body: None,
                                    attempt_log: Vec::new(),
                                    ..out.clone()
                                };
                            }
                        }
                    });
                    if expanded.try_get_untracked().flatten().as_deref() == Some(out.id.as_str()) {
                        load_detail(out.id.clone());
                    }
                    fetch(true);
                }
                Err(e) if e.status == 409 => {
                    notify.error(
                        "This delivery is still pending or being sent: it can be redelivered once it has finished.",
                    );
                    fetch(true);
                }
                Err(e) if e.status == 403 => notify.error("Only admins redeliver events."),
                Err(e) if e.status == 404 => {
                    notify.error(
                        "This delivery no longer exists (finished deliveries are kept 30 days).",
                    );
                    fetch(true);
                }
                Err(e) => notify.error(format!("Could not redeliver: {e}")),
            }
        });
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
            let body = SubscriptionPatch {
                enabled: Some(enable),
                ..SubscriptionPatch::default()
            };
            let r =
                api::patch::<SubscriptionOut, _>(&format!("/subscriptions/{}", enc(&s.id)), &body)
                    .await;
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
                Err(e) if e.status == 403 => {
                    notify.error("Only admins enable and disable subscriptions.")
                }
                Err(e) => notify.error(format!(
                    "Could not {} the subscription: {e}",
                    if enable { "enable" } else { "disable" }
                )),
            }
        });
    };

    let remove = move |_| {
        let Some(Ok(s)) = sub.get_untracked() else {
            return;
        };
        confirm(
            "Delete this subscription?",
            format!(
                "{} will get no more events. Its deliveries and their attempts are deleted too, \
                 including pending ones that were not sent yet. This cannot be undone.",
                s.url
            ),
            "Delete subscription",
            move || {
                let sid = s.id.clone();
                spawn_local(async move {
                    match api::delete(&format!("/subscriptions/{}", enc(&sid))).await {
                        Ok(()) => {
                            notify.ok("Subscription deleted");
                            go.try_run("/subscriptions".to_owned());
                        }
                        Err(e) if e.status == 404 => {
                            notify.error("This subscription was already deleted.");
                            go.try_run("/subscriptions".to_owned());
                        }
                        Err(e) if e.status == 403 => {
                            notify.error("Only admins delete subscriptions.")
                        }
                        Err(e) => notify.error(format!("Could not delete the subscription: {e}")),
                    }
                });
            },
        );
    };

    let state = Memo::new(move |_| {
        deliveries.with(|r| match r {
            None => ListState::Loading,
            Some(Err(e)) => ListState::Failed(if e.status == 403 {
                "Your role may not read deliveries.".to_owned()
            } else {
                format!("Could not load the deliveries: {}", e.describe())
            }),
            Some(Ok(v)) if v.is_empty() => ListState::Empty {
                filtered: !status_filter.get_untracked().is_empty()
                    || !type_filter.get_untracked().is_empty(),
            },
            Some(Ok(_)) => ListState::Rows,
        })
    });

    let ctx = RowCtx {
        session_admin: Signal::derive(move || session.is_admin()),
        expanded,
        detail,
        tick,
        redelivering,
        toggle: toggle_row,
        redeliver,
        reload_detail: Callback::new(load_detail),
    };

    let table = move || {
        match state.get() {
        ListState::Loading => view! { <Loading what="deliveries"/> }.into_any(),
        ListState::Failed(text) => view! {
            <div class="error-box load-error" role="alert">
                <span>{text}</span>
                <button class="btn btn-small" type="button" on:click=move |_| {
                    deliveries.set(None);
                    fetch(true);
                }>"Try again"</button>
            </div>
        }
        .into_any(),
        ListState::Empty { filtered: true } => view! {
            <Empty title="No delivery matches">
                "No delivery has this status and event type. "
                <button class="btn-link" type="button" on:click=clear_filters>"Clear the filters"</button>
            </Empty>
        }
        .into_any(),
        ListState::Empty { filtered: false } => view! {
            <Empty title="No deliveries yet">
                <p class="empty-lead">
                    "A delivery appears here for every event this subscription wants: when a flow's "
                    <strong>"Emit"</strong>" step publishes a matching type, or when you send a test event."
                </p>
                {move || session.can_edit().then(|| view! {
                    <div>
                        <button class="btn" type="button" on:click=move |_| sending.set(true)>"Send a test event"</button>
                    </div>
                })}
            </Empty>
        }
        .into_any(),
        ListState::Rows => view! {
            <div class="table-wrap deliveries-wrap" class:is-stale=move || stale.get()>
                <table class="table deliveries-table">
                    <thead>
                        <tr>
                            <th scope="col" class="col-toggle"><span class="sr-only">"Details"</span></th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Event"</th>
                            <th scope="col" class="num">"Attempts"</th>
                            <th scope="col">"Last response"</th>
                            <th scope="col">"Next attempt"</th>
                            <th scope="col">"Created"</th>
                            <th scope="col" class="actions"><span class="sr-only">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        <For
                            each=move || deliveries.with(|r| match r {
                                Some(Ok(list)) => list.clone(),
                                _ => Vec::new(),
                            })
                            key=row_key
                            children=move |d| delivery_row(d, ctx)
                        />
                    </tbody>
                </table>
            </div>
        }
        .into_any(),
    }
    };

    let shown_count = move || {
        deliveries.with(|r| match r {
            Some(Ok(list)) if !list.is_empty() => {
                let n = list.len();
                Some(if has_more.get() {
                    format!("Newest {n} shown")
                } else {
                    plural(n, "delivery", "deliveries")
                })
            }
            _ => None,
        })
    };

    let status_options = move || {
        let current = status_filter.get();
        std::iter::once(("", "All statuses"))
            .chain(STATUSES.iter().map(|s| (*s, *s)))
            .map(|(value, label)| {
                let selected = current == value;
                let label = if value.is_empty() {
                    label.to_owned()
                } else {
                    sentence(label).trim_end_matches('.').to_owned()
                };
                view! { <option value=value selected=selected>{label}</option> }
            })
            .collect_view()
    };
    let type_suggestions = move || {
        let mut types: Vec<String> = deliveries.with(|r| match r {
            Some(Ok(list)) => list.iter().map(|d| d.event_type.clone()).collect(),
            _ => Vec::new(),
        });
        sub.with(|s| {
            if let Some(Ok(s)) = s {
                types.extend(s.event_types.iter().filter(|p| !p.ends_with('*')).cloned());
            }
        });
        types.sort();
        types.dedup();
        types
            .into_iter()
            .map(|t| view! { <option value=t></option> })
            .collect_view()
    };
    let filtered = move || !status_filter.get().is_empty() || !type_filter.get().is_empty();

    let deliveries_section = move || {
        view! {
            <section class="sub-section" id="deliveries" aria-labelledby="deliveries-title">
                <div class="section-head">
                    <h2 id="deliveries-title">"Deliveries"</h2>
                    <span class="live-pill" title="Refreshed every 5 seconds while this page is open">
                        <span class="live-dot"></span>"Live"
                    </span>
                    {move || shown_count().map(|c| view! { <span class="muted small">{c}</span> })}
                    <div class="spacer"></div>
                    <Show when=move || session.is_admin()>
                        <button class="btn btn-small" type="button" id="redeliver-failed-open"
                            on:click=move |_| redeliver_open.set(true)>"Redeliver failed since…"</button>
                    </Show>
                </div>
                <form class="toolbar deliveries-toolbar" on:submit=move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    apply_type();
                }>
                    <div class="field">
                        <label for="delivery-status">"Status"</label>
                        <select id="delivery-status" on:change=move |ev| {
                            status_filter.set(event_target_value(&ev));
                            refilter();
                        }>{status_options}</select>
                    </div>
                    <div class="field grow">
                        <label for="delivery-event-type">"Event type"</label>
                        <input id="delivery-event-type" type="search" class="mono" list="delivery-type-suggestions"
                            placeholder="Exact type, e.g. customer.created" autocomplete="off" spellcheck="false"
                            prop:value=type_typing
                            on:input=move |ev| {
                                let v = event_target_value(&ev);
                                let cleared = v.is_empty();
                                type_typing.set(v);
                                if cleared {
                                    apply_type();
                                }
                            }
                            on:change=move |_| apply_type()/>
                        <datalist id="delivery-type-suggestions">{type_suggestions}</datalist>
                    </div>
                    <button class="btn" type="submit">"Filter"</button>
                    <Show when=filtered>
                        <button class="btn btn-ghost" type="button" id="clear-delivery-filters" on:click=clear_filters>"Clear"</button>
                    </Show>
                </form>
                {move || refresh_error.get().map(|e| view! {
                    <div class="warn-box refresh-warning" role="status">
                        "Could not refresh: "{e}" Trying again in a few seconds."
                    </div>
                })}
                {table}
                <Show when=move || has_more.get() && state.with(|s| *s == ListState::Rows)>
                    <div class="list-foot">
                        {move || if limit.get() < MAX_PAGE {
                            view! { <button class="btn" type="button" id="more-deliveries" on:click=show_more>"Show more"</button> }.into_any()
                        } else {
                            view! { <span class="muted small">"Showing the newest 500: filter by status or event type to find older ones."</span> }.into_any()
                        }}
                    </div>
                </Show>
            </section>
        }
    };

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

struct OverviewActions {
    edit: Callback<()>,
    rotate: Callback<()>,
    send: Callback<()>,
    toggle: Callback<()>,
    remove: Callback<()>,
}

/// The title, alerts, settings, signing and health of a subscription.
fn sub_overview(
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
    if sensitive_header(&name) || value == "[redacted]" {
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

// ---------------------------------------------------------------------------------------------
// Deliveries.

/// Shared by every row of the deliveries table.
#[derive(Clone, Copy)]
struct RowCtx {
    session_admin: Signal<bool>,
    expanded: RwSignal<Option<String>>,
    detail: RwSignal<Option<(String, Result<DeliveryOut, ApiError>)>>,
    tick: RwSignal<u32>,
    redelivering: RwSignal<Vec<String>>,
    toggle: Callback<String>,
    redeliver: Callback<DeliveryOut>,
    reload_detail: Callback<String>,
}

type RowKey = (
    String,
    String,
    i32,
    Option<u16>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A row is drawn again only when what it shows changed.
fn row_key(d: &DeliveryOut) -> RowKey {
    (
        d.id.clone(),
        d.status.clone(),
        d.attempts,
        d.last_status,
        d.next_attempt_at.clone(),
        d.finished_at.clone(),
        d.last_error.clone(),
    )
}

fn delivery_row(d: DeliveryOut, ctx: RowCtx) -> impl IntoView {
    let did = d.id.clone();
    let open = {
        let did = did.clone();
        Memo::new(move |_| ctx.expanded.with(|e| e.as_deref() == Some(did.as_str())))
    };
    let panel_id = format!("delivery-{}", d.id);
    let toggle = {
        let did = did.clone();
        move || ctx.toggle.run(did.clone())
    };
    let toggle2 = toggle.clone();
    let finished = matches!(d.status.as_str(), "succeeded" | "failed");

    let last_response = match (d.last_status, &d.last_error) {
        (Some(code), err) => view! {
            <span class=code_class(code)>{code}</span>
            {err.clone().map(|e| view! { <span class="cell-sub muted small" title=e.clone()>{e.clone()}</span> })}
        }
        .into_any(),
        (None, Some(e)) => view! { <span class="cell-sub error-text small" title=e.clone()>{e.clone()}</span> }
            .into_any(),
        (None, None) => view! { <span class="muted">"—"</span> }.into_any(),
    };
    let next = match (d.status.as_str(), &d.next_attempt_at) {
        ("pending", Some(t)) => {
            let t2 = t.clone();
            view! {
                <span title=format!("{} UTC", short_time(t))>{move || { ctx.tick.track(); until(&t2) }}</span>
            }
            .into_any()
        }
        ("delivering", _) => view! { <span class="info-text">"Sending now"</span> }.into_any(),
        ("failed", _) => view! { <span class="muted">"Gave up"</span> }.into_any(),
        _ => view! { <span class="muted">"—"</span> }.into_any(),
    };
    let created = {
        let t = d.created_at.clone();
        view! { <span title=format!("{} UTC", short_time(&d.created_at))>{move || { ctx.tick.track(); ago(&t) }}</span> }
    };
    let action = {
        let d2 = d.clone();
        let did = did.clone();
        move || {
            ctx.session_admin.get().then(|| {
                let d3 = d2.clone();
                let did = did.clone();
                let busy = Memo::new(move |_| ctx.redelivering.with(|r| r.contains(&did)));
                let title = if finished {
                    "Send it again now, with the same webhook-id"
                } else {
                    "Still queued: it can be redelivered once it has finished"
                };
                view! {
                    <button class="btn btn-small redeliver" type="button" title=title
                        disabled=move || !finished || busy.get()
                        on:click=move |_| ctx.redeliver.run(d3.clone())>
                        {move || if busy.get() { "Queuing…" } else { "Redeliver" }}
                    </button>
                }
            })
        }
    };
    let attempts_class = if 3 < d.attempts {
        "num attempts-many"
    } else {
        "num"
    };
    let row_class = move || {
        if open.get() {
            "delivery-row clickable is-open"
        } else {
            "delivery-row clickable"
        }
    };
    let detail_open = move || open.get();
    let panel_for_row = panel_id.clone();
    let did_for_panel = did.clone();
    let aria = format!("Attempts and payload of {} ({})", d.event_type, d.status);
    let status_title = status_help(&d.status);
    let event_id = d.event_id.clone();

    view! {
        <tr class=row_class data-status=d.status.clone() data-event-type=d.event_type.clone() data-delivery-id=d.id.clone()
            on:click=move |ev| {
                if !on_control(&ev) {
                    toggle();
                }
            }>
            <td class="col-toggle">
                <button class="icon-btn expand" type="button" aria-label=aria aria-controls=panel_for_row
                    aria-expanded=move || open.get().to_string()
                    on:click=move |_| toggle2()>
                    <span class="chevron" aria-hidden="true">"›"</span>
                </button>
            </td>
            <td title=status_title><span class=format!("badge badge-{}", d.status)>{d.status.clone()}</span></td>
            <td class="col-event">
                <span class="mono strong event-type">{d.event_type.clone()}</span>
                <span class="cell-sub mono muted small" title="webhook-id: the same on every attempt and redelivery">{event_id}</span>
            </td>
            <td class=attempts_class>{d.attempts}</td>
            <td class="col-response">{last_response}</td>
            <td class="nowrap">{next}</td>
            <td class="nowrap">{created}</td>
            <td class="actions">{action}</td>
        </tr>
        <Show when=detail_open>
            <tr class="delivery-detail" id=panel_id.clone()>
                <td colspan="8">{delivery_panel(did_for_panel.clone(), ctx)}</td>
            </tr>
        </Show>
    }
}

/// The attempts and body of the open delivery.
fn delivery_panel(did: String, ctx: RowCtx) -> impl IntoView {
    move || {
        ctx.detail.with(|d| match d {
            Some((x, Ok(d))) if *x == did => delivery_detail(d.clone(), ctx).into_any(),
            Some((x, Err(e))) if *x == did => {
                let text = if e.status == 404 {
                    "This delivery no longer exists (finished deliveries are kept 30 days).".to_owned()
                } else {
                    format!("Could not load the attempts: {}", e.describe())
                };
                let again = did.clone();
                view! {
                    <div class="error-box load-error" role="alert">
                        <span>{text}</span>
                        <button class="btn btn-small" type="button" on:click=move |_| ctx.reload_detail.run(again.clone())>"Try again"</button>
                    </div>
                }
                .into_any()
            }
            _ => view! { <Loading what="the attempts"/> }.into_any(),
        })
    }
}

fn delivery_detail(d: DeliveryOut, ctx: RowCtx) -> impl IntoView {
    let body_text = d
        .body
        .as_ref()
        .and_then(|b| serde_json::to_string_pretty(b).ok())
        .unwrap_or_default();
    let body = match d.body.clone() {
        Some(b) => view! {
            <div class="payload-head">
                <h3>"Payload sent"</h3>
                <CopyButton text=body_text label="Copy JSON"/>
            </div>
            <JsonBlock value=b/>
        }
        .into_any(),
        None => {
            view! { <h3>"Payload sent"</h3><p class="muted small">"Not available."</p> }.into_any()
        }
    };
    let attempts = if d.attempt_log.is_empty() {
        let text = match &d.next_attempt_at {
            Some(t) => format!("No attempt yet: the first one is due {}.", until(t)),
            None => "No attempt yet.".to_owned(),
        };
        view! { <p class="muted small">{text}</p> }.into_any()
    } else {
        view! {
            <ol class="attempts" reversed>
                {d.attempt_log.iter().rev().cloned().map(attempt_item).collect_view()}
            </ol>
        }
        .into_any()
    };
    let execution = d.execution_id.clone().map(|x| {
        let href = format!("/executions/{}", enc(&x));
        view! { <dt>"Emitted by"</dt><dd><a href=href class="mono">"execution "{x.clone()}</a></dd> }
    });
    let finished = d.finished_at.clone().map(|t| {
        view! { <dt>"Finished"</dt><dd>{when(&t)}</dd> }
    });
    let next = d.next_attempt_at.clone().map(|t| {
        let t2 = t.clone();
        view! { <dt>"Next attempt"</dt><dd>{when(&t)}" "<span class="muted">"("{move || { ctx.tick.track(); until(&t2) }}")"</span></dd> }
    });
    let event_id = d.event_id.clone();
    view! {
        <div class="delivery-panel">
            <dl class="kv delivery-facts">
                <dt>"webhook-id"</dt>
                <dd><span class="id-line"><code>{event_id.clone()}</code><CopyButton text=event_id label="Copy"/></span></dd>
                <dt>"Created"</dt>
                <dd>{when(&d.created_at)}</dd>
                {finished}
                {next}
                {execution}
            </dl>
            <div class="delivery-grid">
                <section class="delivery-attempts">
                    <h3>"Attempts "<span class="muted small">"(newest first)"</span></h3>
                    {attempts}
                </section>
                <section class="delivery-body">{body}</section>
            </div>
        </div>
    }
}

fn attempt_item(a: AttemptOut) -> impl IntoView {
    let ok = a.error.is_none() && a.response_status.is_some_and(|c| (200..300).contains(&c));
    let status = match a.response_status {
        Some(code) => view! { <span class=code_class(code)>{code}</span> }.into_any(),
        None => view! { <span class="code-pill code-bad">"No response"</span> }.into_any(),
    };
    let headers = a
        .request_headers
        .iter()
        .map(|(k, v)| view! { <dt>{k.clone()}</dt><dd><code>{v.clone()}</code></dd> })
        .collect_view();
    view! {
        <li class=if ok { "attempt attempt-ok" } else { "attempt attempt-bad" } data-attempt=a.attempt.to_string()>
            <div class="attempt-head">
                <span class="attempt-no">"#"{a.attempt}</span>
                {status}
                <span class="muted small nowrap" title="UTC">{short_time(&a.started_at)}</span>
                <span class="muted small nowrap">{duration(a.duration_ms)}</span>
            </div>
            {a.error.clone().map(|e| view! { <div class="attempt-error">{e}</div> })}
            {a.response_excerpt.clone().filter(|x| !x.is_empty()).map(|x| view! {
                <div class="attempt-excerpt">
                    <span class="muted small">"Response (first 2 KiB)"</span>
                    <pre class="excerpt">{x}</pre>
                </div>
            })}
            <details class="attempt-request">
                <summary>"Request headers"</summary>
                <div class="muted small mono attempt-url">"POST "{a.url.clone()}</div>
                <dl class="kv headers-kv">{headers}</dl>
            </details>
        </li>
    }
}

// ---------------------------------------------------------------------------------------------
// Secret rotation and bulk redelivery.

#[component]
fn RotateSecretModal(
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
                    <div class="modal-actions">
                        <button class="btn btn-primary" type="button" id="sub-done" on:click=move |_| on_close.run(())>
                            "I have copied it"
                        </button>
                    </div>
                </Modal>
            }
            .into_any()
        }
    }
    }
}

#[component]
fn RedeliverSinceModal(
    sub_id: String,
    on_done: Callback<u64>,
    on_close: Callback<()>,
) -> impl IntoView {
    let notify = Notify::new();
    let since = RwSignal::new(input_hours_ago(24.0));
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let sub_id = StoredValue::new(sub_id);
    let input_ref = NodeRef::<leptos::html::Input>::new();
    input_ref.on_load(|el| {
        let _ = el.focus();
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let Some(at) = input_to_rfc3339(&since.get_untracked()) else {
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
            since.set(input_hours_ago(hours));
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
                <div class="modal-actions">
                    <button class="btn" type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                    <button class="btn btn-primary" type="submit" id="redeliver-failed" disabled=move || busy.get()>
                        {move || if busy.get() { "Queuing…" } else { "Redeliver failed" }}
                    </button>
                </div>
            </form>
        </Modal>
    }
}
