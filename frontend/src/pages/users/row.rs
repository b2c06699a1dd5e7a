//! One row of the users table.

use flowgate_api::{UserOut, UserPatch};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::roles::{is_role, role_help, role_name, role_options};
use crate::api::{self, enc, ApiError};
use crate::components::{confirm, when, Badge, Notify};
use crate::format::{ago, sentence};
use crate::session::use_session;

/// The page's list, which a row updates in place.
pub type Users = RwSignal<Option<Result<Vec<UserOut>, ApiError>>>;

/// One user: role select and disable/enable act at once (disable after a confirmation).
#[component]
pub fn UserRow(
    user: UserOut,
    is_me: bool,
    is_new: bool,
    users: Users,
    on_password: Callback<UserOut>,
) -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let busy = RwSignal::new(false);
    let select_id = format!("role-{}", user.id);
    let email = user.email.clone();
    let id = user.id.clone();
    let extra_role = (!is_role(&user.role)).then(|| user.role.clone());
    let row = RwSignal::new(user);

    // Takes the server's answer: into this row, the page's list (without rebuilding the table,
    // so focus stays where it is) and, for oneself, the session.
    let apply = move |updated: UserOut| {
        users.try_update_untracked(|list| {
            if let Some(Ok(list)) = list {
                if let Some(x) = list.iter_mut().find(|x| x.id == updated.id) {
                    *x = updated.clone();
                }
            }
        });
        if is_me {
            session.0.try_set(Some(updated.clone()));
        }
        row.try_set(updated);
    };

    let send = move |patch: UserPatch, done: String, failed: String| {
        let Some(id) = row.try_with_untracked(|u| u.id.clone()) else {
            return;
        };
        busy.set(true);
        spawn_local(async move {
            let result = api::patch::<UserOut, _>(&format!("/users/{}", enc(&id)), &patch).await;
            busy.try_set(false);
            match result {
                Ok(u) => {
                    notify.ok(done);
                    apply(u);
                }
                Err(e) => {
                    let why = match e.status {
                        // The server's own words: "you cannot disable yourself…", "this is the last enabled admin…"
                        409 | 400 => sentence(&e.message),
                        404 => "This user no longer exists.".to_owned(),
                        _ => e.describe(),
                    };
                    notify.error(format!("{failed}: {why}"));
                    // Puts the select back on the role the server kept.
                    row.try_update(|_| {});
                }
            }
        });
    };

    let change_role = {
        let email = email.clone();
        move |ev: leptos::ev::Event| {
            let new_role = event_target_value(&ev);
            let old = row.with_untracked(|u| u.role.clone());
            if new_role == old || busy.get_untracked() {
                row.update(|_| {});
                return;
            }
            send(
                UserPatch {
                    role: Some(new_role.clone()),
                    ..Default::default()
                },
                format!("{email} is now {}", role_name(&new_role)),
                format!(
                    "Could not make {email} {}",
                    role_name(&new_role).to_lowercase()
                ),
            );
        }
    };

    let toggle = {
        let email = email.clone();
        move |_| {
            if busy.get_untracked() {
                return;
            }
            if row.with_untracked(|u| u.disabled) {
                send(
                    UserPatch {
                        disabled: Some(false),
                        ..Default::default()
                    },
                    format!("{email} can sign in again"),
                    format!("Could not enable {email}"),
                );
            } else {
                let email = email.clone();
                confirm(
                    format!("Disable {email}?"),
                    "They are signed out at once and cannot sign in until an admin enables them again. \
                     Nothing they made is deleted.",
                    "Disable user",
                    move || {
                        send(
                            UserPatch { disabled: Some(true), ..Default::default() },
                            format!("{email} is disabled and signed out"),
                            format!("Could not disable {email}"),
                        )
                    },
                );
            }
        }
    };

    let options = role_options()
        .map(|(r, name)| (r.to_owned(), name))
        .chain(extra_role.map(|r| (r.clone(), r)))
        .map(|(value, name)| {
            let v = value.clone();
            view! { <option value=value prop:selected=move || row.with(|u| u.role == v)>{name}</option> }
        })
        .collect_view();

    let disabled = move || row.with(|u| u.disabled);
    let row_class = move || {
        let mut c = String::from("user-row");
        if is_new {
            c.push_str(" row-new");
        }
        if is_me {
            c.push_str(" row-me");
        }
        if disabled() {
            c.push_str(" user-disabled");
        }
        c
    };
    let created = row.with_untracked(|u| u.created_at.clone());
    let select_label = format!("Role of {email}");
    let toggle_label = move || {
        let email = row.with(|u| u.email.clone());
        if disabled() {
            format!("Enable {email}")
        } else {
            format!("Disable {email}")
        }
    };

    view! {
        <tr data-user-email=email.clone() data-user-id=id class=row_class aria-busy=move || busy.get().to_string()>
            <td class="user-email">
                <span class="strong">{email.clone()}</span>
                {is_me.then(|| view! { <span class="you-tag" title="You are signed in as this user">"you"</span> })}
                {is_new.then(|| view! { <span class="badge badge-ok new-tag">"new"</span> })}
            </td>
            <td class="col-role">{move || view! { <Badge kind=row.with(|u| u.role.clone())/> }}</td>
            <td>{move || view! { <Badge kind=if disabled() { "disabled" } else { "active" }/> }}</td>
            <td class="when" title=ago(&created)>{when(&created)}</td>
            <td class="actions user-actions">
                <label class="sr-only" for=select_id.clone()>{select_label}</label>
                <select id=select_id class="role-select user-role-select" on:change=change_role
                    title=move || {
                        if is_me {
                            "Another admin must change your role".to_owned()
                        } else {
                            row.with(|u| role_help(&u.role).to_owned())
                        }
                    }>
                    {options}
                </select>
                <button class="btn btn-small set-password" type="button"
                    aria-label=format!("Set a new password for {email}")
                    on:click=move |_| {
                        if let Some(u) = row.try_get_untracked() {
                            on_password.run(u);
                        }
                    }>"Set password"</button>
                {if is_me {
                    view! { <span class="action-placeholder" aria-hidden="true"></span> }.into_any()
                } else {
                    view! {
                        <button type="button"
                            class=move || if disabled() { "btn btn-small enable-user" } else { "btn btn-small btn-quiet-danger disable-user" }
                            aria-label=toggle_label
                            on:click=toggle>
                            {move || if disabled() { "Enable" } else { "Disable" }}
                        </button>
                    }.into_any()
                }}
            </td>
        </tr>
    }
}
