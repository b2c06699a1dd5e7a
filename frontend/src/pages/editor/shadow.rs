//! Shadow replay: the newest recorded calls of the integration run again against its saved
//! draft, with no side effects (HTTP requests are answered from the recording), and each
//! answer is compared with the one its caller got, before publishing.

use flowgate_api::{ExecutionStatus, ResponseSnapshot, ShadowIn, ShadowOut, ShadowRunOut};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::ctx::{Ctx, SaveState};
use crate::api::{self, enc, ApiError};
use crate::components::{http_code_class, Badge, Empty, JsonBlock};
use crate::format::{from_input, full_time, plural, sentence, short_time};

/// How a recorded call fared against the draft, in the order the list shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Differs,
    /// An HTTP request the recording could not answer, or the run broke: not comparable.
    Incomplete,
    Same,
}

impl Outcome {
    /// As the server counts them: incomplete first, then same or not.
    pub fn of(run: &ShadowRunOut) -> Self {
        if !run.unmatched_calls.is_empty() || run.error.is_some() {
            Outcome::Incomplete
        } else if run.same {
            Outcome::Same
        } else {
            Outcome::Differs
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Differs => "differs",
            Outcome::Incomplete => "incomplete",
            Outcome::Same => "same",
        }
    }
}

/// Differing calls first, then incomplete ones, then the same; newest first within each (the
/// server's order, kept by the stable sort).
pub fn ordered(mut runs: Vec<ShadowRunOut>) -> Vec<ShadowRunOut> {
    runs.sort_by_key(Outcome::of);
    runs
}

/// "17 of 20 answered the same, 3 differ, 1 incomplete"; empty when nothing was replayed.
pub fn summary_text(out: &ShadowOut) -> String {
    if out.total == 0 {
        return String::new();
    }
    if out.same == out.total && out.incomplete == 0 {
        return if out.total == 1 {
            "The call answered the same".to_owned()
        } else {
            format!("All {} answered the same", out.total)
        };
    }
    let mut text = format!("{} of {} answered the same", out.same, out.total);
    if out.different > 0 {
        let verb = if out.different == 1 {
            "differs"
        } else {
            "differ"
        };
        text.push_str(&format!(", {} {verb}", out.different));
    }
    if out.incomplete > 0 {
        text.push_str(&format!(", {} incomplete", out.incomplete));
    }
    text
}

/// The summary's colour: `bad` when a call answers differently, `warn` when the only
/// doubtful ones are calls the recording could not answer, else `good`.
pub fn summary_tone(runs: &[ShadowRunOut]) -> &'static str {
    match runs.iter().map(Outcome::of).min() {
        Some(Outcome::Differs) => "bad",
        Some(Outcome::Incomplete) => "warn",
        _ => "good",
    }
}

/// "200 → 422"; a call that recorded no answer shows "—".
pub fn status_change(run: &ShadowRunOut) -> String {
    let then = run
        .recorded
        .as_ref()
        .map_or_else(|| "—".to_owned(), |r| r.status.to_string());
    format!("{then} → {}", run.shadow.status)
}

/// The request body from the form's values: how many calls and the optional time range
/// (`datetime-local` values, read as UTC). The server checks the range of `limit`.
pub fn shadow_input(limit: &str, from: &str, to: &str) -> Result<ShadowIn, String> {
    let limit = limit
        .trim()
        .parse::<u32>()
        .map_err(|_| "How many calls: give a whole number from 1 to 200.".to_owned())?;
    let time = |v: &str, name: &str| -> Result<Option<String>, String> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        from_input(v)
            .map(Some)
            .ok_or_else(|| format!("{name}: give a date and a time."))
    };
    Ok(ShadowIn {
        limit,
        from: time(from, "From")?,
        to: time(to, "To")?,
    })
}

#[component]
pub fn ShadowPanel(ctx: Ctx, save_state: RwSignal<SaveState>) -> impl IntoView {
    (!ctx.readonly).then(|| view! { <Shadow ctx=ctx save_state=save_state/> })
}

