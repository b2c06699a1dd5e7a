//! Test run: send a sample call to the current draft (nothing is recorded as production) and
//! see the answer and each step's input, output, duration and error. The body can be saved as
//! the trigger's sample (through the draft), which the endpoint docs show as the example and
//! infer the body's fields from.

use std::collections::BTreeMap;

use flowgate_api::integrations::{TestRequest, TestRunIn, TestRunOut};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::ctx::Ctx;
use crate::api::{self, enc};
use crate::components::{http_code_class, Badge, CodeArea, HttpCalls, JsonBlock};

/// Real-world payload shapes (assets/samples).
pub const SAMPLES: &[(&str, &str)] = &[
    (
        "Identity service: user updated",
        include_str!("../../../../assets/samples/identity-user-update.json"),
    ),
    (
        "Service desk: issue updated",
        include_str!("../../../../assets/samples/jira-issue-updated.json"),
    ),
    (
        "Email service: event batch",
        include_str!("../../../../assets/samples/sendgrid-event-batch.json"),
    ),
    (
        "Chat tool: outgoing webhook",
        include_str!("../../../../assets/samples/teams-outgoing-webhook.json"),
    ),
];

/// Every JSONPath into a JSON value: `$.request.body.a`, `$.request.body.items[0].id`, ...
pub fn paths_of(v: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    if out.len() > 300 {
        return;
    }
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let p = if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    format!("{prefix}.{k}")
                } else {
                    format!("{prefix}['{}']", k.replace('\'', "\\'"))
                };
                out.push(p.clone());
                paths_of(x, &p, out);
            }
        }
        serde_json::Value::Array(a) => {
            if let Some(first) = a.first() {
                out.push(format!("{prefix}[*]"));
                paths_of(first, &format!("{prefix}[0]"), out);
            }
        }
        _ => {}
    }
}

