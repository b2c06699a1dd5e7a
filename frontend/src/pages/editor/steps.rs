//! The steps as a vertical pipeline of cards: add from a palette, reorder (drag, or move
//! up/down), collapse, disable, delete; each card has a form fitted to its type. Conditions
//! hold nested `then`/`else` pipelines.

use std::collections::BTreeMap;

use flows_runtime::model::{
    HttpAuth, HttpBodyType, HttpMethod, HttpRetries, HttpStep, LogLevel, Step,
};
use leptos::prelude::*;

use super::Ctx;
use crate::components::CodeArea;

/// Where a list of steps sits: the root list is `[]`; `[(2, true)]` is the `then` branch of
/// the condition at index 2.
pub type ListPath = Vec<(usize, bool)>;

fn list_mut<'a>(steps: &'a mut Vec<Step>, path: &[(usize, bool)]) -> Option<&'a mut Vec<Step>> {
    match path.split_first() {
        None => Some(steps),
        Some(((i, then), rest)) => match steps.get_mut(*i) {
            Some(Step::Condition(c)) => {
                list_mut(if *then { &mut c.then } else { &mut c.otherwise }, rest)
            }
            _ => None,
        },
    }
}

/// The index the server uses for problems and traces: `2`, `2.then.0`, `2.else.1`.
pub fn step_index(path: &[(usize, bool)], i: usize) -> String {
    let mut s = String::new();
    for (j, then) in path {
        s.push_str(&format!("{j}.{}.", if *then { "then" } else { "else" }));
    }
    s.push_str(&i.to_string());
    s
}

fn edit_step(ctx: Ctx, path: &[(usize, bool)], i: usize, f: impl FnOnce(&mut Step)) {
    ctx.edit(|d| {
        if let Some(s) = list_mut(&mut d.steps, path).and_then(|l| l.get_mut(i)) {
            f(s)
        }
    });
}

fn restructure(ctx: Ctx, path: &[(usize, bool)], f: impl FnOnce(&mut Vec<Step>)) {
    ctx.edit(|d| {
        if let Some(list) = list_mut(&mut d.steps, path) {
            f(list)
        }
    });
    ctx.structure.update(|n| *n += 1);
}

fn set_name(s: &mut Step, name: Option<String>) {
    match s {
        Step::Map(x) => x.name = name,
        Step::Script(x) => x.name = name,
        Step::Condition(x) => x.name = name,
        Step::Respond(x) => x.name = name,
        Step::Fail(x) => x.name = name,
        Step::Log(x) => x.name = name,
        Step::Emit(x) => x.name = name,
        Step::Http(x) => x.name = name,
    }
}

fn set_disabled(s: &mut Step, disabled: bool) {
    match s {
        Step::Map(x) => x.disabled = disabled,
        Step::Script(x) => x.disabled = disabled,
        Step::Condition(x) => x.disabled = disabled,
        Step::Respond(x) => x.disabled = disabled,
        Step::Fail(x) => x.disabled = disabled,
        Step::Log(x) => x.disabled = disabled,
        Step::Emit(x) => x.disabled = disabled,
        Step::Http(x) => x.disabled = disabled,
    }
}

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
        _ => return None,
    };
    serde_json::from_value(v).ok()
}

