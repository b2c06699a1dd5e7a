//! The trigger card: endpoint, methods, the switches (request-response, ordered delivery, a
//! rate limit, the error answer), who may call it (`auth`), query parameters and accepted
//! bodies.

use flowgate_api::{ErrorResponse, QueryParam, RateLimit, TriggerAuth, TriggerDoc};
use leptos::prelude::*;

use super::auth::AuthEditor;
use super::ctx::Ctx;
use super::edit::non_blank;
use super::fields::JsonField;
use crate::components::{origin, parse_rate_limit, CopyButton, RateLimitFields};
use crate::format::{fmt_rate, plural, preset_name};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

#[component]
pub fn TriggerCard(ctx: Ctx) -> impl IntoView {
    let open = RwSignal::new(true);
    let ro = ctx.readonly;
    let t0 = ctx.doc.with_untracked(|d| d.trigger.clone());
    let url = move || {
        format!(
            "{}/t/{}",
            origin(),
            ctx.doc.with(|d| d.trigger.path.clone())
        )
    };
    let summary = move || {
        ctx.doc.with(|d| {
            let t = &d.trigger;
            let auth = match &t.auth {
                TriggerAuth::ApiKey { keys } => plural(keys.len(), "API key", "API keys"),
                TriggerAuth::Oauth2 { clients, .. } => {
                    format!("OAuth2, {}", plural(clients.len(), "client", "clients"))
                }
                TriggerAuth::Signature { preset, .. } => {
                    format!("signed ({})", preset_name(*preset))
                }
                TriggerAuth::None => "open (no key)".into(),
            };
            let limit = t
                .rate_limit
                .map(|r| format!(" · at most {}", fmt_rate(r.per_second, r.burst())))
                .unwrap_or_default();
            let errors = t
                .error_response
                .as_ref()
                .map(|r| format!(" · errors answered {} in its own shape", r.status))
                .unwrap_or_default();
            format!(
                "{} · {} · {} · {}{limit}{errors}",
                t.methods.join(", "),
                if t.request_response {
                    format!("waits up to {} s", t.timeout_ms as f64 / 1000.0)
                } else {
                    "202 at once".into()
                },
                if t.ordered { "ordered" } else { "parallel" },
                auth
            )
        })
    };
    let problems = move || ctx.problems_at("trigger");
    let qp_rows: Vec<QueryParam> = t0.query_params.clone();
    let content_types = t0.content_types.join(", ");

    view! {
        <section class="trigger-card card" class:has-problems=move || !problems().is_empty() id="trigger-card">
            <div class="step-head">
                <span class="step-type type-trigger">"Trigger"</span>
                <span class="mono trigger-url" id="trigger-url">{url}</span>
                <CopyButton text=Signal::derive(url) label="Copy URL"/>
                <a class="btn btn-small" id="trigger-docs" href=format!("/integrations/{}/docs", crate::api::enc(&ctx.slug.get_value()))
                    title="The endpoint's docs for its consumers, from the published version">"Docs"</a>
                <div class="spacer"></div>
                <button class="icon-btn" type="button" aria-label="Collapse or expand trigger settings"
                    on:click=move |_| open.update(|o| *o = !*o)>{move || if open.get() { "▾" } else { "▸" }}</button>
            </div>
            <div class="muted small trigger-summary">{summary}</div>
            {move || {
                let ps = problems();
                (!ps.is_empty()).then(|| view! {
                    <ul class="step-problems">{ps.into_iter().map(|d| view! {
                        <li class="problem" data-path=d.path.clone()><b>{d.path.trim_start_matches("trigger.").to_owned()}": "</b>{d.message}</li>
                    }).collect_view()}</ul>
                })
            }}
            <div class="step-body" class:hidden=move || !open.get()>
                <div class="row">
                    <div class="field">
                        <label for="trigger-path">"Endpoint path"</label>
                        <div class="input-prefix"><span class="mono">"/t/"</span>
                            <input id="trigger-path" type="text" class="mono" readonly=ro prop:value=t0.path.clone()
                                on:input=move |ev| { let v = event_target_value(&ev); ctx.edit(|d| d.trigger.path = v); }/>
                        </div>
                    </div>
                    <fieldset class="field methods">
                        <legend>"Methods"</legend>
                        {METHODS.into_iter().map(|m| {
                            let on = t0.methods.iter().any(|x| x == m);
                            view! {
                                <label class="check chip"><input type="checkbox" prop:checked=on disabled=ro
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        ctx.edit(|d| {
                                            d.trigger.methods.retain(|x| x != m);
                                            if on { d.trigger.methods.push(m.to_owned()); }
                                            d.trigger.methods.sort_by_key(|x| METHODS.iter().position(|y| y == x));
                                        });
                                    }/>{m}</label>
                            }
                        }).collect_view()}
                    </fieldset>
                </div>

                <div class="switches">
                    <Switch ctx=ctx id="request-response" label="Request-response"
                        hint="On: the caller waits for the flow's answer. Off: it gets 202 at once and the call runs from the queue (never lost)."
                        get=|t| t.request_response set=|t, on| t.request_response = on>
                            <div class="field inline-field">
                                <label for="timeout">"Timeout (ms)"</label>
                                <input id="timeout" type="number" min="1" readonly=ro prop:value=t0.timeout_ms.to_string()
                                    on:input=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<u64>() { ctx.edit(|d| d.trigger.timeout_ms = v) } }/>
                            </div>
                    </Switch>
                    <Switch ctx=ctx id="ordered" label="Ordered delivery"
                        hint="Calls run strictly one at a time in arrival order (this also throttles the systems the flow calls)."
                        get=|t| t.ordered set=|t, on| t.ordered = on>
                            <div class="field inline-field">
                                <label for="lane-key">"Lane key (optional JSONPath)"</label>
                                <input id="lane-key" type="text" class="mono" placeholder="$.customerId" readonly=ro
                                    list="jsonpath-suggestions"
                                    prop:value=t0.lane_key.clone().unwrap_or_default()
                                    on:input=move |ev| {
                                        let v = event_target_value(&ev);
                                        ctx.edit(|d| d.trigger.lane_key = non_blank(v));
                                    }/>
                            </div>
                    </Switch>
                    <RateLimitBox ctx=ctx/>
                    <ErrorAnswerBox ctx=ctx/>
                </div>

                <AuthEditor ctx=ctx url=Signal::derive(url)/>

                <details class="sub-details">
                    <summary>"Query parameters, bodies and limits"</summary>
                    <QueryParams ctx=ctx rows=qp_rows/>
                    <div class="row">
                        <div class="field">
                            <label for="content-types">"Accepted body types"</label>
                            <input id="content-types" type="text" class="mono" placeholder="any (e.g. application/json, text/*)" readonly=ro
                                prop:value=content_types
                                on:input=move |ev| {
                                    let v = event_target_value(&ev);
                                    ctx.edit(|d| d.trigger.content_types = v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect());
                                }/>
                        </div>
                        <div class="field" style="max-width: 200px">
                            <label for="max-body">"Body size limit (KiB)"</label>
                            <input id="max-body" type="number" min="1" readonly=ro prop:value=(t0.max_body_bytes / 1024).to_string()
                                on:input=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<u64>() { ctx.edit(|d| d.trigger.max_body_bytes = v.saturating_mul(1024)) } }/>
                        </div>
                    </div>
                    <div class="row">
                        <div class="field" style="max-width: 200px">
                            <label for="max-attempts">"Attempts (asynchronous calls)"</label>
                            <input id="max-attempts" type="number" min="1" readonly=ro prop:value=t0.retry.max_attempts.to_string()
                                on:input=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<u32>() { ctx.edit(|d| d.trigger.retry.max_attempts = v) } }/>
                            <div class="hint">"Failed runs are retried with back-off, then kept as dead letters."</div>
                        </div>
                    </div>
                    <label class="check">
                        <input type="checkbox" id="allow-redirects" disabled=ro prop:checked=t0.allow_redirects
                            on:change=move |ev| { let on = event_target_checked(&ev); ctx.edit(|d| d.trigger.allow_redirects = on) }/>
                        " Let the flow answer with a redirect (3xx)"
                    </label>
                    <div class="hint">"Off, a 3xx answer becomes 500 redirect_not_allowed: the endpoint shares the admin UI's address and should not send browsers elsewhere unless you mean it."</div>
                </details>
            </div>
        </section>
    }
}

