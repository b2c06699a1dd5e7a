//! Resource limits applied to every flow run.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Hard limits for one flow run. Every one is set explicitly on the Rhai engine.
///
/// JSON form: the same field names, except the duration, given as `max_duration_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Rhai operations per run (roughly one per AST node evaluated).
    pub max_operations: u64,
    /// Nested function calls (recursion depth).
    pub max_call_levels: usize,
    /// Expression nesting at parse time, at the top level.
    pub max_expr_depth: usize,
    /// Expression nesting at parse time, inside functions.
    pub max_fn_expr_depth: usize,
    /// Bytes in a string value (nested strings of one value count together).
    pub max_string_bytes: usize,
    /// Elements in an array or BLOB (nested arrays of one value count together).
    pub max_array_len: usize,
    /// Entries in an object map (nested maps of one value count together).
    pub max_map_len: usize,
    /// Wall-clock time of one run.
    #[serde(rename = "max_duration_ms", with = "duration_ms")]
    pub max_duration: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 1_000_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_fn_expr_depth: 32,
            max_string_bytes: 1024 * 1024,
            max_array_len: 100_000,
            max_map_len: 10_000,
            max_duration: Duration::from_secs(5),
        }
    }
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_json_form() {
        let l = Limits::default();
        assert_eq!(l.max_operations, 1_000_000);
        assert_eq!(l.max_string_bytes, 1_048_576);
        assert_eq!(l.max_duration, Duration::from_secs(5));
        let v = serde_json::to_value(&l).unwrap();
        assert_eq!(v["max_duration_ms"], 5000);
        let back: Limits = serde_json::from_value(
            serde_json::json!({"max_duration_ms": 250, "max_call_levels": 8}),
        )
        .unwrap();
        assert_eq!(back.max_duration, Duration::from_millis(250));
        assert_eq!(back.max_call_levels, 8);
        assert_eq!(back.max_operations, 1_000_000);
    }
}
