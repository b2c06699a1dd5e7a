//! Pieces every page uses: notices, the confirmation dialog, modals, the code area, badges,
//! loading and empty states, time formatting and the clipboard.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

// ---------------------------------------------------------------------------------------------
// Notices (toasts): every API error is shown in words; successes are confirmed briefly.

#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub id: u32,
    pub error: bool,
    pub text: String,
}

#[derive(Clone, Copy)]
pub struct Notices(pub RwSignal<Vec<Notice>>);

/// A handle usable inside async blocks (where the reactive context is not reachable).
#[derive(Clone, Copy)]
pub struct Notify(Option<Notices>);

impl Notify {
    pub fn new() -> Self {
        Notify(use_context::<Notices>())
    }
    fn push(self, error: bool, text: String) {
        let Some(Notices(list)) = self.0 else { return };
        let id = js_sys::Math::random().to_bits() as u32;
        list.update(|l| {
            l.push(Notice { id, error, text });
            if l.len() > 4 {
                l.remove(0);
            }
        });
        let ttl = if error { 9000 } else { 3500 };
        spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(ttl).await;
            list.try_update(|l| l.retain(|n| n.id != id));
        });
    }
    pub fn error(self, text: impl Into<String>) {
        self.push(true, text.into())
    }
    pub fn ok(self, text: impl Into<String>) {
        self.push(false, text.into())
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

#[component]
pub fn NoticeStack() -> impl IntoView {
    let Notices(list) = expect_notices();
    view! {
        <div class="notices" role="status" aria-live="polite">
            <For each=move || list.get() key=|n| n.id let:n>
                <div class=if n.error { "notice notice-error" } else { "notice notice-ok" }>
                    <span>{n.text.clone()}</span>
                    <button class="notice-close" aria-label="Dismiss"
                        on:click=move |_| list.update(|l| l.retain(|x| x.id != n.id))>"×"</button>
                </div>
            </For>
        </div>
    }
}

fn expect_notices() -> Notices {
    use_context::<Notices>().unwrap_or_else(|| Notices(RwSignal::new(Vec::new())))
}

// ---------------------------------------------------------------------------------------------
// Confirmation of destructive actions.

#[derive(Clone)]
pub struct ConfirmRequest {
    pub title: String,
    pub message: String,
    pub action: String,
    pub on_confirm: Arc<dyn Fn() + Send + Sync>,
}

#[derive(Clone, Copy)]
pub struct Confirmer(pub RwSignal<Option<ConfirmRequest>>);

/// Asks before doing something that cannot be undone.
pub fn confirm(
    title: impl Into<String>,
    message: impl Into<String>,
    action: impl Into<String>,
    on_confirm: impl Fn() + Send + Sync + 'static,
) {
    if let Some(Confirmer(sig)) = use_context::<Confirmer>() {
        sig.set(Some(ConfirmRequest {
            title: title.into(),
            message: message.into(),
            action: action.into(),
            on_confirm: Arc::new(on_confirm),
        }));
    }
}

#[component]
pub fn ConfirmDialog() -> impl IntoView {
    let Some(Confirmer(req)) = use_context::<Confirmer>() else {
        return ().into_any();
    };
    view! {
        <Show when=move || req.with(Option::is_some)>
            {move || {
                req.get()
                    .map(|r| {
                        let run = r.on_confirm.clone();
                        view! {
                            <div class="modal-backdrop confirm-backdrop">
                                <div class="modal" role="alertdialog" aria-modal="true" aria-labelledby="confirm-title">
                                    <h2 id="confirm-title">{r.title.clone()}</h2>
                                    <p>{r.message.clone()}</p>
                                    <div class="modal-actions">
                                        <button class="btn" on:click=move |_| req.set(None) autofocus>"Cancel"</button>
                                        <button class="btn btn-danger" id="confirm-action"
                                            on:click=move |_| { req.set(None); run(); }>{r.action.clone()}</button>
                                    </div>
                                </div>
                            </div>
                        }
                    })
            }}
        </Show>
    }
    .into_any()
}

// ---------------------------------------------------------------------------------------------
// Modal frame.

#[component]
pub fn Modal(
    title: String,
    #[prop(into)] on_close: Callback<()>,
    children: Children,
    #[prop(optional)] wide: bool,
) -> impl IntoView {
    view! {
        <div class="modal-backdrop" on:keydown=move |ev| { if ev.key() == "Escape" { on_close.run(()) } }>
            <div class=if wide { "modal modal-wide" } else { "modal" } role="dialog" aria-modal="true" aria-label=title.clone()>
                <div class="modal-head">
                    <h2>{title.clone()}</h2>
                    <button class="icon-btn" aria-label="Close" on:click=move |_| on_close.run(())>"×"</button>
                </div>
                {children()}
            </div>
        </div>
    }
}

// ---------------------------------------------------------------------------------------------
// States.

#[component]
pub fn Loading(#[prop(optional, into)] what: String) -> impl IntoView {
    let text = if what.is_empty() {
        "Loading…".to_owned()
    } else {
        format!("Loading {what}…")
    };
    view! { <div class="loading" aria-busy="true"><span class="spinner"></span>{text}</div> }
}

#[component]
pub fn Empty(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="empty">
            <div class="empty-title">{title}</div>
            <div class="empty-body">{children()}</div>
        </div>
    }
}

