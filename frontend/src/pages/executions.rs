//! Executions: the live list of every call to a trigger (filters in the URL, refreshed every
//! 3 s) and one execution in full: request, response, step trace and logs, with replay and skip.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use flowgate_api::executions::{LogOut, ReplayIn, ReplayOut, ReplayVersion, StepOut};
use flowgate_api::{
    ExecutionOut, ExecutionStatus, IntegrationOut, Page, RequestSnapshot, ResponseSnapshot,
    TriggerAuth,
};
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::NavigateOptions;
use wasm_bindgen::JsCast;

use crate::api::{self, enc, ApiError};
use crate::app::use_session;
use crate::components::{
    ago, confirm, origin, short_time, Badge, CopyButton, Empty, JsonBlock, Loading, Notify,
};

/// Rows per page (the server's default).
const PAGE: usize = 50;
/// The most rows one request may ask for.
const MAX_LIMIT: usize = 500;
const LIST_EVERY_MS: u32 = 3_000;
const DETAIL_EVERY_MS: u32 = 2_000;
/// Quick time ranges: URL value (also the button's label), its name, seconds. The window
/// slides with the live list.
const RANGES: [(&str, &str, i64); 4] = [
    ("15m", "Last 15 minutes", 15 * 60),
    ("1h", "Last hour", 3_600),
    ("24h", "Last 24 hours", 86_400),
    ("7d", "Last 7 days", 7 * 86_400),
];
const REDACTED: &str = "[redacted]";

thread_local! {
    /// The list's query (`?integration=..`), so the detail page's back link keeps the filters.
    static LAST_LIST_QUERY: RefCell<String> = const { RefCell::new(String::new()) };
}

fn list_href() -> String {
    LAST_LIST_QUERY.with(|q| format!("/executions{}", q.borrow()))
}

