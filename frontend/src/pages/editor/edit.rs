//! Changes to the document's steps, addressed by where they sit in the (nested) pipeline.

use flowgate_api::IntegrationDoc;
use flows_runtime::model::Step;
use leptos::prelude::*;

use super::ctx::{Ctx, ListPath};

/// The nested list `name` of a step, to change: the lists [`Step::branches`] names (`then` and
/// `else` of a condition, `steps` and `catch` of a try, `steps` of a for-each).
pub fn branch_mut<'a>(s: &'a mut Step, name: &str) -> Option<&'a mut Vec<Step>> {
    match (s, name) {
        (Step::Condition(c), "then") => Some(&mut c.then),
        (Step::Condition(c), "else") => Some(&mut c.otherwise),
        (Step::Try(t), "steps") => Some(&mut t.steps),
        (Step::Try(t), "catch") => Some(&mut t.catch),
        (Step::ForEach(f), "steps") => Some(&mut f.steps),
        _ => None,
    }
}

fn walk<'a>(list: &'a mut Vec<Step>, branches: &[(usize, &str)]) -> Option<&'a mut Vec<Step>> {
    match branches.split_first() {
        None => Some(list),
        Some(((i, name), rest)) => walk(branch_mut(list.get_mut(*i)?, name)?, rest),
    }
}

/// The list of steps at `path`, if it (still) exists.
pub fn list_mut<'a>(doc: &'a mut IntegrationDoc, path: &ListPath) -> Option<&'a mut Vec<Step>> {
    let top = if path.on_error {
        &mut doc.on_error
    } else {
        &mut doc.steps
    };
    walk(top, &path.branches)
}

/// The index the server uses for problems and traces: `2`, `2.then.0`, `1.catch.0`,
/// `on_error.0`, `on_error.0.steps.1`.
pub fn step_index(path: &ListPath, i: usize) -> String {
    let mut s = String::new();
    if path.on_error {
        s.push_str("on_error.");
    }
    for (j, branch) in &path.branches {
        s.push_str(&format!("{j}.{branch}."));
    }
    s.push_str(&i.to_string());
    s
}

pub fn edit_step(ctx: Ctx, path: &ListPath, i: usize, f: impl FnOnce(&mut Step)) {
    ctx.edit(|d| {
        if let Some(s) = list_mut(d, path).and_then(|l| l.get_mut(i)) {
            f(s)
        }
    });
}

pub fn restructure(ctx: Ctx, path: &ListPath, f: impl FnOnce(&mut Vec<Step>)) {
    ctx.edit(|d| {
        if let Some(list) = list_mut(d, path) {
            f(list)
        }
    });
    ctx.structure.update(|n| *n += 1);
}

/// What was typed, or nothing when it is blank (optional fields: names, variables, scopes).
pub fn non_blank(v: String) -> Option<String> {
    (!v.trim().is_empty()).then_some(v)
}

/// Sets one of the fields every step type has (`name`, `disabled`) through the step's JSON,
/// so that a step type added to the model has them here too. `null` (and `false`, their
/// default) removes the field.
fn set_common(s: &mut Step, key: &str, value: serde_json::Value) {
    let Ok(mut v) = serde_json::to_value(&*s) else {
        return;
    };
    if let Some(m) = v.as_object_mut() {
        if value.is_null() || value == serde_json::Value::Bool(false) {
            m.remove(key);
        } else {
            m.insert(key.to_owned(), value);
        }
    }
    if let Ok(changed) = serde_json::from_value(v) {
        *s = changed;
    }
}

pub fn set_name(s: &mut Step, name: Option<String>) {
    set_common(
        s,
        "name",
        name.map_or(serde_json::Value::Null, serde_json::Value::String),
    );
}

