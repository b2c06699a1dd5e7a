//! The deliveries of a subscription: filters (status, event type), the live table with one
//! expandable row per delivery, redelivery, and "Show more".

use flowgate_api::subscriptions::{DeliveryOut, DELIVERY_STATUSES};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::delivery::{delivery_row, row_key, RowCtx};
use super::live::{Live, MAX_PAGE, PAGE};
use crate::api::{self, enc};
use crate::components::{Empty, LoadError, Loading, Notify};
use crate::format::{plural, sentence};
use crate::session::Session;

/// What the deliveries table shows.
#[derive(Clone, PartialEq)]
enum ListState {
    Loading,
    Failed(String),
    Empty { filtered: bool },
    Rows,
}

/// The section, as a view function for `<Show>`; its state and callbacks are made once, by
/// the page.
pub fn deliveries_section(
    live: Live,
    session: Session,
    tick: RwSignal<u32>,
    sending: RwSignal<bool>,
    redeliver_open: RwSignal<bool>,
) -> impl Fn() -> AnyView + Copy + Send + Sync + 'static {
    let fetch = move |force: bool| live.fetch(force);
    let type_typing = RwSignal::new(String::new());

    let refilter = move || {
        live.stale.set(true);
        live.limit.set(PAGE);
        fetch(true);
    };
    let apply_type = move || {
        let t = type_typing.get_untracked().trim().to_owned();
        if t != live.type_filter.get_untracked() {
            live.type_filter.set(t);
            refilter();
        }
    };
    let clear_filters = move || {
        live.status_filter.set(String::new());
        live.type_filter.set(String::new());
        type_typing.set(String::new());
        refilter();
    };
    let show_more = move |_| {
        live.limit.update(|l| *l = (*l + PAGE).min(MAX_PAGE));
        live.stale.set(true);
        fetch(true);
    };

    let state = Memo::new(move |_| {
        live.deliveries.with(|r| match r {
            None => ListState::Loading,
            Some(Err(e)) => ListState::Failed(if e.status == 403 {
                "Your role may not read deliveries.".to_owned()
            } else {
                format!("Could not load the deliveries: {}", e.describe())
            }),
            Some(Ok(v)) if v.is_empty() => ListState::Empty {
                filtered: !live.status_filter.get_untracked().is_empty()
                    || !live.type_filter.get_untracked().is_empty(),
            },
            Some(Ok(_)) => ListState::Rows,
        })
    });

    let ctx = row_ctx(live, session, tick);
    let shown_count = move || {
        live.deliveries.with(|r| match r {
            Some(Ok(list)) if !list.is_empty() => {
                let n = list.len();
                Some(if live.has_more.get() {
                    format!("Newest {n} shown")
                } else {
                    plural(n, "delivery", "deliveries")
                })
            }
            _ => None,
        })
    };

    move || {
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
                {filter_bar(live, type_typing, refilter, apply_type, clear_filters)}
                {move || live.refresh_error.get().map(|e| view! {
                    <div class="warn-box refresh-warning" role="status">
                        "Could not refresh: "{e}" Trying again in a few seconds."
                    </div>
                })}
                {move || deliveries_table(state.get(), live, ctx, session, sending, clear_filters)}
                <Show when=move || live.has_more.get() && state.with(|s| *s == ListState::Rows)>
                    <div class="list-foot">
                        {move || if live.limit.get() < MAX_PAGE {
                            view! { <button class="btn" type="button" id="more-deliveries" on:click=show_more>"Show more"</button> }.into_any()
                        } else {
                            view! { <span class="muted small">"Showing the newest 500: filter by status or event type to find older ones."</span> }.into_any()
                        }}
                    </div>
                </Show>
            </section>
        }
        .into_any()
    }
}

/// What every row shares: which one is open, and the actions on a delivery.
fn row_ctx(live: Live, session: Session, tick: RwSignal<u32>) -> RowCtx {
    let notify = Notify::new();
    let fetch = move |force: bool| live.fetch(force);
    let load_detail = move |did: String| live.load_detail(did);
    let redelivering = RwSignal::new(Vec::<String>::new());

    let toggle_row = Callback::new(move |did: String| {
        if live.expanded.get_untracked().as_deref() == Some(did.as_str()) {
            live.expanded.set(None);
        } else {
            live.expanded.set(Some(did.clone()));
            let loaded = live
                .detail
                .with_untracked(|d| matches!(d, Some((x, _)) if *x == did));
            if !loaded {
                live.detail.set(None);
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
                    live.deliveries.try_update(|list| {
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
                    if live.expanded.try_get_untracked().flatten().as_deref()
                        == Some(out.id.as_str())
                    {
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

    RowCtx {
        session_admin: Signal::derive(move || session.is_admin()),
        expanded: live.expanded,
        detail: live.detail,
        tick,
        redelivering,
        toggle: toggle_row,
        redeliver,
        reload_detail: Callback::new(load_detail),
    }
}

/// Status and event type; the type applies when it is submitted, changed, or cleared.
fn filter_bar(
    live: Live,
    type_typing: RwSignal<String>,
    refilter: impl Fn() + Copy + Send + Sync + 'static,
    apply_type: impl Fn() + Copy + Send + Sync + 'static,
    clear_filters: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let status_options = move || {
        let current = live.status_filter.get();
        std::iter::once(("", "All statuses"))
            .chain(DELIVERY_STATUSES.iter().map(|s| (*s, *s)))
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
        let mut types: Vec<String> = live.deliveries.with(|r| match r {
            Some(Ok(list)) => list.iter().map(|d| d.event_type.clone()).collect(),
            _ => Vec::new(),
        });
        live.sub.with(|s| {
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
    let filtered =
        move || !live.status_filter.get().is_empty() || !live.type_filter.get().is_empty();
    view! {
        <form class="toolbar deliveries-toolbar" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            apply_type();
        }>
            <div class="field">
                <label for="delivery-status">"Status"</label>
                <select id="delivery-status" on:change=move |ev| {
                    live.status_filter.set(event_target_value(&ev));
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
                <button class="btn btn-ghost" type="button" id="clear-delivery-filters" on:click=move |_| clear_filters()>"Clear"</button>
            </Show>
        </form>
    }
}

/// What the table shows: loading, the error, an empty state or the rows.
fn deliveries_table(
    state: ListState,
    live: Live,
    ctx: RowCtx,
    session: Session,
    sending: RwSignal<bool>,
    clear_filters: impl Fn() + Copy + Send + Sync + 'static,
) -> AnyView {
    match state {
        ListState::Loading => view! { <Loading what="deliveries"/> }.into_any(),
        ListState::Failed(text) => view! {
            <LoadError text=text on_retry=move |()| {
                live.deliveries.set(None);
                live.fetch(true);
            }/>
        }
        .into_any(),
        ListState::Empty { filtered: true } => view! {
            <Empty title="No delivery matches">
                "No delivery has this status and event type. "
                <button class="btn-link" type="button" on:click=move |_| clear_filters()>"Clear the filters"</button>
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
            <div class="table-wrap deliveries-wrap" class:is-stale=move || live.stale.get()>
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
                            each=move || live.deliveries.with(|r| match r {
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
}
