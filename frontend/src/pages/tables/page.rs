//! A table's page (`/tables/{name}`): what the table is, its records newest first with a
//! filter that lives in the URL (`?field=F&value=V`), export links, and deletes.

use flowgate_api::tables::{RecordOut, TableOut};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

use super::delete::ask_delete_table;
use super::query::{export_href, preview, short_id, table_path, Filter};
use super::records::{records_failed, table_problem, Fetch, Records, REFRESH_MS};
use crate::api::{self, ApiError};
use crate::components::{
    confirm, use_go, use_poll, use_route_param, when, Empty, JsonBlock, Notify,
};
use crate::format::{ago, full_time, plural};
use crate::session::use_session;

/// Characters of a record's data shown on its collapsed line.
const PREVIEW_CHARS: usize = 240;

#[component]
pub fn TablePage() -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let go = use_go();
    let name = use_route_param("name");
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(|q| Filter::from_lookup(|k| q.get(k))));
    let recs = Records::new(name, filter);

    let set_filter = Callback::new({
        let navigate = use_navigate();
        move |f: Filter| {
            let opts = NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            };
            navigate(
                &format!("{}{}", table_path(&name.get_untracked()), f.to_query()),
                opts,
            )
        }
    });
    let clear = Callback::new(move |()| set_filter.run(Filter::default()));

    // Another table: start over.
    Effect::new(move |_| {
        name.track();
        recs.table.set(None);
        recs.items.set(None);
        recs.load_table();
    });
    // The first page, again whenever the table or the filter changes.
    Effect::new(move |_| {
        name.track();
        filter.track();
        recs.run(Fetch::Reset);
    });
    // While the page is open: the first records and the count again.
    let tick = use_poll(REFRESH_MS, move || {
        if recs.idle() && !recs.gone() {
            recs.run(Fetch::Refresh);
            recs.load_table();
        }
    });

    let remove_table = move |t: TableOut| {
        ask_delete_table(&t, move |name, answer| match answer {
            Ok(()) => {
                notify.ok(format!("Table {name} deleted with its records"));
                go.try_run("/tables".to_owned());
            }
            Err(e) => notify.error(format!("Could not delete {name}: {e}")),
        });
    };

    let remove_record = Callback::new(move |r: RecordOut| {
        let which = match &r.key {
            Some(k) => format!("The record with the key {k} is removed"),
            None => "The record is removed".to_owned(),
        };
        confirm(
            "Delete this record?",
            format!(
                "{which} from {}. This cannot be undone; a flow may write it again.",
                name.get_untracked()
            ),
            "Delete record",
            move || recs.delete_record(r.id.clone()),
        );
    });

    let head = move || {
        recs.table.with(|r| {
            if let Some(problem) = table_problem(r.as_ref(), &name.get_untracked()) {
                return problem;
            }
            match r {
                Some(Ok(t)) => {
                    table_head(t.clone(), filter, session.can_edit(), remove_table).into_any()
                }
                _ => ().into_any(),
            }
        })
    };
    let loaded = move || recs.table.with(|r| matches!(r, Some(Ok(_))));
    let state = Memo::new(move |_| {
        recs.items.with(|r| match r {
            None => State::Loading,
            Some(Err(e)) => State::Failed(e.clone()),
            Some(Ok(v)) if v.is_empty() => State::Empty,
            Some(Ok(_)) => State::Rows,
        })
    });

    view! {
        <div class="page admin-page table-page">
            <div class="crumbs"><a href="/tables">"Tables"</a>" / "</div>
            {head}
            <Show when=loaded>
                <section class="records-section" id="records" aria-labelledby="records-title">
                    <div class="section-head">
                        <h2 id="records-title">"Records"</h2>
                        <span class="live-pill" title="Refreshed every 5 seconds while this page is open">
                            <span class="live-dot"></span>"Live"
                        </span>
                        <div class="spacer"></div>
                        {move || filter_bar(recs, set_filter)}
                    </div>
                    {move || recs.refresh_error.get().map(|e| view! {
                        <div class="warn-box refresh-warning" role="status">
                            {format!("Could not refresh: {e} Trying again in a few seconds.")}
                        </div>
                    })}
                    {move || records_body(state.get(), recs, clear, remove_record, session.can_edit(), tick)}
                </section>
            </Show>
        </div>
    }
}

