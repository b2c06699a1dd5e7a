//! Flowgate's admin UI: a client-side Leptos app. It talks only to the public `/api/v1` and
//! shares the wire types (`flowgate-api`) and the flow model (`flows-runtime`) with the server.
//!
//! Layout: `app` (shell and routes) → `pages` (each owns its data and layout) → `components`
//! (reusable pieces that render) → `format` (pure text, time and size formatting), with
//! `session`, `api` and `model` beside them for every page.

mod api;
mod app;
mod components;
mod format;
mod model;
mod pages;
mod session;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
