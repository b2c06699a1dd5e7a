//! Pieces every page uses. They render what they are given and report back through
//! callbacks; the pages own the data. Notices, the confirmation dialog, modals, the code
//! area, the clipboard, HTTP call traces, rate limit fields, loading / empty / error states,
//! badges, plus two hooks: `use_poll` (live pages) and `ListLoader` (a list that survives a
//! failed refresh).

mod code;
mod confirm;
mod copy;
mod dom;
mod http_calls;
mod list;
mod modal;
mod notices;
mod poll;
mod rate_limit;
mod states;

pub use code::{CodeArea, JsonBlock};
pub use confirm::{confirm, ConfirmDialog, Confirmer};
pub use copy::{CopyButton, SecretOnce};
pub use dom::{clicked_within, focused_input, open_in_new_tab, origin, use_go, use_route_param};
pub use http_calls::{http_code_class, HttpCalls};
pub use list::ListLoader;
pub use modal::{CopiedActions, Modal, ModalActions};
pub use notices::{NoticeStack, Notices, Notify};
pub use poll::use_poll;
pub use rate_limit::{parse_rate_limit, RateLimitFields};
pub use states::{Empty, ErrorBox, LoadError, Loading};

use leptos::prelude::*;

use crate::format::short_time;
use crate::session::use_session;

#[component]
pub fn Badge(#[prop(into)] kind: String) -> impl IntoView {
    let class = format!("badge badge-{kind}");
    view! { <span class=class>{kind.replace('_', " ")}</span> }
}

/// `2026-11-23 12:01:02` as date and time, which may wrap onto two lines in a narrow table.
pub fn when(rfc3339: &str) -> impl IntoView {
    let text = short_time(rfc3339);
    let (date, time) = text.split_once(' ').unwrap_or((text.as_str(), ""));
    view! { <span class="nowrap">{date.to_owned()}</span>" "<span class="nowrap muted">{time.to_owned()}</span> }
}

/// A show/hide button for the secret field `controls`.
#[component]
pub fn RevealButton(reveal: RwSignal<bool>, controls: &'static str) -> impl IntoView {
    view! {
        <button class="btn btn-small" type="button"
            aria-pressed=move || reveal.get().to_string()
            aria-controls=controls
            on:click=move |_| reveal.update(|r| *r = !*r)>
            {move || if reveal.get() { "Hide" } else { "Show" }}
        </button>
    }
}

/// A page's heading: its title, a line about it and, on the right, its controls.
#[component]
pub fn PageHead(
    title: &'static str,
    #[prop(into)] sub: ViewFnOnce,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="page-head">
            <div>
                <h1>{title}</h1>
                <p class="page-sub">{sub.run()}</p>
            </div>
            <div class="spacer"></div>
            {children()}
        </div>
    }
}

/// A list page's table: `columns` as (label, class of its header), then, with `actions`, a
/// last column for the row's buttons (its header is for screen readers only).
#[component]
pub fn ListTable(
    class: &'static str,
    id: &'static str,
    columns: &'static [(&'static str, Option<&'static str>)],
    actions: bool,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class=class id=id>
                <thead>
                    <tr>
                        {columns
                            .iter()
                            .map(|(label, class)| match class {
                                Some(c) => view! { <th scope="col" class=*c>{*label}</th> }.into_any(),
                                None => view! { <th scope="col">{*label}</th> }.into_any(),
                            })
                            .collect_view()}
                        // Positioned, so the hidden label stays inside the table's scroll area
                        // (else a wide table's label widens the page).
                        {actions.then(|| view! { <th scope="col" class="actions" style="position: relative"><span class="sr-only">"Actions"</span></th> })}
                    </tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}

/// A line under a list's heading ("3 keys · 1 failing"), when there is something to say.
#[component]
pub fn ListMeta(#[prop(into)] text: Signal<Option<String>>) -> impl IntoView {
    move || {
        text.get()
            .map(|c| view! { <div class="list-meta muted small">{c}</div> })
    }
}

/// A list page's main button, for admins; everyone else reads `note` in its place.
#[component]
pub fn AdminButton(
    id: &'static str,
    label: &'static str,
    note: &'static str,
    #[prop(into)] on_click: Callback<()>,
) -> impl IntoView {
    let session = use_session();
    view! {
        <Show
            when=move || session.is_admin()
            fallback=move || view! { <span class="muted small read-only-note">{note}</span> }
        >
            <button class="btn btn-primary" type="button" id=id on:click=move |_| on_click.run(())>
                {label}
            </button>
        </Show>
    }
}
