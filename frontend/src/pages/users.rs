//! Users (admins only): who can sign in, with which role; add people, change roles, disable
//! and re-enable accounts, set a new password.

use flowgate_api::users::UserIn;
use flowgate_api::{Page, UserOut};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use crate::api::{self, enc, ApiError};
use crate::app::use_session;
use crate::components::{ago, confirm, short_time, Badge, Empty, Loading, Modal, Notify};

/// The roles, as the server names them, with what each may do (docs/api.md).
const ROLES: &[(&str, &str, &str)] = &[
    (
        "admin",
        "Admin",
        "Everything, including users and API keys.",
    ),
    (
        "designer",
        "Designer",
        "Builds, tests and publishes integrations; reads API keys.",
    ),
    ("viewer", "Viewer", "Reads integrations and executions."),
];

/// The server's password rule (server/src/domain/users.rs).
const MIN_PASSWORD_CHARS: usize = 8;

/// From this many users on, the list gets a filter box.
const FILTER_FROM: usize = 8;

/// `PATCH /api/v1/users/{id}`: only the fields given change.
#[derive(Serialize, Default)]
struct UserPatchBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

type Users = RwSignal<Option<Result<Vec<UserOut>, ApiError>>>;

fn role_name(role: &str) -> String {
    ROLES
        .iter()
        .find(|(r, _, _)| *r == role)
        .map(|(_, name, _)| (*name).to_owned())
        .unwrap_or_else(|| role.to_owned())
}

fn role_help(role: &str) -> &'static str {
    ROLES
        .iter()
        .find(|(r, _, _)| *r == role)
        .map(|(_, _, help)| *help)
        .unwrap_or("")
}

/// The server's messages start in lower case (they read well after "Could not …: ").
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// What the server would refuse in an email address (mirrors its check).
fn email_problem(email: &str) -> Option<&'static str> {
    let e = email.trim();
    match e.split_once('@') {
        _ if e.is_empty() => Some("Enter the person's email address."),
        Some((local, domain)) if !local.is_empty() && domain.contains('.') && e.len() <= 254 => {
            None
        }
        _ => Some("Enter a valid email address, such as ada@example.com."),
    }
}

fn password_problem(password: &str) -> Option<String> {
    let n = password.chars().count();
    (n < MIN_PASSWORD_CHARS).then(|| {
        format!("The password needs at least {MIN_PASSWORD_CHARS} characters ({n} so far).")
    })
}

fn password_hint(password: &str) -> String {
    let n = password.chars().count();
    if n == 0 {
        format!("At least {MIN_PASSWORD_CHARS} characters.")
    } else if n < MIN_PASSWORD_CHARS {
        format!("At least {MIN_PASSWORD_CHARS} characters — {n} so far.")
    } else {
        format!("{n} characters ✓")
    }
}

/// `2026-11-23 12:01:02` as date and time, which may wrap onto two lines in a narrow table.
fn when(rfc3339: &str) -> impl IntoView {
    let text = short_time(rfc3339);
    let (date, time) = text.split_once(' ').unwrap_or((text.as_str(), ""));
    view! { <span class="nowrap">{date.to_owned()}</span>" "<span class="nowrap muted">{time.to_owned()}</span> }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let session = use_session();
    // A memo, so that a change to the signed-in user that keeps them admin does not rebuild
    // the page.
    let admin = Memo::new(move |_| session.is_admin());
    move || {
        if admin.get() {
            view! { <UsersAdmin/> }.into_any()
        } else {
            view! {
                <div class="page admin-page">
                    <div class="page-head"><div><h1>"Users"</h1></div></div>
                    <div id="users-admin-only">
                        <Empty title="Only admins manage users">
                            "Ask an admin to add people, change roles or disable accounts."
                        </Empty>
                    </div>
                </div>
            }
            .into_any()
        }
    }
}

