//! The dashboard, the UI's landing page: calls, errors and latency over the last hour or day
//! (`GET /api/v1/stats/overview`), the dead letters waiting, and every integration with calls
//! (failing first, then slowest, as the server sorts them), each linking to its executions.
//! It refreshes every 30 s.

mod chart;

use flowgate_api::{IntegrationSeries, OverviewOut};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use crate::api::{self, enc, ApiError};
use crate::components::{use_poll, Empty, LoadError, Loading, Notify, PageHead};
use crate::format::{fmt_latency_ms, fmt_percent, now_us, parse_time_us, plural, rfc3339_utc};
use chart::{CallsChart, Sparkline};

const REFRESH_MS: u32 = 30_000;

/// The time window the dashboard covers (`?window=` in the URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Hour,
    Day,
}

impl Window {
    /// The URL's value; anything else is the last hour.
    pub fn parse(v: Option<&str>) -> Window {
        match v.map(str::trim) {
            Some("24h") | Some("1d") => Window::Day,
            _ => Window::Hour,
        }
    }

    /// `1h` / `24h`: the API's and the executions list's value.
    pub fn param(self) -> &'static str {
        match self {
            Window::Hour => "1h",
            Window::Day => "24h",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Window::Hour => "the last hour",
            Window::Day => "the last day",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Window::Hour => "Last hour",
            Window::Day => "Last day",
        }
    }

    /// What one bucket is (the server's: a minute in an hour, half an hour in a day).
    pub fn bucket_word(self) -> &'static str {
        match self {
            Window::Hour => "minute",
            Window::Day => "half hour",
        }
    }
}

/// The executions list filtered to an integration (and a status), over the window.
pub fn executions_href(slug: &str, status: Option<&str>, window: Option<Window>) -> String {
    let mut q = Vec::new();
    if !slug.is_empty() {
        q.push(format!("integration={}", enc(slug)));
    }
    if let Some(s) = status {
        q.push(format!("status={}", enc(s)));
    }
    if let Some(w) = window {
        q.push(format!("range={}", w.param()));
    }
    if q.is_empty() {
        "/executions".to_owned()
    } else {
        format!("/executions?{}", q.join("&"))
    }
}

/// How an error rate reads: green without errors, amber under 5 %, red from there.
pub fn rate_class(errors: u64, rate: f64) -> &'static str {
    if errors == 0 {
        "rate ok"
    } else if rate < 0.05 {
        "rate warn"
    } else {
        "rate bad"
    }
}

/// `1234567` → `1,234,567`.
pub fn fmt_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let query = use_query_map();
    let window = Memo::new(move |_| query.with(|q| Window::parse(q.get("window").as_deref())));
    let data = RwSignal::new(None::<Result<OverviewOut, ApiError>>);
    let updated = RwSignal::new(None::<i64>);
    // The newest request wins (a slow refresh must not overwrite the other window's figures).
    let seq = StoredValue::new(0u64);
    let notify = Notify::new();

    let load = move |first: bool| {
        let w = window.get_untracked();
        let n = seq.get_value() + 1;
        seq.set_value(n);
        spawn_local(async move {
            let r = api::get::<OverviewOut>(&format!("/stats/overview?window={}", w.param())).await;
            if seq.try_get_value() != Some(n) {
                return;
            }
            match r {
                Ok(out) => {
                    data.try_set(Some(Ok(out)));
                    updated.try_set(Some(now_us()));
                }
                Err(e) => {
                    let shown = data
                        .try_with_untracked(|d| matches!(d, Some(Ok(_))))
                        .unwrap_or(false);
                    if shown && !first {
                        notify.error(format!("Could not refresh the dashboard: {e}"));
                    } else {
                        data.try_set(Some(Err(e)));
                    }
                }
            }
        });
    };
    Effect::new(move |_| {
        window.track();
        data.set(None);
        load(true);
    });
    use_poll(REFRESH_MS, move || load(false));
    let retry = move |()| {
        data.set(None);
        load(true);
    };

    let body = move || {
        let w = window.get();
        data.with(|d| match d {
            None => view! { <Loading what="the figures"/> }.into_any(),
            Some(Err(e)) => view! {
                <LoadError text=format!("Could not load the dashboard: {}", e.describe()) on_retry=retry/>
            }
            .into_any(),
            Some(Ok(o)) if o.totals.calls == 0 => empty_state(w, o.dead_letters).into_any(),
            Some(Ok(o)) => overview(w, o).into_any(),
        })
    };
    let meta = move || {
        updated.get().map(|t| {
            let at = rfc3339_utc(t);
            format!(
                "Updated {} UTC · refreshes every 30 s",
                at.get(11..19).unwrap_or_default()
            )
        })
    };

    view! {
        <div class="page dashboard">
            <PageHead title="Dashboard" sub=move || move || format!("Calls, errors and run times of every integration over {}.", window.get().words())>
                <WindowSwitch current=window/>
            </PageHead>
            {move || meta().map(|m| view! { <div class="list-meta muted small" id="dashboard-updated">{m}</div> })}
            {body}
        </div>
    }
}

