//! The flow document model: what an integration designer saves as `steps`.
//!
//! Always compiled (no Rhai, no JSONPath), so the wasm UI and the wire crate can use it.
//! Every step is a JSON object tagged by `"type"`; unknown fields are refused.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One step of a flow.
///
/// Further step types will be further variants; the document keeps its shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Step {
    /// Evaluates JSONPath expressions over `{"request": .., "vars": ..}` into `vars`.
    Map(MapStep),
    /// Runs a Rhai script.
    Script(ScriptStep),
    /// Runs `then` or `else` depending on a Rhai expression.
    Condition(ConditionStep),
    /// Answers the caller and ends the flow.
    Respond(RespondStep),
    /// Refuses the call with a 4xx/5xx and ends the flow.
    Fail(FailStep),
    /// Writes a line into the execution's log.
    Log(LogStep),
    /// Publishes an event (collected in the run's outcome; the server delivers it).
    Emit(EmitStep),
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `{"type":"map","to":"mapped","fields":{"id":"$.request.body.id"}}`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapStep {
    /// Display label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A disabled step is skipped.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// The variable (`vars[to]`) receiving the object of fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Merge the fields into `vars` itself instead of `vars[to]`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub merge: bool,
    /// Output field name -> JSONPath expression.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// `{"type":"script","code":"vars.total = request.body.items.len();"}`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// Rhai statements.
    pub code: String,
}

/// `{"type":"condition","if":"request.body.eventType == \"UPDATE\"","then":[..],"else":[..]}`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// A Rhai expression giving a boolean (JSON field `if`).
    #[serde(rename = "if")]
    pub condition: String,
    /// Steps run when the expression is true.
    #[serde(default)]
    pub then: Vec<Step>,
    /// Steps run when it is false (JSON field `else`).
    #[serde(rename = "else", default, skip_serializing_if = "Vec::is_empty")]
    pub otherwise: Vec<Step>,
}

fn default_respond_status() -> u16 {
    200
}

/// `{"type":"respond","status":200,"headers":{"x-a":"b"},"body":{..}}` or `"body_expr":"<rhai>"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RespondStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// HTTP status, 200..=599 (default 200).
    #[serde(default = "default_respond_status")]
    pub status: u16,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON literal answered as is (a JSON string is answered as text; `null` or absent: empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// A Rhai expression computing the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_expr: Option<String>,
}

impl Default for RespondStep {
    fn default() -> Self {
        RespondStep {
            name: None,
            disabled: false,
            status: default_respond_status(),
            headers: BTreeMap::new(),
            body: None,
            body_expr: None,
        }
    }
}

/// `{"type":"fail","status":422,"message":"text"}` or `"message_expr":"<rhai>"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// HTTP status, 400..=599.
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_expr: Option<String>,
}

/// Severity of a log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

impl LogLevel {
    fn is_default(&self) -> bool {
        *self == LogLevel::Info
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// `{"type":"log","message":"text","level":"info"}` or `"message_expr":"<rhai>"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    #[serde(default, skip_serializing_if = "LogLevel::is_default")]
    pub level: LogLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_expr: Option<String>,
}

/// `{"type":"emit","event":"user.updated","payload_expr":"#{id: vars.m.id}"}` or
/// `"payload": {..}` (a JSON literal). With neither, the payload is `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmitStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// The event type: letters, digits, `.`, `_` and `-`, 1 to 128 characters (`user.updated`).
    pub event: String,
    /// A JSON literal sent as the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
    /// A Rhai expression computing the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_expr: Option<String>,
}

