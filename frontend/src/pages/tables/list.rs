//! The list of tables: name and description, key field, indexed fields, records; designers
//! and admins create tables here and delete them (with all their records).

use flowgate_api::tables::{TableIn, TableOut};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::delete::ask_delete_table;
use super::query::{parse_fields, problems, table_path};
use crate::api;
use crate::components::{
    clicked_within, focused_input, open_in_new_tab, use_go, when, Empty, ListLoader, ListMeta,
    ListTable, Loading, Modal, ModalActions, Notify, PageHead,
};
use crate::format::plural;
use crate::session::use_session;

const COLUMNS: &[(&str, Option<&str>)] = &[
    ("Table", None),
    ("Key field", None),
    ("Indexed fields", None),
    ("Records", Some("num")),
    ("Created", None),
];

#[component]
pub fn TablesPage() -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    // A failed refresh keeps the list and says so; a failed first load shows the error.
    let loader = ListLoader::<TableOut>::new("/tables", "tables");
    let tables = loader.rows;
    let load = move || loader.reload();
    let creating = RwSignal::new(false);
    // The table created last, highlighted in the list for a moment.
    let fresh = RwSignal::new(None::<String>);
    let go = use_go();

    let on_created = Callback::new(move |t: TableOut| {
        notify.ok(format!("Table {} created", t.name));
        fresh.set(Some(t.name.clone()));
        tables.update(|list| match list {
            Some(Ok(list)) => {
                if !list.iter().any(|x| x.name == t.name) {
                    list.push(t);
                    list.sort_by(|a, b| a.name.cmp(&b.name));
                }
            }
            _ => *list = Some(Ok(vec![t])),
        });
        creating.set(false);
        load();
    });

    let remove = move |t: TableOut| {
        ask_delete_table(&t, move |name, answer| match answer {
            Ok(()) => {
                tables.try_update(|list| {
                    if let Some(Ok(list)) = list {
                        list.retain(|x| x.name != name);
                    }
                });
                notify.ok(format!("Table {name} deleted with its records"));
            }
            Err(e) if e.status == 404 => {
                notify.error(format!("Table {name} was already deleted."));
                load();
            }
            Err(e) => notify.error(format!("Could not delete {name}: {e}")),
        });
    };

    let table = move || {
        let can_edit = session.can_edit();
        let fresh_name = fresh.get();
        tables.with(|r| match r {
            None => view! { <Loading what="tables"/> }.into_any(),
            Some(Err(e)) => loader.failed(e, Some("Your role may not read tables."), "tables"),
            Some(Ok(list)) if list.is_empty() => view! {
                <Empty title="No tables yet">
                    <p class="empty-lead">
                        "A table keeps JSON records that flows write with a "<code>"store"</code>
                        " step and read back with a "<code>"lookup"</code>" step: events to look at later, ids to remember between calls."
                    </p>
                    <ol class="next-steps">
                        <li>"Create a table, with a key field if records have an id of their own."</li>
                        <li>"Add a "<strong>"store"</strong>" step to a flow that names the table."</li>
                        <li>"Open the table to see, filter and export what the flow stored."</li>
                    </ol>
                    {if can_edit {
                        view! {
                            <div>
                                <button class="btn btn-primary" type="button" on:click=move |_| creating.set(true)>
                                    "Create your first table"
                                </button>
                            </div>
                        }
                        .into_any()
                    } else {
                        view! { <p class="muted small">"Only designers and admins create tables."</p> }.into_any()
                    }}
                </Empty>
            }
            .into_any(),
            Some(Ok(list)) => {
                let rows = list
                    .iter()
                    .cloned()
                    .map(|t| {
                        let is_new = fresh_name.as_deref() == Some(t.name.as_str());
                        table_row(t, can_edit, is_new, remove, go)
                    })
                    .collect_view();
                view! {
                    <ListTable class="table tables-table" id="tables" columns=COLUMNS actions=can_edit>{rows}</ListTable>
                }
                .into_any()
            }
        })
    };

    let count = move || {
        tables.with(|r| match r {
            Some(Ok(list)) if !list.is_empty() => {
                let records: i64 = list.iter().map(|t| t.records).sum();
                Some(format!(
                    "{} · {}",
                    plural(list.len(), "table", "tables"),
                    plural(usize::try_from(records).unwrap_or(0), "record", "records")
                ))
            }
            _ => None,
        })
    };

    view! {
        <div class="page admin-page tables-page">
            <PageHead title="Tables" sub=|| view! {
                "Records that flows keep: a "<code>"store"</code>" step writes them, a "<code>"lookup"</code>
                " step finds them by key or by an indexed field."
            }>
                <Show when=move || session.can_edit()
                    fallback=|| view! { <span class="muted small read-only-note">"Read-only: designers and admins create tables."</span> }>
                    <button class="btn btn-primary" type="button" id="new-table" on:click=move |_| creating.set(true)>"New table"</button>
                </Show>
            </PageHead>
            <ListMeta text=Signal::derive(count)/>
            {table}
            <Show when=move || creating.get() && session.can_edit()>
                <NewTableModal on_created=on_created on_close=Callback::new(move |()| creating.set(false))/>
            </Show>
        </div>
    }
}