/// Last hour / last day, as links (the window lives in the URL).
#[component]
fn WindowSwitch(current: Memo<Window>) -> impl IntoView {
    view! {
        <div class="segmented" role="group" aria-label="Time window">
            {[Window::Hour, Window::Day].into_iter().map(|w| {
                let href = format!("/?window={}", w.param());
                view! {
                    <a href=href class="segment" id=format!("window-{}", w.param())
                        aria-current=move || (current.get() == w).then_some("true")>{w.label()}</a>
                }
            }).collect_view()}
        </div>
    }
}

fn empty_state(w: Window, dead: u64) -> impl IntoView {
    let title = match w {
        Window::Hour => "No calls in the last hour",
        Window::Day => "No calls in the last day",
    };
    view! {
        <div id="dashboard-empty">
            <Empty title=title>
                <p class="empty-lead">
                    "When other systems call your integrations' endpoints, their calls, errors and run times show here."
                </p>
                <a class="btn btn-primary" href="/integrations">"Go to integrations"</a>
                {(dead > 0).then(|| view! {
                    <p class="small">
                        <a href="/executions?status=dead" id="dead-letters-link">
                            {format!("{} waiting", plural(dead as usize, "dead letter is", "dead letters are"))}
                        </a>
                    </p>
                })}
            </Empty>
        </div>
    }
}

fn overview(w: Window, o: &OverviewOut) -> impl IntoView {
    let t = &o.totals;
    let from_us = parse_time_us(&o.from).unwrap_or(0);
    let dead_class = if o.dead_letters > 0 {
        "stat stat-link stat-alert"
    } else {
        "stat stat-link"
    };
    view! {
        <div class="stat-grid" id="headline">
            <div class="stat" id="stat-calls">
                <div class="stat-label">"Calls"</div>
                <div class="stat-value">{fmt_count(t.calls)}</div>
                <div class="stat-sub">{format!("in {}", w.words())}</div>
            </div>
            <div class="stat" id="stat-error-rate">
                <div class="stat-label">"Error rate"</div>
                <div class=format!("stat-value {}", rate_class(t.errors, t.error_rate))>{fmt_percent(t.error_rate)}</div>
                <div class="stat-sub">{plural(t.errors as usize, "error", "errors")}" (failed, errored, dead)"</div>
            </div>
            <div class="stat" id="stat-p50">
                <div class="stat-label">"p50 run time"</div>
                <div class="stat-value">{fmt_latency_ms(t.p50_ms)}</div>
                <div class="stat-sub">"half the calls took less"</div>
            </div>
            <div class="stat" id="stat-p99">
                <div class="stat-label">"p99 run time"</div>
                <div class="stat-value">{fmt_latency_ms(t.p99_ms)}</div>
                <div class="stat-sub">"the slowest 1 % took longer"</div>
            </div>
            <a class=dead_class id="stat-dead" href="/executions?status=dead"
                title="Open the dead letters in the executions list">
                <div class="stat-label">"Dead letters"</div>
                <div class="stat-value">{fmt_count(o.dead_letters)}</div>
                <div class="stat-sub">{if o.dead_letters > 0 { "waiting: replay or skip them →" } else { "none waiting (any age)" }}</div>
            </a>
        </div>
        <section class="card chart-card">
            <h2>{format!("Calls per {}", w.bucket_word())}</h2>
            <CallsChart buckets=t.buckets.clone() from_us=from_us bucket_s=o.bucket_s
                bucket_word=w.bucket_word() window_words=w.words()/>
        </section>
        <h2 class="dash-section">"Integrations"</h2>
        <p class="muted small dash-note">"Failing first, then the slowest. A row opens its executions."</p>
        {integration_table(w, &o.integrations)}
    }
}

