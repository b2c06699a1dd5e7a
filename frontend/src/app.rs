//! The shell: sign-in gate, navigation and routes. Shared docs (`/share/…`) are for people
//! without an account: they render outside the gate, without the navigation, and the app does
//! not ask who is signed in there.

use flowgate_api::{LoginIn, LoginOut, UserOut};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::hooks::use_location;
use leptos_router::path;

use crate::api;
use crate::components::{ConfirmDialog, Confirmer, Loading, NoticeStack, Notices, Notify};
use crate::pages;
use crate::session::{use_session, Session};

#[component]
pub fn App() -> impl IntoView {
    let user = RwSignal::new(None::<UserOut>);
    let checked = RwSignal::new(false);
    let lost = RwSignal::new(0u32);
    api::watch_session_loss(lost);
    provide_context(Session(user));
    provide_context(Notices(RwSignal::new(Vec::new())));
    provide_context(Confirmer(RwSignal::new(None)));

    Effect::new(move |_| {
        if lost.get() > 0 {
            user.set(None);
        }
    });

    view! {
        <Router>
            <NoticeStack/>
            <ConfirmDialog/>
            <Gate user=user checked=checked/>
        </Router>
    }
}

/// Whether a path is one of the pages shown without signing in.
pub fn is_public_path(path: &str) -> bool {
    path.starts_with("/share/")
}

/// Public pages as they are; everything else behind the sign-in.
#[component]
fn Gate(user: RwSignal<Option<UserOut>>, checked: RwSignal<bool>) -> impl IntoView {
    let location = use_location();
    let public = Memo::new(move |_| location.pathname.with(|p| is_public_path(p)));
    // Who is signed in is asked once, when a gated page is first shown.
    let asked = StoredValue::new(false);
    Effect::new(move |_| {
        if public.get() || asked.get_value() {
            return;
        }
        asked.set_value(true);
        spawn_local(async move {
            if let Ok(me) = api::get::<UserOut>("/auth/me").await {
                user.set(Some(me));
            }
            checked.set(true);
        });
    });
    // Re-render the gate only when signing in or out, not on every write to `user`.
    let signed_in = Memo::new(move |_| user.with(Option::is_some));
    move || {
        if public.get() {
            view! { <PublicPages/> }.into_any()
        } else if !checked.get() {
            view! { <div class="boot"><Loading/></div> }.into_any()
        } else if !signed_in.get() {
            view! { <Login/> }.into_any()
        } else {
            view! { <Shell/> }.into_any()
        }
    }
}

#[component]
fn PublicPages() -> impl IntoView {
    view! {
        <Routes fallback=|| view! { <div class="share-page"><h1>"Not found"</h1><p>"This page does not exist."</p></div> }>
            <Route path=path!("/share/integrations/:slug") view=pages::docs::SharedDocsPage/>
        </Routes>
    }
}

