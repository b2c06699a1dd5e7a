//! The settings form, shared by "Add subscription" and "Edit settings": its state, the
//! checks made before sending, and its fields.

use std::collections::BTreeMap;

use flowgate_api::sensitive_header;
use flowgate_api::subscriptions::{SubscriptionIn, SubscriptionOut, SubscriptionPatch};
use leptos::prelude::*;

use super::parts::on_control;
use super::rules::{header_problem, pattern_problem, url_problem};
use crate::components::focused_input;

const PATTERN_HINT: &str = "An exact type (order.created), a prefix (customer.* matches customer.created and customer.address.changed, not customer itself), or * for every event. Separate them with commas or press Enter.";

#[derive(Clone, Copy)]
pub struct HeaderRow {
    key: u32,
    name: RwSignal<String>,
    value: RwSignal<String>,
}

/// The form's state.
#[derive(Clone, Copy)]
pub struct Draft {
    url: RwSignal<String>,
    patterns: RwSignal<Vec<String>>,
    /// What is being typed in the event types box (not yet a chip).
    typing: RwSignal<String>,
    description: RwSignal<String>,
    ordered: RwSignal<bool>,
    rate: RwSignal<String>,
    headers: RwSignal<Vec<HeaderRow>>,
    next_key: StoredValue<u32>,
}

/// What the form says, checked.
pub struct Settings {
    url: String,
    event_types: Vec<String>,
    description: String,
    ordered: bool,
    rate_limit: Option<u32>,
    headers: BTreeMap<String, String>,
}

impl Draft {
    pub fn new() -> Self {
        Draft {
            url: RwSignal::new(String::new()),
            patterns: RwSignal::new(Vec::new()),
            typing: RwSignal::new(String::new()),
            description: RwSignal::new(String::new()),
            ordered: RwSignal::new(false),
            rate: RwSignal::new(String::new()),
            headers: RwSignal::new(Vec::new()),
            next_key: StoredValue::new(0),
        }
    }

    pub fn of(s: &SubscriptionOut) -> Self {
        let d = Draft::new();
        d.url.set(s.url.clone());
        d.patterns.set(s.event_types.clone());
        d.description.set(s.description.clone());
        d.ordered.set(s.ordered);
        d.rate
            .set(s.rate_limit.map(|n| n.to_string()).unwrap_or_default());
        for (k, v) in &s.headers {
            d.add_header(k.clone(), v.clone());
        }
        d
    }

    fn add_header(self, name: String, value: String) {
        let key = self.next_key.get_value();
        self.next_key.set_value(key + 1);
        let row = HeaderRow {
            key,
            name: RwSignal::new(name),
            value: RwSignal::new(value),
        };
        self.headers.update(|h| h.push(row));
    }

    /// Turns the words typed so far into chips.
    fn add_patterns(self, text: &str) {
        let words: Vec<String> = text
            .split([',', ' ', '\n', '\t', ';'])
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        if words.is_empty() {
            return;
        }
        self.patterns.update(|p| {
            for w in words {
                if !p.contains(&w) {
                    p.push(w);
                }
            }
        });
    }

    fn commit_typing(self) {
        let t = self.typing.get_untracked();
        if !t.trim().is_empty() {
            self.add_patterns(&t);
            self.typing.set(String::new());
        }
    }

    pub fn settings(self) -> Result<Settings, String> {
        self.commit_typing();
        let url = self.url.get_untracked().trim().to_owned();
        if url.is_empty() {
            return Err("Enter the URL that should receive the events.".into());
        }
        if let Some(p) = url_problem(&url) {
            return Err(p.into());
        }
        let event_types = self.patterns.get_untracked();
        if event_types.is_empty() {
            return Err(
                "Add at least one event type, such as customer.* (or * for every event).".into(),
            );
        }
        if event_types.len() > 100 {
            return Err("At most 100 event types.".into());
        }
        if let Some(problem) = event_types.iter().find_map(|p| pattern_problem(p)) {
            return Err(problem);
        }
        let description = self.description.get_untracked().trim().to_owned();
        if description.len() > 1000 {
            return Err("The description is too long: at most 1000 characters.".into());
        }
        let rate = self.rate.get_untracked();
        let rate_limit = match rate.trim() {
            "" => None,
            r => match r.parse::<u32>() {
                Ok(n) if (1..=10_000).contains(&n) => Some(n),
                _ => {
                    return Err("The rate limit is a whole number of deliveries per second, from 1 to 10000 — or leave it empty for no limit.".into())
                }
            },
        };
        let mut headers = BTreeMap::new();
        for row in self.headers.get_untracked() {
            let name = row.name.get_untracked().trim().to_ascii_lowercase();
            let value = row.value.get_untracked();
            if name.is_empty() && value.trim().is_empty() {
                continue;
            }
            if name.is_empty() {
                return Err("A custom header has a value but no name.".into());
            }
            if let Some(problem) = header_problem(&name, &value) {
                return Err(problem);
            }
            if headers.insert(name.clone(), value).is_some() {
                return Err(format!("The header {name} is listed twice."));
            }
        }
        if headers.len() > 32 {
            return Err("At most 32 custom headers.".into());
        }
        Ok(Settings {
            url,
            event_types,
            description,
            ordered: self.ordered.get_untracked(),
            rate_limit,
            headers,
        })
    }
}

