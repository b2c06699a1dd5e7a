//! Users (admins only): who can sign in, with which role; add people, change roles, disable
//! and re-enable accounts, set a new password.

mod admin;
mod modals;
mod roles;
mod row;

use leptos::prelude::*;

use crate::components::Empty;
use crate::session::use_session;

#[component]
pub fn UsersPage() -> impl IntoView {
    let session = use_session();
    // A memo, so that a change to the signed-in user that keeps them admin does not rebuild
    // the page.
    let admin = Memo::new(move |_| session.is_admin());
    move || {
        if admin.get() {
            view! { <admin::UsersAdmin/> }.into_any()
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