/// One of the trigger's two switches: what it means and, while it is on, the setting that
/// comes with it.
#[component]
fn Switch(
    ctx: Ctx,
    id: &'static str,
    label: &'static str,
    hint: &'static str,
    get: fn(&TriggerDoc) -> bool,
    set: fn(&mut TriggerDoc, bool),
    children: ChildrenFn,
) -> impl IntoView {
    let on0 = ctx.doc.with_untracked(|d| get(&d.trigger));
    view! {
        <div class="switch-box">
            <label class="check"><input type="checkbox" id=id prop:checked=on0 disabled=ctx.readonly
                on:change=move |ev| { let on = event_target_checked(&ev); ctx.edit(|d| set(&mut d.trigger, on)); }/>
                {label}</label>
            <div class="hint">{hint}</div>
            <Show when=move || ctx.doc.with(|d| get(&d.trigger))>{children()}</Show>
        </div>
    }
}

#[component]
fn QueryParams(ctx: Ctx, rows: Vec<QueryParam>) -> impl IntoView {
    let ro = ctx.readonly;
    let next = StoredValue::new(rows.len() as u32);
    let rows = RwSignal::new(
        rows.into_iter()
            .enumerate()
            .map(|(i, q)| (i as u32, q))
            .collect::<Vec<_>>(),
    );
    let emit = move || {
        let list: Vec<QueryParam> = rows.with_untracked(|r| {
            r.iter()
                .map(|(_, q)| q.clone())
                .filter(|q| !q.name.trim().is_empty())
                .collect()
        });
        ctx.edit(|d| d.trigger.query_params = list);
    };
    view! {
        <div class="field">
            <label>"Query parameters"</label>
            <div class="pairs query-params">
                <div class="pair pair3 pair-head"><span>"Name"</span><span>"Default"</span><span>"Required"</span><span></span></div>
                <For each=move || rows.get() key=|r| r.0 let:row>
                    {
                        let id = row.0;
                        let q = row.1.clone();
                        view! {
                            <div class="pair pair3">
                                <input type="text" class="mono" aria-label="Parameter name" placeholder="customer" readonly=ro prop:value=q.name.clone()
                                    on:input=move |ev| { let v = event_target_value(&ev); rows.update_untracked(|r| if let Some(x) = r.iter_mut().find(|x| x.0 == id) { x.1.name = v; }); emit(); }/>
                                <input type="text" class="mono" aria-label="Default value" placeholder="(none)" readonly=ro prop:value=q.default.clone().unwrap_or_default()
                                    on:input=move |ev| { let v = event_target_value(&ev); rows.update_untracked(|r| if let Some(x) = r.iter_mut().find(|x| x.0 == id) { x.1.default = (!v.is_empty()).then_some(v); }); emit(); }/>
                                <label class="check"><input type="checkbox" aria-label="Required" prop:checked=q.required disabled=ro
                                    on:change=move |ev| { let on = event_target_checked(&ev); rows.update_untracked(|r| if let Some(x) = r.iter_mut().find(|x| x.0 == id) { x.1.required = on; }); emit(); }/>"required"</label>
                                {(!ro).then(|| view! { <button class="icon-btn" type="button" aria-label="Remove parameter" on:click=move |_| { rows.update(|r| r.retain(|x| x.0 != id)); emit(); }>"×"</button> })}
                            </div>
                        }
                    }
                </For>
                {(!ro).then(|| view! {
                    <button class="btn-link" type="button" on:click=move |_| {
                        let n = next.get_value();
                        next.set_value(n + 1);
                        rows.update(|r| r.push((n, QueryParam { name: String::new(), default: None, required: false })));
                    }>"+ Add parameter"</button>
                })}
            </div>
        </div>
    }
}

