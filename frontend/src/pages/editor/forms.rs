//! Each step type's form: the fields of the step in a card (nested lists are drawn by the
//! card, see `steps.rs`).

use std::collections::BTreeMap;

use flows_runtime::model::{ForEachStep, LogLevel, Step, MAX_FOR_EACH_ITEMS};
use leptos::prelude::*;

use super::ctx::{Ctx, ListPath};
use super::edit::{edit_step, non_blank, set_disabled, set_name};
use super::fields::{step_check, var_field, JsonField, PairRows, ValueEditor, VarField};
use super::http_step::http_form;
use super::lookup_step::lookup_form;
use super::palette::label_of;
use super::sql_step::sql_form;
use super::store_step::store_form;
use crate::components::CodeArea;

/// The fields of step `i` of the list at `path`.
pub fn step_form(ctx: Ctx, path: ListPath, i: usize, step: Step) -> AnyView {
    let p = StoredValue::new(path);
    let ro = ctx.readonly;
    match step {
        Step::Map(m) => {
            let to = m.to.clone().unwrap_or_default();
            let rows: Vec<(String, String)> = m.fields.into_iter().collect();
            view! {
                <div class="row">
                    {var_field(ctx, p, i, VarField {
                        label: "Into variable",
                        class: "mono map-to",
                        placeholder: "mapped",
                        hint: "Later steps read the fields as vars.<name>.<field>.",
                        value: to,
                        set: |s, v| if let Step::Map(m) = s { m.to = v },
                    })}
                    {step_check(ctx, p, i, "margin-bottom: 18px", m.merge, "Merge into vars itself",
                        |s, on| if let Step::Map(m) = s { m.merge = on })}
                </div>
                <PairRows ctx=ctx rows=rows key_label="Field" value_label="JSONPath" key_placeholder="customerId"
                    value_placeholder="$.request.body.id" class="map-field" suggestions=true
                    on_change=Callback::new(move |rows: Vec<(String, String)>| {
                        edit_step(ctx, &p.get_value(), i, |s| if let Step::Map(m) = s {
                            m.fields = rows.into_iter().filter(|(k, _)| !k.trim().is_empty()).collect::<BTreeMap<_, _>>();
                        });
                    })/>
            }
            .into_any()
        }
        Step::Script(s) => view! {
            <CodeArea value=s.code label="Rhai script" rows=8 readonly=ro
                on_input=Callback::new(move |v: String| edit_step(ctx, &p.get_value(), i, |s| if let Step::Script(x) = s { x.code = v; }))/>
            <div class="hint">"Rhai. "<span class="mono">"request"</span>" is the call (method, path, query, headers, body); assign to "<span class="mono">"vars.x"</span>" for later steps; "<span class="mono">"respond(status, body)"</span>" answers."</div>
        }
        .into_any(),
        Step::Condition(c) => {
            view! {
                <div class="field">
                    <label>"If (Rhai expression)"</label>
                    <input type="text" class="mono condition-if" aria-label="Condition (Rhai expression)" readonly=ro prop:value=c.condition
                        on:input=move |ev| {
                            let v = event_target_value(&ev);
                            edit_step(ctx, &p.get_value(), i, |s| if let Step::Condition(x) = s { x.condition = v; });
                        }/>
                </div>
            }
            .into_any()
        }
        Step::Respond(r) => {
            let mode = if r.body_expr.is_some() { "expr" } else if r.body.is_some() { "json" } else { "none" };
            let mode = RwSignal::new(mode.to_owned());
            let json_text = r
                .body
                .as_ref()
                .map(|b| serde_json::to_string_pretty(b).unwrap_or_default())
                .unwrap_or_else(|| "{\n  \"ok\": true\n}".to_owned());
            let expr_text = r.body_expr.clone().unwrap_or_else(|| "vars".to_owned());
            let json_error = RwSignal::new(None::<String>);
            let json_text = StoredValue::new(json_text);
            let expr_text = StoredValue::new(expr_text);
            let headers: Vec<(String, String)> = r.headers.into_iter().collect();
            let has_headers = !headers.is_empty();
            let apply_mode = move |m: String| {
                let (jt, et) = (json_text.get_value(), expr_text.get_value());
                edit_step(ctx, &p.get_value(), i, |s| if let Step::Respond(x) = s {
                    match m.as_str() {
                        "json" => { x.body_expr = None; x.body = serde_json::from_str(&jt).ok(); }
                        "expr" => { x.body = None; x.body_expr = Some(et); }
                        _ => { x.body = None; x.body_expr = None; }
                    }
                });
                mode.set(m);
            };
            view! {
                <div class="row">
                    <div class="field" style="max-width: 140px">
                        <label>"Status"</label>
                        <input type="number" min="200" max="599" class="respond-status" aria-label="Response status" readonly=ro prop:value=r.status.to_string()
                            on:input=move |ev| {
                                if let Ok(v) = event_target_value(&ev).parse::<u16>() {
                                    edit_step(ctx, &p.get_value(), i, |s| if let Step::Respond(x) = s { x.status = v; });
                                }
                            }/>
                    </div>
                    <div class="field" style="max-width: 240px">
                        <label>"Body"</label>
                        <select class="respond-body-mode" aria-label="Response body" disabled=ro on:change=move |ev| apply_mode(event_target_value(&ev))>
                            <option value="expr" selected=mode.get_untracked() == "expr">"Computed (Rhai expression)"</option>
                            <option value="json" selected=mode.get_untracked() == "json">"Fixed JSON"</option>
                            <option value="none" selected=mode.get_untracked() == "none">"Empty"</option>
                        </select>
                    </div>
                </div>
                {move || match mode.get().as_str() {
                    "json" => view! {
                        <JsonField text=json_text error=json_error label="Response body (JSON)" rows=5 readonly=ro
                            on_value=move |val| edit_step(ctx, &p.get_value(), i, |s| if let Step::Respond(x) = s { x.body = Some(val); })/>
                    }.into_any(),
                    "expr" => view! {
                        <CodeArea value=expr_text.get_value() label="Response body (Rhai expression)" rows=3 readonly=ro
                            on_input=Callback::new(move |v: String| {
                                expr_text.set_value(v.clone());
                                edit_step(ctx, &p.get_value(), i, |s| if let Step::Respond(x) = s { x.body_expr = Some(v); });
                            })/>
                        <div class="hint">"e.g. "<span class="mono">"#{ id: vars.mapped.id, ok: true }"</span>" — objects are answered as JSON, strings as text."</div>
                    }.into_any(),
                    _ => view! { <div class="hint">"The answer has no body."</div> }.into_any(),
                }}
                <details class="sub-details" open=has_headers>
                    <summary>"Response headers"</summary>
                    <PairRows ctx=ctx rows=headers key_label="Header" value_label="Value" key_placeholder="x-request-id"
                        value_placeholder="abc" class="respond-header" suggestions=false
                        on_change=Callback::new(move |rows: Vec<(String, String)>| {
                            edit_step(ctx, &p.get_value(), i, |s| if let Step::Respond(x) = s {
                                x.headers = rows.into_iter().filter(|(k, _)| !k.trim().is_empty()).collect();
                            });
                        })/>
                </details>
            }
            .into_any()
        }
        Step::Fail(f) => {
            let expr = f.message_expr.is_some();
            let text = f.message_expr.clone().or(f.message.clone()).unwrap_or_default();
            message_form(ctx, p, i, Some(f.status), None, expr, text)
        }
        Step::Log(l) => {
            let expr = l.message_expr.is_some();
            let text = l.message_expr.clone().or(l.message.clone()).unwrap_or_default();
            message_form(ctx, p, i, None, Some(l.level), expr, text)
        }
        Step::Http(h) => http_form(ctx, p, i, *h),
        Step::Emit(e) => {
            let p2 = p;
            view! {
                <div class="field">
                    <label>"Event type"</label>
                    <input type="text" class="mono emit-event" aria-label="Event type" placeholder="customer.updated" readonly=ro
                        prop:value=e.event.clone()
                        on:input=move |ev| {
                            let v = event_target_value(&ev);
                            edit_step(ctx, &p2.get_value(), i, |s| if let Step::Emit(x) = s { x.event = v; });
                        }/>
                    <div class="hint">"Subscriptions receive it when one of their patterns matches (customer.* or *)."</div>
                </div>
                <ValueEditor ctx=ctx label="Payload" json=e.payload.clone() expr=e.payload_expr.clone() allow_none=false
                    on_change=Callback::new(move |(json, expr): (Option<serde_json::Value>, Option<String>)| {
                        edit_step(ctx, &p2.get_value(), i, |s| if let Step::Emit(x) = s { x.payload = json; x.payload_expr = expr; });
                    })/>
            }
            .into_any()
        }
        Step::Try(_) => view! {
            <div class="hint">
                "The steps below run in order. If one raises an error (a script error or "<span class="mono">"throw"</span>
                ", a failed HTTP call, a bad value), the rest is skipped and Catch runs with "
                <span class="mono">"vars.error"</span>" = "<span class="mono nowrap">"#{message, step, step_type}"</span>
                "; then the flow goes on after the try. An empty Catch ignores the error."
            </div>
        }
        .into_any(),
        Step::ForEach(f) => for_each_form(ctx, p, i, f),
        Step::Store(s) => store_form(ctx, p, i, s),
        Step::Lookup(l) => lookup_form(ctx, p, i, l),
        Step::Sql(s) => sql_form(ctx, p, i, s),
        // Every type has a form today; one added to the model is edited as its JSON until it
        // has one.
        #[allow(unreachable_patterns)]
        other => json_form(ctx, p, i, other),
    }
}