fn integration_table(w: Window, list: &[IntegrationSeries]) -> AnyView {
    if list.is_empty() {
        return view! {
            <Empty title="No integration had calls">"The calls counted above came from integrations that were deleted since."</Empty>
        }
        .into_any();
    }
    let rows = list.iter().map(|i| integration_row(w, i)).collect_view();
    view! {
        <div class="table-wrap">
            <table class="table dash-table" id="dashboard-integrations">
                <thead><tr>
                    <th scope="col">"Integration"</th>
                    <th scope="col">{format!("Calls per {}", w.bucket_word())}</th>
                    <th scope="col" class="num">"Calls"</th>
                    <th scope="col" class="num">"Error rate"</th>
                    <th scope="col" class="num">"p50"</th>
                    <th scope="col" class="num">"p99"</th>
                    <th scope="col" class="num">"Dead letters"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

fn integration_row(w: Window, i: &IntegrationSeries) -> impl IntoView {
    let s = &i.series;
    let all = executions_href(&i.slug, None, Some(w));
    let dead = executions_href(&i.slug, Some("dead"), None);
    let spark_label = format!(
        "{}: {} and {} per {} over {}",
        i.name,
        plural(s.calls as usize, "call", "calls"),
        plural(s.errors as usize, "error", "errors"),
        w.bucket_word(),
        w.words()
    );
    let open_title = format!("Executions of {} in {}", i.name, w.words());
    view! {
        <tr data-slug=i.slug.clone() class="dash-row">
            <td class="name-cell">
                <a href=all.clone() class="strong integration-link" title=open_title>{i.name.clone()}</a>
                <div class="muted small mono">
                    {i.slug.clone()}" · "<a href=format!("/integrations/{}", enc(&i.slug)) class="edit-link">"edit"</a>
                </div>
            </td>
            <td class="spark-cell"><Sparkline buckets=s.buckets.clone() label=spark_label/></td>
            <td class="num"><a href=all class="calls-link">{fmt_count(s.calls)}</a></td>
            <td class="num">
                <span class=rate_class(s.errors, s.error_rate) title=format!("{} of {} calls", s.errors, s.calls)>{fmt_percent(s.error_rate)}</span>
            </td>
            <td class="num nowrap">{fmt_latency_ms(s.p50_ms)}</td>
            <td class="num nowrap">{fmt_latency_ms(s.p99_ms)}</td>
            <td class="num">
                {if i.dead_letters > 0 {
                    view! { <a href=dead class="rate bad dead-link" title="Open its dead letters">{fmt_count(i.dead_letters)}</a> }.into_any()
                } else {
                    view! { <span class="muted">"0"</span> }.into_any()
                }}
            </td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_come_from_the_url() {
        assert_eq!(Window::parse(None), Window::Hour);
        assert_eq!(Window::parse(Some("24h")), Window::Day);
        assert_eq!(Window::parse(Some("7d")), Window::Hour);
        assert_eq!(Window::Day.param(), "24h");
        assert_eq!(Window::Hour.bucket_word(), "minute");
    }

    #[test]
    fn links_filter_the_executions() {
        assert_eq!(
            executions_href("create customer", None, Some(Window::Hour)),
            "/executions?integration=create%20customer&range=1h"
        );
        assert_eq!(
            executions_href("a", Some("dead"), None),
            "/executions?integration=a&status=dead"
        );
        assert_eq!(executions_href("", None, None), "/executions");
    }

    #[test]
    fn figures_read_well() {
        assert_eq!(fmt_count(0), "0");
        assert_eq!(fmt_count(999), "999");
        assert_eq!(fmt_count(1_000), "1,000");
        assert_eq!(fmt_count(1_234_567), "1,234,567");
        assert_eq!(rate_class(0, 0.0), "rate ok");
        assert_eq!(rate_class(1, 0.01), "rate warn");
        assert_eq!(rate_class(5, 0.5), "rate bad");
    }
}