/// One row of the list; a click on it (outside its buttons) opens the table.
fn table_row(
    t: TableOut,
    can_edit: bool,
    is_new: bool,
    remove: impl Fn(TableOut) + Copy + Send + Sync + 'static,
    go: Callback<String>,
) -> impl IntoView {
    let href = table_path(&t.name);
    let click_href = href.clone();
    let key = match &t.key_field {
        Some(k) => view! { <code class="field-name">{k.clone()}</code> }.into_any(),
        None => view! { <span class="muted small">"none"</span> }.into_any(),
    };
    let indexed = if t.indexed_fields.is_empty() {
        view! { <span class="muted small">"none"</span> }.into_any()
    } else {
        view! {
            <div class="chips">
                {t.indexed_fields.iter().map(|f| view! { <span class="chip mono">{f.clone()}</span> }).collect_view()}
            </div>
        }
        .into_any()
    };
    let description = (!t.description.is_empty()).then(|| {
        view! { <span class="muted small cell-sub table-description" title=t.description.clone()>{t.description.clone()}</span> }
    });
    let action = can_edit.then(|| {
        let t2 = t.clone();
        let aria = format!("Delete the table {} and its records", t.name);
        view! {
            <td class="actions">
                <button class="btn btn-small btn-quiet-danger delete-table" type="button" aria-label=aria
                    on:click=move |_| remove(t2.clone())>"Delete"</button>
            </td>
        }
    });
    let class = if is_new {
        "clickable table-row row-new"
    } else {
        "clickable table-row"
    };
    view! {
        <tr class=class data-table=t.name.clone()
            on:click=move |ev: leptos::ev::MouseEvent| {
                if clicked_within(&ev, "a, button") {
                    return;
                }
                if ev.ctrl_key() || ev.meta_key() {
                    open_in_new_tab(&click_href);
                } else {
                    go.run(click_href.clone());
                }
            }>
            <td class="table-name">
                <a href=href class="mono strong">{t.name.clone()}</a>
                {is_new.then(|| view! { <span class="badge badge-ok new-tag">"new"</span> })}
                {description}
            </td>
            <td>{key}</td>
            <td class="table-indexed">{indexed}</td>
            <td class="num table-records">{t.records}</td>
            <td class="when">{when(&t.created_at)}</td>
            {action}
        </tr>
    }
}

