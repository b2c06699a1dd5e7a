//! The executions table: one row per call, drawn again only when what it shows changes.

use std::collections::HashSet;

use flowgate_api::{ExecutionOut, ExecutionStatus, IntegrationOut};
use leptos::prelude::*;

use super::callers::caller_cell;
use super::text::{run_us, short_id};
use crate::api::ApiError;
use crate::components::{clicked_within, open_in_new_tab, Badge};
use crate::format::{ago, fmt_duration_us, full_time, plural};

/// The integrations, for their names (the list shows slugs until they are loaded).
pub type Integrations = RwSignal<Option<Result<Vec<IntegrationOut>, ApiError>>>;

pub fn integration_name(integrations: Integrations, slug: &str) -> Option<String> {
    integrations.with(|r| {
        r.as_ref()
            .and_then(|r| r.as_ref().ok())
            .and_then(|list| list.iter().find(|i| i.slug == slug))
            .map(|i| i.name.clone())
    })
}

/// The table and, below it, how many rows are shown and "Load more".
pub fn execution_table(
    items: RwSignal<Option<Result<Vec<ExecutionOut>, ApiError>>>,
    cursor: RwSignal<Option<String>>,
    stale: RwSignal<bool>,
    loading_more: RwSignal<bool>,
    load_more: Callback<()>,
    ctx: RowCtx,
) -> impl IntoView {
    view! {
        <div class="table-wrap exec-table-wrap" class:is-stale=move || stale.get() aria-busy=move || stale.get().to_string()>
            <table class="table exec-table" id="executions">
                <thead><tr>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Integration"</th>
                    <th scope="col">"Caller"</th>
                    <th scope="col">"Received"</th>
                    <th scope="col" class="num">"Duration"</th>
                    <th scope="col">"Mode"</th>
                    <th scope="col" class="num">"Attempts"</th>
                    <th scope="col">"ID"</th>
                </tr></thead>
                <tbody>
                    <For
                        each=move || items.with(|r| match r { Some(Ok(v)) => v.clone(), _ => Vec::new() })
                        key=row_key
                        children=move |e: ExecutionOut| execution_row(e, ctx)
                    />
                </tbody>
            </table>
        </div>
        <div class="list-foot">
            <span class="muted small" id="shown-count">{move || {
                let n = items.with(|r| r.as_ref().and_then(|r| r.as_ref().ok()).map_or(0, Vec::len));
                let more = cursor.with(Option::is_some);
                match (n, more) {
                    (n, false) => plural(n, "execution", "executions"),
                    (n, true) => format!("{n} newest shown"),
                }
            }}</span>
            <Show when=move || cursor.with(Option::is_some)>
                <button type="button" class="btn" id="load-more"
                    disabled=move || loading_more.get() || stale.get()
                    on:click=move |_| load_more.run(())>
                    {move || if loading_more.get() { "Loading…" } else { "Load more" }}
                </button>
            </Show>
        </div>
    }
}

#[derive(Clone, Copy)]
pub struct RowCtx {
    pub go: Callback<String>,
    pub tick: RwSignal<u32>,
    pub integrations: Integrations,
    pub arrived: RwSignal<HashSet<String>>,
}

/// A row is drawn again when what it shows changes.
fn row_key(e: &ExecutionOut) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}",
        e.id,
        e.status.as_str(),
        e.attempts,
        e.started_at.as_deref().unwrap_or(""),
        e.finished_at.as_deref().unwrap_or(""),
        e.next_attempt_at.as_deref().unwrap_or("")
    )
}

fn execution_row(e: ExecutionOut, ctx: RowCtx) -> impl IntoView {
    let RowCtx {
        go,
        tick,
        integrations,
        arrived,
    } = ctx;
    let href = format!("/executions/{}", e.id);
    let status = e.status.as_str();
    let class = if arrived.with_untracked(|a| a.contains(&e.id)) {
        "clickable execution-row row-new"
    } else {
        "clickable execution-row"
    };
    let slug = e.integration.clone();
    let slug_for_name = slug.clone();
    let slug_for_title = slug.clone();
    let integration_title = move || match integration_name(integrations, &slug_for_title) {
        Some(name) => format!("{name} ({slug_for_title})"),
        None => slug_for_title.clone(),
    };
    let received = e.received_at.clone();
    let received_title = full_time(&received);
    let duration = match (run_us(&e), e.status) {
        (Some(us), _) => view! { <span>{fmt_duration_us(us)}</span> }.into_any(),
        (None, ExecutionStatus::Running) => {
            view! { <span class="muted">"running…"</span> }.into_any()
        }
        _ => view! { <span class="muted">"—"</span> }.into_any(),
    };
    let attempts_title = match &e.next_attempt_at {
        Some(next) => format!("Next attempt at {}", full_time(next)),
        None => format!("{} run(s)", e.attempts),
    };
    let attempts_class = if e.attempts > 1 {
        "num attempts-many"
    } else {
        "num"
    };
    let click_href = href.clone();
    let caller = caller_cell(e.caller.clone());
    view! {
        <tr class=class data-id=e.id.clone() data-status=status
            on:click=move |ev: leptos::ev::MouseEvent| {
                if clicked_within(&ev, "a, button, input, select, textarea, label") {
                    return;
                }
                if ev.ctrl_key() || ev.meta_key() {
                    open_in_new_tab(&click_href);
                } else {
                    go.run(click_href.clone());
                }
            }>
            <td class="cell-status"><Badge kind=status/></td>
            <td class="cell-integration" title=integration_title>
                <span class="strong">{move || integration_name(integrations, &slug_for_name).unwrap_or_else(|| slug_for_name.clone())}</span>
                <span class="muted small mono cell-sub">{format!("{slug} · v{}", e.version)}</span>
            </td>
            {caller}
            <td class="cell-received" title=received_title>{move || {
                tick.track();
                ago(&received)
            }}</td>
            <td class="num">{duration}</td>
            <td><span class=format!("mode mode-{}", e.mode)>{e.mode.clone()}</span></td>
            <td class=attempts_class title=attempts_title>
                {e.attempts}
                {e.next_attempt_at.is_some().then(|| view! { <span class="retry-mark" aria-label="retry scheduled">" ↻"</span> })}
            </td>
            <td class="cell-id">
                <a href=href class="mono" title=e.id.clone() aria-label=format!("Execution {}", e.id)>{short_id(&e.id)}</a>
                {e.replay_of.is_some().then(|| view! { <span class="muted small replay-mark" title="A replay">" replay"</span> })}
            </td>
        </tr>
    }
}
