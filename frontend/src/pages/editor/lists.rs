//! Lists the step forms pick from (the data store's tables, the stored secrets' names): one
//! request per editor, made when a form first asks, shared by every card.

use flowgate_api::Page;
use leptos::prelude::*;
use serde::de::DeserializeOwned;

use crate::api::{self, ApiError};

/// `GET path` (one page), loaded the first time [`Shared::rows`] is called.
pub struct Shared<T: 'static> {
    rows: RwSignal<Option<Result<Vec<T>, ApiError>>>,
    asked: StoredValue<bool>,
    path: &'static str,
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Shared<T> {}

impl<T: DeserializeOwned + Send + Sync + 'static> Shared<T> {
    pub fn new(path: &'static str) -> Self {
        Shared {
            rows: RwSignal::new(None),
            asked: StoredValue::new(false),
            path,
        }
    }

    /// The list: `None` while it loads, the error if it could not be read (403 for a role
    /// that may not list it).
    pub fn rows(self) -> RwSignal<Option<Result<Vec<T>, ApiError>>> {
        if !self.asked.get_value() {
            self.asked.set_value(true);
            let Shared { rows, path, .. } = self;
            leptos::task::spawn_local(async move {
                let r = api::get::<Page<T>>(path).await.map(|p| p.items);
                rows.try_set(Some(r));
            });
        }
        self.rows
    }
}
