//! The steps as a vertical pipeline of cards: add from a palette, reorder (drag, or move
//! up/down), collapse, disable, delete; each card has a form fitted to its type. Conditions
//! hold nested `then`/`else` pipelines.

use std::collections::BTreeMap;

use flowgate_api::secrets::SecretOut;
use flowgate_api::Page;
use flows_runtime::model::{LogLevel, Step};
use leptos::prelude::*;

use super::ctx::{Ctx, ListPath};
use super::edit::{edit_step, non_blank, restructure, set_disabled, set_name, step_index};
use super::fields::{step_check, var_field, JsonField, PairRows, ValueEditor, VarField};
use super::http_step::http_form;
use crate::api;
use crate::components::CodeArea;

/// What each step type is for (palette and card headers).
const PALETTE: &[(&str, &str, &str)] = &[
    (
        "map",
        "Map",
        "Pick fields from the request with JSONPath into a variable",
    ),
    ("script", "Script", "Transform with a Rhai script"),
    (
        "http",
        "HTTP call",
        "Call another system's API; the answer lands in a variable",
    ),
    ("condition", "Condition", "Run one branch or the other"),
    ("respond", "Respond", "Answer the caller and end the flow"),
    (
        "fail",
        "Fail",
        "Refuse the call with a 4xx/5xx and a message",
    ),
    (
        "emit",
        "Emit event",
        "Publish an event to the subscribers of its type",
    ),
    ("log", "Log", "Write a line into the execution's log"),
    (
        "store",
        "Store",
        "Insert, upsert or delete records of a data store table",
    ),
    (
        "lookup",
        "Lookup",
        "Read records of a data store table into a variable",
    ),
];

fn label_of(t: &str) -> &'static str {
    PALETTE
        .iter()
        .find(|p| p.0 == t)
        .map(|p| p.1)
        .unwrap_or("Step")
}

fn new_step(t: &str) -> Option<Step> {
    let v = match t {
        "map" => {
            serde_json::json!({"type": "map", "to": "mapped", "fields": {"id": "$.request.body.id"}})
        }
        "script" => {
            serde_json::json!({"type": "script", "code": "// `request` is the call, `vars` what earlier steps made.\nvars.count = 1;\n"})
        }
        "condition" => {
            serde_json::json!({"type": "condition", "if": "request.body.eventType == \"UPDATE\""})
        }
        "respond" => serde_json::json!({"type": "respond", "status": 200, "body_expr": "vars"}),
        "fail" => {
            serde_json::json!({"type": "fail", "status": 422, "message": "the call cannot be processed"})
        }
        "log" => serde_json::json!({"type": "log", "message": "reached this step"}),
        "http" => {
            serde_json::json!({"type": "http", "method": "GET", "url": "https://api.example.com/users/${vars.mapped.id}", "to": "response"})
        }
        "emit" => {
            serde_json::json!({"type": "emit", "event": "customer.updated", "payload_expr": "vars"})
        }
        "store" => {
            serde_json::json!({"type": "store", "table": "records", "action": "upsert", "record_expr": "vars.mapped"})
        }
        "lookup" => {
            serde_json::json!({"type": "lookup", "table": "records", "key_expr": "request.body.id", "to": "record"})
        }
        _ => return None,
    };
    serde_json::from_value(v).ok()
}

#[component]
pub fn Pipeline(ctx: Ctx) -> impl IntoView {
    // Names of stored secrets, offered where an HTTP step asks for one.
    let secret_names = RwSignal::new(Vec::<String>::new());
    leptos::task::spawn_local(async move {
        if let Ok(page) = api::get::<Page<SecretOut>>("/secrets").await {
            secret_names.try_set(page.items.into_iter().map(|s| s.name).collect());
        }
    });
    view! {
        <div class="pipeline" id="pipeline">
            <div class="pipeline-title section-title">"Flow"</div>
            {move || {
                ctx.structure.track();
                let steps = ctx.doc.with_untracked(|d| d.steps.clone());
                step_list(ctx, Vec::new(), steps)
            }}
            <datalist id="secret-names">
                {move || secret_names.get().into_iter().map(|n| view! { <option value=n></option> }).collect_view()}
            </datalist>
            <datalist id="jsonpath-suggestions">
                {move || ctx.paths.get().into_iter().map(|p| view! { <option value=p></option> }).collect_view()}
            </datalist>
        </div>
    }
}