/// The for-each form: the items (a Rhai expression), the variables each run sees, and the
/// most items it accepts.
fn for_each_form(ctx: Ctx, p: StoredValue<ListPath>, i: usize, f: ForEachStep) -> AnyView {
    let ro = ctx.readonly;
    let names = RwSignal::new((f.item_var.clone(), f.index_var.clone()));
    let hint = move || {
        names.with(|(item, index)| {
            format!(
                "Each run sees the item as vars.{item} and its position (from 0) as vars.{index}. \
                 Something other than an array, or more items than the limit, is an error."
            )
        })
    };
    view! {
        <div class="field">
            <label>"Items (Rhai expression giving an array)"</label>
            <input type="text" class="mono foreach-items" aria-label="Items (Rhai expression giving an array)"
                placeholder="request.body.items" readonly=ro prop:value=f.items
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    edit_step(ctx, &p.get_value(), i, |s| if let Step::ForEach(x) = s { x.items = v; });
                }/>
        </div>
        <div class="row">
            <div class="field">
                <label>"Item variable"</label>
                <input type="text" class="mono foreach-as" aria-label="Item variable" placeholder="item" readonly=ro
                    prop:value=f.item_var
                    on:input=move |ev| {
                        let v = non_blank(event_target_value(&ev)).unwrap_or_else(|| "item".to_owned());
                        names.update(|n| n.0 = v.clone());
                        edit_step(ctx, &p.get_value(), i, |s| if let Step::ForEach(x) = s { x.item_var = v; });
                    }/>
            </div>
            <div class="field">
                <label>"Index variable"</label>
                <input type="text" class="mono foreach-index-as" aria-label="Index variable" placeholder="index" readonly=ro
                    prop:value=f.index_var
                    on:input=move |ev| {
                        let v = non_blank(event_target_value(&ev)).unwrap_or_else(|| "index".to_owned());
                        names.update(|n| n.1 = v.clone());
                        edit_step(ctx, &p.get_value(), i, |s| if let Step::ForEach(x) = s { x.index_var = v; });
                    }/>
            </div>
            <div class="field field-narrow">
                <label>"At most (items)"</label>
                <input type="number" min="1" max=MAX_FOR_EACH_ITEMS.to_string() class="foreach-max" aria-label="Most items"
                    readonly=ro prop:value=f.max_items.to_string()
                    on:input=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse::<u32>() {
                            edit_step(ctx, &p.get_value(), i, |s| if let Step::ForEach(x) = s { x.max_items = v; });
                        }
                    }/>
            </div>
        </div>
        <div class="hint">{hint}</div>
    }
    .into_any()
}

