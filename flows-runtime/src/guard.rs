//! Size checks Rhai leaves out: it measures a value when it is passed around, not when an item
//! is set by index, and its limits hold per value. Called from the engine's `on_var` hook.

use rhai::{Dynamic, EvalAltResult, Position};

use crate::run_state::{Measured, Res, RUN};

/// Size limits as Rhai counts them: nested values of one value count together.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SizeLimits {
    pub string_bytes: usize,
    pub array_len: usize,
    pub map_len: usize,
}

/// (array elements, map entries, string bytes) of a value, nested ones included.
pub(crate) fn sizes(v: &Dynamic) -> (usize, usize, usize) {
    let add = |(x, y, z): (usize, usize, usize), item: &Dynamic| {
        let (a, m, s) = sizes(item);
        (x + a, y + m, z + s)
    };
    // The cheap type tests first: most nodes are numbers.
    if v.is_int() || v.is_float() || v.is_bool() || v.is_unit() || v.is_char() {
        (0, 0, 0)
    } else if v.is_string() {
        (0, 0, v.as_immutable_string_ref().map_or(0, |s| s.len()))
    } else if v.is_array() {
        v.as_array_ref()
            .map_or((0, 0, 0), |a| a.iter().fold((a.len(), 0, 0), add))
    } else if v.is_map() {
        v.as_map_ref()
            .map_or((0, 0, 0), |m| m.values().fold((0, m.len(), 0), add))
    } else if v.is_blob() {
        (v.as_blob_ref().map_or(0, |b| b.len()), 0, 0)
    } else {
        (0, 0, 0)
    }
}

/// Rhai measures a container when it is passed around, but not when an item is set by index
/// (`m[k] = v`), so a loop could grow a map or an array far past the limits unnoticed. So every
/// access to a variable holding one measures it: each time while it is small, up to every 32nd
/// time once it is large (a loop over a large value stays cheap; growth overshoots by few items).
/// Outside a run nothing is measured.
pub(crate) fn guard_variable(limits: SizeLimits, name: &str, value: &Dynamic) -> Res<()> {
    if !measure_due(name) {
        return Ok(());
    }
    let (arrays, maps, strings) = sizes(value);
    let too_large = |what: &str| {
        Err(Box::new(EvalAltResult::ErrorDataTooLarge(
            what.to_owned(),
            Position::NONE,
        )))
    };
    if limits.string_bytes > 0 && strings > limits.string_bytes {
        return too_large("Length of string");
    }
    if limits.array_len > 0 && arrays > limits.array_len {
        return too_large("Size of array/BLOB");
    }
    if limits.map_len > 0 && maps > limits.map_len {
        return too_large("Size of object map");
    }
    let every = u32::try_from((arrays + maps) / 512)
        .unwrap_or(u32::MAX)
        .clamp(1, 32);
    RUN.with(|r| {
        if let Some(st) = r.try_borrow_mut().ok().as_mut().and_then(|s| s.as_mut()) {
            match st.measured.iter_mut().find(|m| m.name == name) {
                Some(m) => {
                    m.seen = 0;
                    m.every = every;
                }
                None => st.measured.push(Measured {
                    name: name.to_owned(),
                    seen: 0,
                    every,
                }),
            }
        }
    });
    Ok(())
}

/// Whether this access to `name` should measure it: one look at the run's few measured
/// variables (a run has a handful; a list beats hashing the name on every access).
fn measure_due(name: &str) -> bool {
    RUN.with(|r| {
        let Ok(mut slot) = r.try_borrow_mut() else {
            return false;
        };
        let Some(st) = slot.as_mut() else {
            return false;
        };
        match st.measured.iter_mut().find(|m| m.name == name) {
            Some(m) => {
                m.seen += 1;
                m.seen >= m.every
            }
            None => true,
        }
    })
}

/// How often (in variable accesses) all variables are measured together.
const TOTAL_CHECK_EVERY: u64 = 64;
/// All the variables of a run together may hold this many times the limit on one value.
pub const TOTAL_SIZE_FACTOR: usize = 16;

pub(crate) fn total_check_due() -> bool {
    RUN.with(|r| {
        let Ok(mut slot) = r.try_borrow_mut() else {
            return false;
        };
        let Some(st) = slot.as_mut() else {
            return false;
        };
        st.accesses += 1;
        st.accesses % TOTAL_CHECK_EVERY == 0
    })
}

/// The limits hold per value, so many variables could still hold much: all the (non-constant)
/// variables of the scope together may hold [`TOTAL_SIZE_FACTOR`] times the limit of one value.
pub(crate) fn guard_total(limits: SizeLimits, scope: &rhai::Scope<'_>) -> Res<()> {
    let (mut arrays, mut maps, mut strings) = (0usize, 0usize, 0usize);
    for (_, is_constant, value) in scope.iter_raw() {
        if !is_constant {
            let (a, m, s) = sizes(value);
            arrays += a;
            maps += m;
            strings += s;
        }
    }
    let over =
        |total: usize, limit: usize| limit > 0 && total > limit.saturating_mul(TOTAL_SIZE_FACTOR);
    if over(strings, limits.string_bytes)
        || over(arrays, limits.array_len)
        || over(maps, limits.map_len)
    {
        return Err(Box::new(EvalAltResult::ErrorDataTooLarge(
            "Memory of all variables".to_owned(),
            Position::NONE,
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rhai::{Array, ImmutableString, Map};

    use super::*;

    #[test]
    fn sizes_count_nested_values_like_rhai() {
        let mut inner = Map::new();
        inner.insert("s".into(), Dynamic::from(ImmutableString::from("abcd")));
        inner.insert("n".into(), Dynamic::from_int(1));
        let arr: Array = vec![
            Dynamic::from_map(inner.clone()),
            Dynamic::from_blob(vec![1, 2, 3]),
            Dynamic::from_bool(true),
        ];
        let mut outer = Map::new();
        outer.insert("a".into(), Dynamic::from_array(arr));
        outer.insert("m".into(), Dynamic::from_map(inner));
        // Arrays: 3 elements + 3 BLOB bytes; maps: 2 outer + 2 + 2 inner; strings: 4 + 4 bytes.
        assert_eq!(sizes(&Dynamic::from_map(outer)), (6, 6, 8));
        assert_eq!(sizes(&Dynamic::from_int(7)), (0, 0, 0));
    }

    #[test]
    fn guards_do_nothing_outside_a_run() {
        let limits = SizeLimits {
            string_bytes: 1,
            array_len: 1,
            map_len: 1,
        };
        let big = Dynamic::from_array(vec![Dynamic::UNIT; 10]);
        assert!(guard_variable(limits, "x", &big).is_ok());
        assert!(!total_check_due());
    }
}
