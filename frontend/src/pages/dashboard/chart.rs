//! Hand-written SVG charts for the dashboard: calls per bucket with the errors over them
//! (the totals), and a sparkline per integration. The geometry is pure and tested on the host;
//! the components only draw it.

use flowgate_api::Bucket;
use leptos::prelude::*;

/// One bar of a bar chart, in the chart's own units (its `viewBox`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// The round number a chart's scale goes up to: 1, 2 or 5 times a power of ten, at least
/// `max` (and at least 1, so an empty chart still has a scale).
pub fn nice_max(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let v = step.saturating_mul(m);
            if v >= max {
                return v;
            }
        }
        if step > u64::MAX / 10 {
            return u64::MAX;
        }
        step *= 10;
    }
}

/// Height of `v` on a scale up to `max` in a box `height` high; a value above zero is at
/// least `min_h` high, so one call among thousands still shows.
fn scaled(v: u64, max: u64, height: f64, min_h: f64) -> f64 {
    if v == 0 || max == 0 {
        return 0.0;
    }
    let h = v.min(max) as f64 / max as f64 * height;
    h.max(min_h).min(height)
}

/// Bars for `values` side by side across `width`, growing up from the bottom of a box
/// `height` high, scaled to `max`; `gap` is the space between two bars (a fraction of a
/// bucket's width, 0..1). Buckets at zero get no bar.
pub fn bars(values: &[u64], max: u64, width: f64, height: f64, gap: f64) -> Vec<Bar> {
    if values.is_empty() {
        return Vec::new();
    }
    let slot = width / values.len() as f64;
    let w = slot * (1.0 - gap.clamp(0.0, 0.9));
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| **v > 0)
        .map(|(i, v)| {
            let h = scaled(*v, max, height, 1.0);
            Bar {
                x: round2(i as f64 * slot + (slot - w) / 2.0),
                y: round2(height - h),
                w: round2(w),
                h: round2(h),
            }
        })
        .collect()
}

/// Two decimals are plenty for a screen, and keep the markup short.
fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn num(v: f64) -> String {
    let s = format!("{:.2}", round2(v));
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// The points of a line through the buckets' centres.
fn points(values: &[u64], max: u64, width: f64, height: f64) -> Vec<(f64, f64)> {
    let slot = width / values.len().max(1) as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (
                i as f64 * slot + slot / 2.0,
                height - scaled(*v, max, height, 0.0),
            )
        })
        .collect()
}

