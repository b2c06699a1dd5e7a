//! The live list of executions: filters in the URL, the first page again whenever they
//! change, the rows on screen again every 3 s, and more pages on demand.

use std::collections::HashSet;

use flowgate_api::{ExecutionOut, IntegrationOut, Page};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

use super::callers::load_callers;
use super::filters::{remember_list_query, Filters};
use super::rows::{execution_table, Integrations, RowCtx};
use super::text::example_curl;
use super::toolbar::filter_bar;
use crate::api::{self, enc, ApiError};
use crate::components::{
    origin, use_go, use_poll, CopyButton, Empty, LoadError, Loading, Notify, PageHead,
};
use crate::format::now_us;

/// Rows per page (the server's default).
const PAGE: usize = 50;
/// The most rows one request may ask for.
const MAX_LIMIT: usize = 500;
const LIST_EVERY_MS: u32 = 3_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fetch {
    /// The filters changed (or a retry): the first page.
    Reset,
    /// The live timer: the rows on screen again.
    Refresh,
    /// The next page.
    More,
}

#[derive(Clone, Debug, PartialEq)]
enum ListState {
    Problem(String),
    Loading,
    Failed(String),
    Empty,
    Rows,
}

/// The rows and how they load; every field is a signal or a handle, so it is `Copy`.
#[derive(Clone, Copy)]
struct Rows {
    filters: Memo<Filters>,
    items: RwSignal<Option<Result<Vec<ExecutionOut>, ApiError>>>,
    cursor: RwSignal<Option<String>>,
    stale: RwSignal<bool>,
    loading_more: RwSignal<bool>,
    refresh_error: RwSignal<Option<String>>,
    arrived: RwSignal<HashSet<String>>,
    // The newest request wins; the live timer waits while any is under way.
    seq: StoredValue<u64>,
    in_flight: StoredValue<u32>,
    notify: Notify,
}

impl Rows {
    fn new(filters: Memo<Filters>) -> Self {
        Rows {
            filters,
            items: RwSignal::new(None),
            cursor: RwSignal::new(None),
            stale: RwSignal::new(false),
            loading_more: RwSignal::new(false),
            refresh_error: RwSignal::new(None),
            arrived: RwSignal::new(HashSet::new()),
            seq: StoredValue::new(0),
            in_flight: StoredValue::new(0),
            notify: Notify::new(),
        }
    }

    /// No request is under way.
    fn idle(self) -> bool {
        self.in_flight.try_get_value() == Some(0)
    }

