//! The lookup step's form: the table, one record by key or the records whose fields equal
//! values (field → Rhai expression rows, the table's key and indexed fields offered), how many
//! and in which order, and the variable that receives them.

use std::collections::BTreeMap;

use flows_runtime::model::{LookupOrder, LookupStep, Step, MAX_LOOKUP_LIMIT};
use leptos::prelude::*;

use super::ctx::{Ctx, ListPath};
use super::data_picks::{table_fields, NamePicker, Named};
use super::edit::{edit_step, non_blank};
use super::fields::{field_problems, var_field, VarField};

/// The fields a `where` may name in a table: its key field, then its indexed fields.
fn offered(key: Option<String>, indexed: Vec<String>) -> Vec<String> {
    let mut all: Vec<String> = key.into_iter().collect();
    for f in indexed {
        if !all.contains(&f) {
            all.push(f);
        }
    }
    all
}

/// The `where` of typed rows: blank field names are left out (the last of a name wins).
fn filter_of(rows: &[(u32, String, String)]) -> BTreeMap<String, String> {
    rows.iter()
        .filter(|(_, f, _)| !f.trim().is_empty())
        .map(|(_, f, e)| (f.trim().to_owned(), e.clone()))
        .collect()
}

/// Field names given in more than one row.
fn twice(rows: &[(u32, String, String)]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (_, f, _) in rows {
        let f = f.trim();
        if !f.is_empty() && !seen.insert(f) && !out.iter().any(|o| o == f) {
            out.push(f.to_owned());
        }
    }
    out
}