#[component]
fn Shell() -> impl IntoView {
    let session = use_session();
    let notify = Notify::new();
    let sign_out = move |_| {
        spawn_local(async move {
            match api::post::<(), _>("/auth/logout", &()).await {
                Ok(()) | Err(api::ApiError { status: 401, .. }) => session.0.set(None),
                Err(e) => notify.error(format!("Could not sign out: {e}")),
            }
        });
    };
    let email = move || {
        session
            .0
            .with(|u| u.as_ref().map(|u| u.email.clone()).unwrap_or_default())
    };
    let role = move || {
        session
            .0
            .with(|u| u.as_ref().map(|u| u.role.clone()).unwrap_or_default())
    };
    view! {
        <div class="shell">
            <nav class="sidebar" aria-label="Main">
                <div class="brand"><span class="brand-mark">"⟶"</span>" Flowgate"</div>
                <A href="/" exact=true attr:class="nav-link" attr:id="nav-dashboard">"Dashboard"</A>
                <A href="/integrations" attr:class="nav-link">"Integrations"</A>
                <A href="/executions" attr:class="nav-link">"Executions"</A>
                <A href="/keys" attr:class="nav-link">"API keys"</A>
                <A href="/oauth-clients" attr:class="nav-link">"OAuth clients"</A>
                <A href="/subscriptions" attr:class="nav-link">"Subscriptions"</A>
                <A href="/tables" attr:class="nav-link" attr:id="nav-tables">"Tables"</A>
                <Show when=move || session.is_admin()>
                    <A href="/secrets" attr:class="nav-link">"Secrets"</A>
                    <A href="/users" attr:class="nav-link">"Users"</A>
                </Show>
                <div class="sidebar-foot">
                    <A href="/api-reference" attr:class="nav-link nav-help" attr:id="nav-api-reference">"API reference"</A>
                    <div class="who" title=email>{email}</div>
                    <div class="who-role">{role}</div>
                    <button class="btn btn-ghost" id="sign-out" on:click=sign_out>"Sign out"</button>
                </div>
            </nav>
            <main class="content">
                <Routes fallback=|| view! { <div class="page"><h1>"Not found"</h1><p>"This page does not exist. "<a href="/">"Go to the dashboard"</a></p></div> }>
                    <Route path=path!("/") view=pages::dashboard::DashboardPage/>
                    <Route path=path!("/integrations") view=pages::integrations::IntegrationsPage/>
                    <Route path=path!("/integrations/:slug") view=pages::editor::EditorPage/>
                    <Route path=path!("/integrations/:slug/docs") view=pages::docs::IntegrationDocsPage/>
                    <Route path=path!("/api-reference") view=pages::api_reference::ApiReferencePage/>
                    <Route path=path!("/executions") view=pages::executions::ExecutionsPage/>
                    <Route path=path!("/executions/:id") view=pages::executions::ExecutionPage/>
                    <Route path=path!("/keys") view=pages::keys::KeysPage/>
                    <Route path=path!("/oauth-clients") view=pages::oauth_clients::OauthClientsPage/>
                    <Route path=path!("/subscriptions") view=pages::subscriptions::SubscriptionsPage/>
                    <Route path=path!("/subscriptions/:id") view=pages::subscriptions::SubscriptionPage/>
                    <Route path=path!("/tables") view=pages::tables::TablesPage/>
                    <Route path=path!("/tables/:name") view=pages::tables::TablePage/>
                    <Route path=path!("/secrets") view=pages::secrets::SecretsPage/>
                    <Route path=path!("/users") view=pages::users::UsersPage/>
                </Routes>
            </main>
        </div>
    }
}

#[component]
fn Login() -> impl IntoView {
    let session = use_session();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get() {
            return;
        }
        busy.set(true);
        error.set(None);
        let body = LoginIn {
            email: email.get_untracked(),
            password: password.get_untracked(),
        };
        spawn_local(async move {
            match api::post::<LoginOut, _>("/auth/login", &body).await {
                Ok(out) => session.0.set(Some(out.user)),
                Err(e) if e.status == 401 => error.set(Some("Wrong email or password.".into())),
                Err(e) => error.set(Some(e.describe())),
            }
            busy.try_set(false);
        });
    };
    view! {
        <div class="login-wrap">
            <form class="login card" on:submit=submit>
                <div class="brand brand-large"><span class="brand-mark">"⟶"</span>" Flowgate"</div>
                <p class="muted">"Sign in to design integrations and watch every call."</p>
                <label for="email">"Email"</label>
                <input id="email" type="email" autocomplete="username" required
                    prop:value=email on:input=move |ev| email.set(event_target_value(&ev))/>
                <label for="password">"Password"</label>
                <input id="password" type="password" autocomplete="current-password" required
                    prop:value=password on:input=move |ev| password.set(event_target_value(&ev))/>
                {move || error.get().map(|e| view! { <div class="error-box" role="alert" id="login-error">{e}</div> })}
                <button class="btn btn-primary btn-block" type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_shared_pages_skip_the_sign_in() {
        assert!(is_public_path("/share/integrations/create-customer"));
        assert!(!is_public_path("/"));
        assert!(!is_public_path("/integrations/share"));
        assert!(!is_public_path("/shared"));
    }
}
