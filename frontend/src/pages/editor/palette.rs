//! The step types a designer can add: what each is for, and the step each starts as.

use flows_runtime::model::Step;

/// What each step type is for (palette and card headers).
pub const PALETTE: &[(&str, &str, &str)] = &[
    (
        "map",
        "Map",
        "Pick fields from the request with JSONPath into a variable",
    ),
    ("script", "Script", "Transform with a Rhai script"),
    (
        "http",
        "HTTP call",
        "Call another system's API; the answer lands in a variable",
    ),
    ("condition", "Condition", "Run one branch or the other"),
    (
        "try",
        "Try",
        "Run steps; if one raises an error, run the catch steps",
    ),
    (
        "for_each",
        "For each",
        "Run steps once for each item of an array",
    ),
    ("respond", "Respond", "Answer the caller and end the flow"),
    (
        "fail",
        "Fail",
        "Refuse the call with a 4xx/5xx and a message",
    ),
    (
        "emit",
        "Emit event",
        "Publish an event to the subscribers of its type",
    ),
    ("log", "Log", "Write a line into the execution's log"),
    (
        "store",
        "Store",
        "Insert, upsert or delete records of a data store table",
    ),
    (
        "lookup",
        "Lookup",
        "Read records of a data store table into a variable",
    ),
    (
        "sql",
        "SQL",
        "Run one SQL statement on a PostgreSQL database",
    ),
];

pub fn label_of(t: &str) -> &'static str {
    PALETTE
        .iter()
        .find(|p| p.0 == t)
        .map(|p| p.1)
        .unwrap_or("Step")
}

pub fn new_step(t: &str) -> Option<Step> {
    let v = match t {
        "map" => {
            serde_json::json!({"type": "map", "to": "mapped", "fields": {"id": "$.request.body.id"}})
        }
        "script" => {
            serde_json::json!({"type": "script", "code": "// `request` is the call, `vars` what earlier steps made.\nvars.count = 1;\n"})
        }
        "condition" => {
            serde_json::json!({"type": "condition", "if": "request.body.eventType == \"UPDATE\""})
        }
        "try" => serde_json::json!({
            "type": "try", "steps": [],
            "catch": [{"type": "log", "level": "warn", "message_expr": "vars.error.message"}]
        }),
        "for_each" => {
            serde_json::json!({"type": "for_each", "items": "request.body.items", "steps": []})
        }
        "respond" => serde_json::json!({"type": "respond", "status": 200, "body_expr": "vars"}),
        "fail" => {
            serde_json::json!({"type": "fail", "status": 422, "message": "the call cannot be processed"})
        }
        "log" => serde_json::json!({"type": "log", "message": "reached this step"}),
        "http" => {
            serde_json::json!({"type": "http", "method": "GET", "url": "https://api.example.com/users/${vars.mapped.id}", "to": "response"})
        }
        "emit" => {
            serde_json::json!({"type": "emit", "event": "customer.updated", "payload_expr": "vars"})
        }
        "store" => {
            serde_json::json!({"type": "store", "table": "records", "action": "upsert", "record_expr": "vars.mapped"})
        }
        "lookup" => {
            serde_json::json!({"type": "lookup", "table": "records", "key_expr": "request.body.id", "to": "record"})
        }
        "sql" => serde_json::json!({
            "type": "sql", "connection": "crm-database",
            "query": "SELECT id, name FROM customers WHERE email = $1",
            "params": ["request.body.email"], "to": "found"
        }),
        _ => return None,
    };
    serde_json::from_value(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_palette_entry_makes_a_step_of_its_type() {
        for (t, _, _) in PALETTE {
            assert_eq!(new_step(t).map(|s| s.type_name()), Some(*t));
        }
        assert!(new_step("webhook").is_none());
    }
}
