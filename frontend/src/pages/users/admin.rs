//! The list of users, with its filter and the "Add user" dialog.

use flowgate_api::UserOut;
use leptos::prelude::*;

use super::modals::{AddUserModal, PasswordModal};
use super::roles::role_name;
use super::row::UserRow;
use crate::components::{Empty, ListLoader, ListMeta, ListTable, Loading, Notify, PageHead};
use crate::format::plural;
use crate::session::use_session;

/// From this many users on, the list gets a filter box.
const FILTER_FROM: usize = 8;

const COLUMNS: &[(&str, Option<&str>)] = &[
    ("Email", None),
    ("Role", Some("col-role")),
    ("Status", None),
    ("Created", None),
];

#[component]
pub fn UsersAdmin() -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let loader = ListLoader::<UserOut>::new("/users", "users");
    let users = loader.rows;
    let load = move || loader.reload();
    let adding = RwSignal::new(false);
    let password_for = RwSignal::new(None::<UserOut>);
    // The user added last, highlighted in the list.
    let fresh = RwSignal::new(None::<String>);
    let filter = RwSignal::new(String::new());
    let me = move || session.0.with(|u| u.as_ref().map(|u| u.id.clone()));

    let on_added = Callback::new(move |u: UserOut| {
        notify.ok(format!(
            "{} added as {}. Give them their password to sign in.",
            u.email,
            role_name(&u.role)
        ));
        adding.set(false);
        fresh.set(Some(u.id.clone()));
        filter.set(String::new());
        users.update(|list| match list {
            Some(Ok(list)) => {
                if !list.iter().any(|x| x.id == u.id) {
                    list.push(u);
                    list.sort_by(|a, b| a.email.cmp(&b.email));
                }
            }
            _ => *list = Some(Ok(vec![u])),
        });
        load();
    });

    let table = move || {
        let me = me();
        let q = filter.get().trim().to_lowercase();
        let fresh_id = fresh.get();
        users.with(|r| match r {
            None => view! { <Loading what="users"/> }.into_any(),
            Some(Err(e)) => loader.failed(e, None, "users"),
            Some(Ok(list)) => {
                let shown: Vec<UserOut> = list
                    .iter()
                    .filter(|u| {
                        q.is_empty()
                            || u.email.contains(&q)
                            || u.role.contains(&q)
                            || (q == "disabled" && u.disabled)
                    })
                    .cloned()
                    .collect();
                if shown.is_empty() {
                    return view! {
                        <Empty title="No user matches">
                            "No user has that email or role. Clear the filter to see everyone."
                        </Empty>
                    }
                    .into_any();
                }
                let rows = shown
                    .into_iter()
                    .map(|u| {
                        let is_me = me.as_deref() == Some(u.id.as_str());
                        let is_new = fresh_id.as_deref() == Some(u.id.as_str());
                        view! {
                            <UserRow user=u is_me=is_me is_new=is_new users=users
                                on_password=Callback::new(move |u| password_for.set(Some(u)))/>
                        }
                    })
                    .collect_view();
                view! {
                    <ListTable class="table users-table" id="users" columns=COLUMNS actions=true>{rows}</ListTable>
                }
                .into_any()
            }
        })
    };

    let summary = move || {
        users.with(|r| match r {
            Some(Ok(list)) if !list.is_empty() => {
                let admins = list
                    .iter()
                    .filter(|u| u.role == "admin" && !u.disabled)
                    .count();
                let disabled = list.iter().filter(|u| u.disabled).count();
                let mut parts = vec![
                    plural(list.len(), "user", "users"),
                    plural(admins, "admin", "admins"),
                ];
                if disabled > 0 {
                    parts.push(format!("{disabled} disabled"));
                }
                Some(parts.join(" · "))
            }
            _ => None,
        })
    };
    let show_filter =
        move || users.with(|r| matches!(r, Some(Ok(list)) if list.len() >= FILTER_FROM));

    view! {
        <div class="page admin-page">
            <PageHead title="Users" sub=|| "People who sign in to Flowgate. Admins manage users and keys, designers build integrations, viewers look on.">
                <Show when=show_filter>
                    <input type="search" class="admin-filter" placeholder="Filter by email or role"
                        aria-label="Filter users" prop:value=filter
                        on:input=move |ev| filter.set(event_target_value(&ev))/>
                </Show>
                <button class="btn btn-primary" type="button" id="new-user" on:click=move |_| adding.set(true)>
                    "Add user"
                </button>
            </PageHead>
            <ListMeta text=Signal::derive(summary)/>
            {table}
            <Show when=move || adding.get()>
                <AddUserModal on_added=on_added on_close=Callback::new(move |()| adding.set(false))/>
            </Show>
            {move || password_for.get().map(|u| view! {
                <PasswordModal user=u on_close=Callback::new(move |()| password_for.set(None))/>
            })}
        </div>
    }
}