#[component]
fn Shadow(ctx: Ctx, save_state: RwSignal<SaveState>) -> impl IntoView {
    let limit = RwSignal::new(ShadowIn::default().limit.to_string());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let running = RwSignal::new(false);
    let result = RwSignal::new(None::<Result<ShadowOut, String>>);
    // The edit count when the shown result was made: later edits make it stale.
    let ran_at = RwSignal::new(0u64);
    let saving = move || matches!(save_state.get(), SaveState::Pending | SaveState::Saving);

    let run = move |_| {
        let input = match shadow_input(
            &limit.get_untracked(),
            &from.get_untracked(),
            &to.get_untracked(),
        ) {
            Ok(i) => i,
            Err(e) => {
                result.set(Some(Err(e)));
                return;
            }
        };
        running.set(true);
        ran_at.set(ctx.edits.get_untracked());
        spawn_local(async move {
            let r = api::post::<ShadowOut, _>(
                &format!("/integrations/{}/shadow", enc(&ctx.slug.get_value())),
                &input,
            )
            .await
            .map_err(|e: ApiError| sentence(&e.describe()));
            result.try_set(Some(r));
            running.try_set(false);
        });
    };

    view! {
        <section class="card shadow-panel" id="shadow-panel" aria-labelledby="shadow-title">
            <h2 id="shadow-title">"Shadow replay"</h2>
            <p class="muted small">"Runs the newest recorded calls again against this draft. Nothing is sent or saved: HTTP calls are answered from what was recorded."</p>
            <div class="shadow-form">
                <div class="field shadow-limit">
                    <label for="shadow-limit">"Replay the newest"</label>
                    <input id="shadow-limit" type="number" min="1" max="200" step="1" inputmode="numeric"
                        prop:value=limit on:input=move |ev| limit.set(event_target_value(&ev))/>
                    <span class="small muted">"calls (1–200)"</span>
                </div>
                <div class="field">
                    <label for="shadow-from">"From (UTC, optional)"</label>
                    <input id="shadow-from" type="datetime-local" step="1"
                        prop:value=from on:input=move |ev| from.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="shadow-to">"To (UTC, optional)"</label>
                    <input id="shadow-to" type="datetime-local" step="1"
                        prop:value=to on:input=move |ev| to.set(event_target_value(&ev))/>
                </div>
            </div>
            <button class="btn btn-primary btn-block" id="run-shadow" type="button"
                disabled=move || running.get() || saving()
                title=move || if saving() { "Waiting for the draft to be saved" } else { "Replay the recorded calls against the saved draft" }
                aria-busy=move || running.get().to_string()
                on:click=run>
                {move || if running.get() {
                    view! { <span class="spinner" aria-hidden="true"></span>"Running…" }.into_any()
                } else if saving() {
                    "Saving the draft first…".into_any()
                } else {
                    "▶ Run shadow replay".into_any()
                }}
            </button>
            {move || result.get().map(|r| match r {
                Err(e) => view! { <div class="error-box" role="alert" id="shadow-error">{e}</div> }.into_any(),
                Ok(out) => view! {
                    <Show when=move || ctx.edits.get() != ran_at.get()>
                        <div class="warn-box small" id="shadow-stale">"The draft changed since this replay. Run it again to compare the new draft."</div>
                    </Show>
                    <ShadowResult out=out/>
                }.into_any(),
            })}
        </section>
    }
}

