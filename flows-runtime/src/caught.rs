//! The internal functions of caught errors and loops: `__fg_caught` (the start of a `try`
//! step's `catch` or of the flow's error handler), `__fg_unhandled` (the end of an error
//! handler that did not answer) and `__fg_items` (the array a `for_each` step runs over).

use rhai::{Array, Dynamic, Engine, ImmutableString, Map, INT};

use crate::codegen::{Action, FlowInner};
use crate::convert::to_text;
use crate::run_state::{end_run, step_action, with_run, CaughtError, Ended, Res};

pub(crate) fn register_caught(engine: &mut Engine) {
    // `n`: the try step whose `catch` starts (its own entry stays open); -1: the flow's error
    // handler (every open step closes).
    engine.register_fn("__fg_caught", |n: INT, value: Dynamic| -> Res<Dynamic> {
        with_run(|st| {
            let above = usize::try_from(n).ok();
            let innermost = st
                .stack
                .last()
                .map(|&(s, _)| s)
                .filter(|&s| Some(s) != above);
            let message = caught_message(&st.flow, innermost, &value);
            let failing = st.close_above(above, &message);
            let step = failing.and_then(|s| st.flow.steps.get(s));
            let index = step.map(|s| s.index.clone());
            let mut error = Map::new();
            error.insert("message".into(), Dynamic::from(message.clone()));
            error.insert(
                "step".into(),
                index.clone().map_or(Dynamic::UNIT, Dynamic::from),
            );
            error.insert(
                "step_type".into(),
                step.map_or(Dynamic::UNIT, |s| {
                    Dynamic::from(ImmutableString::from(s.step_type))
                }),
            );
            if above.is_none() {
                st.caught = Some(CaughtError {
                    message,
                    step: index,
                });
            }
            Ok(Dynamic::from_map(error))
        })
    });
    engine.register_fn("__fg_unhandled", || -> Res<()> {
        let caught = with_run(|st| {
            Ok(st.caught.take().unwrap_or(CaughtError {
                message: "the flow failed".to_owned(),
                step: None,
            }))
        })?;
        end_run(Ended::Unhandled(caught))
    });
    engine.register_fn("__fg_items", |n: INT, items: Dynamic| -> Res<Array> {
        let max = step_action(n, |a| match a {
            Action::ForEach { max_items } => Ok(*max_items),
            _ => Err("not a for_each step".to_owned()),
        })?;
        if items.is_unit() {
            return Ok(Array::new());
        }
        let kind = items.type_name();
        let array = items
            .into_array()
            .map_err(|_| format!("for_each: `items` gave {kind}, not an array"))?;
        if array.len() > max as usize {
            return Err(format!(
                "for_each: `items` has {} items, more than max_items ({max})",
                array.len()
            )
            .into());
        }
        Ok(array)
    });
}

/// The text of a caught error: what was thrown (a string as it is), or Rhai's message with
/// its place in the failing step's snippet.
fn caught_message(flow: &FlowInner, failing: Option<usize>, value: &Dynamic) -> String {
    if value.is_string() {
        return to_text(value);
    }
    let Ok(map) = value.as_map_ref() else {
        return format!("error thrown: {}", to_text(value));
    };
    let Some(message) = map.get("message") else {
        return format!("error thrown: {}", to_text(value));
    };
    let mut text = to_text(message);
    let int = |k: &str| {
        map.get(k)
            .and_then(|v| v.as_int().ok())
            .and_then(|v| usize::try_from(v).ok())
    };
    if let (Some(line), Some(column)) = (int("line"), int("position")) {
        if let Some(place) = flow.place_text(line, column, failing) {
            text.push_str(&place);
        }
    }
    text
}