fn parse_lines(text: &str, sep: char) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(sep)?;
            let k = k.trim();
            (!k.is_empty()).then(|| (k.to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// The test body as the trigger's sample: JSON, or why it cannot be one.
pub fn sample_from_body(body: &str) -> Result<serde_json::Value, String> {
    if body.trim().is_empty() {
        return Err("The body is empty: type or pick a JSON sample first.".to_owned());
    }
    serde_json::from_str::<serde_json::Value>(body).map_err(|e| {
        format!("Only a JSON body can be saved as the sample, and this one is not JSON ({e}).")
    })
}

/// A saved sample in a few words: `an object with 4 fields`, `a list of 3 items`.
pub fn sample_words(v: &serde_json::Value) -> String {
    use crate::format::plural;
    match v {
        serde_json::Value::Object(m) => {
            format!("an object with {}", plural(m.len(), "field", "fields"))
        }
        serde_json::Value::Array(a) => format!("a list of {}", plural(a.len(), "item", "items")),
        serde_json::Value::String(_) => "a string".to_owned(),
        serde_json::Value::Number(_) => "a number".to_owned(),
        serde_json::Value::Bool(_) => "a boolean".to_owned(),
        serde_json::Value::Null => "null".to_owned(),
    }
}

/// A sample as a person would paste it: pretty JSON.
fn sample_text(raw: &str) -> String {
    serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| raw.to_owned())
}

#[component]
pub fn TestPanel(ctx: Ctx) -> impl IntoView {
    // The trigger's saved sample first, when it has one.
    let saved_at_start = ctx.doc.with_untracked(|d| d.trigger.sample.clone());
    let first = match &saved_at_start {
        Some(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
        None => SAMPLES
            .first()
            .map(|s| sample_text(s.1))
            .unwrap_or_default(),
    };
    let body = RwSignal::new(first);
    let method = RwSignal::new(ctx.doc.with_untracked(|d| {
        d.trigger
            .methods
            .first()
            .cloned()
            .unwrap_or_else(|| "POST".into())
    }));
    let content_type = RwSignal::new("application/json".to_owned());
    let query = RwSignal::new(String::new());
    let headers = RwSignal::new(String::new());
    let running = RwSignal::new(false);
    let result = RwSignal::new(None::<Result<TestRunOut, api::ApiError>>);
    let body_version = RwSignal::new(0u32);

    // JSONPath suggestions follow the sample body and the query parameters.
    Effect::new(move |_| {
        let mut out = Vec::new();
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body.get()) {
            paths_of(&v, "$.request.body", &mut out);
        }
        ctx.doc.with(|d| {
            for q in &d.trigger.query_params {
                out.push(format!("$.request.query.{}", q.name));
            }
        });
        for k in parse_lines(&query.get(), '=').keys() {
            out.push(format!("$.request.query.{k}"));
        }
        out.sort();
        out.dedup();
        ctx.paths.set(out);
    });

    let run = move |_| {
        running.set(true);
        let mut hs = parse_lines(&headers.get_untracked(), ':');
        let ct = content_type.get_untracked();
        let m = method.get_untracked();
        let req = TestRequest {
            method: m.clone(),
            query: parse_lines(&query.get_untracked(), '='),
            headers: std::mem::take(&mut hs),
            content_type: (m != "GET" && !ct.is_empty()).then_some(ct),
            body: if m == "GET" {
                String::new()
            } else {
                body.get_untracked()
            },
        };
        let input = TestRunIn {
            document: Some(ctx.doc.get_untracked()),
            request: req,
        };
        spawn_local(async move {
            let r = api::post::<TestRunOut, _>(
                &format!("/integrations/{}/test", enc(&ctx.slug.get_value())),
                &input,
            )
            .await;
            if let Err(e) = &r {
                if !e.details.is_empty() {
                    ctx.problems.try_set(e.details.clone());
                }
            }
            result.try_set(Some(r));
            running.try_set(false);
        });
    };

    view! {
        <section class="card test-panel" id="test-panel">
            <h2>"Test run"</h2>
            <p class="muted small">"Runs the draft as it is now with this call. Nothing is recorded and the published version is not touched."</p>
            <div class="row">
                <div class="field" style="max-width: 110px">
                    <label for="test-method">"Method"</label>
                    <select id="test-method" on:change=move |ev| method.set(event_target_value(&ev))>
                        {["POST", "GET", "PUT", "PATCH", "DELETE"].into_iter().map(|m| view! {
                            <option value=m selected=move || method.get() == m>{m}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="test-sample">"Sample payload"</label>
                    <select id="test-sample" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if v == "saved" {
                            if let Some(s) = ctx.doc.with_untracked(|d| d.trigger.sample.clone()) {
                                body.set(serde_json::to_string_pretty(&s).unwrap_or_default());
                                content_type.set("application/json".into());
                                body_version.update(|n| *n += 1);
                            }
                        } else if let Ok(i) = v.parse::<usize>() {
                            if let Some((_, s)) = SAMPLES.get(i) {
                                body.set(sample_text(s));
                                content_type.set("application/json".into());
                                body_version.update(|n| *n += 1);
                            }
                        }
                    }>
                        {saved_at_start.is_some().then(|| view! { <option value="saved" selected>"The trigger's saved sample"</option> })}
                        {SAMPLES.iter().enumerate().map(|(i, (name, _))| view! { <option value=i.to_string()>{*name}</option> }).collect_view()}
                        <option value="custom">"(your own — edit below)"</option>
                    </select>
                </div>
            </div>
            <div class="field">
                <label for="test-content-type">"Content type"</label>
                <input id="test-content-type" type="text" class="mono" prop:value=content_type
                    list="content-type-list" on:input=move |ev| content_type.set(event_target_value(&ev))/>
                <datalist id="content-type-list">
                    <option value="application/json"></option><option value="text/plain"></option>
                    <option value="application/x-www-form-urlencoded"></option><option value="application/xml"></option>
                </datalist>
            </div>
            <div class="field">
                <label for="test-body">"Body"</label>
                {move || {
                    body_version.track();
                    view! { <CodeArea id="test-body" label="Test request body" value=body.get_untracked() rows=9
                        on_input=Callback::new(move |v: String| body.set(v))/> }
                }}
            </div>
            <SampleBar ctx=ctx body=body.into()/>
            <details class="sub-details">
                <summary>"Query parameters and headers"</summary>
                <div class="field">
                    <label for="test-query">"Query (one name=value per line)"</label>
                    <textarea id="test-query" rows="2" prop:value=query on:input=move |ev| query.set(event_target_value(&ev))></textarea>
                </div>
                <div class="field">
                    <label for="test-headers">"Headers (one Name: value per line)"</label>
                    <textarea id="test-headers" rows="2" prop:value=headers on:input=move |ev| headers.set(event_target_value(&ev))></textarea>
                </div>
            </details>
            <button class="btn btn-primary btn-block" id="run-test" on:click=run disabled=move || running.get()>
                {move || if running.get() { "Running…" } else { "▶ Run test" }}
            </button>
            {move || result.get().map(|r| match r {
                Err(e) => view! { <div class="error-box" role="alert" id="test-error">{e.describe()}</div> }.into_any(),
                Ok(out) => view! { <TestResult out=out/> }.into_any(),
            })}
        </section>
    }
}

/// Under the body: save it as the trigger's sample (for the endpoint docs), see whether one is
/// saved, and clear it.
#[component]
fn SampleBar(ctx: Ctx, body: Signal<String>) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let saved = Memo::new(move |_| {
        ctx.doc
            .with(|d| d.trigger.sample.as_ref().map(sample_words))
    });
    let same = Memo::new(move |_| {
        let b = body.get();
        ctx.doc.with(|d| {
            d.trigger.sample.as_ref().is_some_and(|s| {
                serde_json::from_str::<serde_json::Value>(&b).is_ok_and(|v| &v == s)
            })
        })
    });
    let save = move |_| match sample_from_body(&body.get_untracked()) {
        Ok(v) => {
            error.set(None);
            ctx.edit(|d| d.trigger.sample = Some(v));
        }
        Err(e) => error.set(Some(e)),
    };
    let clear = move |_| {
        error.set(None);
        ctx.edit(|d| d.trigger.sample = None);
    };
    view! {
        <div class="sample-bar" id="sample-bar">
            <div class="sample-state small" id="sample-state">
                {move || match saved.get() {
                    Some(words) => view! {
                        <span class="badge badge-ok">"sample saved"</span>
                        <span class="muted">{format!(" {words}; the endpoint docs show it as the example body")}</span>
                    }.into_any(),
                    None => view! { <span class="muted">"No sample saved: the endpoint docs show the body's fields only from a sample."</span> }.into_any(),
                }}
            </div>
            <Show when=move || !ctx.readonly>
                <div class="sample-actions">
                    <button class="btn btn-small" type="button" id="save-sample" on:click=save
                        disabled=move || same.get()
                        title="Saved with the draft; published with it">
                        {move || if same.get() { "Saved as the trigger's sample" } else { "Save as the trigger's sample" }}
                    </button>
                    <Show when=move || saved.with(Option::is_some)>
                        <button class="btn btn-small btn-quiet-danger" type="button" id="clear-sample" on:click=clear>"Clear sample"</button>
                    </Show>
                </div>
            </Show>
            {move || error.get().map(|e| view! { <div class="field-error" role="alert" id="sample-error">{e}</div> })}
        </div>
    }
}

#[component]
fn TestResult(out: TestRunOut) -> impl IntoView {
    let status = out.status.as_str().to_owned();
    let ms = out.duration_us as f64 / 1000.0;
    let code = out.response.status;
    let class = http_code_class(Some(code));
    view! {
        <div class="test-result" id="test-result" data-status=status.clone()>
            <div class="result-head">
                <Badge kind=status.clone()/>
                <span class=class id="test-response-status">{code.to_string()}</span>
                <span class="muted small">{format!("{ms:.2} ms")}</span>
            </div>
            {out.error.clone().map(|e| view! { <div class="error-box">{e}</div> })}
            <h3>"Response"</h3>
            {(!out.response.headers.is_empty()).then(|| view! {
                <div class="mono small muted">{out.response.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n")}</div>
            })}
            <div id="test-response-body"><JsonBlock value=out.response.body.clone()/></div>
            <h3 style="margin-top: 14px">"Steps"</h3>
            <ol class="trace" id="test-trace">
                {out.steps.into_iter().map(|s| {
                    let ms = s.duration_us as f64 / 1000.0;
                    let ran = s.status != "skipped";
                    view! {
                        <li class=format!("trace-step status-{}", s.status) data-index=s.index.clone() data-status=s.status.clone()>
                            <details>
                                <summary>
                                    <span class="step-no">{s.index.clone()}</span>
                                    <span class=format!("step-type type-{}", s.step_type)>{s.step_type.clone()}</span>
                                    <Badge kind=s.status.clone()/>
                                    <span class="muted small">{if ran { format!("{ms:.2} ms") } else { String::new() }}</span>
                                </summary>
                                {s.error.clone().map(|e| view! { <div class="error-box trace-error">{e}</div> })}
                                <HttpCalls calls=s.calls.clone()/>
                                {s.input.clone().map(|v| view! { <div class="io"><div class="section-title">"vars before"</div><JsonBlock value=v/></div> })}
                                {s.output.clone().map(|v| view! { <div class="io"><div class="section-title">"vars after"</div><JsonBlock value=v/></div> })}
                                {(!ran).then(|| view! { <div class="muted small">"Not run (disabled, the other branch, or after the flow ended)."</div> })}
                            </details>
                            {s.error.map(|e| view! { <div class="trace-error-line">{e}</div> })}
                        </li>
                    }
                }).collect_view()}
            </ol>
            {(!out.logs.is_empty()).then(|| view! {
                <h3 style="margin-top: 14px">"Log"</h3>
                <ul class="logs">{out.logs.into_iter().map(|l| view! {
                    <li><Badge kind=l.level.clone()/>" "<span class="mono small">{l.step}</span>" "{l.message}</li>
                }).collect_view()}</ul>
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_paths_are_offered() {
        let v = serde_json::json!({"id": "1", "user": {"e-mail": "x"}, "items": [{"sku": "a"}]});
        let mut out = Vec::new();
        paths_of(&v, "$.request.body", &mut out);
        for p in [
            "$.request.body.id",
            "$.request.body.user['e-mail']",
            "$.request.body.items[*]",
            "$.request.body.items[0].sku",
        ] {
            assert!(out.iter().any(|x| x == p), "{p} missing from {out:?}");
        }
    }

    #[test]
    fn only_json_bodies_become_the_sample() {
        assert_eq!(
            sample_from_body(r#"{"id": 1}"#),
            Ok(serde_json::json!({"id": 1}))
        );
        assert!(sample_from_body("  ").is_err_and(|e| e.contains("empty")));
        assert!(sample_from_body("id=1&x=2").is_err_and(|e| e.contains("not JSON")));
        assert_eq!(
            sample_words(&serde_json::json!({"a": 1, "b": 2})),
            "an object with 2 fields"
        );
        assert_eq!(sample_words(&serde_json::json!([1])), "a list of 1 item");
    }

    #[test]
    fn every_sample_is_json_and_lines_parse() {
        for (name, raw) in SAMPLES {
            assert!(
                serde_json::from_str::<serde_json::Value>(raw).is_ok(),
                "{name}"
            );
        }
        let q = parse_lines("a=1\n b = two \nnoequals\n=x", '=');
        assert_eq!(q.get("a").map(String::as_str), Some("1"));
        assert_eq!(q.get("b").map(String::as_str), Some("two"));
        assert_eq!(q.len(), 2);
    }
}