pub fn set_disabled(s: &mut Step, disabled: bool) {
    set_common(s, "disabled", serde_json::Value::Bool(disabled));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> IntegrationDoc {
        serde_json::from_value(serde_json::json!({
            "name": "t", "trigger": {"path": "t", "auth": {"type": "none"}},
            "steps": [
                {"type": "log", "message": "a"},
                {"type": "condition", "if": "true",
                 "then": [{"type": "log", "message": "t0"}, {"type": "condition", "if": "false", "else": [{"type": "log", "message": "deep"}]}],
                 "else": [{"type": "fail", "status": 422}]},
                {"type": "try", "steps": [{"type": "log", "message": "s0"}],
                 "catch": [{"type": "for_each", "items": "[1, 2]", "steps": [{"type": "log", "message": "f0"}, {"type": "log", "message": "f1"}]}]}
            ],
            "on_error": [
                {"type": "try", "steps": [{"type": "log", "message": "h"}]}
            ]
        }))
        .unwrap_or_else(|e| panic!("doc: {e}"))
    }

    fn steps() -> Vec<Step> {
        doc().steps
    }

    fn path(on_error: bool, branches: &[(usize, &'static str)]) -> ListPath {
        ListPath {
            on_error,
            branches: branches.to_vec(),
        }
    }

    #[test]
    fn indexes_match_the_servers_scheme() {
        assert_eq!(step_index(&ListPath::steps(), 3), "3");
        assert_eq!(step_index(&path(false, &[(1, "then")]), 0), "1.then.0");
        assert_eq!(
            step_index(&path(false, &[(1, "then"), (1, "else")]), 0),
            "1.then.1.else.0"
        );
        assert_eq!(
            step_index(&path(false, &[(2, "catch"), (0, "steps")]), 1),
            "2.catch.0.steps.1"
        );
        assert_eq!(step_index(&ListPath::on_error(), 0), "on_error.0");
        assert_eq!(
            step_index(&ListPath::on_error().child(0, "steps"), 2),
            "on_error.0.steps.2"
        );
    }

    #[test]
    fn nested_lists_are_reached_by_path() {
        let mut d = doc();
        assert_eq!(d.steps.len(), 3);
        let len = |d: &mut IntegrationDoc, p: ListPath| list_mut(d, &p).map(|l| l.len());
        assert_eq!(len(&mut d, path(false, &[(1, "then")])), Some(2));
        assert_eq!(len(&mut d, path(false, &[(1, "else")])), Some(1));
        let deep = list_mut(&mut d, &path(false, &[(1, "then"), (1, "else")]));
        assert_eq!(deep.map(|l| l[0].type_name()), Some("log"));
        assert_eq!(len(&mut d, path(false, &[(2, "steps")])), Some(1));
        assert_eq!(
            len(&mut d, path(false, &[(2, "catch"), (0, "steps")])),
            Some(2)
        );
        assert_eq!(len(&mut d, ListPath::on_error()), Some(1));
        assert_eq!(len(&mut d, path(true, &[(0, "steps")])), Some(1));
        assert_eq!(len(&mut d, path(true, &[(0, "catch")])), Some(0));
        // A path through a step without that list leads nowhere.
        assert!(list_mut(&mut d, &path(false, &[(0, "then")])).is_none());
        assert!(list_mut(&mut d, &path(false, &[(9, "then")])).is_none());
        assert!(list_mut(&mut d, &path(false, &[(1, "steps")])).is_none());
        assert!(list_mut(&mut d, &path(false, &[(2, "else")])).is_none());
    }

    #[test]
    fn every_branch_the_model_names_can_be_changed() {
        // The lists Step::branches reads are the ones branch_mut writes, in every step type.
        let d = doc();
        let mut all: Vec<Step> = d.steps;
        all.extend(d.on_error);
        for raw in [
            serde_json::json!({"type": "map", "fields": {}}),
            serde_json::json!({"type": "script", "code": "1"}),
            serde_json::json!({"type": "respond"}),
            serde_json::json!({"type": "http", "url": "https://a", "to": "r"}),
            serde_json::json!({"type": "emit", "event": "e"}),
            serde_json::json!({"type": "store", "table": "t", "record_expr": "x"}),
            serde_json::json!({"type": "lookup", "table": "t", "key_expr": "k", "to": "r"}),
        ] {
            all.push(serde_json::from_value(raw).unwrap_or_else(|e| panic!("step: {e}")));
        }
        for step in &mut all {
            let names: Vec<(&str, usize)> = step
                .branches()
                .into_iter()
                .map(|(n, l)| (n, l.len()))
                .collect();
            for (name, n) in &names {
                assert_eq!(branch_mut(step, name).map(|l| l.len()), Some(*n), "{name}");
            }
            for other in ["then", "else", "steps", "catch"] {
                if !names.iter().any(|(n, _)| *n == other) {
                    assert!(branch_mut(step, other).is_none(), "{other}");
                }
            }
        }
    }

    #[test]
    fn blank_is_nothing() {
        assert_eq!(non_blank("  ".into()), None);
        assert_eq!(non_blank(" a ".into()), Some(" a ".to_owned()));
    }

    #[test]
    fn names_and_switches_of_any_step() {
        let mut s = steps();
        for (t, _, _) in super::super::palette::PALETTE {
            s.extend(super::super::palette::new_step(t));
        }
        assert!(s.len() > 10);
        for step in &mut s {
            let before = step.clone();
            set_name(step, Some("x".into()));
            set_disabled(step, true);
            assert_eq!(step.name(), Some("x"), "{}", step.type_name());
            assert!(step.is_disabled());
            set_name(step, None);
            set_disabled(step, false);
            assert_eq!(*step, before, "{}", step.type_name());
        }
    }
}
