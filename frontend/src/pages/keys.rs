use leptos::prelude::*;

#[component]
pub fn KeysPage() -> impl IntoView {
    view! { <div class="page"><h1>"KeysPage"</h1></div> }
}