    fn run(self, kind: Fetch) {
        let Rows {
            filters,
            items,
            cursor,
            stale,
            loading_more,
            refresh_error,
            arrived,
            seq,
            in_flight,
            notify,
        } = self;
        let Some(f) = filters.try_get_untracked() else {
            return;
        };
        let shown = items
            .try_with_untracked(|r| match r {
                Some(Ok(v)) => v.len(),
                _ => 0,
            })
            .unwrap_or(0);
        let (limit, after) = match kind {
            Fetch::Reset => (PAGE, None),
            Fetch::Refresh => (shown.clamp(PAGE, MAX_LIMIT), None),
            Fetch::More => match cursor.try_get_untracked().flatten() {
                Some(c) => (PAGE, Some(c)),
                None => return,
            },
        };
        // An invalid window is shown by the view; nothing is asked.
        let Ok(path) = f.api_path(now_us(), limit, after.as_deref()) else {
            return;
        };
        let Some(me) = seq.try_update_value(|s| {
            *s += 1;
            *s
        }) else {
            return;
        };
        in_flight.try_update_value(|n| *n += 1);
        match kind {
            Fetch::Reset => {
                loading_more.try_set(false);
                if items.try_with_untracked(|r| matches!(r, Some(Ok(_)))) == Some(true) {
                    stale.try_set(true);
                } else {
                    items.try_set(None);
                }
            }
            Fetch::More => {
                loading_more.try_set(true);
            }
            Fetch::Refresh => {}
        }
        spawn_local(async move {
            let r = api::get::<Page<ExecutionOut>>(&path).await;
            in_flight.try_update_value(|n| *n = n.saturating_sub(1));
            if seq.try_get_value() != Some(me) {
                return; // the filters changed meanwhile
            }
            match (kind, r) {
                (Fetch::Reset, Ok(page)) => {
                    arrived.try_set(HashSet::new());
                    cursor.try_set(page.next_cursor);
                    items.try_set(Some(Ok(page.items)));
                    refresh_error.try_set(None);
                }
                (Fetch::Reset, Err(e)) => {
                    cursor.try_set(None);
                    items.try_set(Some(Err(e)));
                }
                (Fetch::More, Ok(page)) => {
                    items.try_update(|r| {
                        if let Some(Ok(list)) = r {
                            let have: HashSet<String> = list.iter().map(|e| e.id.clone()).collect();
                            list.extend(page.items.into_iter().filter(|e| !have.contains(&e.id)));
                        }
                    });
                    cursor.try_set(page.next_cursor);
                }
                (Fetch::More, Err(e)) => {
                    notify.error(format!("Could not load more executions: {e}"))
                }
                (Fetch::Refresh, Ok(page)) => {
                    refresh_error.try_set(None);
                    let old = items
                        .try_with_untracked(|r| match r {
                            Some(Ok(v)) => Some(v.clone()),
                            _ => None,
                        })
                        .flatten();
                    match old {
                        Some(old) => {
                            let old_cursor = cursor.try_get_untracked().flatten();
                            let (list, next, new_ids) =
                                merge_refresh(&old, old_cursor, page, limit);
                            if !new_ids.is_empty() {
                                arrived.try_set(new_ids);
                            }
                            if cursor.try_get_untracked().flatten() != next {
                                cursor.try_set(next);
                            }
                            if list != old {
                                items.try_set(Some(Ok(list)));
                            }
                        }
                        None => {
                            cursor.try_set(page.next_cursor);
                            items.try_set(Some(Ok(page.items)));
                        }
                    }
                }
                (Fetch::Refresh, Err(e)) => {
                    if items.try_with_untracked(|r| matches!(r, Some(Ok(_)))) == Some(true) {
                        refresh_error.try_set(Some(e.describe()));
                    } else {
                        items.try_set(Some(Err(e)));
                    }
                }
            }
            stale.try_set(false);
            loading_more.try_set(false);
        });
    }
}

/// A live refresh of the first rows: the fresh page replaces them (statuses change, rows that
/// left the filter go); rows loaded further down than one request can reach are kept.
/// Returns the list, its cursor and the ids that were not there before.
fn merge_refresh(
    old: &[ExecutionOut],
    old_cursor: Option<String>,
    page: Page<ExecutionOut>,
    limit: usize,
) -> (Vec<ExecutionOut>, Option<String>, HashSet<String>) {
    let known: HashSet<&str> = old.iter().map(|e| e.id.as_str()).collect();
    let arrived: HashSet<String> = if old.is_empty() {
        HashSet::new()
    } else {
        page.items
            .iter()
            .filter(|e| !known.contains(e.id.as_str()))
            .map(|e| e.id.clone())
            .collect()
    };
    let mut list = page.items;
    let cursor = match (list.last().map(|e| e.id.clone()), page.next_cursor) {
        (Some(last), Some(_)) if old.len() > limit => {
            list.extend(old.iter().filter(|e| e.id < last).cloned());
            old_cursor
        }
        (_, next) => next,
    };
    (list, cursor, arrived)
}