#[component]
fn ShadowResult(out: ShadowOut) -> impl IntoView {
    if out.total == 0 {
        return view! {
            <div class="shadow-empty" id="shadow-empty">
                <Empty title="No recorded calls to replay yet">
                    "Calls to the published endpoint are recorded as executions; once there are some (in this time range), replay them here."
                </Empty>
            </div>
        }
        .into_any();
    }
    let tone = summary_tone(&out.runs);
    let text = summary_text(&out);
    let against = if out.against == "draft" {
        "Compared with the saved draft."
    } else {
        "There is no draft: compared with the published version."
    };
    let now_label = if out.against == "draft" {
        "Draft"
    } else {
        "Published"
    };
    view! {
        <div class="shadow-result" id="shadow-result">
            <div class=format!("shadow-summary tone-{tone}") id="shadow-summary" data-tone=tone role="status">
                <span class="shadow-summary-icon" aria-hidden="true">{if tone == "good" { "✓" } else { "!" }}</span>
                <span>{text}</span>
            </div>
            <p class="muted small shadow-against">{against}</p>
            <ol class="shadow-runs" id="shadow-runs">
                {ordered(out.runs).into_iter().map(|r| view! { <RunRow run=r now_label=now_label/> }).collect_view()}
            </ol>
        </div>
    }
    .into_any()
}

fn snapshot_view(title: String, snap: Option<ResponseSnapshot>) -> impl IntoView {
    view! {
        <div class="shadow-body">
            <div class="section-title">{title}</div>
            {match snap {
                Some(s) => view! {
                    <div class=http_code_class(Some(s.status))>{s.status.to_string()}</div>
                    <JsonBlock value=s.body/>
                }.into_any(),
                None => view! { <p class="muted small">"No answer was recorded."</p> }.into_any(),
            }}
        </div>
    }
}