fn step_list(ctx: Ctx, path: ListPath, steps: Vec<Step>) -> AnyView {
    let n = steps.len();
    let root = path.is_empty();
    let cards = steps
        .into_iter()
        .enumerate()
        .map(|(i, s)| step_card(ctx, path.clone(), i, n, s))
        .collect_view();
    view! {
        <div class=if root { "step-list root" } else { "step-list nested" }>
            {(n == 0 && root).then(|| view! {
                <div class="empty small-empty">"No steps yet. Add one: a Map to pick fields from the request, then a Respond to answer."</div>
            })}
            {cards}
            {(!ctx.readonly).then(|| view! { <AddStep ctx=ctx path=path.clone()/> })}
        </div>
    }
    .into_any()
}

#[component]
fn AddStep(ctx: Ctx, path: ListPath) -> impl IntoView {
    let open = RwSignal::new(false);
    let root = path.is_empty();
    let path = StoredValue::new(path);
    view! {
        <div class="add-step-wrap">
            <button class="btn btn-small add-step" id=root.then_some("add-step") type="button"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)>"+ Add step"</button>
            <Show when=move || open.get()>
                <div class="palette" role="menu">
                    {PALETTE.iter().map(|(t, label, what)| {
                        let t = *t;
                        view! {
                            <button class="palette-item" role="menuitem" type="button" data-type=t on:click=move |_| {
                                if let Some(step) = new_step(t) {
                                    restructure(ctx, &path.get_value(), |l| l.push(step));
                                }
                                open.set(false);
                            }>
                                <span class=format!("step-type type-{t}")>{*label}</span>
                                <span class="palette-what">{*what}</span>
                            </button>
                        }
                    }).collect_view()}
                </div>
            </Show>
        </div>
    }
}

