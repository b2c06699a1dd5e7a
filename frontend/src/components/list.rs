//! A page's list from the API: loaded at once, loaded again after changes, and kept on screen
//! when a reload fails.

use flowgate_api::Page;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::de::DeserializeOwned;

use crate::api::{self, ApiError};
use crate::components::notices::Notify;
use crate::components::states::LoadError;

/// The rows of `GET path` (one page of it), in `rows`: `None` until the first answer. A failed
/// reload keeps the rows and says so in a notice ("Could not refresh the {noun}: …"); a failed
/// first load puts the error in their place.
pub struct ListLoader<T: 'static> {
    pub rows: RwSignal<Option<Result<Vec<T>, ApiError>>>,
    path: &'static str,
    noun: &'static str,
    notify: Notify,
}

impl<T> Clone for ListLoader<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for ListLoader<T> {}

impl<T: DeserializeOwned + Send + Sync + 'static> ListLoader<T> {
    /// Starts the first load.
    pub fn new(path: &'static str, noun: &'static str) -> Self {
        let list = ListLoader {
            rows: RwSignal::new(None),
            path,
            noun,
            notify: Notify::new(),
        };
        list.reload();
        list
    }

    pub fn reload(self) {
        let ListLoader {
            rows,
            path,
            noun,
            notify,
        } = self;
        spawn_local(async move {
            match api::get::<Page<T>>(path).await {
                Ok(page) => {
                    rows.try_set(Some(Ok(page.items)));
                }
                Err(e) => {
                    let shown = rows
                        .try_with_untracked(|r| matches!(r, Some(Ok(_))))
                        .unwrap_or(false);
                    if shown {
                        notify.error(format!("Could not refresh the {noun}: {e}"));
                    } else {
                        rows.try_set(Some(Err(e)));
                    }
                }
            }
        });
    }

    /// After a failed first load: back to "loading", and load again.
    pub fn retry(self) {
        self.rows.set(None);
        self.reload();
    }

    /// The first load's error, with "Try again": `denied` when the role may not read the list
    /// (403), otherwise "Could not load the {what}: …".
    pub fn failed(self, e: &ApiError, denied: Option<&str>, what: &str) -> AnyView {
        let text = match denied {
            Some(denied) if e.status == 403 => denied.to_owned(),
            _ => format!("Could not load the {what}: {}", e.describe()),
        };
        view! { <LoadError text=text on_retry=move |()| self.retry()/> }.into_any()
    }
}
