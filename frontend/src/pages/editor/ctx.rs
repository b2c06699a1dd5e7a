//! What the editor's parts share: the document being edited and the state around it.

use std::collections::HashSet;

use flowgate_api::secrets::SecretOut;
use flowgate_api::tables::TableOut;
use flowgate_api::{ErrorDetail, IntegrationDoc};
use leptos::prelude::*;

use super::lists::Shared;

/// Where a list of steps sits: in the flow's steps or in its error handler (`on_error`), and
/// through which nested lists: `branches == [(2, "then")]` is the `then` list of the step at
/// index 2 (the lists are those [`Step::branches`](flows_runtime::model::Step::branches)
/// names: `then`/`else`, `steps`/`catch`, `steps`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListPath {
    pub on_error: bool,
    pub branches: Vec<(usize, &'static str)>,
}

impl ListPath {
    /// The flow's top-level steps.
    pub fn steps() -> Self {
        ListPath::default()
    }

    /// The error handler's top-level steps.
    pub fn on_error() -> Self {
        ListPath {
            on_error: true,
            branches: Vec::new(),
        }
    }

    /// The nested list `branch` of the step at `i` of this list.
    pub fn child(&self, i: usize, branch: &'static str) -> Self {
        let mut branches = self.branches.clone();
        branches.push((i, branch));
        ListPath {
            on_error: self.on_error,
            branches,
        }
    }

    /// A top-level list (the flow's or the handler's), not one nested in a step.
    pub fn is_top(&self) -> bool {
        self.branches.is_empty()
    }
}

/// Everything the editor's parts share; all fields are signals, so it is `Copy`.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub slug: StoredValue<String>,
    pub doc: RwSignal<IntegrationDoc>,
    /// Bumped when steps are added, removed or moved: the pipeline re-renders. Field edits
    /// change `doc` only, so inputs keep their focus.
    pub structure: RwSignal<u64>,
    /// Bumped on every edit: the draft is saved after a pause.
    pub edits: RwSignal<u64>,
    pub problems: RwSignal<Vec<ErrorDetail>>,
    pub collapsed: RwSignal<HashSet<String>>,
    /// JSONPath suggestions from the test-run sample (`$.request.body.id`, ...).
    pub paths: RwSignal<Vec<String>>,
    /// The step being dragged: its list and index.
    pub drag: RwSignal<Option<(ListPath, usize)>>,
    /// The data store's tables (store and lookup steps pick one).
    pub tables: Shared<TableOut>,
    /// The stored secrets (HTTP steps and sql steps name one).
    pub secrets: Shared<SecretOut>,
    pub readonly: bool,
}

impl Ctx {
    pub fn edit(&self, f: impl FnOnce(&mut IntegrationDoc)) {
        self.doc.update(f);
        self.edits.update(|n| *n += 1);
    }

    /// Problems of one step (`index` like `2.then.0`).
    pub fn problems_of(&self, index: &str) -> Vec<ErrorDetail> {
        self.problems.with(|p| {
            p.iter()
                .filter(|d| d.step.as_deref() == Some(index))
                .cloned()
                .collect()
        })
    }

    /// Problems whose path starts with `prefix` (`trigger.`, `name`).
    pub fn problems_at(&self, prefix: &str) -> Vec<ErrorDetail> {
        self.problems.with(|p| {
            p.iter()
                .filter(|d| d.step.is_none() && d.path.starts_with(prefix))
                .cloned()
                .collect()
        })
    }
}

/// Where the draft's autosave stands.
#[derive(Clone, Debug, PartialEq)]
pub enum SaveState {
    Saved(String),
    Pending,
    Saving,
    Failed(String),
}