impl Settings {
    pub fn create(self) -> SubscriptionIn {
        SubscriptionIn {
            url: self.url,
            event_types: self.event_types,
            description: self.description,
            enabled: true,
            headers: self.headers,
            rate_limit: self.rate_limit,
            ordered: self.ordered,
        }
    }

    /// Only what changed (`rate_limit: 0` removes the limit).
    pub fn patch(self, old: &SubscriptionOut) -> SubscriptionPatch {
        SubscriptionPatch {
            url: (self.url != old.url).then_some(self.url),
            event_types: (self.event_types != old.event_types).then_some(self.event_types),
            description: (self.description != old.description).then_some(self.description),
            enabled: None,
            headers: (self.headers != old.headers).then_some(self.headers),
            rate_limit: (self.rate_limit != old.rate_limit).then(|| self.rate_limit.unwrap_or(0)),
            ordered: (self.ordered != old.ordered).then_some(self.ordered),
        }
    }
}

#[component]
pub fn SettingsFields(
    draft: Draft,
    error: RwSignal<Option<String>>,
    /// Editing an existing subscription (some hints differ).
    #[prop(optional)]
    editing: bool,
) -> impl IntoView {
    let url_ref = focused_input();
    let events_ref = NodeRef::<leptos::html::Input>::new();
    let clear = move || error.set(None);
    let bad_patterns = move || {
        draft.patterns.with(|p| {
            p.iter()
                .filter_map(|x| pattern_problem(x))
                .collect::<Vec<_>>()
        })
    };
    let ordered_hint = if editing {
        "A failing delivery holds the later ones back until it succeeds or is given up (up to about 28 h). A change applies to events published afterwards."
    } else {
        "A failing delivery holds the later ones back until it succeeds or is given up (up to about 28 h). Leave it off unless the receiver needs strict order."
    };
    view! {
        <div class="field">
            <label for="sub-url">"Endpoint URL"</label>
            <input id="sub-url" type="url" inputmode="url" autocomplete="off" spellcheck="false" class="mono"
                placeholder="https://crm.example.com/hooks/flowgate" maxlength="2048" required node_ref=url_ref
                prop:value=draft.url on:input=move |ev| {
                    clear();
                    draft.url.set(event_target_value(&ev));
                }/>
            <div class="hint">"Flowgate POSTs each event here as JSON. Any 2xx answer within 15 s counts as delivered."</div>
        </div>
        <div class="field">
            <label for="sub-events">"Event types"</label>
            <div class="chip-input" on:click=move |ev| {
                if !on_control(&ev) {
                    if let Some(el) = events_ref.get_untracked() {
                        let _ = el.focus();
                    }
                }
            }>
                <For each=move || draft.patterns.get() key=|p| p.clone() let:p>
                    {
                        let bad = pattern_problem(&p);
                        let class = if bad.is_some() { "chip chip-edit mono chip-bad" } else { "chip chip-edit mono" };
                        let aria = format!("Remove {p}");
                        let gone = p.clone();
                        view! {
                            <span class=class title=bad>
                                {p.clone()}
                                <button type="button" class="chip-x" aria-label=aria on:click=move |_| {
                                    clear();
                                    draft.patterns.update(|list| list.retain(|x| *x != gone));
                                }>"×"</button>
                            </span>
                        }
                    }
                </For>
                <input id="sub-events" type="text" autocomplete="off" spellcheck="false" class="mono"
                    aria-describedby="sub-events-hint" node_ref=events_ref
                    placeholder=move || if draft.patterns.with(Vec::is_empty) { "customer.*, order.created" } else { "Add another…" }
                    prop:value=draft.typing
                    on:input=move |ev| {
                        clear();
                        let v = event_target_value(&ev);
                        match v.rfind([',', ' ', ';', '\n', '\t']) {
                            Some(i) => {
                                draft.add_patterns(&v[..i]);
                                draft.typing.set(v[i + 1..].to_owned());
                            }
                            None => draft.typing.set(v),
                        }
                    }
                    on:keydown=move |ev: web_sys::KeyboardEvent| {
                        let key = ev.key();
                        if key == "Enter" && !draft.typing.with_untracked(|t| t.trim().is_empty()) {
                            ev.prevent_default();
                            draft.commit_typing();
                        } else if key == "Backspace" && draft.typing.with_untracked(String::is_empty) {
                            draft.patterns.update(|p| {
                                p.pop();
                            });
                        }
                    }
                    on:blur=move |_| draft.commit_typing()/>
            </div>
            <div class="hint" id="sub-events-hint">{PATTERN_HINT}</div>
            {move || {
                let bad = bad_patterns();
                (!bad.is_empty()).then(|| view! { <div class="field-error">{bad.join(" ")}</div> })
            }}
        </div>
        <div class="field">
            <label for="sub-description">"Description "<span class="muted optional">"(optional)"</span></label>
            <textarea id="sub-description" rows="2" maxlength="1000" class="plain-textarea"
                placeholder="Who receives this and why, e.g. “CRM sync of customer changes”"
                prop:value=draft.description on:input=move |ev| {
                    clear();
                    draft.description.set(event_target_value(&ev));
                }></textarea>
        </div>
        <div class="row sub-form-row">
            <div class="field">
                <label for="sub-rate-limit">"Rate limit "<span class="muted optional">"(optional)"</span></label>
                <div class="input-suffix">
                    <input id="sub-rate-limit" type="number" min="1" max="10000" step="1" inputmode="numeric"
                        placeholder="No limit" prop:value=draft.rate on:input=move |ev| {
                            clear();
                            draft.rate.set(event_target_value(&ev));
                        }/>
                    <span class="suffix muted">"per second"</span>
                </div>
                <div class="hint">"Per Flowgate instance. Empty: as fast as the receiver answers."</div>
            </div>
            <div class="field">
                <span class="field-label">"Order"</span>
                <label class="check" for="sub-ordered">
                    <input id="sub-ordered" type="checkbox" prop:checked=draft.ordered on:change=move |ev| {
                        clear();
                        draft.ordered.set(event_target_checked(&ev));
                    }/>
                    "Deliver in order, one at a time"
                </label>
                <div class="hint check-hint">{ordered_hint}</div>
            </div>
        </div>
        <fieldset class="field headers-field">
            <legend>"Custom headers "<span class="muted optional">"(optional)"</span></legend>
            <div class="hint headers-hint">
                "Sent with every delivery, such as a tenant id or a token the receiver expects. Flowgate sets "
                <code>"webhook-*"</code>" and "<code>"content-type"</code>" itself."
            </div>
            <For each=move || draft.headers.get() key=|r| r.key let:row>
                <div class="header-row">
                    <input type="text" class="header-name mono" aria-label="Header name" placeholder="X-Tenant"
                        autocomplete="off" spellcheck="false"
                        prop:value=row.name on:input=move |ev| {
                            clear();
                            row.name.set(event_target_value(&ev));
                        }/>
                    <input type=move || if sensitive_header(&row.name.get()) { "password" } else { "text" }
                        class="header-value mono" aria-label="Header value" placeholder="acme"
                        autocomplete="off" spellcheck="false"
                        prop:value=row.value on:input=move |ev| {
                            clear();
                            row.value.set(event_target_value(&ev));
                        }/>
                    <button type="button" class="icon-btn remove-header" aria-label="Remove this header"
                        on:click=move |_| {
                            clear();
                            draft.headers.update(|h| h.retain(|x| x.key != row.key));
                        }>"×"</button>
                </div>
            </For>
            <button type="button" class="btn btn-small" id="add-header"
                on:click=move |_| draft.add_header(String::new(), String::new())>"+ Add header"</button>
        </fieldset>
    }
}