/// A step edited as its JSON (a type without a form of its own): every text that parses as a
/// step of the same type replaces it; its name and switch stay in the card's head.
fn json_form(ctx: Ctx, p: StoredValue<ListPath>, i: usize, step: Step) -> AnyView {
    let t = step.type_name();
    let mut v = serde_json::to_value(&step).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.remove("name");
        m.remove("disabled");
    }
    let text = StoredValue::new(serde_json::to_string_pretty(&v).unwrap_or_default());
    let error = RwSignal::new(None::<String>);
    let on_value = move |val: serde_json::Value| match serde_json::from_value::<Step>(val) {
        Ok(mut new) if new.type_name() == t => {
            edit_step(ctx, &p.get_value(), i, |s| {
                set_name(&mut new, s.name().map(str::to_owned));
                set_disabled(&mut new, s.is_disabled());
                *s = new;
            });
        }
        Ok(_) => error.set(Some(format!(
            "Keep \"type\": \"{t}\" (add another step for another type)."
        ))),
        Err(e) => error.set(Some(format!("Not a valid {t} step yet: {e}"))),
    };
    view! {
        <JsonField text=text error=error label=format!("{} step (JSON)", label_of(t)) rows=6 readonly=ctx.readonly
            on_value=on_value/>
        <div class="hint">"Its fields are described in the flow reference (docs/flows.md)."</div>
    }
    .into_any()
}

