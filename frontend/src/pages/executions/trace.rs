//! The step trace (durations as bars, nested steps indented, HTTP calls folded) and the log.

use flowgate_api::executions::{LogOut, StepOut};
use leptos::prelude::*;

use super::text::step_depth;
use crate::components::{Badge, HttpCalls};
use crate::format::{fmt_step_ms, plural};

pub fn step_trace(steps: Vec<StepOut>, running: bool) -> impl IntoView {
    let max = steps
        .iter()
        .map(|s| s.duration_us)
        .max()
        .unwrap_or(0)
        .max(1);
    let total: u64 = steps
        .iter()
        .filter(|s| step_depth(&s.index) == 0)
        .map(|s| s.duration_us)
        .sum();
    let errors = steps.iter().filter(|s| s.status == "error").count();
    let skipped = steps.iter().filter(|s| s.status == "skipped").count();
    let mut summary = match steps.len() {
        0 => String::new(),
        n => plural(n, "step", "steps"),
    };
    if errors > 0 {
        summary.push_str(&format!(" · {errors} failed"));
    }
    if skipped > 0 {
        summary.push_str(&format!(" · {skipped} skipped"));
    }
    if !steps.is_empty() {
        summary.push_str(&format!(" · {} in all", fmt_step_ms(total)));
    }
    let empty = steps.is_empty().then(|| {
        let text = if running {
            "No step has run yet."
        } else {
            "No steps were recorded for this execution."
        };
        view! { <p class="muted trace-empty">{text}</p> }
    });
    view! {
        <section class="card exec-section" aria-labelledby="trace-title">
            <div class="section-head">
                <h2 id="trace-title">"Step trace"</h2>
                <span class="muted small">{summary}</span>
            </div>
            <div id="step-trace" class="trace" role="list">
                {empty}
                {steps.into_iter().map(|s| {
                    let depth = step_depth(&s.index);
                    let pct = (s.duration_us as f64) * 100.0 / (max as f64);
                    let class = format!("trace-step is-{}", s.status);
                    view! {
                        <div class=class role="listitem" data-index=s.index.clone() data-status=s.status.clone()
                            style=format!("--depth: {depth}")>
                            <span class="trace-index mono">{s.index.clone()}</span>
                            <span class="trace-type">{s.step_type.clone()}</span>
                            <span class="trace-status"><Badge kind=s.status.clone()/></span>
                            <span class="trace-bar" aria-hidden="true"><span class="trace-fill" style=format!("width: {pct:.2}%")></span></span>
                            <span class="trace-ms" title=format!("{} µs", s.duration_us)>{fmt_step_ms(s.duration_us)}</span>
                            {s.error.clone().map(|err| view! { <div class="trace-message" role="note">{err}</div> })}
                            {(!s.calls.is_empty()).then(|| view! { <div class="trace-calls"><HttpCalls calls=s.calls.clone()/></div> })}
                        </div>
                    }
                }).collect_view()}
            </div>
        </section>
    }
}

#[component]
pub fn LogList(logs: Vec<LogOut>) -> impl IntoView {
    let level = RwSignal::new(None::<String>);
    let mut levels: Vec<(String, usize)> = Vec::new();
    for l in &logs {
        match levels.iter_mut().find(|(name, _)| *name == l.level) {
            Some((_, n)) => *n += 1,
            None => levels.push((l.level.clone(), 1)),
        }
    }
    let total = logs.len();
    let logs = StoredValue::new(logs);
    let chips = (levels.len() > 1).then(|| {
        view! {
            <div class="seg level-filter" role="group" aria-label="Show log levels">
                <button type="button" class="seg-btn" aria-pressed=move || level.with(Option::is_none).to_string()
                    on:click=move |_| level.set(None)>{format!("All {total}")}</button>
                {levels.into_iter().map(|(name, n)| {
                    let me = name.clone();
                    let mine = name.clone();
                    view! {
                        <button type="button" class="seg-btn"
                            aria-pressed=move || level.with(|l| l.as_deref() == Some(me.as_str())).to_string()
                            on:click=move |_| level.set(Some(mine.clone()))>{format!("{name} {n}")}</button>
                    }
                }).collect_view()}
            </div>
        }
    });
    view! {
        <section class="card exec-section" id="logs" aria-labelledby="logs-title">
            <div class="section-head">
                <h2 id="logs-title">"Logs"</h2>
                <div class="spacer"></div>
                {chips}
            </div>
            {if total == 0 {
                view! { <p class="muted">"This execution wrote no log lines."</p> }.into_any()
            } else {
                view! {
                    <div class="kv-wrap">
                        <table class="table log-table">
                            <thead><tr><th scope="col">"Level"</th><th scope="col">"Step"</th><th scope="col">"Message"</th></tr></thead>
                            <tbody>
                                {move || {
                                    let only = level.get();
                                    logs.with_value(|all| {
                                        all.iter()
                                            .filter(|l| only.as_deref().is_none_or(|o| o == l.level))
                                            .map(|l| view! {
                                                <tr class="log-row" data-level=l.level.clone()>
                                                    <td><span class=format!("badge badge-{} log-level", l.level)>{l.level.clone()}</span></td>
                                                    <td class="mono log-step">{l.step.clone()}</td>
                                                    <td class="log-msg">{l.message.clone()}</td>
                                                </tr>
                                            })
                                            .collect_view()
                                    })
                                }}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}
