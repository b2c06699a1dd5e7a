//! Notices (toasts): every API error is shown in words; successes are confirmed briefly.

use leptos::prelude::*;
use leptos::task::spawn_local;

#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub id: u32,
    pub error: bool,
    pub text: String,
}

#[derive(Clone, Copy)]
pub struct Notices(pub RwSignal<Vec<Notice>>);

/// A handle usable inside async blocks (where the reactive context is not reachable).
#[derive(Clone, Copy)]
pub struct Notify(Option<Notices>);

impl Notify {
    pub fn new() -> Self {
        Notify(use_context::<Notices>())
    }
    fn push(self, error: bool, text: String) {
        let Some(Notices(list)) = self.0 else { return };
        let id = js_sys::Math::random().to_bits() as u32;
        list.update(|l| {
            l.push(Notice { id, error, text });
            if l.len() > 4 {
                l.remove(0);
            }
        });
        let ttl = if error { 9000 } else { 3500 };
        spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(ttl).await;
            list.try_update(|l| l.retain(|n| n.id != id));
        });
    }
    pub fn error(self, text: impl Into<String>) {
        self.push(true, text.into())
    }
    pub fn ok(self, text: impl Into<String>) {
        self.push(false, text.into())
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

#[component]
pub fn NoticeStack() -> impl IntoView {
    let Notices(list) = expect_notices();
    view! {
        <div class="notices" role="status" aria-live="polite">
            <For each=move || list.get() key=|n| n.id let:n>
                <div class=if n.error { "notice notice-error" } else { "notice notice-ok" }>
                    <span>{n.text.clone()}</span>
                    <button class="notice-close" aria-label="Dismiss"
                        on:click=move |_| list.update(|l| l.retain(|x| x.id != n.id))>"×"</button>
                </div>
            </For>
        </div>
    }
}

fn expect_notices() -> Notices {
    use_context::<Notices>().unwrap_or_else(|| Notices(RwSignal::new(Vec::new())))
}