impl Step {
    /// The `"type"` tag: `map`, `script`, `condition`, `respond`, `fail`, `log` or `emit`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Step::Map(_) => "map",
            Step::Script(_) => "script",
            Step::Condition(_) => "condition",
            Step::Respond(_) => "respond",
            Step::Fail(_) => "fail",
            Step::Log(_) => "log",
            Step::Emit(_) => "emit",
        }
    }

    /// The display label, if any.
    pub fn name(&self) -> Option<&str> {
        match self {
            Step::Map(s) => s.name.as_deref(),
            Step::Script(s) => s.name.as_deref(),
            Step::Condition(s) => s.name.as_deref(),
            Step::Respond(s) => s.name.as_deref(),
            Step::Fail(s) => s.name.as_deref(),
            Step::Log(s) => s.name.as_deref(),
            Step::Emit(s) => s.name.as_deref(),
        }
    }

    /// A disabled step (and everything inside it) is skipped.
    pub fn is_disabled(&self) -> bool {
        match self {
            Step::Map(s) => s.disabled,
            Step::Script(s) => s.disabled,
            Step::Condition(s) => s.disabled,
            Step::Respond(s) => s.disabled,
            Step::Fail(s) => s.disabled,
            Step::Log(s) => s.disabled,
            Step::Emit(s) => s.disabled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_step_type_round_trips() {
        let doc = json!([
            {"type": "map", "to": "mapped", "fields": {"entity": "$.request.body.entityType", "id": "$.request.body.id"}},
            {"type": "map", "merge": true, "fields": {"id": "$.request.body.id"}},
            {"type": "script", "name": "count", "code": "vars.total = request.body.items.len();"},
            {"type": "condition", "if": "request.body.eventType == \"UPDATE\"",
             "then": [{"type": "log", "level": "warn", "message": "update"}],
             "else": [{"type": "fail", "status": 422, "message_expr": "`no: ${request.body.eventType}`"}]},
            {"type": "respond", "status": 201, "headers": {"x-a": "b"}, "body": {"ok": true}},
            {"type": "respond", "status": 200, "body_expr": "vars.out", "disabled": true},
            {"type": "log", "message": "done"},
            {"type": "emit", "event": "user.updated", "payload_expr": "#{id: 1}"},
            {"type": "emit", "name": "lit", "event": "a-b_c", "payload": {"x": [1]}}
        ]);
        let steps: Vec<Step> = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(steps.len(), 9);
        assert_eq!(steps[2].name(), Some("count"));
        assert!(steps[5].is_disabled());
        let types: Vec<&str> = steps.iter().map(Step::type_name).collect();
        assert_eq!(
            types,
            [
                "map",
                "map",
                "script",
                "condition",
                "respond",
                "respond",
                "log",
                "emit",
                "emit"
            ]
        );
        match &steps[3] {
            Step::Condition(c) => {
                assert_eq!(c.then.len(), 1);
                assert_eq!(c.otherwise.len(), 1);
            }
            other => panic!("not a condition: {other:?}"),
        }
        // Serializing gives back the same document (defaults left out).
        assert_eq!(serde_json::to_value(&steps).unwrap(), doc);
    }

    #[test]
    fn defaults_apply() {
        let s: Step = serde_json::from_value(json!({"type": "respond"})).unwrap();
        assert_eq!(s, Step::Respond(RespondStep::default()));
        let s: Step = serde_json::from_value(json!({"type": "condition", "if": "true"})).unwrap();
        match s {
            Step::Condition(c) => assert!(c.then.is_empty() && c.otherwise.is_empty()),
            other => panic!("{other:?}"),
        }
        let s: Step = serde_json::from_value(json!({"type": "log", "message": "x"})).unwrap();
        match s {
            Step::Log(l) => assert_eq!(l.level, LogLevel::Info),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        let err =
            serde_json::from_value::<Step>(json!({"type": "script", "code": "1", "cod": "x"}))
                .unwrap_err();
        assert!(err.to_string().contains("cod"), "{err}");
        let err = serde_json::from_value::<Step>(json!({"type": "http", "url": "x"})).unwrap_err();
        assert!(err.to_string().contains("http"), "{err}");
        let err =
            serde_json::from_value::<Step>(json!({"type": "log", "message": "x", "level": "loud"}))
                .unwrap_err();
        assert!(err.to_string().contains("loud"), "{err}");
        assert!(serde_json::from_value::<Step>(json!({"code": "1"})).is_err());
    }
}