/// The table's name, description, fields and count, with its export links and delete.
fn table_head(
    t: TableOut,
    filter: Memo<Filter>,
    can_edit: bool,
    remove: impl Fn(TableOut) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let name = t.name.clone();
    let description = if t.description.is_empty() {
        view! { <span class="muted">"No description"</span> }.into_any()
    } else {
        view! { <span>{t.description.clone()}</span> }.into_any()
    };
    let (n1, n2, n3, n4) = (name.clone(), name.clone(), name.clone(), name.clone());
    let export_note = move || {
        if filter.with(Filter::is_set) {
            "The records matching the filter, oldest first"
        } else {
            "Every record, oldest first (at most 100,000)"
        }
    };
    let key = match &t.key_field {
        Some(k) => {
            view! { <code class="field-name" id="table-key-field">{k.clone()}</code> }.into_any()
        }
        None => view! { <span class="muted">"none: records are only added"</span> }.into_any(),
    };
    let indexed = if t.indexed_fields.is_empty() {
        view! { <span class="muted">"none"</span> }.into_any()
    } else {
        view! {
            <span class="chips">
                {t.indexed_fields.iter().map(|f| view! { <span class="chip mono">{f.clone()}</span> }).collect_view()}
            </span>
        }
        .into_any()
    };
    let t2 = t.clone();
    view! {
        <div class="page-head">
            <div class="table-title">
                <h1 class="mono" id="table-title">{name.clone()}</h1>
                <p class="page-sub" id="table-description">{description}</p>
            </div>
            <div class="spacer"></div>
            <a class="btn" id="export-csv" title=export_note
                href=move || export_href(&n1, &filter.get(), "csv") download=format!("{n2}.csv")>"Export CSV"</a>
            <a class="btn" id="export-json" title=export_note
                href=move || export_href(&n3, &filter.get(), "json") download=format!("{n4}.json")>"Export JSON"</a>
            {can_edit.then(|| view! {
                <button class="btn btn-quiet-danger" type="button" id="delete-table"
                    on:click=move |_| remove(t2.clone())>"Delete table"</button>
            })}
        </div>
        <dl class="table-facts card">
            <div><dt>"Key field"</dt><dd>{key}</dd></div>
            <div><dt>"Indexed fields"</dt><dd>{indexed}</dd></div>
            <div><dt>"Records"</dt><dd id="table-records">{t.records}</dd></div>
            <div><dt>"Created"</dt><dd title=ago(&t.created_at)>{when(&t.created_at)}</dd></div>
        </dl>
    }
}

/// Find records by the key field or an indexed field; applies on submit, clears at once.
fn filter_bar(recs: Records, set_filter: Callback<Filter>) -> AnyView {
    let fields: Vec<(String, String)> = recs.table.with_untracked(|t| match t {
        Some(Ok(t)) => t
            .key_field
            .iter()
            .map(|k| (k.clone(), format!("{k} (key)")))
            .chain(t.indexed_fields.iter().map(|f| (f.clone(), f.clone())))
            .collect(),
        _ => Vec::new(),
    });
    if fields.is_empty() {
        return view! {
            <span class="muted small" id="no-filter">"No key or indexed fields to find records by."</span>
        }
        .into_any();
    }
    let current = recs.filter.get_untracked();
    let first = fields.first().map(|(f, _)| f.clone()).unwrap_or_default();
    let field = RwSignal::new(if current.is_set() {
        current.field.clone()
    } else {
        first
    });
    let value = RwSignal::new(current.value.clone());
    let filtered = move || recs.filter.with(Filter::is_set);
    let options = fields
        .into_iter()
        .map(|(f, label)| {
            let selected = f == field.get_untracked();
            view! { <option value=f selected=selected>{label}</option> }
        })
        .collect_view();
    view! {
        <form class="records-filter" role="search" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let v = value.get_untracked();
            set_filter.run(if v.trim().is_empty() {
                Filter::default()
            } else {
                Filter { field: field.get_untracked(), value: v.trim().to_owned() }
            });
        }>
            <label class="sr-only" for="record-field">"Field"</label>
            <select id="record-field" on:change=move |ev| field.set(event_target_value(&ev))>{options}</select>
            <span class="filter-eq" aria-hidden="true">"="</span>
            <label class="sr-only" for="record-value">"Value"</label>
            <input id="record-value" type="search" class="mono" placeholder="Value" autocomplete="off" spellcheck="false"
                prop:value=value on:input=move |ev| {
                    let v = event_target_value(&ev);
                    let cleared = v.is_empty();
                    value.set(v);
                    if cleared && recs.filter.with_untracked(Filter::is_set) {
                        set_filter.run(Filter::default());
                    }
                }/>
            <button class="btn" type="submit" id="apply-filter">"Filter"</button>
            <Show when=filtered>
                <button class="btn btn-ghost" type="button" id="clear-filter" on:click=move |_| {
                    value.set(String::new());
                    set_filter.run(Filter::default());
                }>"Clear"</button>
            </Show>
        </form>
    }
    .into_any()
}

/// What the records section shows; the rows are drawn again only when this changes (a
/// refresh updates them row by row, so opened records stay open).
#[derive(Clone, PartialEq)]
enum State {
    Loading,
    Failed(ApiError),
    Empty,
    Rows,
}

