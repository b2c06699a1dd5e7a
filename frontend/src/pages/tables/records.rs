//! One table's records, newest first: loaded a page at a time ("Load more"), the first ones
//! again every 5 s while the page is open, filtered by the key field or an indexed field (in the
//! URL), exported as CSV or JSON with the same filter; designers and admins delete records.

use std::collections::HashSet;

use flowgate_api::tables::{RecordOut, TableOut};
use flowgate_api::Page;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::query::{records_path, table_path, Filter, MAX_LIMIT, PAGE};
use crate::api::{self, enc, ApiError};
use crate::components::{LoadError, Loading, Notify};

/// How often the first records are asked again.
pub const REFRESH_MS: u32 = 5_000;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// Another table or filter (or a retry): the first page.
    Reset,
    /// The timer: the records on screen again.
    Refresh,
    /// The next page.
    More,
}

/// The table and its records; every field is a signal or a handle, so it is `Copy`.
#[derive(Clone, Copy)]
pub struct Records {
    pub name: Memo<String>,
    pub filter: Memo<Filter>,
    pub table: RwSignal<Option<Result<TableOut, ApiError>>>,
    pub items: RwSignal<Option<Result<Vec<RecordOut>, ApiError>>>,
    pub cursor: RwSignal<Option<String>>,
    /// The filter changed and its answer is on its way: the rows are dimmed.
    pub stale: RwSignal<bool>,
    pub loading_more: RwSignal<bool>,
    pub refresh_error: RwSignal<Option<String>>,
    /// Records that came in with the last refresh (highlighted for a moment).
    pub arrived: RwSignal<HashSet<String>>,
    seq: StoredValue<u64>,
    in_flight: StoredValue<u32>,
    notify: Notify,
}

impl Records {
    pub fn new(name: Memo<String>, filter: Memo<Filter>) -> Self {
        Records {
            name,
            filter,
            table: RwSignal::new(None),
            items: RwSignal::new(None),
            cursor: RwSignal::new(None),
            stale: RwSignal::new(false),
            loading_more: RwSignal::new(false),
            refresh_error: RwSignal::new(None),
            arrived: RwSignal::new(HashSet::new()),
            seq: StoredValue::new(0),
            in_flight: StoredValue::new(0),
            notify: Notify::new(),
        }
    }

    /// No request is under way.
    pub fn idle(self) -> bool {
        self.in_flight.try_get_value() == Some(0)
    }

    /// The table is gone or may not be read: asking again is pointless.
    pub fn gone(self) -> bool {
        self.table
            .try_with_untracked(|t| matches!(t, Some(Err(e)) if e.status == 404 || e.status == 403))
            .unwrap_or(true)
    }

    /// The table itself (its fields and count), again.
    pub fn load_table(self) {
        let Records { name, table, .. } = self;
        let Some(n) = name.try_get_untracked() else {
            return;
        };
        spawn_local(async move {
            let r = api::get::<TableOut>(&table_path(&n)).await;
            if name.try_get_untracked().as_deref() != Some(n.as_str()) {
                return;
            }
            // A failed refresh keeps what is shown (the records say what went wrong).
            let shown = table
                .try_with_untracked(|t| matches!(t, Some(Ok(_))))
                .unwrap_or(false);
            let same = table
                .try_with_untracked(|t| matches!((t, &r), (Some(Ok(a)), Ok(b)) if a == b))
                .unwrap_or(false);
            if !same && (r.is_ok() || !shown) {
                table.try_set(Some(r));
            }
        });
    }

