//! The store step's form: the table, what to do (insert, upsert, delete), the records or keys
//! (a Rhai expression), and where the ids written go.

use flows_runtime::model::{Step, StoreAction, StoreStep};
use leptos::prelude::*;

use super::ctx::{Ctx, ListPath};
use super::data_picks::{NamePicker, Named};
use super::edit::{edit_step, non_blank};
use super::fields::{field_problems, var_field, VarField};

const ACTIONS: [(StoreAction, &str); 3] = [
    (StoreAction::Insert, "Insert new records"),
    (StoreAction::Upsert, "Upsert by key"),
    (StoreAction::Delete, "Delete by key"),
];

/// The field the expression belongs in for `action`, and what it is.
fn expr_words(action: StoreAction) -> (&'static str, &'static str, &'static str, &'static str) {
    match action {
        StoreAction::Insert => (
            "record_expr",
            "Records (Rhai expression)",
            "#{ email: vars.m.email, at: now_iso() }",
            "A map is one record, an array of maps several. In a table with a key field each needs it, and a key that exists is an error (upsert instead).",
        ),
        StoreAction::Upsert => (
            "record_expr",
            "Records (Rhai expression)",
            "#{ email: vars.m.email, at: now_iso() }",
            "A map is one record, an array of maps several. Each replaces the record with the same key (the table's key field), or is inserted.",
        ),
        StoreAction::Delete => (
            "key_expr",
            "Keys (Rhai expression)",
            "vars.event.sg_event_id",
            "The value of the table's key field (a string or a number), or an array of them.",
        ),
    }
}

/// The step with `action`, its expression moved to the field that action reads.
pub fn with_action(s: &mut StoreStep, action: StoreAction) {
    let expr = s.record_expr.take().or(s.key_expr.take());
    s.action = action;
    match action {
        StoreAction::Delete => s.key_expr = expr,
        StoreAction::Insert | StoreAction::Upsert => s.record_expr = expr,
    }
}

pub fn store_form(ctx: Ctx, p: StoredValue<ListPath>, i: usize, s: StoreStep) -> AnyView {
    let ro = ctx.readonly;
    let action = RwSignal::new(s.action);
    let table = RwSignal::new(s.table.clone());
    let expr = s
        .record_expr
        .clone()
        .or(s.key_expr.clone())
        .unwrap_or_default();
    let edit = move |f: &dyn Fn(&mut StoreStep)| {
        edit_step(ctx, &p.get_value(), i, |s| {
            if let Step::Store(x) = s {
                f(x)
            }
        })
    };
    view! {
        <div class="row data-row">
            <div class="field">
                <label>"Table"</label>
                <NamePicker ctx=ctx what=Named::Table value=table class="store-table" label="Table" placeholder="email_events"
                    on_change=Callback::new(move |v: String| edit(&|x| x.table = v.clone()))/>
                {field_problems(ctx, p, i, |f| f == "table")}
            </div>
            <div class="field">
                <label>"Action"</label>
                <select class="store-action" aria-label="Action" disabled=ro on:change=move |ev| {
                    let v = event_target_value(&ev);
                    if let Some((a, _)) = ACTIONS.into_iter().find(|(a, _)| a.as_str() == v) {
                        action.set(a);
                        edit(&|x| with_action(x, a));
                    }
                }>
                    {ACTIONS.into_iter().map(|(a, text)| view! {
                        <option value=a.as_str() selected=a == s.action>{text}</option>
                    }).collect_view()}
                </select>
            </div>
        </div>
        <div class="field">
            <label>{move || expr_words(action.get()).1}</label>
            <input type="text" class="mono store-expr" readonly=ro prop:value=expr
                aria-label=move || expr_words(action.get()).1
                placeholder=move || expr_words(action.get()).2
                on:input=move |ev| {
                    let v = non_blank(event_target_value(&ev));
                    edit(&|x| match x.action {
                        StoreAction::Delete => x.key_expr = v.clone(),
                        StoreAction::Insert | StoreAction::Upsert => x.record_expr = v.clone(),
                    });
                }/>
            {field_problems(ctx, p, i, |f| f == "record_expr" || f == "key_expr")}
            <div class="hint">{move || expr_words(action.get()).3}</div>
        </div>
        {var_field(ctx, p, i, VarField {
            label: "Save ids into variable (optional)",
            class: "mono store-to",
            placeholder: "ids",
            hint: "vars.<name> gets the id written, an array of ids for an array, or the number removed for a delete.",
            value: s.to.unwrap_or_default(),
            set: |s, v| if let Step::Store(x) = s { x.to = v },
        })}
        <div class="hint step-hint">"An array is written in one transaction: all its records or none. Test runs write for real."</div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switching_the_action_moves_the_expression() {
        let mut s = StoreStep {
            table: "t".into(),
            record_expr: Some("vars.m".into()),
            ..StoreStep::default()
        };
        with_action(&mut s, StoreAction::Delete);
        assert_eq!(
            (s.record_expr.as_deref(), s.key_expr.as_deref()),
            (None, Some("vars.m"))
        );
        with_action(&mut s, StoreAction::Upsert);
        assert_eq!(
            (s.record_expr.as_deref(), s.key_expr.as_deref()),
            (Some("vars.m"), None)
        );
        assert_eq!(s.action, StoreAction::Upsert);
        // A step given both (as JSON) keeps one.
        s.key_expr = Some("k".into());
        with_action(&mut s, StoreAction::Insert);
        assert_eq!(
            (s.record_expr.as_deref(), s.key_expr),
            (Some("vars.m"), None)
        );
        for (a, _) in ACTIONS {
            assert_eq!(expr_words(a).0 == "key_expr", a == StoreAction::Delete);
        }
    }
}