/// The creation dialog: name, description, key field and indexed fields; the server's
/// refusal (a bad name or field, a name in use) is shown in words under the fields.
#[component]
fn NewTableModal(on_created: Callback<TableOut>, on_close: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let key_field = RwSignal::new(String::new());
    let indexed = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<String>::new());
    let busy = RwSignal::new(false);
    let name_ref = focused_input();
    let clear = move || {
        if !errors.with_untracked(Vec::is_empty) {
            errors.set(Vec::new());
        }
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let n = name.get_untracked().trim().to_owned();
        if n.is_empty() {
            errors.set(vec![
                "Give the table a name, such as email_events: flows name it in their steps.".into(),
            ]);
            return;
        }
        let key = key_field.get_untracked().trim().to_owned();
        let body = TableIn {
            name: n,
            description: description.get_untracked().trim().to_owned(),
            key_field: (!key.is_empty()).then_some(key),
            indexed_fields: parse_fields(&indexed.get_untracked()),
        };
        busy.set(true);
        spawn_local(async move {
            let r = api::post::<TableOut, _>("/tables", &body).await;
            busy.try_set(false);
            match r {
                Ok(t) => on_created.run(t),
                Err(e) if e.status == 403 => {
                    errors.try_set(vec!["Only designers and admins create tables.".into()]);
                }
                Err(e) => {
                    errors.try_set(problems(&e.describe()));
                }
            }
        });
    };

    let chips = move || {
        let fields = parse_fields(&indexed.get());
        (!fields.is_empty()).then(|| {
            view! {
                <div class="chips field-chips" aria-hidden="true">
                    {fields.into_iter().map(|f| {
                        let bad = !flows_runtime::is_identifier(&f);
                        let class = if bad { "chip mono chip-bad" } else { "chip mono" };
                        let title = bad.then_some("Not a field name: letters, digits and _, not starting with a digit");
                        view! { <span class=class title=title>{f}</span> }
                    }).collect_view()}
                </div>
            }
        })
    };

    view! {
        <Modal title="New table".to_owned() on_close=on_close>
            <form class="table-form" on:submit=submit>
                <div class="field">
                    <label for="table-name">"Name"</label>
                    <input id="table-name" type="text" class="mono" placeholder="email_events" autocomplete="off"
                        spellcheck="false" maxlength="64" node_ref=name_ref
                        prop:value=name on:input=move |ev| { clear(); name.set(event_target_value(&ev)); }/>
                    <div class="hint">"Lower-case letters, digits and _, starting with a letter. Flows name the table by it; it cannot be changed later."</div>
                </div>
                <div class="field">
                    <label for="table-description">"Description " <span class="optional muted">"(optional)"</span></label>
                    <input id="table-description" type="text" placeholder="SendGrid delivery events" maxlength="500"
                        prop:value=description on:input=move |ev| { clear(); description.set(event_target_value(&ev)); }/>
                </div>
                <div class="field">
                    <label for="table-key-field">"Key field " <span class="optional muted">"(optional)"</span></label>
                    <input id="table-key-field" type="text" class="mono" placeholder="sg_event_id" autocomplete="off"
                        spellcheck="false" prop:value=key_field
                        on:input=move |ev| { clear(); key_field.set(event_target_value(&ev)); }/>
                    <div class="hint">"The field whose value identifies a record: one record per value, so an upsert replaces it. Without one, records are only added."</div>
                </div>
                <div class="field">
                    <label for="table-indexed">"Indexed fields " <span class="optional muted">"(optional)"</span></label>
                    <input id="table-indexed" type="text" class="mono" placeholder="sg_message_id, event" autocomplete="off"
                        spellcheck="false" aria-describedby="table-indexed-hint" prop:value=indexed
                        on:input=move |ev| { clear(); indexed.set(event_target_value(&ev)); }/>
                    {chips}
                    <div class="hint" id="table-indexed-hint">"Comma-separated, at most 8: the fields lookup steps and this page can find records by (equal values)."</div>
                </div>
                {move || {
                    let list = errors.get();
                    (!list.is_empty()).then(|| view! {
                        <div class="error-box table-form-error" role="alert" id="table-error">
                            {list.into_iter().map(|p| view! { <div>{p}</div> }).collect_view()}
                        </div>
                    })
                }}
                <ModalActions on_cancel=move |()| on_close.run(()) id="create-table" label="Create table" busy_label="Creating…" busy=busy/>
            </form>
        </Modal>
    }
}