pub fn lookup_form(ctx: Ctx, p: StoredValue<ListPath>, i: usize, l: LookupStep) -> AnyView {
    let ro = ctx.readonly;
    let (limit0, order0, where0) = (l.limit, l.order, !l.filter.is_empty());
    let table = RwSignal::new(l.table.clone());
    let by_key = RwSignal::new(l.filter.is_empty());
    // What each mode had, so switching back restores it.
    let key_text = StoredValue::new(l.key_expr.clone().unwrap_or_default());
    let rows = RwSignal::new(
        l.filter
            .iter()
            .enumerate()
            .map(|(n, (f, e))| (n as u32, f.clone(), e.clone()))
            .collect::<Vec<_>>(),
    );
    let next = StoredValue::new(l.filter.len() as u32);
    // The chosen table's key field and indexed fields, when the list of tables says.
    let fields = Memo::new(move |_| table_fields(ctx, &table.get()));
    let edit = move |f: &dyn Fn(&mut LookupStep)| {
        edit_step(ctx, &p.get_value(), i, |s| {
            if let Step::Lookup(x) = s {
                f(x)
            }
        })
    };
    let write_rows = move || {
        let filter = rows.with_untracked(|r| filter_of(r));
        edit(&|x| x.filter = filter.clone());
    };
    let add_row = move |field: String| {
        let n = next.get_value();
        next.set_value(n + 1);
        rows.update(|r| r.push((n, field, String::new())));
    };
    let set_mode = move |key: bool| {
        by_key.set(key);
        if key {
            let k = non_blank(key_text.get_value());
            edit(&|x| {
                x.filter.clear();
                x.key_expr = k.clone();
            });
        } else {
            if rows.with_untracked(Vec::is_empty) {
                // Start with the first field the table is found by (an indexed one, if any).
                let first = fields
                    .get_untracked()
                    .and_then(|(key, indexed)| indexed.into_iter().next().or(key))
                    .unwrap_or_default();
                add_row(first);
            }
            let filter = rows.with_untracked(|r| filter_of(r));
            edit(&|x| {
                x.key_expr = None;
                x.filter = filter.clone();
            });
        }
    };
    let key_hint = move || {
        match fields.get() {
        Some((Some(k), _)) => format!("The value of the table's key field, {k}. vars.<name> gets the record, or () when none has it."),
        Some((None, _)) => "This table has no key field: find its records by fields instead.".to_owned(),
        None => "The value of the table's key field. vars.<name> gets the record, or () when none has it.".to_owned(),
    }
    };
    view! {
        <div class="row data-row">
            <div class="field">
                <label>"Table"</label>
                <NamePicker ctx=ctx what=Named::Table value=table class="lookup-table" label="Table" placeholder="email_events"
                    on_change=Callback::new(move |v: String| edit(&|x| x.table = v.clone()))/>
                {field_problems(ctx, p, i, |f| f == "table")}
            </div>
            <div class="field">
                <label>"Find"</label>
                <select class="lookup-mode" aria-label="Find" disabled=ro
                    on:change=move |ev| set_mode(event_target_value(&ev) == "key")>
                    <option value="key" selected=!where0>"One record by key"</option>
                    <option value="where" selected=where0>"Records where fields equal"</option>
                </select>
            </div>
        </div>
        <Show when=move || by_key.get()>
            <div class="field">
                <label>"Key (Rhai expression)"</label>
                <input type="text" class="mono lookup-key" aria-label="Key (Rhai expression)" placeholder="request.query.id"
                    readonly=ro prop:value=key_text.get_value()
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        key_text.set_value(v.clone());
                        let k = non_blank(v);
                        edit(&|x| x.key_expr = k.clone());
                    }/>
                {field_problems(ctx, p, i, |f| f == "key_expr")}
                <div class="hint">{key_hint}</div>
            </div>
        </Show>
        <Show when=move || !by_key.get()>
            <div class="field">
                <label>"Where (every field equals its value)"</label>
                <div class="pairs lookup-wheres">
                    <div class="pair pair-head"><span>"Field"</span><span>"Value (Rhai expression)"</span><span></span></div>
                    <For each=move || rows.get() key=|r| r.0 let:row>
                        {where_row(ctx, p, i, rows, fields, row, write_rows)}
                    </For>
                </div>
                {move || {
                    let twice = rows.with(|r| twice(r));
                    (!twice.is_empty()).then(|| view! {
                        <div class="field-error">{format!("Named twice (the last one counts): {}", twice.join(", "))}</div>
                    })
                }}
                {field_problems(ctx, p, i, |f| f == "where" || f == "key_expr")}
                {(!ro).then(|| view! {
                    <button class="btn-link add-lookup-where" type="button" on:click=move |_| add_row(String::new())>"+ Add field"</button>
                })}
                <div class="hint">{move || match fields.get() {
                    Some((None, idx)) if idx.is_empty() => "This table has no key field or indexed fields to find records by.".to_owned(),
                    _ => "Only the table's key field and indexed fields can be used; values are compared as text.".to_owned(),
                }}</div>
            </div>
            <div class="row data-row">
                <div class="field field-narrow">
                    <label>"At most (records)"</label>
                    <input type="number" min="1" max=MAX_LOOKUP_LIMIT.to_string() class="lookup-limit" aria-label="Most records"
                        readonly=ro prop:value=limit0.to_string()
                        on:input=move |ev| {
                            if let Ok(v) = event_target_value(&ev).trim().parse::<u32>() {
                                edit(&|x| x.limit = v);
                            }
                        }/>
                    {field_problems(ctx, p, i, |f| f == "limit")}
                </div>
                <div class="field field-narrow">
                    <label>"Order"</label>
                    <select class="lookup-order" aria-label="Order" disabled=ro on:change=move |ev| {
                        let o = if event_target_value(&ev) == "oldest" { LookupOrder::Oldest } else { LookupOrder::Newest };
                        edit(&|x| x.order = o);
                    }>
                        <option value="newest" selected=order0 == LookupOrder::Newest>"Newest first"</option>
                        <option value="oldest" selected=order0 == LookupOrder::Oldest>"Oldest first"</option>
                    </select>
                </div>
            </div>
        </Show>
        {var_field(ctx, p, i, VarField {
            label: "Into variable",
            class: "mono lookup-to",
            placeholder: "record",
            hint: "Required: vars.<name> gets the record found by key, or the array of records found by fields.",
            value: l.to,
            set: |s, v| if let Step::Lookup(x) = s { x.to = v.unwrap_or_default() },
        })}
        <div class="hint step-hint">"A record read has its fields plus _id, _created_at and _updated_at."</div>
    }
    .into_any()
}

