//! Flowgate's admin UI: a client-side Leptos app. It talks only to the public `/api/v1` and
//! shares the wire types (`flowgate-api`) and the flow model (`flows-runtime`) with the server.

mod api;
mod app;
mod components;
mod pages;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