#[component]
pub fn ExecutionsPage() -> impl IntoView {
    let query = use_query_map();
    let filters = Memo::new(move |_| query.with(|q| Filters::from_lookup(|k| q.get(k))));
    let go = use_go();
    let set_filters = Callback::new({
        let navigate = use_navigate();
        move |f: Filters| {
            let opts = NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            };
            navigate(&format!("/executions{}", f.to_query()), opts)
        }
    });

    let integrations: Integrations = RwSignal::new(None);
    let callers = load_callers();
    let rows = Rows::new(filters);
    // The label the filtered caller's calls recorded (for a caller no longer listed).
    let seen_caller = Signal::derive(move || {
        let wanted = filters.with(|f| f.caller.clone());
        if wanted.is_empty() {
            return None;
        }
        rows.items.with(|r| match r {
            Some(Ok(list)) => list
                .iter()
                .filter_map(|e| e.caller.as_ref())
                .find(|c| c.reference() == wanted)
                .map(|c| c.label.clone()),
            _ => None,
        })
    });
    let live = RwSignal::new(true);

    let problem = Memo::new(move |_| filters.with(|f| f.window(now_us()).err()));

    // The first page, again whenever the filters (the URL) change.
    Effect::new(move |_| {
        let f = filters.get();
        remember_list_query(f.to_query());
        rows.run(Fetch::Reset);
    });

    spawn_local(async move {
        let r = api::get::<Page<IntegrationOut>>("/integrations")
            .await
            .map(|p| {
                let mut list = p.items;
                list.sort_by_key(|i| i.name.to_lowercase());
                list
            });
        integrations.try_set(Some(r));
    });

    // The live timer; it ends with the page.
    let tick = use_poll(LIST_EVERY_MS, move || {
        if rows.idle()
            && live.try_get_untracked() == Some(true)
            && problem.try_get_untracked().flatten().is_none()
        {
            rows.run(Fetch::Refresh);
        }
    });

    let state = Memo::new(move |_| {
        if let Some(p) = problem.get() {
            return ListState::Problem(p);
        }
        rows.items.with(|r| match r {
            None => ListState::Loading,
            Some(Err(e)) => ListState::Failed(e.describe()),
            Some(Ok(v)) if v.is_empty() => ListState::Empty,
            Some(Ok(_)) => ListState::Rows,
        })
    });

    let ctx = RowCtx {
        go,
        tick,
        integrations,
        arrived: rows.arrived,
    };

    view! {
        <div class="page executions-page">
            <PageHead title="Executions" sub=|| "Every call to a trigger, newest first.">
                {head_controls(go, live, rows)}
            </PageHead>

            {filter_bar(filters, set_filters, integrations, callers, seen_caller)}

            {move || rows.refresh_error.get().map(|e| view! {
                <div class="warn-box live-warning" role="status">
                    {format!("Live update failed: {e}. Still trying every 3 s; the rows below may be out of date.")}
                </div>
            })}

            {move || list_body(state.get(), rows, live, set_filters, integrations, ctx)}
        </div>
    }
}

/// "Open by execution id", and the live / paused switch.
fn head_controls(go: Callback<String>, live: RwSignal<bool>, rows: Rows) -> impl IntoView {
    let goto = RwSignal::new(String::new());
    view! {
        <form class="goto-form" role="search" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let id = goto.get_untracked().trim().trim_matches('"').to_owned();
            if !id.is_empty() {
                go.run(format!("/executions/{}", enc(&id)));
            }
        }>
            <input type="search" id="goto-execution" class="mono" placeholder="Open by execution id"
                aria-label="Open an execution by its id" autocomplete="off" spellcheck="false"
                prop:value=goto on:input=move |ev| goto.set(event_target_value(&ev))/>
        </form>
        <button type="button" id="live-toggle"
            class=move || if live.get() { "btn live-toggle is-live" } else { "btn live-toggle" }
            aria-pressed=move || live.get().to_string()
            title=move || if live.get() { "New calls appear every 3 s. Click to pause." } else { "Paused. Click to show new calls as they arrive." }
            on:click=move |_| {
                let on = !live.get_untracked();
                live.set(on);
                if on && rows.in_flight.get_value() == 0 {
                    rows.run(Fetch::Refresh);
                }
            }>
            <span class="live-dot" aria-hidden="true"></span>
            {move || if live.get() { "Live" } else { "Paused" }}
        </button>
    }
}