#[component]
pub fn ErrorBox(error: String) -> impl IntoView {
    view! { <div class="error-box" role="alert">{error}</div> }
}

#[component]
pub fn Badge(#[prop(into)] kind: String) -> impl IntoView {
    let class = format!("badge badge-{kind}");
    view! { <span class=class>{kind.replace('_', " ")}</span> }
}

// ---------------------------------------------------------------------------------------------
// A code area with line numbers (Rhai, JSON).

#[component]
pub fn CodeArea(
    #[prop(into)] value: String,
    #[prop(into)] on_input: Callback<String>,
    #[prop(optional, into)] id: String,
    #[prop(optional, into)] label: String,
    #[prop(default = 6)] rows: usize,
    #[prop(optional)] readonly: bool,
) -> impl IntoView {
    let lines = RwSignal::new(value.lines().count().max(1));
    let scroll = RwSignal::new(0i32);
    let gutter = move || {
        (1..=lines.get().max(rows))
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let height = format!("{}em", (rows as f32) * 1.45 + 0.9);
    view! {
        <div class="code-area" style:height=height.clone()>
            <pre class="code-gutter" aria-hidden="true" style:margin-top=move || format!("{}px", -scroll.get())>{gutter}</pre>
            <textarea
                id=id
                aria-label=label
                spellcheck="false"
                autocomplete="off"
                class="code-input"
                readonly=readonly
                prop:value=value
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    lines.set(v.lines().count().max(1) + usize::from(v.ends_with('\n')));
                    on_input.run(v);
                }
                on:scroll=move |ev| {
                    let el: web_sys::HtmlTextAreaElement = event_target(&ev);
                    scroll.set(el.scroll_top());
                }
                on:keydown=move |ev: web_sys::KeyboardEvent| {
                    // Tab inserts two spaces instead of leaving the field (Escape then Tab leaves).
                    if ev.key() == "Tab" && !ev.shift_key() {
                        let el: web_sys::HtmlTextAreaElement = event_target(&ev);
                        ev.prevent_default();
                        let start = el.selection_start().ok().flatten().unwrap_or(0);
                        let end = el.selection_end().ok().flatten().unwrap_or(start);
                        let _ = el.set_range_text_with_start_and_end_and_mode(
                            "  ", start, end, "end");
                        let v = el.value();
                        lines.set(v.lines().count().max(1));
                        on_input.run(v);
                    }
                }
            ></textarea>
        </div>
    }
}

