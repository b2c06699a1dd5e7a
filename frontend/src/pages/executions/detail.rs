//! One execution in full: request, response, step trace and logs, with replay and skip;
//! refreshed every 2 s while it is queued or running.

use flowgate_api::executions::{ReplayIn, ReplayOut, ReplayVersion};
use flowgate_api::{ExecutionOut, ExecutionStatus};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::callers::kind_name;
use super::filters::list_href;
use super::snapshot::{request_card, response_card};
use super::text::{run_us, short_id};
use super::trace::{step_trace, LogList};
use crate::api::{self, enc, ApiError};
use crate::components::{
    confirm, use_go, use_poll, use_route_param, CopyButton, LoadError, Loading, Notify,
};
use crate::format::{ago, fmt_duration_us, full_time, now_us, parse_time_us, short_time, until_at};
use crate::session::use_session;

const DETAIL_EVERY_MS: u32 = 2_000;

#[component]
pub fn ExecutionPage() -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let id = use_route_param("id");
    let go = use_go();
    let data = RwSignal::new(None::<Result<ExecutionOut, ApiError>>);
    let poll_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let seq = StoredValue::new(0u64);
    let in_flight = StoredValue::new(false);

    let load = move |reset: bool| {
        let Some(id) = id.try_get_untracked() else {
            return;
        };
        if id.is_empty() {
            return;
        }
        let Some(me) = seq.try_update_value(|s| {
            *s += 1;
            *s
        }) else {
            return;
        };
        in_flight.try_update_value(|f| *f = true);
        if reset {
            data.try_set(None);
            poll_error.try_set(None);
        }
        spawn_local(async move {
            let r = api::get::<ExecutionOut>(&format!("/executions/{}", enc(&id))).await;
            if seq.try_get_value() != Some(me) {
                return; // another execution was opened meanwhile
            }
            in_flight.try_update_value(|f| *f = false);
            match r {
                Ok(e) => {
                    poll_error.try_set(None);
                    let same = data
                        .try_with_untracked(|d| matches!(d, Some(Ok(old)) if *old == e))
                        .unwrap_or(false);
                    if !same {
                        data.try_set(Some(Ok(e)));
                    }
                }
                Err(e) => {
                    let shown = data
                        .try_with_untracked(|d| matches!(d, Some(Ok(_))))
                        .unwrap_or(false);
                    if shown && !reset {
                        poll_error.try_set(Some(e.describe()));
                    } else {
                        data.try_set(Some(Err(e)));
                    }
                }
            }
        });
    };

    Effect::new(move |_| {
        id.track();
        load(true);
    });

    // While it is queued or running: every 2 s until it ends.
    let tick = use_poll(DETAIL_EVERY_MS, move || {
        let running = data
            .try_with_untracked(|d| matches!(d, Some(Ok(e)) if !e.status.is_final()))
            .unwrap_or(false);
        if running && in_flight.try_get_value() == Some(false) {
            load(false);
        }
    });

    let replay = move |version: ReplayVersion| {
        if busy.get_untracked() {
            return;
        }
        let id = id.get_untracked();
        busy.set(true);
        spawn_local(async move {
            let body = ReplayIn {
                version,
                ..ReplayIn::default()
            };
            let path = format!("/executions/{}/replay", enc(&id));
            match api::post::<ReplayOut, _>(&path, &body).await {
                Ok(out) if out.kind == "new" => {
                    notify.ok("Replay started as a new execution");
                    go.try_run(format!("/executions/{}", out.execution_id));
                }
                Ok(_) => {
                    notify.ok("Back in the queue: it runs again and its attempts start over");
                    load(false);
                }
                Err(e) => notify.error(format!("Could not replay this execution: {e}")),
            }
            busy.try_set(false);
        });
    };

    let skip = move || {
        let id = id.get_untracked();
        confirm(
            "Skip this execution?",
            "It will not run again and stays recorded as skipped. If it is holding up an ordered lane, the lane goes on with the next call.",
            "Skip execution",
            move || {
                let id = id.clone();
                busy.try_set(true);
                spawn_local(async move {
                    let path = format!("/executions/{}/skip", enc(&id));
                    match api::post::<ExecutionOut, _>(&path, &()).await {
                        Ok(_) => {
                            notify.ok("Execution skipped");
                            load(false);
                        }
                        Err(e) => notify.error(format!("Could not skip this execution: {e}")),
                    }
                    busy.try_set(false);
                });
            },
        );
    };

    let back = list_href();

    view! {
        <div class="page execution-page">
            <div class="crumbs"><a href=back id="back-to-list">"← Executions"</a></div>
            {move || match data.get() {
                None => view! { <Loading what="the execution"/> }.into_any(),
                Some(Err(e)) => {
                    let text = if e.status == 404 {
                        format!("There is no execution {}. It may have been removed by retention, or the link is incomplete.", id.get_untracked())
                    } else {
                        format!("Could not load this execution: {}", e.describe())
                    };
                    view! {
                        <div class="page-head"><h1>"Execution"</h1></div>
                        <LoadError class="error-box list-error" text=text on_retry=move |()| load(true)/>
                    }.into_any()
                }
                Some(Ok(e)) => {
                    let actions = ExecActions { can_edit: session.can_edit(), busy, replay: Callback::new(replay), skip: Callback::new(move |()| skip()) };
                    execution_view(e, actions, tick, poll_error).into_any()
                }
            }}
        </div>
    }
}