// ---------------------------------------------------------------------------------------------
// Time: RFC 3339 in UTC on the wire; parsed here (to the microsecond) rather than by
// `Date.parse`, which is not required to read six fractional digits.

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `2026-11-23T12:01:02.123456Z`, `…+02:00`, or a zone-less `2026-11-23T12:01` (read as UTC,
/// what a `datetime-local` input gives) → Unix microseconds.
fn parse_time_us(s: &str) -> Option<i64> {
    let s = s.trim();
    let at = |i: usize| s.as_bytes().get(i).copied();
    let digits = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let year = digits(0, 4)?;
    if at(4)? != b'-' || at(7)? != b'-' || !matches!(at(10)?, b'T' | b't' | b' ') || at(13)? != b':'
    {
        return None;
    }
    let (month, day, hour, minute) = (digits(5, 2)?, digits(8, 2)?, digits(11, 2)?, digits(14, 2)?);
    let mut i = 16;
    let mut second = 0;
    if at(i) == Some(b':') {
        second = digits(i + 1, 2)?;
        i += 3;
    }
    let mut micros = 0;
    if matches!(at(i), Some(b'.' | b',')) {
        i += 1;
        let start = i;
        while at(i).is_some_and(|b| b.is_ascii_digit()) {
            i += 1;
        }
        let frac = s.get(start..i)?;
        if frac.is_empty() {
            return None;
        }
        let six: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
        micros = six.parse::<i64>().ok()?;
    }
    let offset = match at(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == s.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == s.len() && at(i + 3) == Some(b':') => {
            let o = digits(i + 1, 2)? * 3_600 + digits(i + 4, 2)? * 60;
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second - offset;
    Some(secs * 1_000_000 + micros)
}

fn utc_parts(us: i64) -> (i64, i64, i64, i64, i64, i64) {
    let secs = us.div_euclid(1_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    (y, m, d, rem / 3_600, rem % 3_600 / 60, rem % 60)
}

/// Unix µs → `2026-11-23T12:01:02Z`.
fn rfc3339_utc(us: i64) -> String {
    let (y, m, d, h, mi, s) = utc_parts(us);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// A filter time from the URL → the value of a `datetime-local` input (UTC).
fn to_input(rfc3339: &str) -> String {
    let Some(us) = parse_time_us(rfc3339) else {
        return String::new();
    };
    let (y, m, d, h, mi, s) = utc_parts(us);
    if s == 0 {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
    }
}

/// A `datetime-local` value (UTC) → RFC 3339 for the URL; empty stays empty.
fn from_input(value: &str) -> String {
    parse_time_us(value).map(rfc3339_utc).unwrap_or_default()
}

fn now_us() -> i64 {
    (js_sys::Date::now() * 1_000.0) as i64
}

/// An execution's run time: finished − started, when both exist.
fn run_us(e: &ExecutionOut) -> Option<i64> {
    let start = parse_time_us(e.started_at.as_deref()?)?;
    let end = parse_time_us(e.finished_at.as_deref()?)?;
    Some((end - start).max(0))
}

/// `0.41 ms`, `12 ms`, `1.25 s`, `2 min 5 s`, `1 h 3 min`.
fn fmt_duration_us(us: i64) -> String {
    let us = us.max(0);
    match us {
        0..=999 => format!("{:.2} ms", us as f64 / 1_000.0),
        1_000..=9_999 => format!("{:.1} ms", us as f64 / 1_000.0),
        10_000..=999_999 => format!("{} ms", us / 1_000),
        1_000_000..=59_999_999 => format!("{:.2} s", us as f64 / 1_000_000.0),
        60_000_000..=3_599_999_999 => {
            let s = us / 1_000_000;
            format!("{} min {} s", s / 60, s % 60)
        }
        _ => {
            let m = us / 60_000_000;
            format!("{} h {} min", m / 60, m % 60)
        }
    }
}

/// A step's duration, always in milliseconds: `0.041 ms`, `3.25 ms`, `120 ms`.
fn fmt_step_ms(us: u64) -> String {
    let ms = us as f64 / 1_000.0;
    match us {
        0..=999 => format!("{ms:.3} ms"),
        1_000..=9_999 => format!("{ms:.2} ms"),
        10_000..=99_999 => format!("{ms:.1} ms"),
        _ => format!("{ms:.0} ms"),
    }
}

/// "in 25 s" for a time still ahead, "due now" otherwise.
fn until(rfc3339: &str, now: i64) -> String {
    let Some(t) = parse_time_us(rfc3339) else {
        return rfc3339.to_owned();
    };
    let secs = (t - now) / 1_000_000;
    match secs {
        i64::MIN..=0 => "due now".into(),
        1..=59 => format!("in {secs} s"),
        60..=3_599 => format!("in {} min", secs / 60),
        3_600..=86_399 => format!("in {} h", secs / 3_600),
        _ => format!("in {} d", secs / 86_400),
    }
}

fn full_time(rfc3339: &str) -> String {
    format!("{} UTC", short_time(rfc3339))
}

fn fmt_bytes(n: usize) -> String {
    match n {
        0..=1_023 => format!("{n} bytes"),
        1_024..=1_048_575 => format!("{:.1} KB", n as f64 / 1_024.0),
        _ => format!("{:.1} MB", n as f64 / 1_048_576.0),
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/// Percent-encodes a query value like `encodeURIComponent` (pure, so it is testable natively).
fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// UUIDv7 ids start with the time, so calls close together share a prefix: show the end.
fn short_id(id: &str) -> String {
    let n = id.chars().count();
    if n <= 12 {
        id.to_owned()
    } else {
        format!("…{}", id.chars().skip(n - 8).collect::<String>())
    }
}

/// `2.then.0` → 1: how deep a step sits in branches.
fn step_depth(index: &str) -> usize {
    index
        .split('.')
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .count()
        .saturating_sub(1)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "status-code s2xx",
        300..=399 => "status-code s3xx",
        400..=499 => "status-code s4xx",
        _ => "status-code s5xx",
    }
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The request again as a `curl` command line (redacted headers and the never-stored API key
/// are left for the reader to fill in).
fn curl_of(origin: &str, r: &RequestSnapshot) -> String {
    let mut url = format!("{origin}{}", r.path);
    if !r.query.is_empty() {
        let q: Vec<String> = r
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
            .collect();
        url.push('?');
        url.push_str(&q.join("&"));
    }
    let mut parts = vec![format!("curl -X {} {}", r.method, shell_quote(&url))];
    for (k, v) in &r.headers {
        let lower = k.to_ascii_lowercase();
        if v == REDACTED
            || matches!(
                lower.as_str(),
                "host" | "content-length" | "connection" | "accept-encoding" | "transfer-encoding"
            )
        {
            continue;
        }
        parts.push(format!("-H {}", shell_quote(&format!("{k}: {v}"))));
    }
    parts.push("-H \"X-API-Key: $FLOWGATE_API_KEY\"".to_owned());
    let mut prefix = String::new();
    match (r.body_encoding.as_str(), &r.body) {
        ("none", _) => {}
        ("base64", body) => {
            prefix = format!("printf %s {} | base64 -d | ", shell_quote(&json_text(body)));
            parts.push("--data-binary @-".to_owned());
        }
        ("form", serde_json::Value::Object(m)) => {
            let pairs: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}={}", pct(k), pct(&json_text(v))))
                .collect();
            parts.push(format!("--data-raw {}", shell_quote(&pairs.join("&"))));
        }
        ("json", body) => parts.push(format!("--data-raw {}", shell_quote(&body.to_string()))),
        (_, body) => parts.push(format!("--data-raw {}", shell_quote(&json_text(body)))),
    }
    format!("{prefix}{}", parts.join(" \\\n  "))
}

/// A first call to try, shown when nothing has been called yet.
fn example_curl(origin: &str, integration: Option<&IntegrationOut>) -> String {
    let (method, path, keyed) = match integration {
        Some(i) => (
            i.trigger
                .methods
                .first()
                .cloned()
                .unwrap_or_else(|| "POST".into()),
            i.endpoint.clone(),
            !matches!(i.trigger.auth, TriggerAuth::None),
        ),
        None => ("POST".to_owned(), "/t/your/path".to_owned(), true),
    };
    let mut parts = vec![format!(
        "curl -X {method} {}",
        shell_quote(&format!("{origin}{path}"))
    )];
    if keyed {
        parts.push("-H \"X-API-Key: $FLOWGATE_API_KEY\"".to_owned());
    }
    if method != "GET" && method != "DELETE" {
        parts.push("-H 'Content-Type: application/json'".to_owned());
        parts.push("-d '{\"hello\": \"world\"}'".to_owned());
    }
    parts.join(" \\\n  ")
}

/// Was the click on a link or control inside the row (which handles it)?
fn clicked_control(ev: &leptos::ev::MouseEvent) -> bool {
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| {
            el.closest("a, button, input, select, textarea, label")
                .ok()
                .flatten()
        })
        .is_some()
}

fn open_in_new_tab(href: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.open_with_url_and_target(href, "_blank");
    }
}

// ---------------------------------------------------------------------------------------------
// List filters: all of them live in the URL query.

#[derive(Clone, Debug, Default, PartialEq)]
struct Filters {
    integration: String,
    status: String,
    /// A sliding window (`15m`, `1h`, `24h`, `7d`): `from` is now minus it at each request.
    range: String,
    /// RFC 3339 (UTC).
    from: String,
    to: String,
}

impl Filters {
    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
        Filters {
            integration: get("integration"),
            status: get("status"),
            range: get("range"),
            from: get("from"),
            to: get("to"),
        }
    }

    fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("integration", &self.integration),
            ("status", &self.status),
            ("range", &self.range),
            ("from", &self.from),
            ("to", &self.to),
        ]
    }

    /// The page's query string: `?integration=a&status=dead`, empty when nothing is filtered.
    fn to_query(&self) -> String {
        let parts: Vec<String> = self
            .pairs()
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", pct(v)))
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }

    fn is_filtered(&self) -> bool {
        self.pairs().iter().any(|(_, v)| !v.is_empty())
    }

    fn has_time(&self) -> bool {
        !(self.range.is_empty() && self.from.is_empty() && self.to.is_empty())
    }

    /// The received-at window sent to the server, or why it cannot be.
    fn window(&self, now: i64) -> Result<(Option<String>, Option<String>), String> {
        let from = if !self.range.is_empty() {
            let Some((_, _, secs)) = RANGES.iter().find(|(k, _, _)| *k == self.range) else {
                return Err(format!(
                    "Unknown time range “{}”: choose one of the quick ranges.",
                    self.range
                ));
            };
            Some(now - secs * 1_000_000)
        } else if self.from.is_empty() {
            None
        } else {
            Some(
                parse_time_us(&self.from)
                    .ok_or_else(|| format!("“From” is not a valid time: {}", self.from))?,
            )
        };
        let to = if self.to.is_empty() {
            None
        } else {
            Some(
                parse_time_us(&self.to)
                    .ok_or_else(|| format!("“To” is not a valid time: {}", self.to))?,
            )
        };
        if let (Some(f), Some(t)) = (from, to) {
            if f >= t {
                return Err("“From” must be before “To”.".into());
            }
        }
        Ok((from.map(rfc3339_utc), to.map(rfc3339_utc)))
    }

    /// `/executions?integration=..&status=..&from=..&limit=..&cursor=..` for the API.
    fn api_path(&self, now: i64, limit: usize, cursor: Option<&str>) -> Result<String, String> {
        let (from, to) = self.window(now)?;
        let mut q = vec![format!("limit={limit}")];
        for (k, v) in [
            ("integration", Some(self.integration.as_str())),
            ("status", Some(self.status.as_str())),
            ("from", from.as_deref()),
            ("to", to.as_deref()),
            ("cursor", cursor),
        ] {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                q.push(format!("{k}={}", pct(v)));
            }
        }
        Ok(format!("/executions?{}", q.join("&")))
    }
}

/// A live refresh of the first rows: the fresh page replaces them (statuses change, rows that
/// left the filter go); rows loaded further down than one request can reach are kept.
/// Returns the list, its cursor and the ids that were not there before.
fn merge_refresh(
    old: &[ExecutionOut],
    old_cursor: Option<String>,
    page: Page<ExecutionOut>,
    limit: usize,
) -> (Vec<ExecutionOut>, Option<String>, HashSet<String>) {
    let known: HashSet<&str> = old.iter().map(|e| e.id.as_str()).collect();
    let arrived: HashSet<String> = if old.is_empty() {
        HashSet::new()
    } else {
        page.items
            .iter()
            .filter(|e| !known.contains(e.id.as_str()))
            .map(|e| e.id.clone())
            .collect()
    };
    let mut list = page.items;
    let cursor = match (list.last().map(|e| e.id.clone()), page.next_cursor) {
        (Some(last), Some(_)) if old.len() > limit => {
            list.extend(old.iter().filter(|e| e.id < last).cloned());
            old_cursor
        }
        (_, next) => next,
    };
    (list, cursor, arrived)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fetch {
    /// The filters changed (or a retry): the first page.
    Reset,
    /// The live timer: the rows on screen again.
    Refresh,
    /// The next page.
    More,
}

#[derive(Clone, Debug, PartialEq)]
enum ListState {
    Problem(String),
    Loading,
    Failed(String),
    Empty,
    Rows,
}

type Integrations = RwSignal<Option<Result<Vec<IntegrationOut>, ApiError>>>;

fn integration_name(integrations: Integrations, slug: &str) -> Option<String> {
    integrations.with(|r| {
        r.as_ref()
            .and_then(|r| r.as_ref().ok())
            .and_then(|list| list.iter().find(|i| i.slug == slug))
            .map(|i| i.name.clone())
    })
}

// ---------------------------------------------------------------------------------------------
// The list.

#[component]
pub fn ExecutionsPage() -> impl IntoView {
    let notify = Notify::new();
    let query = use_query_map();
    let filters = Memo::new(move |_| query.with(|q| Filters::from_lookup(|k| q.get(k))));
    let go = Callback::new({
        let navigate = use_navigate();
        move |path: String| navigate(&path, NavigateOptions::default())
    });
    let set_filters = Callback::new({
        let navigate = use_navigate();
        move |f: Filters| {
            let opts = NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            };
            navigate(&format!("/executions{}", f.to_query()), opts)
        }
    });
    let edit = move |change: &dyn Fn(&mut Filters)| {
        let mut f = filters.get_untracked();
        change(&mut f);
        set_filters.run(f);
    };

    let integrations: Integrations = RwSignal::new(None);
    let items = RwSignal::new(None::<Result<Vec<ExecutionOut>, ApiError>>);
    let cursor = RwSignal::new(None::<String>);
    let live = RwSignal::new(true);
    let stale = RwSignal::new(false);
    let loading_more = RwSignal::new(false);
    let refresh_error = RwSignal::new(None::<String>);
    let arrived = RwSignal::new(HashSet::<String>::new());
    let tick = RwSignal::new(0u32);
    let goto = RwSignal::new(String::new());
    // The newest request wins; the live timer waits while any is under way.
    let seq = StoredValue::new(0u64);
    let in_flight = StoredValue::new(0u32);

    let problem = Memo::new(move |_| filters.with(|f| f.window(now_us()).err()));

    let run = move |kind: Fetch| {
        let Some(f) = filters.try_get_untracked() else {
            return;
        };
        let shown = items
            .try_with_untracked(|r| match r {
                Some(Ok(v)) => v.len(),
                _ => 0,
            })
            .unwrap_or(0);
        let (limit, after) = match kind {
            Fetch::Reset => (PAGE, None),
            Fetch::Refresh => (shown.clamp(PAGE, MAX_LIMIT), None),
            Fetch::More => match cursor.try_get_untracked().flatten() {
                Some(c) => (PAGE, Some(c)),
                None => return,
            },
        };
        // An invalid window is shown by the view; nothing is asked.
        let Ok(path) = f.api_path(now_us(), limit, after.as_deref()) else {
            return;
        };
        let Some(me) = seq.try_update_value(|s| {
            *s += 1;
            *s
        }) else {
            return;
        };
        in_flight.try_update_value(|n| *n += 1);
        match kind {
            Fetch::Reset => {
                loading_more.try_set(false);
                if items.try_with_untracked(|r| matches!(r, Some(Ok(_)))) == Some(true) {
                    stale.try_set(true);
                } else {
                    items.try_set(None);
                }
            }
            Fetch::More => {
                loading_more.try_set(true);
            }
            Fetch::Refresh => {}
        }
        spawn_local(async move {
            let r = api::get::<Page<ExecutionOut>>(&path).await;
            in_flight.try_update_value(|n| *n = n.saturating_sub(1));
            if seq.try_get_value() != Some(me) {
                return; // the filters changed meanwhile
            }
            match (kind, r) {
                (Fetch::Reset, Ok(page)) => {
                    arrived.try_set(HashSet::new());
                    cursor.try_set(page.next_cursor);
                    items.try_set(Some(Ok(page.items)));
                    refresh_error.try_set(None);
                }
                (Fetch::Reset, Err(e)) => {
                    cursor.try_set(None);
                    items.try_set(Some(Err(e)));
                }
                (Fetch::More, Ok(page)) => {
                    items.try_update(|r| {
                        if let Some(Ok(list)) = r {
                            let have: HashSet<String> = list.iter().map(|e| e.id.clone()).collect();
                            list.extend(page.items.into_iter().filter(|e| !have.contains(&e.id)));
                        }
                    });
                    cursor.try_set(page.next_cursor);
                }
                (Fetch::More, Err(e)) => {
                    notify.error(format!("Could not load more executions: {e}"))
                }
                (Fetch::Refresh, Ok(page)) => {
                    refresh_error.try_set(None);
                    let old = items
                        .try_with_untracked(|r| match r {
                            Some(Ok(v)) => Some(v.clone()),
                            _ => None,
                        })
                        .flatten();
                    match old {
                        Some(old) => {
                            let old_cursor = cursor.try_get_untracked().flatten();
                            let (list, next, new_ids) =
                                merge_refresh(&old, old_cursor, page, limit);
                            if !new_ids.is_empty() {
                                arrived.try_set(new_ids);
                            }
                            if cursor.try_get_untracked().flatten() != next {
                                cursor.try_set(next);
                            }
                            if list != old {
                                items.try_set(Some(Ok(list)));
                            }
                        }
                        None => {
                            cursor.try_set(page.next_cursor);
                            items.try_set(Some(Ok(page.items)));
                        }
                    }
                }
                (Fetch::Refresh, Err(e)) => {
                    if items.try_with_untracked(|r| matches!(r, Some(Ok(_)))) == Some(true) {
                        refresh_error.try_set(Some(e.describe()));
                    } else {
                        items.try_set(Some(Err(e)));
                    }
                }
            }
            stale.try_set(false);
            loading_more.try_set(false);
        });
    };

    // The first page, again whenever the filters (the URL) change.
    Effect::new(move |_| {
        let f = filters.get();
        LAST_LIST_QUERY.with(|q| *q.borrow_mut() = f.to_query());
        run(Fetch::Reset);
    });

    spawn_local(async move {
        let r = api::get::<Page<IntegrationOut>>("/integrations")
            .await
            .map(|p| {
                let mut list = p.items;
                list.sort_by_key(|i| i.name.to_lowercase());
                list
            });
        integrations.try_set(Some(r));
    });

    // The live timer; it ends with the page.
    let alive = Arc::new(AtomicBool::new(true));
    on_cleanup({
        let alive = alive.clone();
        move || alive.store(false, Ordering::Relaxed)
    });
    spawn_local(async move {
        loop {
            TimeoutFuture::new(LIST_EVERY_MS).await;
            if !alive.load(Ordering::Relaxed) {
                break;
            }
            tick.try_update(|t| *t = t.wrapping_add(1));
            let idle = in_flight.try_get_value() == Some(0);
            if idle
                && live.try_get_untracked() == Some(true)
                && problem.try_get_untracked().flatten().is_none()
            {
                run(Fetch::Refresh);
            }
        }
    });

    let state = Memo::new(move |_| {
        if let Some(p) = problem.get() {
            return ListState::Problem(p);
        }
        items.with(|r| match r {
            None => ListState::Loading,
            Some(Err(e)) => ListState::Failed(e.describe()),
            Some(Ok(v)) if v.is_empty() => ListState::Empty,
            Some(Ok(_)) => ListState::Rows,
        })
    });

    let integration_options = move || {
        let current = filters.with(|f| f.integration.clone());
        let mut opts: Vec<(String, String)> = integrations.with(|r| match r {
            Some(Ok(list)) => list
                .iter()
                .map(|i| {
                    let label = if i.name == i.slug {
                        i.name.clone()
                    } else {
                        format!("{} ({})", i.name, i.slug)
                    };
                    (i.slug.clone(), label)
                })
                .collect(),
            _ => Vec::new(),
        });
        if !current.is_empty() && !opts.iter().any(|(s, _)| *s == current) {
            opts.insert(0, (current.clone(), current.clone()));
        }
        opts.into_iter()
            .map(|(slug, label)| {
                let selected = slug == current;
                view! { <option value=slug selected=selected>{label}</option> }
            })
            .collect_view()
    };

    let status_options = move || {
        let current = filters.with(|f| f.status.clone());
        let mut opts: Vec<(String, String)> = ExecutionStatus::ALL
            .iter()
            .map(|s| {
                let v = s.as_str().to_owned();
                let mut label = v.clone();
                if let Some(first) = label.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                (v, label)
            })
            .collect();
        // An unknown status from a hand-written link: shown as it is (the server says why).
        if !current.is_empty() && ExecutionStatus::parse(&current).is_none() {
            opts.push((current.clone(), current.clone()));
        }
        opts.into_iter()
            .map(|(v, label)| {
                let selected = v == current;
                view! { <option value=v selected=selected>{label}</option> }
            })
            .collect_view()
    };

    let empty_example = move || {
        let chosen = filters.with(|f| f.integration.clone());
        integrations.with(|r| {
            let list = r.as_ref().and_then(|r| r.as_ref().ok());
            let pick = list.and_then(|l| {
                l.iter()
                    .find(|i| i.slug == chosen)
                    .or_else(|| l.iter().find(|i| i.status == "published" && i.enabled))
            });
            example_curl(&origin(), pick)
        })
    };

    let ctx = RowCtx {
        go,
        tick,
        integrations,
        arrived,
    };

    view! {
        <div class="page executions-page">
            <div class="page-head">
                <div>
                    <h1>"Executions"</h1>
                    <p class="page-sub">"Every call to a trigger, newest first."</p>
                </div>
                <div class="spacer"></div>
                <form class="goto-form" role="search" on:submit=move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    let id = goto.get_untracked().trim().trim_matches('"').to_owned();
                    if !id.is_empty() {
                        go.run(format!("/executions/{}", enc(&id)));
                    }
                }>
                    <input type="search" id="goto-execution" class="mono" placeholder="Open by execution id"
                        aria-label="Open an execution by its id" autocomplete="off" spellcheck="false"
                        prop:value=goto on:input=move |ev| goto.set(event_target_value(&ev))/>
                </form>
                <button type="button" id="live-toggle"
                    class=move || if live.get() { "btn live-toggle is-live" } else { "btn live-toggle" }
                    aria-pressed=move || live.get().to_string()
                    title=move || if live.get() { "New calls appear every 3 s. Click to pause." } else { "Paused. Click to show new calls as they arrive." }
                    on:click=move |_| {
                        let on = !live.get_untracked();
                        live.set(on);
                        if on && in_flight.get_value() == 0 {
                            run(Fetch::Refresh);
                        }
                    }>
                    <span class="live-dot" aria-hidden="true"></span>
                    {move || if live.get() { "Live" } else { "Paused" }}
                </button>
            </div>

            <div class="toolbar exec-toolbar" role="group" aria-label="Filters">
                <div class="field field-integration">
                    <label for="filter-integration">"Integration"</label>
                    <select id="filter-integration"
                        prop:value=move || filters.with(|f| f.integration.clone())
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            edit(&|f| f.integration = v.clone());
                        }>
                        <option value="">"All integrations"</option>
                        {integration_options}
                    </select>
                </div>
                <div class="field field-status">
                    <label for="filter-status">"Status"</label>
                    <select id="filter-status"
                        prop:value=move || filters.with(|f| f.status.clone())
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            edit(&|f| f.status = v.clone());
                        }>
                        <option value="">"All statuses"</option>
                        {status_options}
                    </select>
                </div>
                <div class="field field-range">
                    <span class="field-label" id="range-label">"Received"</span>
                    <div class="seg" role="group" aria-labelledby="range-label">
                        {RANGES.iter().map(|&(key, name, _)| view! {
                            <button type="button" class="seg-btn" data-range=key title=name aria-label=name
                                aria-pressed=move || filters.with(|f| f.range == key).to_string()
                                on:click=move |_| edit(&|f| {
                                    f.range = key.to_owned();
                                    f.from.clear();
                                    f.to.clear();
                                })>{key}</button>
                        }).collect_view()}
                        <button type="button" class="seg-btn" data-range="any" title="Any time" aria-label="Any time"
                            aria-pressed=move || filters.with(|f| !f.has_time()).to_string()
                            on:click=move |_| edit(&|f| {
                                f.range.clear();
                                f.from.clear();
                                f.to.clear();
                            })>"Any"</button>
                    </div>
                </div>
                <div class="field field-time">
                    <label for="filter-from">"From (UTC)"</label>
                    <input type="datetime-local" id="filter-from"
                        prop:value=move || filters.with(|f| to_input(&f.from))
                        on:change=move |ev| {
                            let v = from_input(&event_target_value(&ev));
                            edit(&|f| {
                                f.range.clear();
                                f.from = v.clone();
                            });
                        }/>
                </div>
                <div class="field field-time">
                    <label for="filter-to">"To (UTC)"</label>
                    <input type="datetime-local" id="filter-to"
                        prop:value=move || filters.with(|f| to_input(&f.to))
                        on:change=move |ev| {
                            let v = from_input(&event_target_value(&ev));
                            edit(&|f| f.to = v.clone());
                        }/>
                </div>
                <Show when=move || filters.with(Filters::is_filtered)>
                    <button type="button" class="btn btn-ghost" id="clear-filters"
                        title="Clear filters" aria-label="Clear filters"
                        on:click=move |_| set_filters.run(Filters::default())>"× Clear"</button>
                </Show>
            </div>

            {move || refresh_error.get().map(|e| view! {
                <div class="warn-box live-warning" role="status">
                    {format!("Live update failed: {e}. Still trying every 3 s; the rows below may be out of date.")}
                </div>
            })}

            {move || match state.get() {
                ListState::Problem(p) => view! { <div class="warn-box" role="alert" id="filter-problem">{p}</div> }.into_any(),
                ListState::Loading => view! { <Loading what="executions"/> }.into_any(),
                ListState::Failed(e) => view! {
                    <div class="error-box list-error" role="alert">
                        <span>{format!("Could not load executions: {e}")}</span>
                        <button type="button" class="btn btn-small" on:click=move |_| run(Fetch::Reset)>"Try again"</button>
                    </div>
                }.into_any(),
                ListState::Empty if filters.with_untracked(Filters::is_filtered) => view! {
                    <Empty title="No executions match these filters">
                        <p>{move || if live.get() { "Matching calls appear here as they arrive." } else { "Live updates are paused." }}</p>
                        <button type="button" class="btn" on:click=move |_| set_filters.run(Filters::default())>"Clear filters"</button>
                    </Empty>
                }.into_any(),
                ListState::Empty => view! {
                    <Empty title="No calls yet">
                        <p>"Each call to an integration's trigger appears here within a moment — successful or not — with its request, every step, its logs and its answer. Try one:"</p>
                        <div class="curl-example">
                            <pre class="mono">{empty_example}</pre>
                            <CopyButton text=Signal::derive(empty_example) label="Copy"/>
                        </div>
                    </Empty>
                }.into_any(),
                ListState::Rows => view! {
                    <div class="table-wrap exec-table-wrap" class:is-stale=move || stale.get() aria-busy=move || stale.get().to_string()>
                        <table class="table exec-table" id="executions">
                            <thead><tr>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Integration"</th>
                                <th scope="col">"Received"</th>
                                <th scope="col" class="num">"Duration"</th>
                                <th scope="col">"Mode"</th>
                                <th scope="col" class="num">"Attempts"</th>
                                <th scope="col">"ID"</th>
                            </tr></thead>
                            <tbody>
                                <For
                                    each=move || items.with(|r| match r { Some(Ok(v)) => v.clone(), _ => Vec::new() })
                                    key=row_key
                                    children=move |e: ExecutionOut| execution_row(e, ctx)
                                />
                            </tbody>
                        </table>
                    </div>
                    <div class="list-foot">
                        <span class="muted small" id="shown-count">{move || {
                            let n = items.with(|r| r.as_ref().and_then(|r| r.as_ref().ok()).map_or(0, Vec::len));
                            let more = cursor.with(Option::is_some);
                            match (n, more) {
                                (1, false) => "1 execution".to_owned(),
                                (n, false) => format!("{n} executions"),
                                (n, true) => format!("{n} newest shown"),
                            }
                        }}</span>
                        <Show when=move || cursor.with(Option::is_some)>
                            <button type="button" class="btn" id="load-more"
                                disabled=move || loading_more.get() || stale.get()
                                on:click=move |_| run(Fetch::More)>
                                {move || if loading_more.get() { "Loading…" } else { "Load more" }}
                            </button>
                        </Show>
                    </div>
                }.into_any(),
            }}
        </div>
    }
}