fn step_card(ctx: Ctx, path: ListPath, i: usize, n: usize, step: Step) -> impl IntoView {
    let index = step_index(&path, i);
    let t = step.type_name();
    let name = step.name().unwrap_or_default().to_owned();
    let disabled = step.is_disabled();
    let idx = StoredValue::new(index.clone());
    let p = StoredValue::new(path.clone());
    let collapsed = move || ctx.collapsed.with(|c| c.contains(&idx.get_value()));
    let problems = move || ctx.problems_of(&idx.get_value());
    let ro = ctx.readonly;
    let is_first = i == 0;
    let is_last = i + 1 >= n;
    let body = step_body(ctx, path.clone(), i, step);

    view! {
        <div class="step-card" class:has-problems=move || !problems().is_empty() class:is-disabled=disabled
            data-index=index.clone() data-type=t
            on:dragover=move |ev| {
                if ctx.drag.with_untracked(|d| d.as_ref().is_some_and(|(dp, _)| *dp == p.get_value())) {
                    ev.prevent_default();
                }
            }
            on:drop=move |ev| {
                ev.prevent_default();
                if let Some((dp, from)) = ctx.drag.get_untracked() {
                    if dp == p.get_value() && from != i {
                        restructure(ctx, &dp, |l| {
                            if from < l.len() {
                                let s = l.remove(from);
                                l.insert(i.min(l.len()), s);
                            }
                        });
                    }
                }
                ctx.drag.set(None);
            }>
            <div class="step-head">
                {(!ro).then(|| view! {
                    <span class="drag-handle" draggable="true" title="Drag to reorder" aria-hidden="true"
                        on:dragstart=move |_| ctx.drag.set(Some((p.get_value(), i)))
                        on:dragend=move |_| ctx.drag.set(None)>"⋮⋮"</span>
                })}
                <span class="step-no">{index.clone()}</span>
                <span class=format!("step-type type-{t}")>{label_of(t)}</span>
                <input class="step-name" type="text" placeholder="Name this step" aria-label=format!("Name of step {index}")
                    readonly=ro prop:value=name
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        let v = non_blank(v);
                        edit_step(ctx, &p.get_value(), i, |s| set_name(s, v));
                    }/>
                <label class="check small toggle" title="A disabled step is skipped">
                    <input type="checkbox" prop:checked=!disabled disabled=ro
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            edit_step(ctx, &p.get_value(), i, |s| set_disabled(s, !on));
                            ctx.structure.update(|n| *n += 1);
                        }/>"on"
                </label>
                <button class="icon-btn" type="button" title="Collapse" aria-label="Collapse or expand"
                    on:click=move |_| ctx.collapsed.update(|c| { let k = idx.get_value(); if !c.remove(&k) { c.insert(k); } })>
                    {move || if collapsed() { "▸" } else { "▾" }}</button>
                {(!ro).then(|| view! {
                    <button class="icon-btn move-up" type="button" title="Move up" aria-label="Move up" disabled=is_first
                        on:click=move |_| restructure(ctx, &p.get_value(), |l| { if 0 < i && i < l.len() { l.swap(i, i - 1) } })>"↑"</button>
                    <button class="icon-btn move-down" type="button" title="Move down" aria-label="Move down" disabled=is_last
                        on:click=move |_| restructure(ctx, &p.get_value(), |l| if i + 1 < l.len() { l.swap(i, i + 1) })>"↓"</button>
                    <button class="icon-btn delete-step" type="button" title="Delete step" aria-label="Delete step"
                        on:click=move |_| restructure(ctx, &p.get_value(), |l| if i < l.len() { l.remove(i); })>"✕"</button>
                })}
            </div>
            {move || {
                let ps = problems();
                (!ps.is_empty()).then(|| view! {
                    <ul class="step-problems">
                        {ps.into_iter().map(|d| {
                            let field = d.field.clone().unwrap_or_default();
                            view! { <li class="problem" data-field=field.clone()>
                                {(!field.is_empty()).then(|| view! { <b>{field.clone()}": "</b> })}{d.message}</li> }
                        }).collect_view()}
                    </ul>
                })
            }}
            <div class="step-body" class:hidden=collapsed>{body}</div>
        </div>
    }
}

fn step_body(ctx: Ctx, path: ListPath, i: usize, step: Step) -> AnyView {
    let p = StoredValue::new(path.clone());
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
            let mut then_path = path.clone();
            then_path.push((i, true));
            let mut else_path = path.clone();
            else_path.push((i, false));
            view! {
                <div class="field">
                    <label>"If (Rhai expression)"</label>
                    <input type="text" class="mono condition-if" aria-label="Condition (Rhai expression)" readonly=ro prop:value=c.condition
                        on:input=move |ev| {
                            let v = event_target_value(&ev);
                            edit_step(ctx, &p.get_value(), i, |s| if let Step::Condition(x) = s { x.condition = v; });
                        }/>
                </div>
                <div class="branch branch-then"><div class="branch-label">"Then"</div>{step_list(ctx, then_path, c.then)}</div>
                <div class="branch branch-else"><div class="branch-label">"Else"</div>{step_list(ctx, else_path, c.otherwise)}</div>
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
        Step::Try(_) | Step::ForEach(_) => {
            view! { <div class="hint">"This step's nested steps are not editable here yet."</div> }.into_any()
        }
        step @ (Step::Store(_) | Step::Lookup(_)) => json_form(ctx, p, i, step),
    }
}

/// A step edited as its JSON (store, lookup): every text that parses as a step of the same
/// type replaces it; its name and switch stay in the card's head.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_palette_entry_makes_a_step_of_its_type() {
        for (t, _, _) in PALETTE {
            assert_eq!(new_step(t).map(|s| s.type_name()), Some(*t));
        }
        assert!(new_step("webhook").is_none());
    }
}
