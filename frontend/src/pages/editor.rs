use leptos::prelude::*;

#[component]
pub fn EditorPage() -> impl IntoView {
    view! { <div class="page"><h1>"EditorPage"</h1></div> }
}