/// The form of `fail` (status + message) and `log` (level + message): a message is text or a
/// Rhai expression.
fn message_form(
    ctx: Ctx,
    p: StoredValue<ListPath>,
    i: usize,
    status: Option<u16>,
    level: Option<LogLevel>,
    expr: bool,
    text: String,
) -> AnyView {
    let ro = ctx.readonly;
    let expr = RwSignal::new(expr);
    let text = StoredValue::new(text);
    let write = move || {
        let (e, t) = (expr.get_untracked(), text.get_value());
        edit_step(ctx, &p.get_value(), i, |s| match s {
            Step::Fail(f) => {
                if e {
                    f.message = None;
                    f.message_expr = Some(t);
                } else {
                    f.message_expr = None;
                    f.message = Some(t);
                }
            }
            Step::Log(l) => {
                if e {
                    l.message = None;
                    l.message_expr = Some(t);
                } else {
                    l.message_expr = None;
                    l.message = Some(t);
                }
            }
            _ => {}
        });
    };
    view! {
        <div class="row">
            {status.map(|st| view! {
                <div class="field" style="max-width: 140px">
                    <label>"Status"</label>
                    <input type="number" min="400" max="599" class="fail-status" aria-label="Failure status" readonly=ro prop:value=st.to_string()
                        on:input=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<u16>() {
                                edit_step(ctx, &p.get_value(), i, |s| if let Step::Fail(x) = s { x.status = v; });
                            }
                        }/>
                </div>
            })}
            {level.map(|lv| view! {
                <div class="field" style="max-width: 140px">
                    <label>"Level"</label>
                    <select class="log-level" aria-label="Log level" disabled=ro on:change=move |ev| {
                        let v = event_target_value(&ev);
                        let lv = match v.as_str() { "debug" => LogLevel::Debug, "warn" => LogLevel::Warn, "error" => LogLevel::Error, _ => LogLevel::Info };
                        edit_step(ctx, &p.get_value(), i, |s| if let Step::Log(x) = s { x.level = lv; });
                    }>
                        {["debug", "info", "warn", "error"].into_iter().map(|l| view! {
                            <option value=l selected=lv.as_str() == l>{l}</option>
                        }).collect_view()}
                    </select>
                </div>
            })}
            <label class="check" style="margin-bottom: 18px">
                <input type="checkbox" prop:checked=move || expr.get() disabled=ro on:change=move |ev| {
                    expr.set(event_target_checked(&ev));
                    write();
                }/>"Message is a Rhai expression"
            </label>
        </div>
        <div class="field">
            <label>"Message"</label>
            <input type="text" aria-label="Message" class=move || if expr.get() { "mono step-message" } else { "step-message" } readonly=ro
                prop:value=text.get_value()
                on:input=move |ev| { text.set_value(event_target_value(&ev)); write(); }/>
        </div>
    }
    .into_any()
}
