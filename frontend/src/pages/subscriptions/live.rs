//! One subscription and its deliveries, kept up to date: one request at a time, the open
//! delivery reloaded when its row moved on, and a failed refresh keeping what is shown.

use flowgate_api::subscriptions::{DeliveryOut, SubscriptionOut};
use flowgate_api::Page;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, enc, ApiError};

/// Deliveries fetched at first, and added by "Show more" (the server allows up to 500).
pub const PAGE: u64 = 50;
pub const MAX_PAGE: u64 = 500;

/// What the page shows; every field is a signal, so it is `Copy`.
#[derive(Clone, Copy)]
pub struct Live {
    pub id: Memo<String>,
    pub sub: RwSignal<Option<Result<SubscriptionOut, ApiError>>>,
    pub deliveries: RwSignal<Option<Result<Vec<DeliveryOut>, ApiError>>>,
    pub has_more: RwSignal<bool>,
    pub limit: RwSignal<u64>,
    pub status_filter: RwSignal<String>,
    pub type_filter: RwSignal<String>,
    /// The filters changed and their answer is on its way: the table is dimmed.
    pub stale: RwSignal<bool>,
    pub refresh_error: RwSignal<Option<String>>,
    /// The delivery whose attempts are open, and what was loaded for it.
    pub expanded: RwSignal<Option<String>>,
    pub detail: RwSignal<Option<(String, Result<DeliveryOut, ApiError>)>>,
    in_flight: StoredValue<bool>,
    again: StoredValue<bool>,
}

impl Live {
    pub fn new(id: Memo<String>) -> Self {
        Live {
            id,
            sub: RwSignal::new(None),
            deliveries: RwSignal::new(None),
            has_more: RwSignal::new(false),
            limit: RwSignal::new(PAGE),
            status_filter: RwSignal::new(String::new()),
            type_filter: RwSignal::new(String::new()),
            stale: RwSignal::new(false),
            refresh_error: RwSignal::new(None),
            expanded: RwSignal::new(None),
            detail: RwSignal::new(None),
            in_flight: StoredValue::new(false),
            again: StoredValue::new(false),
        }
    }

    /// Another subscription opened: start over.
    pub fn restart(self) {
        self.sub.set(None);
        self.deliveries.set(None);
        self.expanded.set(None);
        self.detail.set(None);
        self.refresh_error.set(None);
        self.fetch(true);
    }

    /// The subscription is gone, or may not be read: refreshing is pointless.
    pub fn gone(self) -> bool {
        self.sub
            .try_with_untracked(|s| matches!(s, Some(Err(e)) if e.status == 404 || e.status == 403))
            .unwrap_or(true)
    }

    /// One delivery with its attempts and body.
    pub fn load_detail(self, did: String) {
        let Live {
            expanded, detail, ..
        } = self;
        spawn_local(async move {
            let r = api::get::<DeliveryOut>(&format!("/deliveries/{}", enc(&did))).await;
            if expanded.try_get_untracked().flatten().as_deref() == Some(did.as_str()) {
                let shown_ok = detail
                    .try_with_untracked(|d| matches!(d, Some((x, Ok(_))) if *x == did))
                    .unwrap_or(false);
                // A failed refresh keeps what is shown.
                if r.is_ok() || !shown_ok {
                    detail.try_set(Some((did, r)));
                }
            }
        });
    }

    /// The subscription and its deliveries, one request at a time: a call while one is on its
    /// way either asks for another round (`force`: the filters changed) or is dropped (timer).
    pub fn fetch(self, force: bool) {
        let Live {
            id,
            sub,
            deliveries,
            has_more,
            limit,
            status_filter,
            type_filter,
            stale,
            refresh_error,
            expanded,
            detail,
            in_flight,
            again,
        } = self;
        match in_flight.try_get_value() {
            None => return,
            Some(true) => {
                if force {
                    again.set_value(true);
                }
                return;
            }
            Some(false) => {}
        }
        in_flight.set_value(true);
        spawn_local(async move {
            loop {
                let Some(sid) = id.try_get_untracked() else {
                    return;
                };
                if sid.is_empty() {
                    break;
                }
                let mut query = format!("limit={}", limit.get_untracked());
                let st = status_filter.get_untracked();
                if !st.is_empty() {
                    query.push_str(&format!("&status={}", enc(&st)));
                }
                let et = type_filter.get_untracked();
                if !et.is_empty() {
                    query.push_str(&format!("&event_type={}", enc(&et)));
                }
                let path = format!("/subscriptions/{}", enc(&sid));
                let s = api::get::<SubscriptionOut>(&path).await;
                let d = match &s {
                    Err(e) if e.status == 404 || e.status == 403 => None,
                    _ => Some(
                        api::get::<Page<DeliveryOut>>(&format!("{path}/deliveries?{query}")).await,
                    ),
                };
                if again.try_get_value() == Some(true) {
                    again.set_value(false);
                    continue; // the filters changed meanwhile: this answer is stale
                }
                let sub_shown = sub
                    .try_with_untracked(|x| matches!(x, Some(Ok(_))))
                    .unwrap_or(false);
                let mut problems = Vec::new();
                match s {
                    Ok(s) => {
                        let same = sub
                            .try_with_untracked(|x| matches!(x, Some(Ok(old)) if *old == s))
                            .unwrap_or(false);
                        if !same {
                            sub.try_set(Some(Ok(s)));
                        }
                    }
                    Err(e) if sub_shown && e.status != 404 => problems.push(e.describe()),
                    Err(e) => {
                        sub.try_set(Some(Err(e)));
                    }
                }
                match d {
                    None => {}
                    Some(Ok(page)) => {
                        has_more.try_set(page.next_cursor.is_some());
                        let same = deliveries
                            .try_with_untracked(
                                |x| matches!(x, Some(Ok(old)) if *old == page.items),
                            )
                            .unwrap_or(false);
                        // Reload the open delivery when its row moved on.
                        let open = expanded.try_get_untracked().flatten();
                        if let Some(open) = open {
                            let row = page.items.iter().find(|x| x.id == open);
                            let loaded = detail
                                .try_with_untracked(|x| match x {
                                    Some((did, Ok(dd))) if *did == open => Some(dd.clone()),
                                    _ => None,
                                })
                                .flatten();
                            if let (Some(row), Some(dd)) = (row, loaded) {
                                if row.status != dd.status
                                    || row.attempts != dd.attempts
                                    || row.finished_at != dd.finished_at
                                {
                                    self.load_detail(open);
                                }
                            }
                        }
                        if !same {
                            deliveries.try_set(Some(Ok(page.items)));
                        }
                    }
                    Some(Err(e)) => {
                        let shown = deliveries
                            .try_with_untracked(|x| matches!(x, Some(Ok(_))))
                            .unwrap_or(false);
                        if shown && !stale.try_get_untracked().unwrap_or(false) {
                            problems.push(e.describe());
                        } else {
                            deliveries.try_set(Some(Err(e)));
                        }
                    }
                }
                stale.try_set(false);
                refresh_error.try_set((!problems.is_empty()).then(|| problems.join(" ")));
                break;
            }
            in_flight.try_set_value(false);
        });
    }
}