    pub fn run(self, kind: Fetch) {
        let Records {
            name,
            filter,
            items,
            cursor,
            stale,
            loading_more,
            refresh_error,
            arrived,
            seq,
            in_flight,
            notify,
            ..
        } = self;
        let (Some(n), Some(f)) = (name.try_get_untracked(), filter.try_get_untracked()) else {
            return;
        };
        let shown = items
            .try_with_untracked(|r| match r {
                Some(Ok(v)) => v.len(),
                _ => 0,
            })
            .unwrap_or(0);
        let (limit, after) = match kind {
            Fetch::Reset => (PAGE, None),
            // Beyond what one request brings back, the rows stay as they are.
            Fetch::Refresh if shown > MAX_LIMIT => return,
            Fetch::Refresh => (shown.clamp(PAGE, MAX_LIMIT), None),
            Fetch::More => match cursor.try_get_untracked().flatten() {
                Some(c) => (PAGE, Some(c)),
                None => return,
            },
        };
        let path = records_path(&n, &f, limit, after.as_deref());
        let Some(me) = seq.try_update_value(|s| {
            *s += 1;
            *s
        }) else {
            return;
        };
        in_flight.try_update_value(|c| *c += 1);
        match kind {
            Fetch::Reset => {
                loading_more.try_set(false);
                if items.try_with_untracked(|r| matches!(r, Some(Ok(_)))) == Some(true) {
                    stale.try_set(true);
                } else {
                    items.try_set(None);
                }
            }
            Fetch::More => {
                loading_more.try_set(true);
            }
            Fetch::Refresh => {}
        }
        spawn_local(async move {
            let r = api::get::<Page<RecordOut>>(&path).await;
            in_flight.try_update_value(|c| *c = c.saturating_sub(1));
            if seq.try_get_value() != Some(me) {
                return; // the table or the filter changed meanwhile
            }
            match (kind, r) {
                (Fetch::Reset, Ok(page)) => {
                    arrived.try_set(HashSet::new());
                    cursor.try_set(page.next_cursor);
                    items.try_set(Some(Ok(page.items)));
                    refresh_error.try_set(None);
                }
                (Fetch::Reset, Err(e)) => {
                    cursor.try_set(None);
                    items.try_set(Some(Err(e)));
                }
                (Fetch::More, Ok(page)) => {
                    items.try_update(|r| {
                        if let Some(Ok(list)) = r {
                            let have: HashSet<String> = list.iter().map(|x| x.id.clone()).collect();
                            list.extend(page.items.into_iter().filter(|x| !have.contains(&x.id)));
                        }
                    });
                    cursor.try_set(page.next_cursor);
                }
                (Fetch::More, Err(e)) => notify.error(format!("Could not load more records: {e}")),
                (Fetch::Refresh, Ok(page)) => {
                    refresh_error.try_set(None);
                    let known: Option<HashSet<String>> = items
                        .try_with_untracked(|r| match r {
                            Some(Ok(v)) => Some(v.iter().map(|x| x.id.clone()).collect()),
                            _ => None,
                        })
                        .flatten();
                    let new: HashSet<String> = match &known {
                        Some(k) if !k.is_empty() => page
                            .items
                            .iter()
                            .filter(|x| !k.contains(&x.id))
                            .map(|x| x.id.clone())
                            .collect(),
                        _ => HashSet::new(),
                    };
                    if !new.is_empty() {
                        arrived.try_set(new);
                    }
                    let same = items
                        .try_with_untracked(|r| matches!(r, Some(Ok(v)) if *v == page.items))
                        .unwrap_or(false);
                    if !same {
                        items.try_set(Some(Ok(page.items)));
                    }
                    if cursor.try_get_untracked().flatten() != page.next_cursor {
                        cursor.try_set(page.next_cursor);
                    }
                }
                (Fetch::Refresh, Err(e)) => {
                    if items.try_with_untracked(|r| matches!(r, Some(Ok(_)))) == Some(true) {
                        refresh_error.try_set(Some(e.describe()));
                    } else {
                        items.try_set(Some(Err(e)));
                    }
                }
            }
            stale.try_set(false);
            loading_more.try_set(false);
        });
    }

    /// A record deleted here: out of the list, and one fewer in the count.
    pub fn forget(self, id: &str) {
        self.items.try_update(|r| {
            if let Some(Ok(list)) = r {
                list.retain(|x| x.id != id);
            }
        });
        self.table.try_update(|t| {
            if let Some(Ok(t)) = t {
                t.records = (t.records - 1).max(0);
            }
        });
    }

    /// Deletes one record (after the page asked).
    pub fn delete_record(self, id: String) {
        let Some(n) = self.name.try_get_untracked() else {
            return;
        };
        let notify = self.notify;
        spawn_local(async move {
            let path = format!("{}/records/{}", table_path(&n), enc(&id));
            match api::delete(&path).await {
                Ok(()) => {
                    self.forget(&id);
                    notify.ok("Record deleted");
                }
                Err(e) if e.status == 404 => {
                    self.forget(&id);
                    notify.error("This record was already deleted.");
                }
                Err(e) => notify.error(format!("Could not delete the record: {e}")),
            }
        });
    }
}

/// Loading, or why the table cannot be shown (with a way back to the list).
pub fn table_problem(r: Option<&Result<TableOut, ApiError>>, name: &str) -> Option<AnyView> {
    match r {
        None => Some(view! { <Loading what="the table"/> }.into_any()),
        Some(Ok(_)) => None,
        Some(Err(e)) => {
            let text = match e.status {
                404 => format!("There is no table named {name}: it may have been deleted."),
                403 => "Your role may not read tables.".to_owned(),
                _ => format!("Could not load the table: {}", e.describe()),
            };
            Some(
                view! {
                    <div class="error-box load-error" role="alert" id="table-load-error">
                        <span>{text}</span>
                        <a class="btn btn-small" href="/tables">"Back to tables"</a>
                    </div>
                }
                .into_any(),
            )
        }
    }
}

/// The records' first load failed: the error, "Try again" and, when filtered, a way out.
pub fn records_failed(e: &ApiError, recs: Records, clear: Callback<()>) -> AnyView {
    let filtered = recs.filter.with_untracked(Filter::is_set);
    let text = format!(
        "Could not load the records: {}",
        crate::format::sentence(&e.describe())
    );
    view! {
        <LoadError text=text on_retry=move |()| recs.run(Fetch::Reset)/>
        {filtered.then(|| view! {
            <button class="btn" type="button" on:click=move |_| clear.run(())>"Clear the filter"</button>
        })}
    }
    .into_any()
}