#[derive(Clone, Copy)]
struct RowCtx {
    go: Callback<String>,
    tick: RwSignal<u32>,
    integrations: Integrations,
    arrived: RwSignal<HashSet<String>>,
}

/// A row is drawn again when what it shows changes.
fn row_key(e: &ExecutionOut) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}",
        e.id,
        e.status.as_str(),
        e.attempts,
        e.started_at.as_deref().unwrap_or(""),
        e.finished_at.as_deref().unwrap_or(""),
        e.next_attempt_at.as_deref().unwrap_or("")
    )
}

fn execution_row(e: ExecutionOut, ctx: RowCtx) -> impl IntoView {
    let RowCtx {
        go,
        tick,
        integrations,
        arrived,
    } = ctx;
    let href = format!("/executions/{}", e.id);
    let status = e.status.as_str();
    let class = if arrived.with_untracked(|a| a.contains(&e.id)) {
        "clickable execution-row row-new"
    } else {
        "clickable execution-row"
    };
    let slug = e.integration.clone();
    let slug_for_name = slug.clone();
    let slug_for_title = slug.clone();
    let integration_title = move || match integration_name(integrations, &slug_for_title) {
        Some(name) => format!("{name} ({slug_for_title})"),
        None => slug_for_title.clone(),
    };
    let received = e.received_at.clone();
    let received_title = full_time(&received);
    let duration = match (run_us(&e), e.status) {
        (Some(us), _) => view! { <span>{fmt_duration_us(us)}</span> }.into_any(),
        (None, ExecutionStatus::Running) => {
            view! { <span class="muted">"running…"</span> }.into_any()
        }
        _ => view! { <span class="muted">"—"</span> }.into_any(),
    };
    let attempts_title = match &e.next_attempt_at {
        Some(next) => format!("Next attempt at {}", full_time(next)),
        None => format!("{} run(s)", e.attempts),
    };
    let attempts_class = if e.attempts > 1 {
        "num attempts-many"
    } else {
        "num"
    };
    let click_href = href.clone();
    view! {
        <tr class=class data-id=e.id.clone() data-status=status
            on:click=move |ev: leptos::ev::MouseEvent| {
                if clicked_control(&ev) {
                    return;
                }
                if ev.ctrl_key() || ev.meta_key() {
                    open_in_new_tab(&click_href);
                } else {
                    go.run(click_href.clone());
                }
            }>
            <td class="cell-status"><Badge kind=status/></td>
            <td class="cell-integration" title=integration_title>
                <span class="strong">{move || integration_name(integrations, &slug_for_name).unwrap_or_else(|| slug_for_name.clone())}</span>
                <span class="muted small mono cell-sub">{format!("{slug} · v{}", e.version)}</span>
            </td>
            <td class="cell-received" title=received_title>{move || {
                tick.track();
                ago(&received)
            }}</td>
            <td class="num">{duration}</td>
            <td><span class=format!("mode mode-{}", e.mode)>{e.mode.clone()}</span></td>
            <td class=attempts_class title=attempts_title>
                {e.attempts}
                {e.next_attempt_at.is_some().then(|| view! { <span class="retry-mark" aria-label="retry scheduled">" ↻"</span> })}
            </td>
            <td class="cell-id">
                <a href=href class="mono" title=e.id.clone() aria-label=format!("Execution {}", e.id)>{short_id(&e.id)}</a>
                {e.replay_of.is_some().then(|| view! { <span class="muted small replay-mark" title="A replay">" replay"</span> })}
            </td>
        </tr>
    }
}