#[component]
pub fn Pipeline(ctx: Ctx) -> impl IntoView {
    // Names of stored secrets, offered where an HTTP step asks for one.
    let secret_names = RwSignal::new(Vec::<String>::new());
    leptos::task::spawn_local(async move {
        if let Ok(page) =
            crate::api::get::<flowgate_api::Page<flowgate_api::secrets::SecretOut>>("/secrets")
                .await
        {
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
                        let v = (!v.trim().is_empty()).then_some(v);
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
                    <div class="field">
                        <label>"Into variable"</label>
                        <input type="text" class="mono map-to" placeholder="mapped" aria-label="Into variable" readonly=ro prop:value=to
                            on:input=move |ev| {
                                let v = event_target_value(&ev);
                                edit_step(ctx, &p.get_value(), i, |s| if let Step::Map(m) = s {
                                    m.to = (!v.trim().is_empty()).then_some(v);
                                });
                            }/>
                        <div class="hint">"Later steps read the fields as vars.<name>.<field>."</div>
                    </div>
                    <label class="check" style="margin-bottom: 18px">
                        <input type="checkbox" prop:checked=m.merge disabled=ro on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            edit_step(ctx, &p.get_value(), i, |s| if let Step::Map(m) = s { m.merge = on; });
                        }/>"Merge into vars itself"
                    </label>
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
                        <CodeArea value=json_text.get_value() label="Response body (JSON)" rows=5 readonly=ro
                            on_input=Callback::new(move |v: String| {
                                json_text.set_value(v.clone());
                                match serde_json::from_str::<serde_json::Value>(&v) {
                                    Ok(val) => {
                                        json_error.set(None);
                                        edit_step(ctx, &p.get_value(), i, |s| if let Step::Respond(x) = s { x.body = Some(val); });
                                    }
                                    Err(e) => json_error.set(Some(format!("Not valid JSON yet: {e}"))),
                                }
                            })/>
                        {move || json_error.get().map(|e| view! { <div class="field-error">{e}</div> })}
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
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn steps() -> Vec<Step> {
        serde_json::from_value(serde_json::json!([
            {"type": "log", "message": "a"},
            {"type": "condition", "if": "true",
             "then": [{"type": "log", "message": "t0"}, {"type": "condition", "if": "false", "else": [{"type": "log", "message": "deep"}]}],
             "else": [{"type": "fail", "status": 422}]}
        ]))
        .unwrap_or_default()
    }

    #[test]
    fn indexes_match_the_servers_scheme() {
        assert_eq!(step_index(&[], 3), "3");
        assert_eq!(step_index(&[(1, true)], 0), "1.then.0");
        assert_eq!(step_index(&[(1, true), (1, false)], 0), "1.then.1.else.0");
    }

    #[test]
    fn nested_lists_are_reached_by_path() {
        let mut s = steps();
        assert_eq!(s.len(), 2);
        assert_eq!(list_mut(&mut s, &[(1, true)]).map(|l| l.len()), Some(2));
        assert_eq!(list_mut(&mut s, &[(1, false)]).map(|l| l.len()), Some(1));
        let deep = list_mut(&mut s, &[(1, true), (1, false)]);
        assert_eq!(deep.map(|l| l[0].type_name()), Some("log"));
        // A path through something that is not a condition leads nowhere.
        assert!(list_mut(&mut s, &[(0, true)]).is_none());
        assert!(list_mut(&mut s, &[(9, true)]).is_none());
    }

    #[test]
    fn every_palette_entry_makes_a_step_of_its_type() {
        for (t, _, _) in PALETTE {
            assert_eq!(new_step(t).map(|s| s.type_name()), Some(*t));
        }
        assert!(new_step("webhook").is_none());
    }
}

/// A value given as a fixed JSON literal or computed by a Rhai expression (an HTTP body, an
/// event's payload); `allow_none` offers "nothing" too.
#[component]
fn ValueEditor(
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
                <CodeArea value=json_text.get_value() label=format!("{label} (JSON)") rows=4 readonly=ro
                    on_input=Callback::new(move |v: String| {
                        json_text.set_value(v.clone());
                        match serde_json::from_str::<serde_json::Value>(&v) {
                            Ok(val) => { json_error.set(None); on_change.run((Some(val), None)); }
                            Err(e) => json_error.set(Some(format!("Not valid JSON yet: {e}"))),
                        }
                    })/>
                {move || json_error.get().map(|e| view! { <div class="field-error">{e}</div> })}
            }.into_any(),
            "expr" => view! {
                <CodeArea value=expr_text.get_value() label=format!("{label} (Rhai expression)") rows=3 readonly=ro
                    on_input=Callback::new(move |v: String| { expr_text.set_value(v.clone()); on_change.run((None, Some(v))); })/>
            }.into_any(),
            _ => ().into_any(),
        }}
    }
}

