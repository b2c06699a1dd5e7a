//! A code area with line numbers (Rhai, JSON), and pretty JSON.

use leptos::prelude::*;

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
