//! Live pages: a timer that ends with the component that started it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Every `ms` milliseconds until the calling component is cleaned up: bumps the returned tick
/// (which relative times such as "3 s ago" track), then calls `f`.
pub fn use_poll(ms: u32, f: impl Fn() + 'static) -> RwSignal<u32> {
    let tick = RwSignal::new(0u32);
    let alive = Arc::new(AtomicBool::new(true));
    on_cleanup({
        let alive = alive.clone();
        move || alive.store(false, Ordering::Relaxed)
    });
    spawn_local(async move {
        loop {
            TimeoutFuture::new(ms).await;
            if !alive.load(Ordering::Relaxed) {
                break;
            }
            tick.try_update(|t| *t = t.wrapping_add(1));
            f();
        }
    });
    tick
}