fn auth_kind(a: &Option<HttpAuth>) -> &'static str {
    match a {
        None => "none",
        Some(HttpAuth::Basic { .. }) => "basic",
        Some(HttpAuth::Bearer { .. }) => "bearer",
        Some(HttpAuth::SecretHeader { .. }) => "secret_header",
        Some(HttpAuth::OAuth2ClientCredentials { .. }) => "oauth2",
    }
}

fn empty_auth(kind: &str) -> Option<HttpAuth> {
    match kind {
        "basic" => Some(HttpAuth::Basic {
            username: String::new(),
            password_secret: String::new(),
        }),
        "bearer" => Some(HttpAuth::Bearer {
            token_secret: String::new(),
        }),
        "secret_header" => Some(HttpAuth::SecretHeader {
            header: "x-api-key".into(),
            secret: String::new(),
        }),
        "oauth2" => Some(HttpAuth::OAuth2ClientCredentials {
            token_url: String::new(),
            client_id: String::new(),
            client_secret_secret: String::new(),
            scope: None,
        }),
        _ => None,
    }
}

/// One text field of the HTTP step's auth, written back through `set`.
fn auth_field(
    ctx: Ctx,
    p: StoredValue<ListPath>,
    i: usize,
    label: &'static str,
    value: String,
    secret: bool,
    set: fn(&mut HttpAuth, String),
) -> AnyView {
    let ro = ctx.readonly;
    view! {
        <div class="field">
            <label>{label}</label>
            <input type="text" class=if secret { "mono auth-secret" } else { "mono" } aria-label=label readonly=ro
                list=secret.then_some("secret-names") prop:value=value
                placeholder=if secret { "name of a stored secret" } else { "" }
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(h) = s { if let Some(a) = h.auth.as_mut() { set(a, v); } });
                }/>
        </div>
    }
    .into_any()
}

fn auth_fields(ctx: Ctx, p: StoredValue<ListPath>, i: usize, auth: Option<HttpAuth>) -> AnyView {
    match auth {
        None => view! { <div class="hint">"No credentials are sent."</div> }.into_any(),
        Some(HttpAuth::Basic { username, password_secret }) => view! {
            <div class="row">
                {auth_field(ctx, p, i, "Username", username, false, |a, v| if let HttpAuth::Basic { username, .. } = a { *username = v })}
                {auth_field(ctx, p, i, "Password secret", password_secret, true, |a, v| if let HttpAuth::Basic { password_secret, .. } = a { *password_secret = v })}
            </div>
        }.into_any(),
        Some(HttpAuth::Bearer { token_secret }) => view! {
            <div class="row">
                {auth_field(ctx, p, i, "Token secret", token_secret, true, |a, v| if let HttpAuth::Bearer { token_secret } = a { *token_secret = v })}
            </div>
        }.into_any(),
        Some(HttpAuth::SecretHeader { header, secret }) => view! {
            <div class="row">
                {auth_field(ctx, p, i, "Header", header, false, |a, v| if let HttpAuth::SecretHeader { header, .. } = a { *header = v })}
                {auth_field(ctx, p, i, "Secret", secret, true, |a, v| if let HttpAuth::SecretHeader { secret, .. } = a { *secret = v })}
            </div>
        }.into_any(),
        Some(HttpAuth::OAuth2ClientCredentials { token_url, client_id, client_secret_secret, scope }) => view! {
            <div class="row">
                {auth_field(ctx, p, i, "Token URL", token_url, false, |a, v| if let HttpAuth::OAuth2ClientCredentials { token_url, .. } = a { *token_url = v })}
                {auth_field(ctx, p, i, "Client id", client_id, false, |a, v| if let HttpAuth::OAuth2ClientCredentials { client_id, .. } = a { *client_id = v })}
            </div>
            <div class="row">
                {auth_field(ctx, p, i, "Client secret (stored secret)", client_secret_secret, true, |a, v| if let HttpAuth::OAuth2ClientCredentials { client_secret_secret, .. } = a { *client_secret_secret = v })}
                {auth_field(ctx, p, i, "Scope (optional)", scope.unwrap_or_default(), false, |a, v| if let HttpAuth::OAuth2ClientCredentials { scope, .. } = a { *scope = (!v.trim().is_empty()).then_some(v) })}
            </div>
        }.into_any(),
    }
}