// ---------------------------------------------------------------------------------------------
// One execution.

#[component]
pub fn ExecutionPage() -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let go = Callback::new({
        let navigate = use_navigate();
        move |path: String| navigate(&path, NavigateOptions::default())
    });
    let data = RwSignal::new(None::<Result<ExecutionOut, ApiError>>);
    let poll_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let tick = RwSignal::new(0u32);
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
    let alive = Arc::new(AtomicBool::new(true));
    on_cleanup({
        let alive = alive.clone();
        move || alive.store(false, Ordering::Relaxed)
    });
    spawn_local(async move {
        loop {
            TimeoutFuture::new(DETAIL_EVERY_MS).await;
            if !alive.load(Ordering::Relaxed) {
                break;
            }
            tick.try_update(|t| *t = t.wrapping_add(1));
            let running = data
                .try_with_untracked(|d| matches!(d, Some(Ok(e)) if !e.status.is_final()))
                .unwrap_or(false);
            if running && in_flight.try_get_value() == Some(false) {
                load(false);
            }
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
                        <div class="error-box list-error" role="alert">
                            <span>{text}</span>
                            <button type="button" class="btn btn-small" on:click=move |_| load(true)>"Try again"</button>
                        </div>
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
                        format!(" · next attempt {}", until(&n, now_us()))
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

fn kv_table(map: BTreeMap<String, String>, what: &'static str) -> AnyView {
    if map.is_empty() {
        return view! { <p class="muted small">{format!("No {what}.")}</p> }.into_any();
    }
    view! {
        <div class="kv-wrap">
            <table class="table kv-table">
                <tbody>
                    {map.into_iter().map(|(k, v)| {
                        let redacted = v == REDACTED;
                        view! {
                            <tr>
                                <th scope="row" class="mono">{k}</th>
                                <td class=if redacted { "mono redacted" } else { "mono" }
                                    title=if redacted { "Stored, but not shown" } else { "" }>{v}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// A body with a copy button, drawn as its encoding says.
fn body_view(encoding: &str, body: serde_json::Value) -> AnyView {
    use serde_json::Value;
    match (encoding, body) {
        ("none", _) => view! { <p class="muted small body-none">"No body."</p> }.into_any(),
        ("base64", body) => {
            let b64 = json_text(&body);
            let size = b64.trim_end_matches('=').len() * 3 / 4;
            view! {
                <div class="body-binary">
                    <p class="muted small">{format!("Binary body, {} — shown base64-encoded.", fmt_bytes(size))}</p>
                    <details>
                        <summary>"Show base64"</summary>
                        <pre class="json body-text">{b64.clone()}</pre>
                        <CopyButton text=b64 label="Copy base64"/>
                    </details>
                </div>
            }
            .into_any()
        }
        ("form", Value::Object(m)) => {
            let map: BTreeMap<String, String> =
                m.iter().map(|(k, v)| (k.clone(), json_text(v))).collect();
            kv_table(map, "form fields")
        }
        ("text", body) | (_, body @ Value::String(_)) => {
            let text = json_text(&body);
            if text.is_empty() {
                return view! { <p class="muted small body-none">"Empty body."</p> }.into_any();
            }
            view! {
                <div class="body-block">
                    <pre class="json body-text">{text.clone()}</pre>
                    <div class="body-copy"><CopyButton text=text label="Copy"/></div>
                </div>
            }
            .into_any()
        }
        (_, body) => {
            let text = serde_json::to_string_pretty(&body).unwrap_or_default();
            view! {
                <div class="body-block">
                    <JsonBlock value=body/>
                    <div class="body-copy"><CopyButton text=text label="Copy"/></div>
                </div>
            }
            .into_any()
        }
    }
}

fn request_card(request: Option<RequestSnapshot>) -> AnyView {
    let Some(r) = request else {
        return view! {
            <section class="card exec-section" id="request" aria-labelledby="request-title">
                <h2 id="request-title">"Request"</h2>
                <p class="muted">"No request was recorded."</p>
            </section>
        }
        .into_any();
    };
    let curl = curl_of(&origin(), &r);
    let query_text = if r.query.is_empty() {
        String::new()
    } else {
        let q: Vec<String> = r.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("?{}", q.join("&"))
    };
    let headers_count = r.headers.len();
    let headers_open = headers_count <= 5;
    let body_meta = match &r.content_type {
        Some(ct) => format!("{ct} · {}", r.body_encoding),
        None => r.body_encoding.clone(),
    };
    let has_query = !r.query.is_empty();
    let method_class = format!("method method-{}", r.method.to_ascii_lowercase());
    view! {
        <section class="card exec-section" id="request" aria-labelledby="request-title">
            <div class="section-head">
                <h2 id="request-title">"Request"</h2>
                <div class="spacer"></div>
                <span title="The request as a curl command (set FLOWGATE_API_KEY; redacted headers are left out)">
                    <CopyButton text=curl label="Copy as curl"/>
                </span>
            </div>
            <div class="req-line mono" id="request-line">
                <span class=method_class>{r.method.clone()}</span>
                <span class="req-path">{r.path.clone()}<span class="muted">{query_text}</span></span>
            </div>
            {has_query.then(|| view! { <h3>"Query"</h3>{kv_table(r.query.clone(), "query parameters")}})}
            <h3>"Body "<span class="muted small body-meta">{body_meta}</span></h3>
            {body_view(&r.body_encoding, r.body.clone())}
            <details class="exec-details" open=headers_open>
                <summary><h3>{format!("Headers ({headers_count})")}</h3></summary>
                {kv_table(r.headers.clone(), "headers")}
            </details>
        </section>
    }
    .into_any()
}

fn response_card(
    response: Option<ResponseSnapshot>,
    mode: &str,
    replayed: bool,
    running: bool,
) -> AnyView {
    let note = if replayed {
        Some("A replay: nobody waits for its answer; this is what the flow answered.")
    } else {
        (mode == "async").then_some("The caller got 202 at once; this is what the flow answered.")
    };
    let Some(r) = response else {
        let text = if running {
            "No answer yet: the flow has not finished."
        } else {
            "No answer was recorded: the flow ended without responding."
        };
        return view! {
            <section class="card exec-section" id="response" aria-labelledby="response-title">
                <h2 id="response-title">"Response"</h2>
                <p class="muted">{text}</p>
            </section>
        }
        .into_any();
    };
    let headers_count = r.headers.len();
    let headers_open = headers_count <= 5;
    let encoding = if r.body.is_null() { "none" } else { "json" };
    view! {
        <section class="card exec-section" id="response" aria-labelledby="response-title">
            <div class="section-head">
                <h2 id="response-title">"Response"</h2>
                <span class=status_class(r.status) id="response-status">{r.status}</span>
            </div>
            {note.map(|n| view! { <p class="muted small">{n}</p> })}
            <h3>"Body"</h3>
            {body_view(encoding, r.body.clone())}
            <details class="exec-details" open=headers_open>
                <summary><h3>{format!("Headers ({headers_count})")}</h3></summary>
                {kv_table(r.headers.clone(), "headers")}
            </details>
        </section>
    }
    .into_any()
}

fn step_trace(steps: Vec<StepOut>, running: bool) -> impl IntoView {
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
        1 => "1 step".to_owned(),
        n => format!("{n} steps"),
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
                            {(!s.calls.is_empty()).then(|| view! { <div class="trace-calls"><crate::components::HttpCalls calls=s.calls.clone()/></div> })}
                        </div>
                    }
                }).collect_view()}
            </div>
        </section>
    }
}

#[component]
fn LogList(logs: Vec<LogOut>) -> impl IntoView {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(id: &str, status: ExecutionStatus) -> ExecutionOut {
        ExecutionOut {
            id: id.into(),
            integration: "a".into(),
            version: 1,
            status,
            mode: "sync".into(),
            sequence: None,
            received_at: "2026-11-23T12:00:00.000000Z".into(),
            started_at: None,
            finished_at: None,
            attempts: 1,
            next_attempt_at: None,
            replay_of: None,
            lane_key: None,
            idempotency_key: None,
            request: None,
            response: None,
            steps: Vec::new(),
            logs: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn parses_and_formats_times() {
        assert_eq!(parse_time_us("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_time_us("2019-01-01T00:00:00.000001Z"),
            Some(1_546_300_800_000_001)
        );
        assert_eq!(
            parse_time_us("2019-01-01T02:00:00+02:00"),
            Some(1_546_300_800_000_000)
        );
        assert_eq!(
            parse_time_us("2019-01-01T00:00"),
            Some(1_546_300_800_000_000)
        );
        assert_eq!(
            parse_time_us("2019-01-01T00:00:00.5Z"),
            Some(1_546_300_800_500_000)
        );
        assert_eq!(parse_time_us("2019-13-01T00:00Z"), None);
        assert_eq!(parse_time_us("yesterday"), None);
        assert_eq!(parse_time_us("2019-01-01T00:00:00Zjunk"), None);
        assert_eq!(rfc3339_utc(1_546_300_800_000_001), "2019-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_709_164_800_000_000), "2024-02-29T00:00:00Z");
        assert_eq!(to_input("2026-11-23T12:01:00.000000Z"), "2026-11-23T12:01");
        assert_eq!(to_input("2026-11-23T14:01:05+02:00"), "2026-11-23T12:01:05");
        assert_eq!(from_input("2026-11-23T12:01"), "2026-11-23T12:01:00Z");
        assert_eq!(from_input(""), "");
    }

    #[test]
    fn formats_durations() {
        assert_eq!(fmt_duration_us(410), "0.41 ms");
        assert_eq!(fmt_duration_us(12_300), "12 ms");
        assert_eq!(fmt_duration_us(1_250_000), "1.25 s");
        assert_eq!(fmt_duration_us(125_000_000), "2 min 5 s");
        assert_eq!(fmt_step_ms(41), "0.041 ms");
        assert_eq!(fmt_step_ms(120_400), "120 ms");
        assert_eq!(
            until(
                "2026-11-23T12:00:30Z",
                parse_time_us("2026-11-23T12:00:00Z").unwrap_or(0)
            ),
            "in 30 s"
        );
    }

    #[test]
    fn filters_round_trip_and_window() {
        let f = Filters {
            integration: "create customer".into(),
            status: "dead".into(),
            ..Default::default()
        };
        assert_eq!(f.to_query(), "?integration=create%20customer&status=dead");
        assert_eq!(Filters::default().to_query(), "");
        let back = Filters::from_lookup(|k| match k {
            "integration" => Some("create customer".into()),
            "status" => Some("dead".into()),
            _ => None,
        });
        assert_eq!(back, f);
        let now = 1_546_300_800_000_000;
        let ranged = Filters {
            range: "1h".into(),
            ..Default::default()
        };
        assert_eq!(
            ranged.api_path(now, 50, None),
            Ok("/executions?limit=50&from=2018-12-31T23%3A00%3A00Z".to_owned())
        );
        let bad = Filters {
            from: "2019-01-02T00:00:00Z".into(),
            to: "2019-01-01T00:00:00Z".into(),
            ..Default::default()
        };
        assert!(bad.window(now).is_err());
        assert!(Filters {
            range: "1y".into(),
            ..Default::default()
        }
        .window(now)
        .is_err());
        assert_eq!(
            f.api_path(now, 50, Some("c")),
            Ok(
                "/executions?limit=50&integration=create%20customer&status=dead&cursor=c"
                    .to_owned()
            )
        );
    }

    #[test]
    fn refresh_keeps_far_rows_and_marks_new_ones() {
        let old = vec![
            exec("3", ExecutionStatus::Running),
            exec("2", ExecutionStatus::Succeeded),
        ];
        let page = Page {
            items: vec![
                exec("4", ExecutionStatus::Queued),
                exec("3", ExecutionStatus::Succeeded),
            ],
            next_cursor: Some("3".into()),
        };
        let (list, cursor, new) = merge_refresh(&old, None, page, 50);
        assert_eq!(
            list.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["4", "3"]
        );
        assert_eq!(list[1].status, ExecutionStatus::Succeeded);
        assert_eq!(cursor.as_deref(), Some("3"));
        assert!(new.contains("4") && new.len() == 1);

        let page = Page {
            items: vec![exec("4", ExecutionStatus::Queued)],
            next_cursor: Some("4".into()),
        };
        let (list, cursor, _) = merge_refresh(&old, Some("1".into()), page, 1);
        assert_eq!(
            list.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["4", "3", "2"]
        );
        assert_eq!(cursor.as_deref(), Some("1"));
    }

    #[test]
    fn small_helpers() {
        assert_eq!(
            short_id("019a1b2c-0000-7000-8000-00000000abcd"),
            "…0000abcd"
        );
        assert_eq!(step_depth("0"), 0);
        assert_eq!(step_depth("2.then.0"), 1);
        assert_eq!(step_depth("2.else.1.cases.0"), 2);
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        let r = RequestSnapshot {
            method: "POST".into(),
            path: "/t/a".into(),
            query: BTreeMap::from([("x".to_owned(), "1 2".to_owned())]),
            headers: BTreeMap::from([
                ("authorization".to_owned(), REDACTED.to_owned()),
                ("content-type".to_owned(), "application/json".to_owned()),
            ]),
            content_type: Some("application/json".into()),
            body_encoding: "json".into(),
            body: serde_json::json!({"a": 1}),
        };
        assert_eq!(
            curl_of("http://h", &r),
            "curl -X POST 'http://h/t/a?x=1%202' \\\n  -H 'content-type: application/json' \\\n  -H \"X-API-Key: $FLOWGATE_API_KEY\" \\\n  --data-raw '{\"a\":1}'"
        );
    }
}
