//! The pickers of the data steps: a data store table (store, lookup) and a stored secret (sql),
//! picked by name from their lists, or typed when a list is empty or cannot be read.

use leptos::prelude::*;

use super::ctx::Ctx;

/// Which list a picker offers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Named {
    Table,
    Secret,
}

/// The names of the list: `None` while it loads; its status and error when it cannot be read.
fn names(ctx: Ctx, what: Named) -> Option<Result<Vec<String>, (u16, String)>> {
    fn of<T>(
        r: &Option<Result<Vec<T>, crate::api::ApiError>>,
        name: fn(&T) -> &str,
    ) -> Option<Result<Vec<String>, (u16, String)>> {
        r.as_ref().map(|r| match r {
            Ok(list) => Ok(list.iter().map(|x| name(x).to_owned()).collect()),
            Err(e) => Err((e.status, e.describe())),
        })
    }
    match what {
        Named::Table => ctx.tables.rows().with(|r| of(r, |t| &t.name)),
        Named::Secret => ctx.secrets.rows().with(|r| of(r, |s| &s.name)),
    }
}

/// The key field and indexed fields of the table `name`, when the list says.
pub fn table_fields(ctx: Ctx, name: &str) -> Option<(Option<String>, Vec<String>)> {
    ctx.tables.rows().with(|r| match r {
        Some(Ok(list)) => list
            .iter()
            .find(|t| t.name == name)
            .map(|t| (t.key_field.clone(), t.indexed_fields.clone())),
        _ => None,
    })
}

/// Where the list is kept up: its page, in a link.
fn page_link(what: Named) -> AnyView {
    match what {
        Named::Table => view! { <a href="/tables">"Tables page"</a> }.into_any(),
        Named::Secret => view! { <a href="/secrets">"Secrets page"</a> }.into_any(),
    }
}

/// Why the name is typed rather than picked: the list is empty, or could not be read.
fn typed_note(what: Named, failure: Option<(u16, String)>) -> AnyView {
    match (what, failure) {
        (Named::Table, None) => view! {
            <div class="hint">"No tables yet: create one on the "{page_link(what)}", or type the name of one to come."</div>
        }
        .into_any(),
        (Named::Secret, None) => view! {
            <div class="hint">"No stored secrets yet: an admin adds the database's URL on the "{page_link(what)}"."</div>
        }
        .into_any(),
        (Named::Secret, Some((403, _))) => view! {
            <div class="hint">"Only admins can list stored secrets: type the name of the one an admin added."</div>
        }
        .into_any(),
        (Named::Table, Some((_, e))) => {
            view! { <div class="hint">{format!("The tables could not be listed ({e}): type the name.")}</div> }.into_any()
        }
        (Named::Secret, Some((_, e))) => view! {
            <div class="hint">{format!("The stored secrets could not be listed ({e}): type the name.")}</div>
        }
        .into_any(),
    }
}

/// A table or stored secret, by name: a select of the list's names (a name no longer there
/// stays, marked), or a text field when the list is empty or cannot be read. `value` follows
/// what is picked or typed; `on_change` writes it into the step.
#[component]
pub fn NamePicker(
    ctx: Ctx,
    what: Named,
    value: RwSignal<String>,
    class: &'static str,
    label: &'static str,
    placeholder: &'static str,
    #[prop(into)] on_change: Callback<String>,
) -> impl IntoView {
    let ro = ctx.readonly;
    let list = Memo::new(move |_| names(ctx, what));
    let set = move |v: String| {
        let v = v.trim().to_owned();
        value.set(v.clone());
        on_change.run(v);
    };
    let (loading, prompt, missing_note) = match what {
        Named::Table => (
            "Loading tables…",
            "Pick a table…",
            "No table has this name: pick another, or create it on the ",
        ),
        Named::Secret => (
            "Loading stored secrets…",
            "Pick a stored secret…",
            "No stored secret has this name: pick another, or add it on the ",
        ),
    };
    move || {
        let current = value.get_untracked();
        match list.get() {
            None => view! {
                <select class=class aria-label=label disabled><option>{loading}</option></select>
            }
            .into_any(),
            Some(Ok(names)) if !names.is_empty() => {
                let gone = !current.is_empty() && !names.contains(&current);
                let known = names.clone();
                view! {
                    <select class=class aria-label=label disabled=ro
                        on:change=move |ev| set(event_target_value(&ev))>
                        <option value="" selected=current.is_empty()>{prompt}</option>
                        {names.into_iter().map(|n| {
                            let (on, text) = (n == current, n.clone());
                            view! { <option value=n selected=on>{text}</option> }
                        }).collect_view()}
                        {gone.then(|| view! {
                            <option value=current.clone() selected=true>{format!("{current} (not found)")}</option>
                        })}
                    </select>
                    {move || {
                        let now = value.get();
                        (!now.is_empty() && !known.contains(&now)).then(|| view! {
                            <div class="field-error">{missing_note}{page_link(what)}"."</div>
                        })
                    }}
                }
                .into_any()
            }
            Some(r) => view! {
                <input type="text" class=format!("mono {class}") aria-label=label placeholder=placeholder readonly=ro
                    autocomplete="off" spellcheck="false" prop:value=current
                    on:input=move |ev| set(event_target_value(&ev))/>
                {typed_note(what, r.err())}
            }
            .into_any(),
        }
    }
}
