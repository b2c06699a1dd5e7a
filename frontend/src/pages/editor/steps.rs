//! The steps as a vertical pipeline of cards: add from a palette, reorder (drag, or move
//! up/down), collapse, disable, delete; each card has a form fitted to its type. Steps with
//! nested lists (a condition's `then`/`else`, a try's `steps`/`catch`, a for-each's `steps`)
//! hold nested pipelines. The flow's error handler (`on_error`) is a pipeline of its own.

use flows_runtime::model::Step;
use leptos::prelude::*;

use super::ctx::{Ctx, ListPath};
use super::edit::{edit_step, non_blank, restructure, set_disabled, set_name, step_index};
use super::forms::step_form;
use super::palette::{label_of, new_step, PALETTE};

#[component]
pub fn Pipeline(ctx: Ctx) -> impl IntoView {
    // Names of stored secrets, offered where an HTTP step asks for one.
    let secrets = ctx.secrets.rows();
    let secret_names = move || {
        secrets.with(|r| match r {
            Some(Ok(list)) => list.iter().map(|s| s.name.clone()).collect(),
            _ => Vec::new(),
        })
    };
    view! {
        <div class="pipeline" id="pipeline">
            <div class="pipeline-title section-title">"Flow"</div>
            {move || {
                ctx.structure.track();
                let steps = ctx.doc.with_untracked(|d| d.steps.clone());
                step_list(ctx, ListPath::steps(), steps)
            }}
            <datalist id="secret-names">
                {move || secret_names().into_iter().map(|n| view! { <option value=n></option> }).collect_view()}
            </datalist>
            <datalist id="jsonpath-suggestions">
                {move || ctx.paths.get().into_iter().map(|p| view! { <option value=p></option> }).collect_view()}
            </datalist>
        </div>
    }
}

/// The flow's error handler (`on_error`): a pipeline of its own below the flow.
#[component]
pub fn ErrorHandler(ctx: Ctx) -> impl IntoView {
    view! {
        <section class="pipeline error-handler" id="on-error" aria-labelledby="on-error-title">
            <div class="section-title" id="on-error-title">"On error"</div>
            <div class="hint error-handler-hint">
                "Runs when a step raises an error that no try caught, with "<span class="mono">"vars.error"</span>" = "
                <span class="mono nowrap">"#{message, step, step_type}"</span>". If it answers (respond or fail), that is the answer; otherwise the error stands."
            </div>
            {move || {
                ctx.structure.track();
                let steps = ctx.doc.with_untracked(|d| d.on_error.clone());
                step_list(ctx, ListPath::on_error(), steps)
            }}
        </section>
    }
}

fn step_list(ctx: Ctx, path: ListPath, steps: Vec<Step>) -> AnyView {
    let n = steps.len();
    let root = path.is_top();
    let empty = if path.on_error {
        "No error handler: an error the flow does not catch is answered 500, or with the trigger's error answer."
    } else {
        "No steps yet. Add one: a Map to pick fields from the request, then a Respond to answer."
    };
    let cards = steps
        .into_iter()
        .enumerate()
        .map(|(i, s)| step_card(ctx, path.clone(), i, n, s))
        .collect_view();
    view! {
        <div class=if root { "step-list root" } else { "step-list nested" }>
            {(n == 0 && root).then(|| view! {
                <div class="empty small-empty">{empty}</div>
            })}
            {cards}
            {(!ctx.readonly).then(|| view! { <AddStep ctx=ctx path=path.clone()/> })}
        </div>
    }
    .into_any()
}

#[component]
fn AddStep(ctx: Ctx, path: ListPath) -> impl IntoView {
    let open = RwSignal::new(false);
    let id = match (path.is_top(), path.on_error) {
        (true, false) => Some("add-step"),
        (true, true) => Some("add-error-step"),
        _ => None,
    };
    let path = StoredValue::new(path);
    view! {
        <div class="add-step-wrap">
            <button class="btn btn-small add-step" id=id type="button"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)>"+ Add step"</button>
            <Show when=move || open.get()>
                <div class="palette" role="menu">
                    {PALETTE.iter().map(|(t, label, what)| {
                        let t = *t;
                        view! {
                            <button class="palette-item" role="menuitem" type="button" data-type=t on:click=move |_| {
                                if let Some(step) = new_step(t) {
                                    restructure(ctx, &path.get_value(), |l| l.push(step));
                                }
                                open.set(false);
                            }>
                                <span class=format!("step-type type-{t}")>{*label}</span>
                                <span class="palette-what">{*what}</span>
                            </button>
                        }
                    }).collect_view()}
                </div>
            </Show>
        </div>
    }
}