#[component]
fn RunRow(run: ShadowRunOut, now_label: &'static str) -> impl IntoView {
    let outcome = Outcome::of(&run);
    let change = status_change(&run);
    let shadow_class = http_code_class(Some(run.shadow.status));
    let first = run.differences.first().cloned();
    let link = format!("/executions/{}", enc(&run.execution_id));
    let shadow_failed = !matches!(run.shadow_status, ExecutionStatus::Succeeded);
    let shadow_status = run.shadow_status.as_str();
    view! {
        <li class=format!("shadow-run outcome-{}", outcome.as_str())
            data-outcome=outcome.as_str() data-execution-id=run.execution_id.clone()>
            <details>
                <summary>
                    <span class="mono small shadow-time" title=full_time(&run.received_at)>{short_time(&run.received_at)}</span>
                    <span class=format!("mono shadow-status {shadow_class}") title="Recorded status → status now">{change}</span>
                    <Badge kind=outcome.as_str()/>
                    <a class="small shadow-exec" href=link title="The recorded execution">"Execution"</a>
                </summary>
                {(!run.differences.is_empty()).then(|| view! {
                    <ul class="shadow-diffs">
                        {run.differences.iter().map(|d| view! { <li class="mono">{d.clone()}</li> }).collect_view()}
                    </ul>
                })}
                {run.error.clone().map(|e| view! { <div class="error-box">{e}</div> })}
                {shadow_failed.then(|| view! {
                    <p class="small muted">"The draft's run ended as "<Badge kind=shadow_status/></p>
                })}
                {(!run.unmatched_calls.is_empty()).then(|| view! {
                    <div class="shadow-unmatched">
                        <div class="small">"Not made: the recording had no answer for these HTTP requests, so the step saw an error."</div>
                        <ul>{run.unmatched_calls.iter().map(|c| view! { <li class="mono small">{c.clone()}</li> }).collect_view()}</ul>
                    </div>
                })}
                {(run.replayed_calls > 0).then(|| view! {
                    <p class="small muted">{format!("{} answered from the recording.", plural(run.replayed_calls as usize, "HTTP request", "HTTP requests"))}</p>
                })}
                <div class="shadow-bodies">
                    {snapshot_view(format!("Recorded (v{})", run.recorded_version), run.recorded.clone())}
                    {snapshot_view(now_label.to_owned(), Some(run.shadow.clone()))}
                </div>
            </details>
            {first.map(|d| view! { <div class="shadow-first-diff mono small">{d}</div> })}
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(status: u16) -> ResponseSnapshot {
        ResponseSnapshot {
            status,
            headers: Default::default(),
            body: serde_json::json!({}),
        }
    }

    fn run(id: &str, same: bool, unmatched: bool) -> ShadowRunOut {
        ShadowRunOut {
            execution_id: id.into(),
            received_at: "2026-11-23T12:01:02.123456Z".into(),
            recorded_version: 1,
            recorded: Some(snap(200)),
            shadow: snap(if same { 200 } else { 422 }),
            shadow_status: ExecutionStatus::Succeeded,
            same,
            differences: if same {
                Vec::new()
            } else {
                vec!["status: 200 → 422".into()]
            },
            replayed_calls: 0,
            unmatched_calls: if unmatched {
                vec!["GET http://x/y: no recorded answer".into()]
            } else {
                Vec::new()
            },
            error: None,
        }
    }

    fn out(total: u32, same: u32, incomplete: u32) -> ShadowOut {
        ShadowOut {
            against: "draft".into(),
            total,
            same,
            different: total - same,
            incomplete,
            runs: Vec::new(),
        }
    }

    #[test]
    fn differing_runs_come_first_in_their_order() {
        let runs = vec![
            run("a", true, false),
            run("b", false, false),
            run("c", false, true),
            run("d", true, false),
            run("e", false, false),
        ];
        let ids: Vec<String> = ordered(runs).into_iter().map(|r| r.execution_id).collect();
        assert_eq!(ids, ["b", "e", "c", "a", "d"]);
        let mut broken = run("f", false, false);
        broken.error = Some("the draft broke".into());
        assert_eq!(Outcome::of(&broken), Outcome::Incomplete);
        assert_eq!(Outcome::of(&run("g", true, false)).as_str(), "same");
    }

    #[test]
    fn summaries_say_how_many_differ() {
        assert_eq!(
            summary_text(&out(20, 17, 1)),
            "17 of 20 answered the same, 3 differ, 1 incomplete"
        );
        assert_eq!(
            summary_text(&out(3, 2, 0)),
            "2 of 3 answered the same, 1 differs"
        );
        assert_eq!(
            summary_text(&out(3, 0, 0)),
            "0 of 3 answered the same, 3 differ"
        );
        assert_eq!(summary_text(&out(5, 5, 0)), "All 5 answered the same");
        assert_eq!(summary_text(&out(1, 1, 0)), "The call answered the same");
        assert_eq!(summary_text(&out(0, 0, 0)), "");
        let same = run("a", true, false);
        let differs = run("b", false, false);
        let incomplete = run("c", false, true);
        assert_eq!(summary_tone(&[same.clone(), same.clone()]), "good");
        assert_eq!(summary_tone(&[same.clone(), incomplete.clone()]), "warn");
        assert_eq!(summary_tone(&[incomplete, differs, same]), "bad");
        assert_eq!(summary_tone(&[]), "good");
    }

    #[test]
    fn status_changes_and_form_values() {
        assert_eq!(status_change(&run("a", false, false)), "200 → 422");
        let mut async_call = run("b", true, false);
        async_call.recorded = None;
        assert_eq!(status_change(&async_call), "— → 200");

        let i = shadow_input(" 5 ", "", "").unwrap();
        assert_eq!((i.limit, i.from, i.to), (5, None, None));
        let i = shadow_input("20", "2026-11-23T08:00", "2026-11-23T09:30:15").unwrap();
        assert_eq!(i.from.as_deref(), Some("2026-11-23T08:00:00Z"));
        assert_eq!(i.to.as_deref(), Some("2026-11-23T09:30:15Z"));
        // The server checks the range and says so.
        assert_eq!(shadow_input("0", "", "").unwrap().limit, 0);
        assert!(shadow_input("", "", "").is_err());
        assert!(shadow_input("-3", "", "").is_err());
        assert!(shadow_input("20", "yesterday", "").is_err());
    }
}
