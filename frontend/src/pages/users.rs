use leptos::prelude::*;

#[component]
pub fn UsersPage() -> impl IntoView {
    view! { <div class="page"><h1>"UsersPage"</h1></div> }
}
