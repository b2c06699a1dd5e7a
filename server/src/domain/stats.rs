//! The dashboard: calls, errors and run-time percentiles per integration over the last hour
//! or day, in buckets for small charts (`GET /api/v1/stats/overview`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use flowgate_api::{Bucket, IntegrationSeries, OverviewOut, Series};

use crate::db::stats::{self, Cell, CLASS_EDGES_US};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::support::time::{now_us, rfc3339};

/// A window of the dashboard: its length and bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    Hour,
    Day,
}

impl Window {
    pub fn parse(s: Option<&str>) -> AppResult<Window> {
        match s.unwrap_or("1h") {
            "1h" => Ok(Window::Hour),
            "24h" => Ok(Window::Day),
            other => Err(AppError::BadRequest(format!(
                "window must be 1h or 24h, not {other:?}"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Window::Hour => "1h",
            Window::Day => "24h",
        }
    }

    fn bucket_s(self) -> i64 {
        match self {
            Window::Hour => 60,
            Window::Day => 1800,
        }
    }

    fn buckets(self) -> usize {
        match self {
            Window::Hour => 60,
            Window::Day => 48,
        }
    }
}

/// Answers are reused this long: a dashboard open in several tabs costs one query.
const CACHE_FOR: Duration = Duration::from_secs(5);

static CACHE: Mutex<Vec<(Window, Instant, usize, OverviewOut)>> = Mutex::new(Vec::new());

/// The overview of `window`, ending at the current bucket's end.
pub async fn overview(state: &AppState, window: Window) -> AppResult<OverviewOut> {
    // The cache is per server (several servers may share a test process).
    let me = std::sync::Arc::as_ptr(&state.0) as usize;
    {
        let cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, _, _, out)) = cache
            .iter()
            .find(|(w, at, who, _)| *w == window && *who == me && at.elapsed() < CACHE_FOR)
        {
            return Ok(out.clone());
        }
    }
    let bucket_us = window.bucket_s() * 1_000_000;
    let n = window.buckets();
    let now = now_us();
    // Buckets are aligned to their width, the last one holds now.
    let to = (now / bucket_us + 1) * bucket_us;
    let from = to - bucket_us * n as i64;
    let cells = stats::cells(&state.db, from, to, bucket_us).await?;
    let dead: HashMap<String, i64> = stats::dead_letters(&state.db).await?.into_iter().collect();
    let names = stats::names(&state.db).await?;
    let out = assemble(window, from, to, &cells, &dead, &names);
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    cache.retain(|(w, at, who, _)| !(*w == window && *who == me) && at.elapsed() < CACHE_FOR);
    cache.push((window, Instant::now(), me, out.clone()));
    Ok(out)
}

/// Calls, errors and run-time class counts of one series, per bucket.
#[derive(Default, Clone)]
struct Acc {
    calls: i64,
    errors: i64,
    classes: [i64; CLASS_EDGES_US.len() + 1],
}

impl Acc {
    fn add(&mut self, c: &Cell) {
        self.calls += c.calls;
        self.errors += c.errors;
        if let Some(slot) = c.class.and_then(|k| self.classes.get_mut(k)) {
            *slot += c.calls;
        }
    }

    fn merge(&mut self, o: &Acc) {
        self.calls += o.calls;
        self.errors += o.errors;
        for (a, b) in self.classes.iter_mut().zip(o.classes.iter()) {
            *a += b;
        }
    }

