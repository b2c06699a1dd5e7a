use leptos::prelude::*;

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    view! { <div class="page"><h1>"IntegrationsPage"</h1></div> }
}
