//! The rows of the deliveries table, and the open delivery: its attempts and the body sent.

use flowgate_api::subscriptions::{AttemptOut, DeliveryOut};
use leptos::prelude::*;

use super::parts::on_control;
use super::rules::{code_class, status_help};
use crate::api::{enc, ApiError};
use crate::components::{when, CopyButton, JsonBlock, LoadError, Loading};
use crate::format::{ago, fmt_ms, short_time, until};

/// Shared by every row of the deliveries table.
#[derive(Clone, Copy)]
pub struct RowCtx {
    pub session_admin: Signal<bool>,
    pub expanded: RwSignal<Option<String>>,
    pub detail: RwSignal<Option<(String, Result<DeliveryOut, ApiError>)>>,
    pub tick: RwSignal<u32>,
    pub redelivering: RwSignal<Vec<String>>,
    pub toggle: Callback<String>,
    pub redeliver: Callback<DeliveryOut>,
    pub reload_detail: Callback<String>,
}

pub type RowKey = (
    String,
    String,
    i32,
    Option<u16>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A row is drawn again only when what it shows changed.
pub fn row_key(d: &DeliveryOut) -> RowKey {
    (
        d.id.clone(),
        d.status.clone(),
        d.attempts,
        d.last_status,
        d.next_attempt_at.clone(),
        d.finished_at.clone(),
        d.last_error.clone(),
    )
}

pub fn delivery_row(d: DeliveryOut, ctx: RowCtx) -> impl IntoView {
    let did = d.id.clone();
    let open = {
        let did = did.clone();
        Memo::new(move |_| ctx.expanded.with(|e| e.as_deref() == Some(did.as_str())))
    };
    let panel_id = format!("delivery-{}", d.id);
    let toggle = {
        let did = did.clone();
        move || ctx.toggle.run(did.clone())
    };
    let toggle2 = toggle.clone();
    let finished = matches!(d.status.as_str(), "succeeded" | "failed");

    let last_response = match (d.last_status, &d.last_error) {
        (Some(code), err) => view! {
            <span class=code_class(code)>{code}</span>
            {err.clone().map(|e| view! { <span class="cell-sub muted small" title=e.clone()>{e.clone()}</span> })}
        }
        .into_any(),
        (None, Some(e)) => view! { <span class="cell-sub error-text small" title=e.clone()>{e.clone()}</span> }
            .into_any(),
        (None, None) => view! { <span class="muted">"—"</span> }.into_any(),
    };
    let next = match (d.status.as_str(), &d.next_attempt_at) {
        ("pending", Some(t)) => {
            let t2 = t.clone();
            view! {
                <span title=format!("{} UTC", short_time(t))>{move || { ctx.tick.track(); until(&t2) }}</span>
            }
            .into_any()
        }
        ("delivering", _) => view! { <span class="info-text">"Sending now"</span> }.into_any(),
        ("failed", _) => view! { <span class="muted">"Gave up"</span> }.into_any(),
        _ => view! { <span class="muted">"—"</span> }.into_any(),
    };
    let created = {
        let t = d.created_at.clone();
        view! { <span title=format!("{} UTC", short_time(&d.created_at))>{move || { ctx.tick.track(); ago(&t) }}</span> }
    };
    let action = {
        let d2 = d.clone();
        let did = did.clone();
        move || {
            ctx.session_admin.get().then(|| {
                let d3 = d2.clone();
                let did = did.clone();
                let busy = Memo::new(move |_| ctx.redelivering.with(|r| r.contains(&did)));
                let title = if finished {
                    "Send it again now, with the same webhook-id"
                } else {
                    "Still queued: it can be redelivered once it has finished"
                };
                view! {
                    <button class="btn btn-small redeliver" type="button" title=title
                        disabled=move || !finished || busy.get()
                        on:click=move |_| ctx.redeliver.run(d3.clone())>
                        {move || if busy.get() { "Queuing…" } else { "Redeliver" }}
                    </button>
                }
            })
        }
    };
    let attempts_class = if 3 < d.attempts {
        "num attempts-many"
    } else {
        "num"
    };
    let row_class = move || {
        if open.get() {
            "delivery-row clickable is-open"
        } else {
            "delivery-row clickable"
        }
    };
    let detail_open = move || open.get();
    let panel_for_row = panel_id.clone();
    let did_for_panel = did.clone();
    let aria = format!("Attempts and payload of {} ({})", d.event_type, d.status);
    let status_title = status_help(&d.status);
    let event_id = d.event_id.clone();

    view! {
        <tr class=row_class data-status=d.status.clone() data-event-type=d.event_type.clone() data-delivery-id=d.id.clone()
            on:click=move |ev| {
                if !on_control(&ev) {
                    toggle();
                }
            }>
            <td class="col-toggle">
                <button class="icon-btn expand" type="button" aria-label=aria aria-controls=panel_for_row
                    aria-expanded=move || open.get().to_string()
                    on:click=move |_| toggle2()>
                    <span class="chevron" aria-hidden="true">"›"</span>
                </button>
            </td>
            <td title=status_title><span class=format!("badge badge-{}", d.status)>{d.status.clone()}</span></td>
            <td class="col-event">
                <span class="mono strong event-type">{d.event_type.clone()}</span>
                <span class="cell-sub mono muted small" title="webhook-id: the same on every attempt and redelivery">{event_id}</span>
            </td>
            <td class=attempts_class>{d.attempts}</td>
            <td class="col-response">{last_response}</td>
            <td class="nowrap">{next}</td>
            <td class="nowrap">{created}</td>
            <td class="actions">{action}</td>
        </tr>
        <Show when=detail_open>
            <tr class="delivery-detail" id=panel_id.clone()>
                <td colspan="8">{delivery_panel(did_for_panel.clone(), ctx)}</td>
            </tr>
        </Show>
    }
}

/// The attempts and body of the open delivery.
fn delivery_panel(did: String, ctx: RowCtx) -> impl IntoView {
    move || {
        ctx.detail.with(|d| match d {
            Some((x, Ok(d))) if *x == did => delivery_detail(d.clone(), ctx).into_any(),
            Some((x, Err(e))) if *x == did => {
                let text = if e.status == 404 {
                    "This delivery no longer exists (finished deliveries are kept 30 days).".to_owned()
                } else {
                    format!("Could not load the attempts: {}", e.describe())
                };
                let again = did.clone();
                view! { <LoadError text=text on_retry=move |()| ctx.reload_detail.run(again.clone())/> }
                    .into_any()
            }
            _ => view! { <Loading what="the attempts"/> }.into_any(),
        })
    }
}

fn delivery_detail(d: DeliveryOut, ctx: RowCtx) -> impl IntoView {
    let body_text = d
        .body
        .as_ref()
        .and_then(|b| serde_json::to_string_pretty(b).ok())
        .unwrap_or_default();
    let body = match d.body.clone() {
        Some(b) => view! {
            <div class="payload-head">
                <h3>"Payload sent"</h3>
                <CopyButton text=body_text label="Copy JSON"/>
            </div>
            <JsonBlock value=b/>
        }
        .into_any(),
        None => {
            view! { <h3>"Payload sent"</h3><p class="muted small">"Not available."</p> }.into_any()
        }
    };
    let attempts = if d.attempt_log.is_empty() {
        let text = match &d.next_attempt_at {
            Some(t) => format!("No attempt yet: the first one is due {}.", until(t)),
            None => "No attempt yet.".to_owned(),
        };
        view! { <p class="muted small">{text}</p> }.into_any()
    } else {
        view! {
            <ol class="attempts" reversed>
                {d.attempt_log.iter().rev().cloned().map(attempt_item).collect_view()}
            </ol>
        }
        .into_any()
    };
    let execution = d.execution_id.clone().map(|x| {
        let href = format!("/executions/{}", enc(&x));
        view! { <dt>"Emitted by"</dt><dd><a href=href class="mono">"execution "{x.clone()}</a></dd> }
    });
    let finished = d.finished_at.clone().map(|t| {
        view! { <dt>"Finished"</dt><dd>{when(&t)}</dd> }
    });
    let next = d.next_attempt_at.clone().map(|t| {
        let t2 = t.clone();
        view! { <dt>"Next attempt"</dt><dd>{when(&t)}" "<span class="muted">"("{move || { ctx.tick.track(); until(&t2) }}")"</span></dd> }
    });
    let event_id = d.event_id.clone();
    view! {
        <div class="delivery-panel">
            <dl class="kv delivery-facts">
                <dt>"webhook-id"</dt>
                <dd><span class="id-line"><code>{event_id.clone()}</code><CopyButton text=event_id label="Copy"/></span></dd>
                <dt>"Created"</dt>
                <dd>{when(&d.created_at)}</dd>
                {finished}
                {next}
                {execution}
            </dl>
            <div class="delivery-grid">
                <section class="delivery-attempts">
                    <h3>"Attempts "<span class="muted small">"(newest first)"</span></h3>
                    {attempts}
                </section>
                <section class="delivery-body">{body}</section>
            </div>
        </div>
    }
}

fn attempt_item(a: AttemptOut) -> impl IntoView {
    let ok = a.error.is_none() && a.response_status.is_some_and(|c| (200..300).contains(&c));
    let status = match a.response_status {
        Some(code) => view! { <span class=code_class(code)>{code}</span> }.into_any(),
        None => view! { <span class="code-pill code-bad">"No response"</span> }.into_any(),
    };
    let headers = a
        .request_headers
        .iter()
        .map(|(k, v)| view! { <dt>{k.clone()}</dt><dd><code>{v.clone()}</code></dd> })
        .collect_view();
    view! {
        <li class=if ok { "attempt attempt-ok" } else { "attempt attempt-bad" } data-attempt=a.attempt.to_string()>
            <div class="attempt-head">
                <span class="attempt-no">"#"{a.attempt}</span>
                {status}
                <span class="muted small nowrap" title="UTC">{short_time(&a.started_at)}</span>
                <span class="muted small nowrap">{fmt_ms(a.duration_ms)}</span>
            </div>
            {a.error.clone().map(|e| view! { <div class="attempt-error">{e}</div> })}
            {a.response_excerpt.clone().filter(|x| !x.is_empty()).map(|x| view! {
                <div class="attempt-excerpt">
                    <span class="muted small">"Response (first 2 KiB)"</span>
                    <pre class="excerpt">{x}</pre>
                </div>
            })}
            <details class="attempt-request">
                <summary>"Request headers"</summary>
                <div class="muted small mono attempt-url">"POST "{a.url.clone()}</div>
                <dl class="kv headers-kv">{headers}</dl>
            </details>
        </li>
    }
}
