//! Descriptions as people read them: paragraphs, with `code` in backticks as code.

use leptos::prelude::*;

use super::json::{code_spans, paragraphs};

/// One line of a description, its `code` in backticks as code.
pub fn inline(text: &str) -> impl IntoView {
    code_spans(text)
        .into_iter()
        .map(|(code, t)| {
            if code {
                view! { <code>{t}</code> }.into_any()
            } else {
                view! { {t} }.into_any()
            }
        })
        .collect_view()
}

/// A description: its paragraphs, with code.
#[component]
pub fn Prose(#[prop(into)] text: String, #[prop(optional)] class: &'static str) -> impl IntoView {
    paragraphs(&text)
        .into_iter()
        .map(|p| view! { <p class=class>{inline(&p)}</p> })
        .collect_view()
}
