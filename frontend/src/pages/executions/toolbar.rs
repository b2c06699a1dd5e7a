//! The filter bar: integration, status, caller, a quick time range or a from–to window.

use flowgate_api::ExecutionStatus;
use leptos::prelude::*;

use super::callers::{kind_name, Callers};
use super::filters::{Filters, RANGES};
use super::rows::Integrations;
use crate::format::{from_input, to_input};

pub fn filter_bar(
    filters: Memo<Filters>,
    set_filters: Callback<Filters>,
    integrations: Integrations,
    callers: Callers,
    seen_caller: Signal<Option<String>>,
) -> impl IntoView {
    let edit = move |change: &dyn Fn(&mut Filters)| {
        let mut f = filters.get_untracked();
        change(&mut f);
        set_filters.run(f);
    };
    let integration_options = move || {
        let current = filters.with(|f| f.integration.clone());
        let mut opts: Vec<(String, String)> = integrations.with(|r| match r {
            Some(Ok(list)) => list
                .iter()
                .map(|i| {
                    let label = if i.name == i.slug {
                        i.name.clone()
                    } else {
                        format!("{} ({})", i.name, i.slug)
                    };
                    (i.slug.clone(), label)
                })
                .collect(),
            _ => Vec::new(),
        });
        if !current.is_empty() && !opts.iter().any(|(s, _)| *s == current) {
            opts.insert(0, (current.clone(), current.clone()));
        }
        opts.into_iter()
            .map(|(slug, label)| {
                let selected = slug == current;
                view! { <option value=slug selected=selected>{label}</option> }
            })
            .collect_view()
    };

    let status_options = move || {
        let current = filters.with(|f| f.status.clone());
        let mut opts: Vec<(String, String)> = ExecutionStatus::ALL
            .iter()
            .map(|s| {
                let v = s.as_str().to_owned();
                let mut label = v.clone();
                if let Some(first) = label.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                (v, label)
            })
            .collect();
        // An unknown status from a hand-written link: shown as it is (the server says why).
        if !current.is_empty() && ExecutionStatus::parse(&current).is_none() {
            opts.push((current.clone(), current.clone()));
        }
        opts.into_iter()
            .map(|(v, label)| {
                let selected = v == current;
                view! { <option value=v selected=selected>{label}</option> }
            })
            .collect_view()
    };

    // Keys, then OAuth clients; a caller from a link that is not (or no longer) among them is
    // shown by the label its calls recorded, else by its reference.
    let caller_options = move || {
        let current = filters.with(|f| f.caller.clone());
        let choices = callers.get();
        let group = |kind| {
            choices
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| {
                    let selected = c.value == current;
                    view! { <option value=c.value.clone() selected=selected>{c.label.clone()}</option> }
                })
                .collect_view()
        };
        let keys = group(flows_runtime::CallerKind::ApiKey);
        let clients = group(flows_runtime::CallerKind::OauthClient);
        let unknown =
            (!current.is_empty() && !choices.iter().any(|c| c.value == current)).then(|| {
                let label = seen_caller.get().unwrap_or_else(|| current.clone());
                view! { <option value=current.clone() selected=true>{label}</option> }
            });
        view! {
            {unknown}
            <optgroup label=format!("{}s", kind_name(flows_runtime::CallerKind::ApiKey))>{keys}</optgroup>
            <optgroup label=format!("{}s", kind_name(flows_runtime::CallerKind::OauthClient))>{clients}</optgroup>
        }
    };

    view! {
        <div class="toolbar exec-toolbar" role="group" aria-label="Filters">
            <div class="field field-integration">
                <label for="filter-integration">"Integration"</label>
                <select id="filter-integration"
                    prop:value=move || filters.with(|f| f.integration.clone())
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        edit(&|f| f.integration = v.clone());
                    }>
                    <option value="">"All integrations"</option>
                    {integration_options}
                </select>
            </div>
            <div class="field field-status">
                <label for="filter-status">"Status"</label>
                <select id="filter-status"
                    prop:value=move || filters.with(|f| f.status.clone())
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        edit(&|f| f.status = v.clone());
                    }>
                    <option value="">"All statuses"</option>
                    {status_options}
                </select>
            </div>
            <div class="field field-caller">
                <label for="filter-caller">"Caller"</label>
                <select id="filter-caller" title="The API key or OAuth client the calls came with"
                    prop:value=move || filters.with(|f| f.caller.clone())
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        edit(&|f| f.caller = v.clone());
                    }>
                    <option value="">"Any caller"</option>
                    {caller_options}
                </select>
            </div>
            // What was called and by whom on the first line, when on the second.
            <div class="toolbar-break" aria-hidden="true"></div>
            <div class="field field-range">
                <span class="field-label" id="range-label">"Received"</span>
                <div class="seg" role="group" aria-labelledby="range-label">
                    {RANGES.iter().map(|&(key, name, _)| view! {
                        <button type="button" class="seg-btn" data-range=key title=name aria-label=name
                            aria-pressed=move || filters.with(|f| f.range == key).to_string()
                            on:click=move |_| edit(&|f| {
                                f.range = key.to_owned();
                                f.from.clear();
                                f.to.clear();
                            })>{key}</button>
                    }).collect_view()}
                    <button type="button" class="seg-btn" data-range="any" title="Any time" aria-label="Any time"
                        aria-pressed=move || filters.with(|f| !f.has_time()).to_string()
                        on:click=move |_| edit(&|f| {
                            f.range.clear();
                            f.from.clear();
                            f.to.clear();
                        })>"Any"</button>
                </div>
            </div>
            <div class="field field-time">
                <label for="filter-from">"From (UTC)"</label>
                <input type="datetime-local" id="filter-from"
                    prop:value=move || filters.with(|f| to_input(&f.from))
                    on:change=move |ev| {
                        let v = from_input(&event_target_value(&ev)).unwrap_or_default();
                        edit(&|f| {
                            f.range.clear();
                            f.from = v.clone();
                        });
                    }/>
            </div>
            <div class="field field-time">
                <label for="filter-to">"To (UTC)"</label>
                <input type="datetime-local" id="filter-to"
                    prop:value=move || filters.with(|f| to_input(&f.to))
                    on:change=move |ev| {
                        let v = from_input(&event_target_value(&ev)).unwrap_or_default();
                        edit(&|f| f.to = v.clone());
                    }/>
            </div>
            <Show when=move || filters.with(Filters::is_filtered)>
                <button type="button" class="btn btn-ghost" id="clear-filters"
                    title="Clear filters" aria-label="Clear filters"
                    on:click=move |_| set_filters.run(Filters::default())>"× Clear"</button>
            </Show>
        </div>
    }
}