/// Loading, the error, an empty state, or the records with "Load more".
fn records_body(
    state: State,
    recs: Records,
    clear: Callback<()>,
    remove: Callback<RecordOut>,
    can_edit: bool,
    tick: RwSignal<u32>,
) -> AnyView {
    let has_key = recs
        .table
        .with_untracked(|t| matches!(t, Some(Ok(t)) if t.key_field.is_some()));
    match state {
        State::Loading => view! { <crate::components::Loading what="records"/> }.into_any(),
        State::Failed(e) => records_failed(&e, recs, clear),
        State::Empty if recs.filter.with_untracked(Filter::is_set) => view! {
            <Empty title="No record matches">
                "No record has this value in that field (values are compared as text). "
                <button class="btn-link" type="button" on:click=move |_| clear.run(())>"Clear the filter"</button>
            </Empty>
        }
        .into_any(),
        State::Empty => view! {
            <Empty title="No records yet">
                <p class="empty-lead">
                    "Records appear here as flows write them: a "<code>"store"</code>" step naming this table inserts, upserts or deletes them. This page shows new ones every few seconds."
                </p>
            </Empty>
        }
        .into_any(),
        State::Rows => view! {
            <div class="table-wrap records-wrap" class:is-stale=move || recs.stale.get()
                aria-busy=move || recs.stale.get().to_string()>
                <table class="table records-table" id="records-table">
                    <thead>
                        <tr>
                            {has_key.then(|| view! { <th scope="col">"Key"</th> })}
                            <th scope="col" class="col-data">"Data"</th>
                            <th scope="col">"Written"</th>
                            <th scope="col">"Execution"</th>
                            {can_edit.then(|| view! { <th scope="col" class="actions"><span class="sr-only">"Actions"</span></th> })}
                        </tr>
                    </thead>
                    <tbody>
                        <For
                            each=move || recs.items.with(|r| match r { Some(Ok(v)) => v.clone(), _ => Vec::new() })
                            key=|r: &RecordOut| format!("{}|{}", r.id, r.updated_at)
                            children=move |r: RecordOut| record_row(r, recs, has_key, can_edit, remove, tick)
                        />
                    </tbody>
                </table>
            </div>
            <div class="list-foot">
                <span class="muted small" id="records-count">{move || {
                    let n = recs.items.with(|r| r.as_ref().and_then(|r| r.as_ref().ok()).map_or(0, Vec::len));
                    let filtered = recs.filter.with(Filter::is_set);
                    match (recs.cursor.with(Option::is_some), filtered) {
                        (true, _) => format!("{n} newest shown"),
                        (false, true) => format!("{} match", plural(n, "record", "records")),
                        (false, false) => plural(n, "record", "records"),
                    }
                }}</span>
                <Show when=move || recs.cursor.with(Option::is_some)>
                    <button type="button" class="btn" id="load-more-records"
                        disabled=move || recs.loading_more.get() || recs.stale.get()
                        on:click=move |_| recs.run(Fetch::More)>
                        {move || if recs.loading_more.get() { "Loading…" } else { "Load more" }}
                    </button>
                </Show>
            </div>
        }
        .into_any(),
    }
}

/// One record: its key, its data (one line; opened, formatted JSON), when it was written and
/// by which execution.
fn record_row(
    r: RecordOut,
    recs: Records,
    has_key: bool,
    can_edit: bool,
    remove: Callback<RecordOut>,
    tick: RwSignal<u32>,
) -> impl IntoView {
    let class = if recs.arrived.with_untracked(|a| a.contains(&r.id)) {
        "record-row row-new"
    } else {
        "record-row"
    };
    let key = has_key.then(|| match &r.key {
        Some(k) => {
            view! { <td class="record-key mono" title=k.clone()>{k.clone()}</td> }.into_any()
        }
        None => view! { <td class="record-key muted">"—"</td> }.into_any(),
    });
    let line = preview(&r.data, PREVIEW_CHARS);
    let updated = (r.updated_at != r.created_at).then(|| {
        let at = r.updated_at.clone();
        view! {
            <span class="muted small record-updated" title=full_time(&r.updated_at)>
                {move || { tick.track(); format!("updated {}", ago(&at)) }}
            </span>
        }
    });
    let by = match &r.execution_id {
        Some(id) => {
            let href = format!("/executions/{}", api::enc(id));
            view! {
                <a href=href class="mono record-execution" title=format!("The execution that wrote it: {id}")
                    aria-label=format!("Execution {id}")>{short_id(id)}</a>
            }
            .into_any()
        }
        None => {
            view! { <span class="muted small" title="Not written by a flow's execution">"—"</span> }
                .into_any()
        }
    };
    let action = can_edit.then(|| {
        let r2 = r.clone();
        view! {
            <td class="actions">
                <button class="btn btn-small btn-quiet-danger delete-record" type="button"
                    aria-label="Delete this record" on:click=move |_| remove.run(r2.clone())>"Delete"</button>
            </td>
        }
    });
    view! {
        <tr class=class data-record-id=r.id.clone() data-key=r.key.clone().unwrap_or_default()>
            {key}
            <td class="record-data-cell">
                <details class="record-data">
                    <summary><code class="record-preview">{line}</code></summary>
                    <JsonBlock value=r.data.clone()/>
                </details>
            </td>
            <td class="record-written" title=full_time(&r.created_at)>
                {when(&r.created_at)}
                {updated}
            </td>
            <td class="record-by">{by}</td>
            {action}
        </tr>
    }
}
