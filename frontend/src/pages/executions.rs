use leptos::prelude::*;

#[component]
pub fn ExecutionsPage() -> impl IntoView {
    view! { <div class="page"><h1>"ExecutionsPage"</h1></div> }
}

#[component]
pub fn ExecutionPage() -> impl IntoView {
    view! { <div class="page"><h1>"Execution"</h1></div> }
}