#[derive(Clone, Copy)]
struct ExecActions {
    can_edit: bool,
    busy: RwSignal<bool>,
    replay: Callback<ReplayVersion>,
    skip: Callback<()>,
}

fn execution_view(
    e: ExecutionOut,
    actions: ExecActions,
    tick: RwSignal<u32>,
    poll_error: RwSignal<Option<String>>,
) -> impl IntoView {
    let status = e.status;
    let running = !status.is_final();
    let ExecActions {
        can_edit,
        busy,
        replay,
        skip,
    } = actions;
    let replay_title = if status == ExecutionStatus::Dead {
        "Put it back in the queue: same id, same place in its lane, attempts start over".to_owned()
    } else if running {
        "It can be replayed once it ends".to_owned()
    } else {
        format!(
            "Run the same request again as a new execution, with version {}",
            e.version
        )
    };
    let facts = summary_facts(&e, tick);
    let request = e.request.clone();
    let response = e.response.clone();
    let mode = e.mode.clone();
    let replayed = e.replay_of.is_some();
    view! {
        <div class="page-head exec-head">
            <div class="exec-title">
                <h1>"Execution "<span class="mono exec-short-id" title=e.id.clone()>{short_id(&e.id)}</span></h1>
                <span id="execution-status" class=format!("badge badge-{} exec-status", status.as_str())
                    data-status=status.as_str()>{status.as_str()}</span>
                {running.then(|| view! {
                    <span class="live-pill" role="status"><span class="live-dot" aria-hidden="true"></span>"Updating until it ends"</span>
                })}
            </div>
            <div class="spacer"></div>
            {can_edit.then(|| view! {
                <div class="exec-actions">
                    <button type="button" id="replay" class="btn btn-primary" title=replay_title
                        disabled=move || busy.get() || running
                        on:click=move |_| replay.run(ReplayVersion::Original)>"Replay"</button>
                    <button type="button" id="replay-current" class="btn"
                        title="Run it again with the integration's published version instead of the one it first ran with"
                        disabled=move || busy.get() || running
                        on:click=move |_| replay.run(ReplayVersion::Current)>"Replay with current version"</button>
                    {(status == ExecutionStatus::Dead).then(|| view! {
                        <button type="button" id="skip" class="btn btn-danger-outline"
                            title="Give up on it: it is not run again and its ordered lane goes on"
                            disabled=move || busy.get()
                            on:click=move |_| skip.run(())>"Skip"</button>
                    })}
                </div>
            })}
        </div>
        {e.error.clone().map(|err| view! {
            <div class="error-box exec-error" role="alert" id="execution-error"><strong>"Error: "</strong>{err}</div>
        })}
        {move || poll_error.get().map(|err| view! {
            <div class="warn-box" role="status">{format!("Could not refresh: {err}. Trying again in 2 s.")}</div>
        })}
        <section class="card exec-summary" aria-label="Summary">
            <dl class="exec-facts">{facts}</dl>
        </section>
        <div class="exec-grid">
            {request_card(request)}
            {response_card(response, &mode, replayed, running)}
        </div>
        {step_trace(e.steps.clone(), running)}
        <LogList logs=e.logs.clone()/>
    }
}