    fn bucket(&self) -> Bucket {
        Bucket {
            calls: self.calls.max(0) as u64,
            errors: self.errors.max(0) as u64,
            p50_ms: percentile(&self.classes, 0.5),
            p99_ms: percentile(&self.classes, 0.99),
        }
    }
}

fn series(buckets: &[Acc]) -> Series {
    let mut total = Acc::default();
    for b in buckets {
        total.merge(b);
    }
    let calls = total.calls.max(0) as u64;
    let errors = total.errors.max(0) as u64;
    Series {
        calls,
        errors,
        error_rate: if calls == 0 {
            0.0
        } else {
            errors as f64 / calls as f64
        },
        p50_ms: percentile(&total.classes, 0.5),
        p99_ms: percentile(&total.classes, 0.99),
        buckets: buckets.iter().map(Acc::bucket).collect(),
    }
}

/// The `q` quantile of a run-time class histogram, in ms, interpolated linearly within its
/// class; `None` without finished runs.
pub fn percentile(classes: &[i64], q: f64) -> Option<f64> {
    let total: i64 = classes.iter().sum();
    if total <= 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut below = 0i64;
    for (i, &n) in classes.iter().enumerate() {
        if n > 0 && (below + n) as f64 >= rank {
            let lo = if i == 0 { 0 } else { CLASS_EDGES_US[i - 1] };
            let hi = CLASS_EDGES_US.get(i).copied().unwrap_or(lo * 2);
            let within = ((rank - below as f64) / n as f64).clamp(0.0, 1.0);
            let us = lo as f64 + within * (hi - lo) as f64;
            return Some((us / 1000.0 * 100.0).round() / 100.0);
        }
        below += n;
    }
    None
}

fn assemble(
    window: Window,
    from: i64,
    to: i64,
    cells: &[Cell],
    dead: &HashMap<String, i64>,
    names: &[(String, String, String)],
) -> OverviewOut {
    let n = window.buckets();
    let mut per: HashMap<&str, Vec<Acc>> = HashMap::new();
    let mut all = vec![Acc::default(); n];
    for c in cells {
        let Some(i) = usize::try_from(c.bucket).ok().filter(|i| *i < n) else {
            continue;
        };
        let row = per
            .entry(c.integration_id.as_str())
            .or_insert_with(|| vec![Acc::default(); n]);
        row[i].add(c);
        all[i].add(c);
    }
    let mut integrations: Vec<IntegrationSeries> = names
        .iter()
        .filter_map(|(id, slug, name)| {
            let dead = dead.get(id).copied().unwrap_or(0).max(0) as u64;
            let buckets = per.get(id.as_str());
            if buckets.is_none() && dead == 0 {
                return None;
            }
            let s = buckets.map_or_else(|| series(&vec![Acc::default(); n]), |b| series(b));
            Some(IntegrationSeries {
                slug: slug.clone(),
                name: name.clone(),
                dead_letters: dead,
                series: s,
            })
        })
        .collect();
    // Failing first, then slowest, then busiest; the slug keeps the order stable.
    integrations.sort_by(|a, b| {
        b.series
            .error_rate
            .total_cmp(&a.series.error_rate)
            .then(b.series.errors.cmp(&a.series.errors))
            .then(b.dead_letters.cmp(&a.dead_letters))
            .then(
                b.series
                    .p99_ms
                    .unwrap_or(0.0)
                    .total_cmp(&a.series.p99_ms.unwrap_or(0.0)),
            )
            .then(b.series.calls.cmp(&a.series.calls))
            .then(a.slug.cmp(&b.slug))
    });
    OverviewOut {
        window: window.name().to_owned(),
        from: rfc3339(from),
        to: rfc3339(to),
        bucket_s: window.bucket_s() as u64,
        totals: series(&all),
        dead_letters: dead.values().map(|v| (*v).max(0) as u64).sum(),
        integrations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_within_classes() {
        let mut classes = [0i64; CLASS_EDGES_US.len() + 1];
        assert_eq!(percentile(&classes, 0.5), None);
        // 100 runs under 1 ms: the median is half-way through the first class.
        classes[0] = 100;
        assert_eq!(percentile(&classes, 0.5), Some(0.5));
        // One slow run of 100 (1-2 s class): p99 stays in the fast class, p100 does not.
        classes[0] = 99;
        classes[10] = 1;
        assert!(percentile(&classes, 0.99).is_some_and(|p| p <= 1.0));
        assert!(percentile(&classes, 1.0).is_some_and(|p| p >= 1000.0));
    }

    fn cell(id: &str, bucket: i64, class: Option<usize>, calls: i64, errors: i64) -> Cell {
        Cell {
            integration_id: id.into(),
            bucket,
            class,
            calls,
            errors,
        }
    }

    #[test]
    fn failing_integrations_come_first_and_buckets_are_complete() {
        let names = vec![
            ("a".to_owned(), "ok".to_owned(), "Fine".to_owned()),
            ("b".to_owned(), "bad".to_owned(), "Failing".to_owned()),
            ("c".to_owned(), "idle".to_owned(), "Idle".to_owned()),
            ("d".to_owned(), "dead".to_owned(), "Dead only".to_owned()),
        ];
        let cells = vec![
            cell("a", 0, Some(0), 10, 0),
            cell("a", 59, Some(3), 5, 0),
            cell("b", 59, Some(1), 4, 2),
            cell("b", 70, Some(1), 4, 2), // outside the window: ignored
        ];
        let dead = HashMap::from([("d".to_owned(), 3)]);
        let out = assemble(Window::Hour, 0, 3_600_000_000, &cells, &dead, &names);
        let slugs: Vec<&str> = out.integrations.iter().map(|i| i.slug.as_str()).collect();
        assert_eq!(slugs, ["bad", "dead", "ok"]);
        assert_eq!(out.totals.calls, 19);
        assert_eq!(out.totals.errors, 2);
        assert_eq!(out.totals.buckets.len(), 60);
        assert_eq!(out.totals.buckets[59].calls, 9);
        assert_eq!(out.dead_letters, 3);
        let bad = &out.integrations[0].series;
        assert!((bad.error_rate - 0.5).abs() < 1e-9);
        assert!(out
            .integrations
            .iter()
            .all(|i| i.series.buckets.len() == 60));
    }
}
