//! The browser around the page: where it is served from, navigation, and clicks on rows.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use leptos_router::NavigateOptions;
use wasm_bindgen::JsCast;

/// The origin the UI is served from (`http://host:port`), for full endpoint URLs.
pub fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// A callback that opens a path of the UI (usable where `use_navigate` is not).
pub fn use_go() -> Callback<String> {
    let navigate = use_navigate();
    Callback::new(move |path: String| navigate(&path, NavigateOptions::default()))
}

/// Whether a click landed on (or inside) an element matching `selector`, such as a link or a
/// button inside a clickable row, which handles the click itself.
pub fn clicked_within(ev: &leptos::ev::MouseEvent, selector: &str) -> bool {
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest(selector).ok().flatten())
        .is_some()
}

pub fn open_in_new_tab(href: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.open_with_url_and_target(href, "_blank");
    }
}

/// A reference for the field a dialog opens on: it takes the focus once it is in the page.
pub fn focused_input() -> NodeRef<leptos::html::Input> {
    let input = NodeRef::<leptos::html::Input>::new();
    input.on_load(|el| {
        let _ = el.focus();
    });
    input
}

/// A parameter of the route (`:id` in `/executions/:id`), empty when it is missing.
pub fn use_route_param(name: &'static str) -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| params.with(|p| p.get(name).unwrap_or_default()))
}