/// Pretty JSON in a read-only block.
#[component]
pub fn JsonBlock(value: serde_json::Value) -> impl IntoView {
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    view! { <pre class="json">{text}</pre> }
}

// ---------------------------------------------------------------------------------------------
// Time and clipboard.

/// `2026-11-23T12:01:02.123Z` → `2026-11-23 12:01:02` (UTC, what the server stores).
pub fn short_time(rfc3339: &str) -> String {
    let s = rfc3339.replace('T', " ");
    s.chars().take(19).collect()
}

/// "3 min ago" from an RFC 3339 time.
pub fn ago(rfc3339: &str) -> String {
    let then = js_sys::Date::parse(rfc3339);
    if then.is_nan() {
        return rfc3339.to_owned();
    }
    let secs = ((js_sys::Date::now() - then) / 1000.0).max(0.0) as u64;
    match secs {
        0..=9 => "just now".into(),
        10..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86400),
    }
}

pub fn copy_to_clipboard(text: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(text);
    }
}

#[component]
pub fn CopyButton(
    #[prop(into)] text: Signal<String>,
    #[prop(optional, into)] label: String,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let label = if label.is_empty() {
        "Copy".to_owned()
    } else {
        label
    };
    view! {
        <button class="btn btn-small" type="button" on:click=move |_| {
            copy_to_clipboard(&text.get_untracked());
            copied.set(true);
            spawn_local(async move {
                gloo_timers::future::TimeoutFuture::new(1500).await;
                copied.try_set(false);
            });
        }>{move || if copied.get() { "Copied ✓".to_owned() } else { label.clone() }}</button>
    }
}

/// The origin the UI is served from (`http://host:port`), for full endpoint URLs.
pub fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Outbound HTTP calls of a step (HTTP steps and `http()`), as the trace records them: secrets
// are already redacted by the server.

#[component]
pub fn HttpCalls(calls: Vec<flows_runtime::HttpCallTrace>) -> impl IntoView {
    (!calls.is_empty()).then(|| {
        view! {
            <ul class="http-calls">
                {calls.into_iter().map(|c| {
                    let status = c.status.map(|s| s.to_string()).unwrap_or_else(|| "no answer".into());
                    let class = match c.status {
                        Some(s) if s < 300 => "http-code ok",
                        Some(s) if s < 500 => "http-code warn",
                        _ => "http-code bad",
                    };
                    let ms = c.duration_us as f64 / 1000.0;
                    let headers = |h: &std::collections::BTreeMap<String, String>| {
                        h.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n")
                    };
                    let req_h = headers(&c.request_headers);
                    let resp_h = headers(&c.response_headers);
                    view! {
                        <li class="http-call">
                            <details>
                                <summary>
                                    <span class="mono strong">{c.method.clone()}</span>" "
                                    <span class="mono call-url" title=c.url.clone()>{c.url.clone()}</span>" "
                                    <span class=class>{status}</span>
                                    <span class="muted small">{format!(" {ms:.1} ms")}
                                        {(1 < c.attempt).then(|| format!(" · attempt {}", c.attempt))}
                                        {c.purpose.clone().map(|p| format!(" · {p}"))}</span>
                                </summary>
                                {c.error.clone().map(|e| view! { <div class="error-box">{e}</div> })}
                                {(!req_h.is_empty()).then(|| view! { <div class="section-title">"Request headers"</div><pre class="json">{req_h}</pre> })}
                                {c.request_body.clone().map(|b| view! { <div class="section-title">"Request body"</div><pre class="json">{b}</pre> })}
                                {(!resp_h.is_empty()).then(|| view! { <div class="section-title">"Response headers"</div><pre class="json">{resp_h}</pre> })}
                                {c.response_body.clone().map(|b| view! { <div class="section-title">"Response body"</div><pre class="json">{b}</pre> })}
                            </details>
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
    })
}