fn http_form(ctx: Ctx, p: StoredValue<ListPath>, i: usize, h: HttpStep) -> AnyView {
    let ro = ctx.readonly;
    let method = RwSignal::new(h.method);
    let auth_sig = RwSignal::new(auth_kind(&h.auth));
    let auth_init = StoredValue::new(h.auth.clone());
    let query: Vec<(String, String)> = h.query.clone().into_iter().collect();
    let headers: Vec<(String, String)> = h.headers.clone().into_iter().collect();
    let has_extra = !query.is_empty() || !headers.is_empty();
    let body_type = match h.body_type {
        HttpBodyType::Json => "json",
        HttpBodyType::Form => "form",
        HttpBodyType::Text => "text",
        HttpBodyType::Raw => "raw",
    };
    view! {
        <div class="row">
            <div class="field" style="max-width: 120px">
                <label>"Method"</label>
                <select class="http-method" aria-label="Method" disabled=ro on:change=move |ev| {
                    if let Some(m) = HttpMethod::parse(&event_target_value(&ev)) {
                        method.set(m);
                        edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.method = m; });
                    }
                }>
                    {["GET", "POST", "PUT", "PATCH", "DELETE"].into_iter().map(|m| view! {
                        <option value=m selected=h.method.as_str() == m>{m}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field" style="flex: 4">
                <label>"URL"</label>
                <input type="url" class="mono http-url" aria-label="URL" readonly=ro prop:value=h.url.clone()
                    placeholder="https://api.example.com/users/${vars.mapped.id}"
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.url = v; });
                    }/>
            </div>
        </div>
        <div class="hint" style="margin: -6px 0 10px">"${expression} inserts a value (percent-encoded in the URL), e.g. ${vars.mapped.id}."</div>
        <div class="row">
            <div class="field">
                <label>"Answer into variable"</label>
                <input type="text" class="mono http-to" aria-label="Answer into variable" placeholder="response" readonly=ro
                    prop:value=h.to.clone().unwrap_or_default()
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.to = (!v.trim().is_empty()).then_some(v); });
                    }/>
                <div class="hint">"vars.<name> gets status, ok, headers and body (parsed JSON or text)."</div>
            </div>
            <label class="check" style="margin-bottom: 30px">
                <input type="checkbox" prop:checked=h.fail_on_status disabled=ro on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.fail_on_status = on; });
                }/>"A 4xx/5xx answer fails the flow"
            </label>
        </div>
        <Show when=move || !matches!(method.get(), HttpMethod::Get | HttpMethod::Delete)>
            <div class="row">
                <div class="field" style="max-width: 220px">
                    <label>"Body type"</label>
                    <select class="http-body-type" aria-label="Body type" disabled=ro on:change=move |ev| {
                        let t = match event_target_value(&ev).as_str() {
                            "form" => HttpBodyType::Form, "text" => HttpBodyType::Text, "raw" => HttpBodyType::Raw, _ => HttpBodyType::Json,
                        };
                        edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.body_type = t; });
                    }>
                        {[("json", "JSON"), ("form", "Form (URL-encoded)"), ("text", "Text"), ("raw", "Raw")].into_iter().map(|(v, l)| view! {
                            <option value=v selected=body_type == v>{l}</option>
                        }).collect_view()}
                    </select>
                </div>
            </div>
            <ValueEditor ctx=ctx label="Body" json=h.body.clone() expr=h.body_expr.clone() allow_none=true
                on_change=Callback::new(move |(json, expr): (Option<serde_json::Value>, Option<String>)| {
                    edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.body = json; x.body_expr = expr; });
                })/>
        </Show>
        <div class="field">
            <label>"Credentials"</label>
            <select class="http-auth" aria-label="Credentials" disabled=ro on:change=move |ev| {
                let k = event_target_value(&ev);
                let a = empty_auth(&k);
                auth_init.set_value(a.clone());
                edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.auth = a; });
                auth_sig.set(match k.as_str() { "basic" => "basic", "bearer" => "bearer", "secret_header" => "secret_header", "oauth2" => "oauth2", _ => "none" });
            }>
                {[("none", "None"), ("bearer", "Bearer token"), ("basic", "Basic (user + password)"), ("secret_header", "Secret in a header"), ("oauth2", "OAuth2 client credentials")]
                    .into_iter().map(|(v, l)| view! { <option value=v selected=auth_kind(&h.auth) == v>{l}</option> }).collect_view()}
            </select>
        </div>
        {move || { auth_sig.track(); auth_fields(ctx, p, i, auth_init.get_value()) }}
        <details class="sub-details" open=has_extra>
            <summary>"Query, headers, timeout and retries"</summary>
            <div class="field"><label>"Query parameters"</label></div>
            <PairRows ctx=ctx rows=query key_label="Parameter" value_label="Value (template)" key_placeholder="include"
                value_placeholder="${vars.mapped.kind}" class="http-query" suggestions=false
                on_change=Callback::new(move |rows: Vec<(String, String)>| {
                    edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.query = rows.into_iter().filter(|(k, _)| !k.trim().is_empty()).collect(); });
                })/>
            <div class="field"><label>"Headers"</label></div>
            <PairRows ctx=ctx rows=headers key_label="Header" value_label="Value (template)" key_placeholder="accept"
                value_placeholder="application/json" class="http-header" suggestions=false
                on_change=Callback::new(move |rows: Vec<(String, String)>| {
                    edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.headers = rows.into_iter().filter(|(k, _)| !k.trim().is_empty()).collect(); });
                })/>
            <div class="row">
                <div class="field">
                    <label>"Timeout (ms)"</label>
                    <input type="number" min="1" aria-label="Timeout (ms)" placeholder="10000" readonly=ro
                        prop:value=h.timeout_ms.map(|t| t.to_string()).unwrap_or_default()
                        on:input=move |ev| {
                            let v = event_target_value(&ev).parse::<u64>().ok();
                            edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.timeout_ms = v; });
                        }/>
                </div>
                <div class="field">
                    <label>"Retries (0–5)"</label>
                    <input type="number" min="0" max="5" aria-label="Retries" placeholder="0" readonly=ro
                        prop:value=h.retries.as_ref().map(|r| r.max.to_string()).unwrap_or_default()
                        on:input=move |ev| {
                            let v = event_target_value(&ev).parse::<u32>().ok();
                            edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s {
                                x.retries = v.filter(|n| *n > 0).map(|max| HttpRetries { max, delay_ms: None, max_delay_ms: None });
                            });
                        }/>
                    <div class="hint">"On connection errors, 429 and 5xx; Retry-After is honoured."</div>
                </div>
                <div class="field">
                    <label>"Largest answer (KiB)"</label>
                    <input type="number" min="1" aria-label="Largest answer (KiB)" placeholder="1024" readonly=ro
                        prop:value=h.max_response_bytes.map(|b| (b / 1024).to_string()).unwrap_or_default()
                        on:input=move |ev| {
                            let v = event_target_value(&ev).parse::<u64>().ok().map(|k| k.saturating_mul(1024));
                            edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.max_response_bytes = v; });
                        }/>
                </div>
            </div>
        </details>
    }
    .into_any()
}