/// The trigger's rate limit: off, or calls per second with a burst.
#[component]
fn RateLimitBox(ctx: Ctx) -> impl IntoView {
    let ro = ctx.readonly;
    let r0 = ctx.doc.with_untracked(|d| d.trigger.rate_limit);
    let per_second = RwSignal::new(
        r0.map(|r| r.per_second.to_string())
            .unwrap_or_else(|| "10".to_owned()),
    );
    let burst = RwSignal::new(
        r0.and_then(|r| r.burst)
            .map(|b| b.to_string())
            .unwrap_or_default(),
    );
    let typed = move || {
        parse_rate_limit(&per_second.get_untracked(), &burst.get_untracked())
            .ok()
            .flatten()
    };
    let turn = move |ev: leptos::ev::Event| {
        let limit = event_target_checked(&ev).then(|| {
            typed().unwrap_or_else(|| {
                per_second.set("10".into());
                burst.set(String::new());
                RateLimit {
                    per_second: 10,
                    burst: None,
                }
            })
        });
        ctx.edit(|d| d.trigger.rate_limit = limit);
    };
    let on_change = Callback::new(move |()| {
        if let Some(r) = typed() {
            ctx.edit(|d| d.trigger.rate_limit = Some(r));
        }
    });
    view! {
        <div class="switch-box switch-wide">
            <label class="check"><input type="checkbox" id="rate-limit" prop:checked=r0.is_some() disabled=ro
                on:change=turn/>"Rate limit"</label>
            <div class="hint">"At most this many calls per second to this trigger (counted on each instance); more get 429 with a Retry-After header."</div>
            <Show when=move || ctx.doc.with(|d| d.trigger.rate_limit.is_some())>
                <RateLimitFields id="rate" per_second=per_second burst=burst readonly=ro on_change=on_change
                    hint="Burst: how many calls may come at once after a quiet spell (empty: the same as per second)."/>
            </Show>
        </div>
    }
}