fn step_card(ctx: Ctx, path: ListPath, i: usize, n: usize, step: Step) -> impl IntoView {
    let index = step_index(&path, i);
    let t = step.type_name();
    let name = step.name().unwrap_or_default().to_owned();
    let disabled = step.is_disabled();
    let idx = StoredValue::new(index.clone());
    let p = StoredValue::new(path.clone());
    let collapsed = move || ctx.collapsed.with(|c| c.contains(&idx.get_value()));
    let problems = move || ctx.problems_of(&idx.get_value());
    let ro = ctx.readonly;
    let is_first = i == 0;
    let is_last = i + 1 >= n;
    let nested: Vec<(&'static str, Vec<Step>)> = step
        .branches()
        .into_iter()
        .map(|(name, list)| (name, list.to_vec()))
        .collect();
    let form = step_form(ctx, path.clone(), i, step);
    let branches = nested
        .into_iter()
        .map(|(name, list)| branch(ctx, &path, i, t, name, list))
        .collect_view();

    view! {
        <div class="step-card" class:has-problems=move || !problems().is_empty() class:is-disabled=disabled
            data-index=index.clone() data-type=t
            on:dragover=move |ev| {
                if ctx.drag.with_untracked(|d| d.as_ref().is_some_and(|(dp, _)| *dp == p.get_value())) {
                    ev.prevent_default();
                }
            }
            on:drop=move |ev| {
                ev.prevent_default();
                if let Some((dp, from)) = ctx.drag.get_untracked() {
                    if dp == p.get_value() && from != i {
                        restructure(ctx, &dp, |l| {
                            if from < l.len() {
                                let s = l.remove(from);
                                l.insert(i.min(l.len()), s);
                            }
                        });
                    }
                }
                ctx.drag.set(None);
            }>
            <div class="step-head">
                {(!ro).then(|| view! {
                    <span class="drag-handle" draggable="true" title="Drag to reorder" aria-hidden="true"
                        on:dragstart=move |_| ctx.drag.set(Some((p.get_value(), i)))
                        on:dragend=move |_| ctx.drag.set(None)>"⋮⋮"</span>
                })}
                <span class="step-no">{index.clone()}</span>
                <span class=format!("step-type type-{t}")>{label_of(t)}</span>
                <input class="step-name" type="text" placeholder="Name this step" aria-label=format!("Name of step {index}")
                    readonly=ro prop:value=name
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        let v = non_blank(v);
                        edit_step(ctx, &p.get_value(), i, |s| set_name(s, v));
                    }/>
                <label class="check small toggle" title="A disabled step is skipped">
                    <input type="checkbox" prop:checked=!disabled disabled=ro
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            edit_step(ctx, &p.get_value(), i, |s| set_disabled(s, !on));
                            ctx.structure.update(|n| *n += 1);
                        }/>"on"
                </label>
                <button class="icon-btn" type="button" title="Collapse" aria-label="Collapse or expand"
                    on:click=move |_| ctx.collapsed.update(|c| { let k = idx.get_value(); if !c.remove(&k) { c.insert(k); } })>
                    {move || if collapsed() { "▸" } else { "▾" }}</button>
                {(!ro).then(|| view! {
                    <button class="icon-btn move-up" type="button" title="Move up" aria-label="Move up" disabled=is_first
                        on:click=move |_| restructure(ctx, &p.get_value(), |l| { if 0 < i && i < l.len() { l.swap(i, i - 1) } })>"↑"</button>
                    <button class="icon-btn move-down" type="button" title="Move down" aria-label="Move down" disabled=is_last
                        on:click=move |_| restructure(ctx, &p.get_value(), |l| if i + 1 < l.len() { l.swap(i, i + 1) })>"↓"</button>
                    <button class="icon-btn delete-step" type="button" title="Delete step" aria-label="Delete step"
                        on:click=move |_| restructure(ctx, &p.get_value(), |l| if i < l.len() { l.remove(i); })>"✕"</button>
                })}
            </div>
            {move || {
                let ps = problems();
                (!ps.is_empty()).then(|| view! {
                    <ul class="step-problems">
                        {ps.into_iter().map(|d| {
                            let field = d.field.clone().unwrap_or_default();
                            view! { <li class="problem" data-field=field.clone()>
                                {(!field.is_empty()).then(|| view! { <b>{field.clone()}": "</b> })}{d.message}</li> }
                        }).collect_view()}
                    </ul>
                })
            }}
            <div class="step-body" class:hidden=collapsed>{form}{branches}</div>
        </div>
    }
}

/// A nested list of a step (its field `name`, see `Step::branches`) as a pipeline of its own.
fn branch(
    ctx: Ctx,
    path: &ListPath,
    i: usize,
    step_type: &'static str,
    name: &'static str,
    steps: Vec<Step>,
) -> AnyView {
    let (label, hint) = branch_words(step_type, name);
    view! {
        <div class=format!("branch branch-{name}") data-branch=name>
            <div class="branch-label">{label}{hint.map(|h| view! { <span class="branch-hint">{h}</span> })}</div>
            {step_list(ctx, path.child(i, name), steps)}
        </div>
    }
    .into_any()
}

/// The heading of a nested list, and what it is for when that is not obvious.
fn branch_words(step_type: &str, name: &'static str) -> (&'static str, Option<&'static str>) {
    match (step_type, name) {
        ("condition", "then") => ("Then", None),
        ("condition", "else") => ("Else", None),
        ("try", "steps") => ("Try", None),
        ("try", "catch") => (
            "Catch",
            Some("runs when a step above raises an error; vars.error holds it"),
        ),
        ("for_each", "steps") => ("For each item", None),
        (_, other) => (other, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nested_list_has_a_heading() {
        for (t, _, _) in PALETTE {
            let Some(step) = new_step(t) else {
                panic!("{t} makes no step");
            };
            for (name, _) in step.branches() {
                let (label, _) = branch_words(t, name);
                assert_ne!(label, name, "{t}.{name} has no heading");
            }
        }
        assert_eq!(branch_words("try", "catch").0, "Catch");
    }
}