#[component]
fn UsersAdmin() -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let users: Users = RwSignal::new(None);
    let adding = RwSignal::new(false);
    let password_for = RwSignal::new(None::<UserOut>);
    // The user added last, highlighted in the list.
    let fresh = RwSignal::new(None::<String>);
    let filter = RwSignal::new(String::new());
    let me = move || session.0.with(|u| u.as_ref().map(|u| u.id.clone()));

    let load = move || {
        spawn_local(async move {
            match api::get::<Page<UserOut>>("/users").await {
                Ok(page) => {
                    users.try_set(Some(Ok(page.items)));
                }
                Err(e) => {
                    let shown = users
                        .try_with_untracked(|u| matches!(u, Some(Ok(_))))
                        .unwrap_or(false);
                    if shown {
                        notify.error(format!("Could not refresh the users: {e}"));
                    } else {
                        users.try_set(Some(Err(e)));
                    }
                }
            }
        });
    };
    load();
    let retry = move |_| {
        users.set(None);
        load();
    };

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
            Some(Err(e)) => {
                let text = format!("Could not load the users: {}", e.describe());
                view! {
                    <div class="error-box load-error" role="alert">
                        <span>{text}</span>
                        <button class="btn btn-small" type="button" on:click=retry>"Try again"</button>
                    </div>
                }
                .into_any()
            }
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
                    <div class="table-wrap">
                        <table class="table users-table" id="users">
                            <thead>
                                <tr>
                                    <th scope="col">"Email"</th>
                                    <th scope="col" class="col-role">"Role"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Created"</th>
                                    <th scope="col" class="actions"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
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
                    if list.len() == 1 {
                        "1 user".to_owned()
                    } else {
                        format!("{} users", list.len())
                    },
                    if admins == 1 {
                        "1 admin".to_owned()
                    } else {
                        format!("{admins} admins")
                    },
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
            <div class="page-head">
                <div>
                    <h1>"Users"</h1>
                    <p class="page-sub">
                        "People who sign in to Flowgate. Admins manage users and keys, designers build integrations, viewers look on."
                    </p>
                </div>
                <div class="spacer"></div>
                <Show when=show_filter>
                    <input type="search" class="admin-filter" placeholder="Filter by email or role"
                        aria-label="Filter users" prop:value=filter
                        on:input=move |ev| filter.set(event_target_value(&ev))/>
                </Show>
                <button class="btn btn-primary" type="button" id="new-user" on:click=move |_| adding.set(true)>
                    "Add user"
                </button>
            </div>
            {move || summary().map(|s| view! { <div class="list-meta muted small">{s}</div> })}
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

/// One user: role select and disable/enable act at once (disable after a confirmation).
#[component]
fn UserRow(
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
    let extra_role = (!ROLES.iter().any(|(r, _, _)| *r == user.role)).then(|| user.role.clone());
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

    let send = move |patch: UserPatchBody, done: String, failed: String| {
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
                UserPatchBody {
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
                    UserPatchBody {
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
                            UserPatchBody { disabled: Some(true), ..Default::default() },
                            format!("{email} is disabled and signed out"),
                            format!("Could not disable {email}"),
                        )
                    },
                );
            }
        }
    };

    let options = ROLES
        .iter()
        .map(|(r, name, _)| ((*r).to_owned(), (*name).to_owned()))
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

/// A show/hide button for a password field.
#[component]
fn RevealButton(reveal: RwSignal<bool>, controls: &'static str) -> impl IntoView {
    view! {
        <button class="btn btn-small" type="button"
            aria-pressed=move || reveal.get().to_string()
            aria-controls=controls
            on:click=move |_| reveal.update(|r| *r = !*r)>
            {move || if reveal.get() { "Hide" } else { "Show" }}
        </button>
    }
}