/// An SVG path (`M x,y L x,y …`) through the buckets' centres; empty without values.
pub fn line_path(values: &[u64], max: u64, width: f64, height: f64) -> String {
    points(values, max, width, height)
        .iter()
        .enumerate()
        .map(|(i, (x, y))| format!("{}{},{}", if i == 0 { "M" } else { "L" }, num(*x), num(*y)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The same line closed down to the bottom: the filled area under it.
pub fn area_path(values: &[u64], max: u64, width: f64, height: f64) -> String {
    let pts = points(values, max, width, height);
    let (Some(first), Some(last)) = (pts.first(), pts.last()) else {
        return String::new();
    };
    format!(
        "{} L{},{} L{},{} Z",
        line_path(values, max, width, height),
        num(last.0),
        num(height),
        num(first.0),
        num(height)
    )
}

/// `14:05` for the start of bucket `i` (UTC), from the first bucket's start in Unix µs.
pub fn bucket_time(from_us: i64, bucket_s: u64, i: usize) -> String {
    let at = from_us + (i as i64) * (bucket_s as i64) * 1_000_000;
    crate::format::rfc3339_utc(at)
        .get(11..16)
        .unwrap_or_default()
        .to_owned()
}

/// What a bucket holds, for its tooltip: `14:05–14:06 UTC: 12 calls, 1 error`.
pub fn bucket_words(from_us: i64, bucket_s: u64, i: usize, b: &Bucket) -> String {
    let errors = match b.errors {
        0 => String::new(),
        1 => ", 1 error".to_owned(),
        n => format!(", {n} errors"),
    };
    format!(
        "{}–{} UTC: {}{errors}",
        bucket_time(from_us, bucket_s, i),
        bucket_time(from_us, bucket_s, i + 1),
        crate::format::plural(b.calls as usize, "call", "calls"),
    )
}

/// The chart in one sentence, for screen readers: the totals and the busiest bucket.
pub fn chart_summary(buckets: &[Bucket], bucket_word: &str, from_us: i64, bucket_s: u64) -> String {
    let calls: u64 = buckets.iter().map(|b| b.calls).sum();
    let errors: u64 = buckets.iter().map(|b| b.errors).sum();
    let mut out = format!(
        "{} and {}",
        crate::format::plural(calls as usize, "call", "calls"),
        crate::format::plural(errors as usize, "error", "errors")
    );
    let busiest = buckets
        .iter()
        .enumerate()
        .max_by_key(|(i, b)| (b.calls, std::cmp::Reverse(*i)));
    if let Some((i, b)) = busiest.filter(|(_, b)| b.calls > 0) {
        out.push_str(&format!(
            "; the busiest {bucket_word} started at {} UTC with {}",
            bucket_time(from_us, bucket_s, i),
            crate::format::plural(b.calls as usize, "call", "calls")
        ));
    }
    out.push('.');
    out
}

const CHART_W: f64 = 720.0;
const CHART_H: f64 = 150.0;

/// Calls per bucket (bars) with the errors over them, for all integrations together.
#[component]
pub fn CallsChart(
    buckets: Vec<Bucket>,
    from_us: i64,
    bucket_s: u64,
    /// `minute` or `half hour`: what one bar is.
    bucket_word: &'static str,
    /// `the last hour`.
    window_words: &'static str,
) -> impl IntoView {
    let calls: Vec<u64> = buckets.iter().map(|b| b.calls).collect();
    let errors: Vec<u64> = buckets.iter().map(|b| b.errors).collect();
    let max = nice_max(calls.iter().copied().max().unwrap_or(0));
    let call_bars = bars(&calls, max, CHART_W, CHART_H, 0.25);
    let error_bars = bars(&errors, max, CHART_W, CHART_H, 0.25);
    let slot = CHART_W / buckets.len().max(1) as f64;
    let title = format!("Calls per {bucket_word} over {window_words}");
    let desc = chart_summary(&buckets, bucket_word, from_us, bucket_s);
    let n = buckets.len();
    let hover = buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let words = bucket_words(from_us, bucket_s, i, b);
            view! {
                <rect class="chart-hit" x=num(i as f64 * slot) y="0" width=num(slot) height=num(CHART_H)>
                    <title>{words}</title>
                </rect>
            }
        })
        .collect_view();
    // The middle line sits at half the scale; it is labelled when that is a whole number.
    let mid = max.is_multiple_of(2).then_some(max / 2);
    let mid_y = num(CHART_H / 2.0);
    let axis: Vec<String> = [0, n / 4, n / 2, 3 * n / 4]
        .into_iter()
        .map(|i| bucket_time(from_us, bucket_s, i))
        .chain(std::iter::once(bucket_time(from_us, bucket_s, n)))
        .collect();
    view! {
        <figure class="chart" id="calls-chart">
            <div class="chart-frame">
                <div class="chart-y" aria-hidden="true">
                    <span>{max.to_string()}</span>
                    <span>{mid.map(|m| m.to_string()).unwrap_or_default()}</span>
                    <span>"0"</span>
                </div>
                <svg class="chart-svg" viewBox=format!("0 0 {CHART_W} {CHART_H}") preserveAspectRatio="none"
                    role="img" aria-labelledby="calls-chart-title calls-chart-desc">
                    <title id="calls-chart-title">{title.clone()}</title>
                    <desc id="calls-chart-desc">{desc.clone()}</desc>
                    <line class="chart-grid" x1="0" x2=num(CHART_W) y1="0.5" y2="0.5" vector-effect="non-scaling-stroke"/>
                    <line class="chart-grid" x1="0" x2=num(CHART_W) y1=mid_y.clone() y2=mid_y vector-effect="non-scaling-stroke"/>
                    <line class="chart-base" x1="0" x2=num(CHART_W) y1=num(CHART_H) y2=num(CHART_H) vector-effect="non-scaling-stroke"/>
                    <g class="chart-calls">
                        {call_bars.into_iter().map(|b| view! {
                            <rect x=num(b.x) y=num(b.y) width=num(b.w) height=num(b.h)/>
                        }).collect_view()}
                    </g>
                    <g class="chart-errors">
                        {error_bars.into_iter().map(|b| view! {
                            <rect x=num(b.x) y=num(b.y) width=num(b.w) height=num(b.h)/>
                        }).collect_view()}
                    </g>
                    <g>{hover}</g>
                </svg>
            </div>
            <div class="chart-x" aria-hidden="true">
                {axis.into_iter().map(|t| view! { <span>{t}</span> }).collect_view()}
            </div>
            <figcaption class="chart-legend">
                <span class="legend-item"><span class="legend-swatch swatch-calls"></span>"Calls"</span>
                <span class="legend-item"><span class="legend-swatch swatch-errors"></span>"Errors (failed, errored, dead)"</span>
                <span class="muted small">{format!("One bar per {bucket_word}, UTC.")}</span>
            </figcaption>
        </figure>
    }
}

const SPARK_W: f64 = 120.0;
const SPARK_H: f64 = 28.0;

/// An integration's calls per bucket (a filled line) with its errors (bars) in another colour.
#[component]
pub fn Sparkline(buckets: Vec<Bucket>, #[prop(into)] label: String) -> impl IntoView {
    let calls: Vec<u64> = buckets.iter().map(|b| b.calls).collect();
    let errors: Vec<u64> = buckets.iter().map(|b| b.errors).collect();
    let max = calls.iter().copied().max().unwrap_or(0).max(1);
    let line = line_path(&calls, max, SPARK_W, SPARK_H - 1.0);
    let area = area_path(&calls, max, SPARK_W, SPARK_H - 1.0);
    let error_bars = bars(&errors, max, SPARK_W, SPARK_H - 1.0, 0.1);
    view! {
        <svg class="sparkline" width=num(SPARK_W) height=num(SPARK_H) viewBox=format!("0 0 {SPARK_W} {SPARK_H}")
            role="img" aria-label=label.clone()>
            <title>{label.clone()}</title>
            <path class="spark-area" d=area/>
            <path class="spark-line" d=line/>
            <g class="spark-errors">
                {error_bars.into_iter().map(|b| view! {
                    <rect x=num(b.x) y=num(b.y) width=num(b.w) height=num(b.h)/>
                }).collect_view()}
            </g>
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(calls: u64, errors: u64) -> Bucket {
        Bucket {
            calls,
            errors,
            ..Default::default()
        }
    }

    #[test]
    fn scales_are_round() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(1), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(200), 200);
        assert_eq!(nice_max(201), 500);
        assert_eq!(nice_max(u64::MAX), u64::MAX);
    }

    #[test]
    fn bars_grow_from_the_bottom() {
        let out = bars(&[0, 5, 10], 10, 30.0, 100.0, 0.0);
        assert_eq!(
            out,
            vec![
                Bar {
                    x: 10.0,
                    y: 50.0,
                    w: 10.0,
                    h: 50.0
                },
                Bar {
                    x: 20.0,
                    y: 0.0,
                    w: 10.0,
                    h: 100.0
                },
            ]
        );
        // One call among many still shows; values above the scale are cut at the top.
        let tiny = bars(&[1, 50], 10_000, 20.0, 100.0, 0.5);
        assert_eq!(tiny.first().map(|b| b.h), Some(1.0));
        assert_eq!(tiny.first().map(|b| (b.x, b.w)), Some((2.5, 5.0)));
        assert_eq!(bars(&[20], 10, 10.0, 100.0, 0.0)[0].h, 100.0);
        assert!(bars(&[], 10, 10.0, 10.0, 0.0).is_empty());
    }

    #[test]
    fn lines_pass_through_bucket_centres() {
        assert_eq!(line_path(&[0, 10], 10, 20.0, 10.0), "M5,10 L15,0");
        assert_eq!(
            area_path(&[0, 5, 10], 10, 30.0, 10.0),
            "M5,10 L15,5 L25,0 L25,10 L5,10 Z"
        );
        assert_eq!(line_path(&[], 10, 20.0, 10.0), "");
        assert_eq!(area_path(&[], 10, 20.0, 10.0), "");
        assert_eq!(line_path(&[1, 2, 3], 3, 10.0, 9.0), "M1.67,6 L5,3 L8.33,0");
    }

    #[test]
    fn buckets_in_words() {
        let from = 1_795_435_200_000_000; // 2026-11-23T12:00:00Z
        assert_eq!(bucket_time(from, 60, 5), "12:05");
        assert_eq!(bucket_time(from, 1800, 3), "13:30");
        assert_eq!(
            bucket_words(from, 60, 5, &b(12, 1)),
            "12:05–12:06 UTC: 12 calls, 1 error"
        );
        assert_eq!(
            bucket_words(from, 60, 0, &b(1, 0)),
            "12:00–12:01 UTC: 1 call"
        );
        assert_eq!(
            chart_summary(&[b(2, 0), b(7, 3), b(7, 0)], "minute", from, 60),
            "16 calls and 3 errors; the busiest minute started at 12:01 UTC with 7 calls."
        );
        assert_eq!(
            chart_summary(&[b(0, 0)], "minute", from, 60),
            "0 calls and 0 errors."
        );
    }
}