/// One `where` row: the field (a select of the table's key and indexed fields when known, else
/// typed), the expression its value must equal, and the server's problems with it.
fn where_row(
    ctx: Ctx,
    p: StoredValue<ListPath>,
    i: usize,
    rows: RwSignal<Vec<(u32, String, String)>>,
    fields: Memo<Option<(Option<String>, Vec<String>)>>,
    row: (u32, String, String),
    write: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let ro = ctx.readonly;
    let (id, field0, expr0) = row;
    let name = RwSignal::new(field0);
    let set_field = move |v: String| {
        name.set(v.clone());
        rows.update_untracked(|r| {
            if let Some(x) = r.iter_mut().find(|x| x.0 == id) {
                x.1 = v;
            }
        });
        rows.notify();
        write();
    };
    let choices = move || {
        fields
            .get()
            .map(|(key, indexed)| offered(key, indexed))
            .filter(|c| !c.is_empty())
    };
    let picker = move || {
        let current = name.get_untracked();
        match choices() {
            Some(all) => {
                let other = (!all.contains(&current)).then(|| current.clone());
                view! {
                    <select class="lookup-where-name" aria-label="Field" disabled=ro
                        on:change=move |ev| set_field(event_target_value(&ev))>
                        {other.map(|o| {
                            let text = if o.is_empty() { "Pick a field…".to_owned() } else { o.clone() };
                            view! { <option value=o selected=true>{text}</option> }
                        })}
                        {all.into_iter().map(|f| {
                            let (on, text) = (f == current, f.clone());
                            view! { <option value=f selected=on>{text}</option> }
                        }).collect_view()}
                    </select>
                }
                .into_any()
            }
            None => view! {
                <input type="text" class="mono lookup-where-name" aria-label="Field" placeholder="sg_message_id"
                    readonly=ro prop:value=current on:input=move |ev| set_field(event_target_value(&ev))/>
            }
            .into_any(),
        }
    };
    let not_offered = move || {
        let n = name.get();
        let all = choices()?;
        (!n.is_empty() && !all.contains(&n)).then(|| {
            view! { <div class="field-error">{format!("{n} is not the table's key field or an indexed field.")}</div> }
        })
    };
    view! {
        <div class="pair lookup-where">
            {picker}
            <input type="text" class="mono lookup-where-value" aria-label="Value (Rhai expression)" placeholder="vars.m.message_id"
                readonly=ro prop:value=expr0
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    rows.update_untracked(|r| if let Some(x) = r.iter_mut().find(|x| x.0 == id) { x.2 = v; });
                    write();
                }/>
            {(!ro).then(|| view! {
                <button class="icon-btn" type="button" aria-label="Remove field" title="Remove"
                    on:click=move |_| { rows.update(|r| r.retain(|x| x.0 != id)); write(); }>"×"</button>
            })}
        </div>
        {not_offered}
        {field_problems(ctx, p, i, move |f| f.strip_prefix("where.").is_some_and(|f| name.with_untracked(|n| n.trim() == f)))}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_field_is_offered_first_and_once() {
        let all = offered(Some("email".into()), vec!["company".into(), "email".into()]);
        assert_eq!(all, ["email", "company"]);
        assert!(offered(None, Vec::new()).is_empty());
    }

    #[test]
    fn blank_rows_are_left_out_of_where() {
        let rows = vec![
            (0, " email ".to_owned(), "vars.m.email".to_owned()),
            (1, "  ".to_owned(), "x".to_owned()),
            (2, "company".to_owned(), String::new()),
        ];
        let w = filter_of(&rows);
        assert_eq!(w.len(), 2);
        assert_eq!(w.get("email").map(String::as_str), Some("vars.m.email"));
        assert_eq!(w.get("company").map(String::as_str), Some(""));
        assert!(twice(&rows).is_empty());
        let again = [
            rows[0].clone(),
            (3, "email".to_owned(), "y".to_owned()),
            rows[0].clone(),
        ];
        assert_eq!(twice(&again), ["email"]);
    }
}