#[component]
fn AddUserModal(on_added: Callback<UserOut>, on_close: Callback<()>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new("designer".to_owned());
    let reveal = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let email_ref = NodeRef::<leptos::html::Input>::new();
    email_ref.on_load(|el| {
        let _ = el.focus();
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let e = email.get_untracked().trim().to_owned();
        let p = password.get_untracked();
        let problem = email_problem(&e)
            .map(str::to_owned)
            .or_else(|| password_problem(&p));
        if let Some(problem) = problem {
            error.set(Some(problem));
            return;
        }
        busy.set(true);
        error.set(None);
        let body = UserIn {
            email: e,
            password: p,
            role: role.get_untracked(),
        };
        spawn_local(async move {
            let result = api::post::<UserOut, _>("/users", &body).await;
            if busy.try_set(false).is_some() {
                return; // the dialog was closed meanwhile
            }
            match result {
                Ok(u) => {
                    on_added.try_run(u);
                }
                Err(e) if e.status == 409 => error.set(Some(format!(
                    "{} Each person signs in with their own email.",
                    sentence(&e.message)
                ))),
                Err(e) if e.status == 400 => error.set(Some(sentence(&e.describe()))),
                Err(e) => error.set(Some(format!("Could not add the user: {}", e.describe()))),
            }
        });
    };

    let options = ROLES
        .iter()
        .map(|(r, name, _)| {
            view! { <option value=*r prop:selected=move || role.with(|x| x == r)>{*name}</option> }
        })
        .collect_view();

    view! {
        <Modal title="Add user".to_owned() on_close=on_close>
            <form class="add-user-form" on:submit=submit novalidate>
                <div class="field">
                    <label for="user-email">"Email"</label>
                    <input id="user-email" type="email" autocomplete="off" required node_ref=email_ref
                        placeholder="ada@example.com"
                        prop:value=email on:input=move |ev| {
                            error.set(None);
                            email.set(event_target_value(&ev));
                        }/>
                    <div class="hint">"They sign in with this address."</div>
                </div>
                <div class="field">
                    <label for="user-password">"Initial password"</label>
                    <div class="input-with-button">
                        <input id="user-password" type=move || if reveal.get() { "text" } else { "password" }
                            autocomplete="new-password" required minlength=MIN_PASSWORD_CHARS.to_string()
                            aria-describedby="user-password-hint"
                            prop:value=password on:input=move |ev| {
                            error.set(None);
                            password.set(event_target_value(&ev));
                        }/>
                        <RevealButton reveal=reveal controls="user-password"/>
                    </div>
                    <div class="hint" id="user-password-hint">
                        {move || password.with(|p| password_hint(p))}
                        " Give it to them privately."
                    </div>
                </div>
                <div class="field">
                    <label for="user-role">"Role"</label>
                    <select id="user-role" aria-describedby="user-role-hint"
                        on:change=move |ev| role.set(event_target_value(&ev))>
                        {options}
                    </select>
                    <div class="hint" id="user-role-hint">{move || role.with(|r| role_help(r))}</div>
                </div>
                {move || error.get().map(|e| view! { <div class="error-box" role="alert" id="user-error">{e}</div> })}
                <div class="modal-actions">
                    <button class="btn" type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                    <button class="btn btn-primary" type="submit" id="create-user" disabled=move || busy.get()>
                        {move || if busy.get() { "Adding…" } else { "Add user" }}
                    </button>
                </div>
            </form>
        </Modal>
    }
}

/// Sets a new password for a user; the server ends their other sessions.
#[component]
fn PasswordModal(user: UserOut, on_close: Callback<()>) -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let password = RwSignal::new(String::new());
    let reveal = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let is_me = session
        .0
        .with_untracked(|u| u.as_ref().is_some_and(|u| u.id == user.id));
    let input_ref = NodeRef::<leptos::html::Input>::new();
    input_ref.on_load(|el| {
        let _ = el.focus();
    });
    let id = user.id.clone();
    let email = user.email.clone();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let p = password.get_untracked();
        if let Some(problem) = password_problem(&p) {
            error.set(Some(problem));
            return;
        }
        busy.set(true);
        error.set(None);
        let id = id.clone();
        let email = email.clone();
        spawn_local(async move {
            let body = UserPatchBody {
                password: Some(p),
                ..Default::default()
            };
            let result = api::patch::<UserOut, _>(&format!("/users/{}", enc(&id)), &body).await;
            if busy.try_set(false).is_some() {
                return;
            }
            match result {
                Ok(_) => {
                    notify.ok(if is_me {
                        "Your password is changed; your other sessions are signed out".to_owned()
                    } else {
                        format!("New password set for {email}; they are signed out everywhere")
                    });
                    on_close.try_run(());
                }
                Err(e) if e.status == 400 => error.set(Some(sentence(&e.describe()))),
                Err(e) => error.set(Some(format!(
                    "Could not set the password: {}",
                    e.describe()
                ))),
            }
        });
    };

    let lead = if is_me {
        "Your other sessions are signed out; this one stays.".to_owned()
    } else {
        format!(
            "{} is signed out everywhere and signs in again with the new password.",
            user.email
        )
    };

    view! {
        <Modal title=format!("Set a password for {}", user.email) on_close=on_close>
            <form class="password-form" on:submit=submit novalidate>
                <p class="muted">{lead}</p>
                // For password managers: whose password this is.
                <input type="email" autocomplete="username" value=user.email.clone() readonly hidden/>
                <div class="field">
                    <label for="new-password">"New password"</label>
                    <div class="input-with-button">
                        <input id="new-password" type=move || if reveal.get() { "text" } else { "password" }
                            autocomplete="new-password" required minlength=MIN_PASSWORD_CHARS.to_string()
                            aria-describedby="new-password-hint" node_ref=input_ref
                            prop:value=password on:input=move |ev| {
                            error.set(None);
                            password.set(event_target_value(&ev));
                        }/>
                        <RevealButton reveal=reveal controls="new-password"/>
                    </div>
                    <div class="hint" id="new-password-hint">{move || password.with(|p| password_hint(p))}</div>
                </div>
                {move || error.get().map(|e| view! { <div class="error-box" role="alert" id="password-error">{e}</div> })}
                <div class="modal-actions">
                    <button class="btn" type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                    <button class="btn btn-primary" type="submit" id="set-password" disabled=move || busy.get()>
                        {move || if busy.get() { "Saving…" } else { "Set password" }}
                    </button>
                </div>
            </form>
        </Modal>
    }
}