fn fact(label: &'static str, value: impl IntoView + 'static) -> AnyView {
    fact_in("fact", label, value)
}

fn fact_in(class: &'static str, label: &'static str, value: impl IntoView + 'static) -> AnyView {
    view! { <div class=class><dt>{label}</dt><dd>{value}</dd></div> }.into_any()
}

fn time_fact(label: &'static str, t: Option<&str>) -> AnyView {
    match t {
        Some(t) => {
            let full = full_time(t);
            let rel = ago(t);
            fact(
                label,
                view! { <time datetime=t.to_owned() title=full.clone()>{short_time(t)}</time>" "<span class="muted small">{rel}</span> },
            )
        }
        None => fact(label, view! { <span class="muted">"—"</span> }),
    }
}

fn summary_facts(e: &ExecutionOut, tick: RwSignal<u32>) -> Vec<AnyView> {
    let mut facts = Vec::new();
    let slug = e.integration.clone();
    facts.push(fact(
        "Integration",
        view! {
            <a href=format!("/integrations/{slug}") id="execution-integration" class="strong">{slug.clone()}</a>
            <span class="muted">{format!(" · version {}", e.version)}</span>
        },
    ));
    let mode = if e.mode == "sync" {
        "sync (request-response)".to_owned()
    } else {
        e.mode.clone()
    };
    facts.push(fact(
        "Mode",
        view! { <span class=format!("mode mode-{}", e.mode)>{mode}</span> },
    ));
    facts.push(fact(
        "Caller",
        match e.caller.clone() {
            Some(c) => {
                let href = format!("/executions?caller={}", enc(&c.reference()));
                let title = format!("{} {}", kind_name(c.kind), c.id);
                view! {
                    <span id="execution-caller" class="strong" title=title>{c.label}</span>
                    <span class="muted small caller-kind">
                        {format!("{} · ", kind_name(c.kind))}
                        <a href=href id="caller-calls">"all its calls"</a>
                    </span>
                }
                .into_any()
            }
            None => view! { <span class="muted" id="execution-caller">"no credential"</span> }
                .into_any(),
        },
    ));
    facts.push(time_fact("Received", Some(&e.received_at)));
    facts.push(time_fact("Started", e.started_at.as_deref()));
    facts.push(time_fact("Finished", e.finished_at.as_deref()));
    let duration = match (run_us(e), e.started_at.as_deref().and_then(parse_time_us)) {
        (Some(us), _) => {
            view! { <span id="execution-duration">{fmt_duration_us(us)}</span> }.into_any()
        }
        (None, Some(start)) if !e.status.is_final() => view! {
            <span class="muted">{move || {
                tick.track();
                format!("running for {}", fmt_duration_us(now_us() - start))
            }}</span>
        }
        .into_any(),
        _ => view! { <span class="muted">"—"</span> }.into_any(),
    };
    facts.push(fact("Duration", duration));
    let next = e.next_attempt_at.clone();
    let attempts = e.attempts;
    facts.push(fact(
        "Attempts",
        view! {
            <span>{attempts}</span>
            {next.map(|n| {
                let full = full_time(&n);
                view! {
                    <span class="muted small" title=full>{move || {
                        tick.track();
                        format!(" · next attempt {}", until_at(&n, now_us()))
                    }}</span>
                }
            })}
        },
    ));
    if let Some(seq) = e.sequence {
        facts.push(fact("Sequence", view! { <span class="mono">{seq}</span> }));
    }
    if let Some(of) = e.replay_of.clone() {
        facts.push(fact(
            "Replay of",
            view! { <a href=format!("/executions/{of}") class="mono" id="replay-of" title=of.clone()>{short_id(&of)}</a> },
        ));
    }
    if let Some(lane) = e.lane_key.clone() {
        facts.push(fact("Lane key", view! { <span class="mono">{lane}</span> }));
    }
    if let Some(key) = e.idempotency_key.clone() {
        facts.push(fact(
            "Idempotency key",
            view! { <span class="mono">{key}</span> },
        ));
    }
    let id = e.id.clone();
    facts.push(fact_in(
        "fact fact-wide",
        "ID",
        view! {
            <span class="id-line"><span class="mono" id="execution-id">{id.clone()}</span><CopyButton text=id label="Copy id"/></span>
        },
    ));
    facts
}
