//! The dialogs: add a user, set a user's password.

use flowgate_api::users::{UserIn, MIN_PASSWORD_CHARS};
use flowgate_api::{UserOut, UserPatch};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::roles::{email_problem, password_hint, password_problem, role_help, role_options};
use crate::api::{self, enc};
use crate::components::{focused_input, Modal, ModalActions, Notify, RevealButton};
use crate::format::sentence;
use crate::session::use_session;

#[component]
pub fn AddUserModal(on_added: Callback<UserOut>, on_close: Callback<()>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new("designer".to_owned());
    let reveal = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let email_ref = focused_input();

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

    let options = role_options()
        .map(|(r, name)| {
            view! { <option value=r prop:selected=move || role.with(|x| x == r)>{name}</option> }
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
                <ModalActions on_cancel=on_close id="create-user" label="Add user" busy_label="Adding…" busy=busy/>
            </form>
        </Modal>
    }
}

/// Sets a new password for a user; the server ends their other sessions.
#[component]
pub fn PasswordModal(user: UserOut, on_close: Callback<()>) -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let password = RwSignal::new(String::new());
    let reveal = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let is_me = session
        .0
        .with_untracked(|u| u.as_ref().is_some_and(|u| u.id == user.id));
    let input_ref = focused_input();
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
            let body = UserPatch {
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
                <ModalActions on_cancel=on_close id="set-password" label="Set password" busy_label="Saving…" busy=busy/>
            </form>
        </Modal>
    }
}