/// The body an error answer starts from: Flowgate's own fields, in a shape to adapt.
const STARTER_ERROR_BODY: &str =
    "{\n  \"error\": \"${message}\",\n  \"code\": \"${code}\",\n  \"reference\": \"${execution_id}\"\n}";

/// How errors are answered: Flowgate's `{"error": {...}}`, or a status for uncaught errors
/// and a JSON body template (`trigger.error_response`).
#[component]
fn ErrorAnswerBox(ctx: Ctx) -> impl IntoView {
    let ro = ctx.readonly;
    let r0 = ctx.doc.with_untracked(|d| d.trigger.error_response.clone());
    // What is typed stays while the switch is off, so switching it on again restores it.
    let status = RwSignal::new(r0.as_ref().map_or(500, |r| r.status).to_string());
    let body_text = StoredValue::new(
        r0.as_ref()
            .and_then(|r| serde_json::to_string_pretty(&r.body).ok())
            .unwrap_or_else(|| STARTER_ERROR_BODY.to_owned()),
    );
    let body_error = RwSignal::new(None::<String>);
    let typed = move || ErrorResponse {
        status: status.get_untracked().trim().parse().unwrap_or(500),
        body: serde_json::from_str(&body_text.get_value())
            .unwrap_or_else(|_| serde_json::json!({"error": "${message}"})),
    };
    let turn = move |ev: leptos::ev::Event| {
        let answer = event_target_checked(&ev).then(typed);
        ctx.edit(|d| d.trigger.error_response = answer);
    };
    let status_problem = move || {
        status.with(|s| match s.trim().parse::<u16>() {
            Ok(400..=599) => None,
            _ => Some("A status from 400 to 599."),
        })
    };
    view! {
        <div class="switch-box switch-wide error-answer">
            <label class="check"><input type="checkbox" id="error-response" prop:checked=r0.is_some() disabled=ro
                on:change=turn/>"Answer errors in your own shape"</label>
            <div class="hint">"Instead of Flowgate's {\"error\": {…}}: an error the flow does not handle gets this status; a fail step keeps its own. Both get this body."</div>
            <Show when=move || ctx.doc.with(|d| d.trigger.error_response.is_some())>
                <div class="row error-answer-fields">
                    <div class="field field-narrow">
                        <label for="error-status">"Status"</label>
                        <input id="error-status" type="number" min="400" max="599" readonly=ro prop:value=status
                            on:input=move |ev| {
                                status.set(event_target_value(&ev));
                                if let Ok(v) = status.get_untracked().trim().parse::<u16>() {
                                    ctx.edit(|d| if let Some(r) = d.trigger.error_response.as_mut() { r.status = v; });
                                }
                            }/>
                        {move || status_problem().map(|p| view! { <div class="field-error">{p}</div> })}
                    </div>
                    <div class="field error-body">
                        <label>"Body (JSON)"</label>
                        <JsonField text=body_text error=body_error label="Error body (JSON)" rows=5 readonly=ro
                            on_value=move |val| ctx.edit(|d| if let Some(r) = d.trigger.error_response.as_mut() { r.body = val; })/>
                        <div class="hint">"In its strings "<span class="mono">"${message}"</span>", "<span class="mono">"${code}"</span>", "
                            <span class="mono">"${status}"</span>" and "<span class="mono">"${execution_id}"</span>" are replaced."</div>
                    </div>
                </div>
            </Show>
        </div>
    }
}
