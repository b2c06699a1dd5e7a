//! Who is signed in, shared with every page through the context.

use flowgate_api::UserOut;
use leptos::prelude::*;

/// Who is signed in (None: nobody).
#[derive(Clone, Copy)]
pub struct Session(pub RwSignal<Option<UserOut>>);

impl Session {
    pub fn is_admin(&self) -> bool {
        self.0
            .with(|u| u.as_ref().is_some_and(|u| u.role == "admin"))
    }
    pub fn can_edit(&self) -> bool {
        self.0.with(|u| {
            u.as_ref()
                .is_some_and(|u| u.role == "admin" || u.role == "designer")
        })
    }
}

pub fn use_session() -> Session {
    use_context::<Session>().unwrap_or_else(|| Session(RwSignal::new(None)))
}