/// What is under the filters: a problem with them, loading, the error, an empty state or
/// the table.
fn list_body(
    state: ListState,
    rows: Rows,
    live: RwSignal<bool>,
    set_filters: Callback<Filters>,
    integrations: Integrations,
    ctx: RowCtx,
) -> AnyView {
    let filters = rows.filters;
    match state {
        ListState::Problem(p) => view! { <div class="warn-box" role="alert" id="filter-problem">{p}</div> }.into_any(),
        ListState::Loading => view! { <Loading what="executions"/> }.into_any(),
        ListState::Failed(e) => view! {
            <LoadError class="error-box list-error" text=format!("Could not load executions: {e}")
                on_retry=move |()| rows.run(Fetch::Reset)/>
        }.into_any(),
        ListState::Empty if filters.with_untracked(Filters::is_filtered) => view! {
            <Empty title="No executions match these filters">
                <p>{move || if live.get() { "Matching calls appear here as they arrive." } else { "Live updates are paused." }}</p>
                <button type="button" class="btn" on:click=move |_| set_filters.run(Filters::default())>"Clear filters"</button>
            </Empty>
        }.into_any(),
        ListState::Empty => {
            let empty_example = move || {
                let chosen = filters.with(|f| f.integration.clone());
                integrations.with(|r| {
                    let list = r.as_ref().and_then(|r| r.as_ref().ok());
                    let pick = list.and_then(|l| {
                        l.iter()
                            .find(|i| i.slug == chosen)
                            .or_else(|| l.iter().find(|i| i.status == "published" && i.enabled))
                    });
                    example_curl(&origin(), pick)
                })
            };
            view! {
                <Empty title="No calls yet">
                    <p>"Each call to an integration's trigger appears here within a moment — successful or not — with its request, every step, its logs and its answer. Try one:"</p>
                    <div class="curl-example">
                        <pre class="mono">{empty_example}</pre>
                        <CopyButton text=Signal::derive(empty_example) label="Copy"/>
                    </div>
                </Empty>
            }.into_any()
        }
        ListState::Rows => execution_table(
            rows.items,
            rows.cursor,
            rows.stale,
            rows.loading_more,
            Callback::new(move |()| rows.run(Fetch::More)),
            ctx,
        )
        .into_any(),
    }
}

#[cfg(test)]
mod tests {
    use flowgate_api::ExecutionStatus;

    use super::*;

    fn exec(id: &str, status: ExecutionStatus) -> ExecutionOut {
        ExecutionOut {
            id: id.into(),
            integration: "a".into(),
            version: 1,
            status,
            mode: "sync".into(),
            sequence: None,
            received_at: "2026-11-23T12:00:00.000000Z".into(),
            started_at: None,
            finished_at: None,
            attempts: 1,
            next_attempt_at: None,
            replay_of: None,
            lane_key: None,
            idempotency_key: None,
            caller: None,
            request: None,
            response: None,
            steps: Vec::new(),
            logs: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn refresh_keeps_far_rows_and_marks_new_ones() {
        let old = vec![
            exec("3", ExecutionStatus::Running),
            exec("2", ExecutionStatus::Succeeded),
        ];
        let page = Page {
            items: vec![
                exec("4", ExecutionStatus::Queued),
                exec("3", ExecutionStatus::Succeeded),
            ],
            next_cursor: Some("3".into()),
        };
        let (list, cursor, new) = merge_refresh(&old, None, page, 50);
        assert_eq!(
            list.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["4", "3"]
        );
        assert_eq!(list[1].status, ExecutionStatus::Succeeded);
        assert_eq!(cursor.as_deref(), Some("3"));
        assert!(new.contains("4") && new.len() == 1);

        let page = Page {
            items: vec![exec("4", ExecutionStatus::Queued)],
            next_cursor: Some("4".into()),
        };
        let (list, cursor, _) = merge_refresh(&old, Some("1".into()), page, 1);
        assert_eq!(
            list.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["4", "3", "2"]
        );
        assert_eq!(cursor.as_deref(), Some("1"));
    }
}
