//! Changes to the document's steps, addressed by where they sit in the (nested) pipeline.

use flows_runtime::model::Step;
use leptos::prelude::*;

use super::ctx::Ctx;

pub fn list_mut<'a>(steps: &'a mut Vec<Step>, path: &[(usize, bool)]) -> Option<&'a mut Vec<Step>> {
    match path.split_first() {
        None => Some(steps),
        Some(((i, then), rest)) => match steps.get_mut(*i) {
            Some(Step::Condition(c)) => {
                list_mut(if *then { &mut c.then } else { &mut c.otherwise }, rest)
            }
            _ => None,
        },
    }
}

/// The index the server uses for problems and traces: `2`, `2.then.0`, `2.else.1`.
pub fn step_index(path: &[(usize, bool)], i: usize) -> String {
    let mut s = String::new();
    for (j, then) in path {
        s.push_str(&format!("{j}.{}.", if *then { "then" } else { "else" }));
    }
    s.push_str(&i.to_string());
    s
}

pub fn edit_step(ctx: Ctx, path: &[(usize, bool)], i: usize, f: impl FnOnce(&mut Step)) {
    ctx.edit(|d| {
        if let Some(s) = list_mut(&mut d.steps, path).and_then(|l| l.get_mut(i)) {
            f(s)
        }
    });
}

pub fn restructure(ctx: Ctx, path: &[(usize, bool)], f: impl FnOnce(&mut Vec<Step>)) {
    ctx.edit(|d| {
        if let Some(list) = list_mut(&mut d.steps, path) {
            f(list)
        }
    });
    ctx.structure.update(|n| *n += 1);
}

/// What was typed, or nothing when it is blank (optional fields: names, variables, scopes).
pub fn non_blank(v: String) -> Option<String> {
    (!v.trim().is_empty()).then_some(v)
}

/// A step's name and its "disabled" switch, whatever its type.
fn common_mut(s: &mut Step) -> (&mut Option<String>, &mut bool) {
    match s {
        Step::Map(x) => (&mut x.name, &mut x.disabled),
        Step::Script(x) => (&mut x.name, &mut x.disabled),
        Step::Condition(x) => (&mut x.name, &mut x.disabled),
        Step::Respond(x) => (&mut x.name, &mut x.disabled),
        Step::Fail(x) => (&mut x.name, &mut x.disabled),
        Step::Log(x) => (&mut x.name, &mut x.disabled),
        Step::Emit(x) => (&mut x.name, &mut x.disabled),
        Step::Http(x) => (&mut x.name, &mut x.disabled),
        Step::Try(x) => (&mut x.name, &mut x.disabled),
        Step::ForEach(x) => (&mut x.name, &mut x.disabled),
        Step::Store(x) => (&mut x.name, &mut x.disabled),
        Step::Lookup(x) => (&mut x.name, &mut x.disabled),
    }
}

pub fn set_name(s: &mut Step, name: Option<String>) {
    *common_mut(s).0 = name;
}

pub fn set_disabled(s: &mut Step, disabled: bool) {
    *common_mut(s).1 = disabled;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps() -> Vec<Step> {
        serde_json::from_value(serde_json::json!([
            {"type": "log", "message": "a"},
            {"type": "condition", "if": "true",
             "then": [{"type": "log", "message": "t0"}, {"type": "condition", "if": "false", "else": [{"type": "log", "message": "deep"}]}],
             "else": [{"type": "fail", "status": 422}]}
        ]))
        .unwrap_or_default()
    }

    #[test]
    fn indexes_match_the_servers_scheme() {
        assert_eq!(step_index(&[], 3), "3");
        assert_eq!(step_index(&[(1, true)], 0), "1.then.0");
        assert_eq!(step_index(&[(1, true), (1, false)], 0), "1.then.1.else.0");
    }

    #[test]
    fn nested_lists_are_reached_by_path() {
        let mut s = steps();
        assert_eq!(s.len(), 2);
        assert_eq!(list_mut(&mut s, &[(1, true)]).map(|l| l.len()), Some(2));
        assert_eq!(list_mut(&mut s, &[(1, false)]).map(|l| l.len()), Some(1));
        let deep = list_mut(&mut s, &[(1, true), (1, false)]);
        assert_eq!(deep.map(|l| l[0].type_name()), Some("log"));
        // A path through something that is not a condition leads nowhere.
        assert!(list_mut(&mut s, &[(0, true)]).is_none());
        assert!(list_mut(&mut s, &[(9, true)]).is_none());
    }

    #[test]
    fn blank_is_nothing() {
        assert_eq!(non_blank("  ".into()), None);
        assert_eq!(non_blank(" a ".into()), Some(" a ".to_owned()));
    }

    #[test]
    fn names_and_switches_of_any_step() {
        let mut s = steps();
        for step in &mut s {
            set_name(step, Some("x".into()));
            set_disabled(step, true);
            assert_eq!(step.name(), Some("x"));
            assert!(step.is_disabled());
        }
    }
}
