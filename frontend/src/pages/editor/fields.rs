//! Form pieces the step forms share: name/value rows, and a value given as JSON or as a Rhai
//! expression.

use leptos::prelude::*;

use flows_runtime::model::Step;

use super::ctx::{Ctx, ListPath};
use super::edit::{edit_step, non_blank, step_index};
use crate::components::CodeArea;

/// Editable name/value rows (map fields, headers, query parameters). Rows keep their order
/// while typing; the document receives them through `on_change`.
#[component]
pub fn PairRows(
    ctx: Ctx,
    rows: Vec<(String, String)>,
    key_label: &'static str,
    value_label: &'static str,
    key_placeholder: &'static str,
    value_placeholder: &'static str,
    class: &'static str,
    suggestions: bool,
    #[prop(into)] on_change: Callback<Vec<(String, String)>>,
) -> impl IntoView {
    let ro = ctx.readonly;
    let next = StoredValue::new(rows.len() as u32);
    let rows = RwSignal::new(
        rows.into_iter()
            .enumerate()
            .map(|(n, (k, v))| (n as u32, k, v))
            .collect::<Vec<_>>(),
    );
    let emit = move || {
        on_change.run(
            rows.with_untracked(|r| r.iter().map(|(_, k, v)| (k.clone(), v.clone())).collect()),
        )
    };
    let dupes = move || {
        rows.with(|r| {
            let mut seen = std::collections::HashSet::new();
            r.iter()
                .filter(|(_, k, _)| !k.is_empty() && !seen.insert(k.clone()))
                .map(|(_, k, _)| k.clone())
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div class=format!("pairs {class}s")>
            <div class="pair pair-head"><span>{key_label}</span><span>{value_label}</span><span></span></div>
            <For each=move || rows.get() key=|r| r.0 let:row>
                {
                    let id = row.0;
                    view! {
                        <div class=format!("pair {class}")>
                            <input type="text" class=format!("mono {class}-name") placeholder=key_placeholder readonly=ro
                                aria-label=key_label prop:value=row.1.clone()
                                on:input=move |ev| {
                                    let v = event_target_value(&ev);
                                    rows.update_untracked(|r| if let Some(x) = r.iter_mut().find(|x| x.0 == id) { x.1 = v; });
                                    rows.notify();
                                    emit();
                                }/>
                            <input type="text" class=format!("mono {class}-value") placeholder=value_placeholder readonly=ro
                                aria-label=value_label prop:value=row.2.clone()
                                list=suggestions.then_some("jsonpath-suggestions")
                                on:input=move |ev| {
                                    let v = event_target_value(&ev);
                                    rows.update_untracked(|r| if let Some(x) = r.iter_mut().find(|x| x.0 == id) { x.2 = v; });
                                    emit();
                                }/>
                            {(!ro).then(|| view! {
                                <button class="icon-btn" type="button" aria-label="Remove row" title="Remove"
                                    on:click=move |_| { rows.update(|r| r.retain(|x| x.0 != id)); emit(); }>"×"</button>
                            })}
                        </div>
                    }
                }
            </For>
            {move || {
                let d = dupes();
                (!d.is_empty()).then(|| view! { <div class="field-error">{format!("Used twice (the last one wins): {}", d.join(", "))}</div> })
            }}
            {(!ro).then(|| view! {
                <button class=format!("btn-link add-{class}") type="button" on:click=move |_| {
                    let n = next.get_value();
                    next.set_value(n + 1);
                    rows.update(|r| r.push((n, String::new(), String::new())));
                }>{format!("+ Add {}", key_label.to_lowercase())}</button>
            })}
        </div>
    }
}

/// A value given as a fixed JSON literal or computed by a Rhai expression (an HTTP body, an
/// event's payload); `allow_none` offers "nothing" too.
#[component]
pub fn ValueEditor(
    ctx: Ctx,
    label: &'static str,
    json: Option<serde_json::Value>,
    expr: Option<String>,
    allow_none: bool,
    #[prop(into)] on_change: Callback<(Option<serde_json::Value>, Option<String>)>,
) -> impl IntoView {
    let ro = ctx.readonly;
    let mode = if expr.is_some() {
        "expr"
    } else if json.is_some() || !allow_none {
        "json"
    } else {
        "none"
    };
    let mode = RwSignal::new(mode.to_owned());
    let json_text = StoredValue::new(
        json.as_ref()
            .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
            .unwrap_or_else(|| "{}".to_owned()),
    );
    let expr_text = StoredValue::new(expr.unwrap_or_else(|| "vars".to_owned()));
    let json_error = RwSignal::new(None::<String>);
    let emit = move || match mode.get_untracked().as_str() {
        "expr" => on_change.run((None, Some(expr_text.get_value()))),
        "json" => on_change.run((serde_json::from_str(&json_text.get_value()).ok(), None)),
        _ => on_change.run((None, None)),
    };
    view! {
        <div class="field">
            <label>{label}</label>
            <select class="value-mode" aria-label=format!("{label}: how it is given") disabled=ro
                on:change=move |ev| { mode.set(event_target_value(&ev)); emit(); }>
                <option value="expr" selected=mode.get_untracked() == "expr">"Computed (Rhai expression)"</option>
                <option value="json" selected=mode.get_untracked() == "json">"Fixed JSON"</option>
                {allow_none.then(|| view! { <option value="none" selected=mode.get_untracked() == "none">"None"</option> })}
            </select>
        </div>
        {move || match mode.get().as_str() {
            "json" => view! {
                <JsonField text=json_text error=json_error label=format!("{label} (JSON)") rows=4 readonly=ro
                    on_value=move |val| on_change.run((Some(val), None))/>
            }.into_any(),
            "expr" => view! {
                <CodeArea value=expr_text.get_value() label=format!("{label} (Rhai expression)") rows=3 readonly=ro
                    on_input=Callback::new(move |v: String| { expr_text.set_value(v.clone()); on_change.run((None, Some(v))); })/>
            }.into_any(),
            _ => ().into_any(),
        }}
    }
}

/// A JSON literal being typed: each text that parses goes to `on_value`; until then, why it
/// does not shows below. `text` and `error` belong to the step's form, so switching to another
/// mode and back keeps both.
#[component]
pub fn JsonField(
    text: StoredValue<String>,
    error: RwSignal<Option<String>>,
    #[prop(into)] label: String,
    rows: usize,
    readonly: bool,
    #[prop(into)] on_value: Callback<serde_json::Value>,
) -> impl IntoView {
    view! {
        <CodeArea value=text.get_value() label=label rows=rows readonly=readonly
            on_input=Callback::new(move |v: String| {
                text.set_value(v.clone());
                match serde_json::from_str::<serde_json::Value>(&v) {
                    Ok(val) => {
                        error.set(None);
                        on_value.run(val);
                    }
                    Err(e) => error.set(Some(format!("Not valid JSON yet: {e}"))),
                }
            })/>
        {move || error.get().map(|e| view! { <div class="field-error">{e}</div> })}
    }
}

/// A field naming the variable a step writes (`vars.<name>`, the step's `to`, whose problems
/// show under it); blank means the step's default.
pub struct VarField {
    pub label: &'static str,
    pub class: &'static str,
    pub placeholder: &'static str,
    pub hint: &'static str,
    pub value: String,
    pub set: fn(&mut Step, Option<String>),
}

pub fn var_field(ctx: Ctx, p: StoredValue<ListPath>, i: usize, f: VarField) -> impl IntoView {
    let VarField {
        label,
        class,
        placeholder,
        hint,
        value,
        set,
    } = f;
    view! {
        <div class="field">
            <label>{label}</label>
            <input type="text" class=class placeholder=placeholder aria-label=label readonly=ctx.readonly prop:value=value
                on:input=move |ev| {
                    let v = non_blank(event_target_value(&ev));
                    edit_step(ctx, &p.get_value(), i, |s| set(s, v));
                }/>
            {field_problems(ctx, p, i, |f| f == "to")}
            <div class="hint">{hint}</div>
        </div>
    }
}

/// A checkbox of a step's form, written back through `set`.
pub fn step_check(
    ctx: Ctx,
    p: StoredValue<ListPath>,
    i: usize,
    style: &'static str,
    checked: bool,
    text: &'static str,
    set: fn(&mut Step, bool),
) -> impl IntoView {
    view! {
        <label class="check" style=style>
            <input type="checkbox" prop:checked=checked disabled=ctx.readonly on:change=move |ev| {
                let on = event_target_checked(&ev);
                edit_step(ctx, &p.get_value(), i, |s| set(s, on));
            }/>{text}
        </label>
    }
}

/// The server's problems with the fields of step `i` that `field` accepts (`record_expr`,
/// `where.email`, `params[0]`), shown under the field they are about (the card's head lists
/// them too, for a collapsed card).
pub fn field_problems(
    ctx: Ctx,
    p: StoredValue<ListPath>,
    i: usize,
    field: impl Fn(&str) -> bool + Send + Sync + 'static,
) -> impl IntoView {
    move || {
        ctx.problems_of(&step_index(&p.get_value(), i))
            .into_iter()
            .filter_map(|d| {
                let f = d.field?;
                field(&f).then(|| view! { <div class="field-error field-problem" data-field=f>{d.message}</div> })
            })
            .collect_view()
    }
}
