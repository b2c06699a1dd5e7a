use super::emit::rhai_str;
use super::*;
use crate::{Limits, Runtime};
use serde_json::json;

fn compile(v: serde_json::Value) -> Result<CompiledFlow, Vec<ValidationError>> {
    let steps: Vec<Step> = serde_json::from_value(v).unwrap();
    Runtime::new(Limits::default()).compile(&steps)
}

fn errors(v: serde_json::Value) -> Vec<ValidationError> {
    match compile(v) {
        Ok(f) => panic!("compiled:\n{}", f.source()),
        Err(e) => e,
    }
}

#[test]
fn reports_every_snippet_error_with_its_step_and_position() {
    let errs = errors(json!([
        {"type": "map", "to": "m", "fields": {"x": "$.request.body[?(", "ok": "$.request.body.id"}},
        {"type": "condition", "if": "request.body.kind == \"a\"", "then": [
            {"type": "log", "message": "fine"},
            {"type": "script", "code": "let a = 1;\nlet x = ;"}
        ], "else": [
            {"type": "respond", "body_expr": "nope + 1"}
        ]},
        {"type": "fail", "status": 400, "message_expr": "request.body."},
        {"type": "script", "code": "vars.total = undefined_thing.len();"},
        {"type": "condition", "if": "(", "then": []}
    ]));
    let got: Vec<(&str, &str, Option<&str>)> = errs
        .iter()
        .map(|e| (e.path.as_str(), e.step.as_str(), e.field.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("steps[0].fields.x", "0", Some("fields.x")),
            ("steps[1].then[1].code", "1.then.1", Some("code")),
            ("steps[1].else[0].body_expr", "1.else.0", Some("body_expr")),
            ("steps[2].message_expr", "2", Some("message_expr")),
            ("steps[3].code", "3", Some("code")),
            ("steps[4].if", "4", Some("if")),
        ],
        "{errs:#?}"
    );
    assert!(
        errs[0].message.contains("invalid JSONPath"),
        "{}",
        errs[0].message
    );
    // The position is inside the snippet, not the generated program.
    assert!(
        errs[1].message.ends_with("(line 2, position 9)"),
        "{}",
        errs[1].message
    );
    assert!(errs[2].message.contains("nope"), "{}", errs[2].message);
    assert!(
        errs[4].message.contains("undefined_thing"),
        "{}",
        errs[4].message
    );
}

#[test]
fn structural_and_snippet_errors_come_together() {
    let errs = errors(json!([
        {"type": "respond", "status": 99},
        {"type": "script", "code": "let x = ;"}
    ]));
    let steps: Vec<&str> = errs.iter().map(|e| e.step.as_str()).collect();
    assert_eq!(steps, ["0", "1"]);
}

#[test]
fn import_eval_and_reserved_names_are_refused() {
    for code in [
        "import \"x\" as y;",
        "eval(\"1\")",
        "__fg_enter(0);",
        "let __fg_x = 1;",
        "fn grow() { this.x = 1; }",
    ] {
        let errs = errors(json!([{"type": "script", "code": code}]));
        assert_eq!(errs.len(), 1, "{code}: {errs:?}");
        assert_eq!(errs[0].path, "steps[0].code");
    }
    let errs = errors(json!([{"type": "script", "code": "let y = 1;\n  __fg_leave(0);"}]));
    assert!(
        errs[0].message.contains("reserved") && errs[0].message.contains("(line 2, position 3)"),
        "{errs:?}"
    );
    // In a string it is just text.
    assert!(compile(json!([{"type": "script", "code": "let s = \"__fg_enter\";"}])).is_ok());
}

#[test]
fn deeply_nested_expressions_are_refused_at_compile_time() {
    let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    let errs = errors(json!([{"type": "script", "code": format!("let x = {deep};")}]));
    assert_eq!(errs[0].field.as_deref(), Some("code"));
    let long = format!("let x = {};", vec!["1"; 5000].join(" + "));
    let errs = errors(json!([{"type": "script", "code": long}]));
    assert_eq!(errs.len(), 1);
}

#[test]
fn functions_are_hoisted_and_must_be_unique() {
    let flow = compile(json!([
        {"type": "condition", "if": "true", "then": [
            {"type": "script", "code": "// helpers\nfn twice(x) { x * 2 }\nvars.a = twice(2);"}
        ]},
        {"type": "script", "code": "vars.b = twice(3);"}
    ]))
    .unwrap();
    let src = flow.source();
    let hoisted = src.find("fn twice(x)").unwrap();
    assert!(hoisted < src.find("__fg_enter(0)").unwrap(), "{src}");
    assert_eq!(src.matches("fn twice").count(), 1);

    let errs = errors(json!([
        {"type": "script", "code": "fn twice(x) { x * 2 }"},
        {"type": "script", "code": "fn twice(y) { y + y }"},
        {"type": "script", "code": "fn twice(a, b) { a }"}
    ]));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].step, "1");
    assert!(
        errs[0].message.contains("already defined in step 0"),
        "{}",
        errs[0].message
    );
}

#[test]
fn generated_source_is_deterministic_and_refers_to_paths_by_index() {
    let doc = json!([
        {"type": "map", "to": "m", "fields": {"b": "$.request.body.b", "a": "$.request.body.a"}},
        {"type": "map", "merge": true, "fields": {"n": "$.vars.m.a"}},
        {"type": "log", "message": "x", "disabled": true},
        {"type": "respond", "status": 201, "body": {"ok": true}}
    ]);
    let a = compile(doc.clone()).unwrap();
    let b = compile(doc).unwrap();
    assert_eq!(a.source(), b.source());
    let src = a.source();
    assert!(!src.contains("$.request"), "{src}");
    assert!(src.contains("vars[\"m\"] = #{"), "{src}");
    assert!(
        src.contains("\"a\": __fg_path(0)") && src.contains("\"b\": __fg_path(1)"),
        "{src}"
    );
    assert!(
        src.contains("vars.mixin(#{") && src.contains("vars.__fg_path(2)"),
        "{src}"
    );
    assert!(src.contains("// step 2: log (disabled)"), "{src}");
    assert!(src.contains("__fg_respond(3);"), "{src}");
    assert_eq!(a.step_count(), 4);
    assert_eq!(a.inner.paths.len(), 3);
}

#[test]
fn identical_closures_in_two_steps_are_fine() {
    let doc = json!([
        {"type": "script", "code": "vars.a = [1, 2].map(|x| x + 1);"},
        {"type": "script", "code": "vars.b = [3].map(|x| x + 1);"},
        {"type": "respond", "body_expr": "vars"}
    ]);
    let steps: Vec<Step> = serde_json::from_value(doc).unwrap();
    let rt = Runtime::new(Limits::default());
    let flow = rt.compile(&steps).unwrap();
    let input = crate::Input {
        method: "GET".into(),
        path: "/".into(),
        query: BTreeMap::new(),
        headers: BTreeMap::new(),
        body: crate::Body::Empty,
        caller: None,
        execution_id: None,
    };
    match rt.execute(&flow, &input).result {
        crate::FlowResult::Responded { body, .. } => {
            assert_eq!(body, ResponseBody::Json(json!({"a": [2, 3], "b": [4]})))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn disabled_steps_are_not_compiled() {
    let flow = compile(json!([
        {"type": "script", "code": "this is not rhai", "disabled": true},
        {"type": "condition", "if": "nor this", "disabled": true, "then": [{"type": "script", "code": "("}]}
    ]));
    assert!(flow.is_ok(), "{flow:?}");
}

#[test]
fn compiled_flows_are_cheap_to_share() {
    let flow = compile(json!([{"type": "log", "message": "hi"}])).unwrap();
    let copy = flow.clone();
    assert!(Arc::ptr_eq(&flow.inner, &copy.inner));
    assert_eq!(format!("{copy:?}"), format!("{flow:?}"));
}

#[test]
fn string_literals_are_escaped() {
    assert_eq!(rhai_str("a\"b\\c\nd\u{1}é"), "\"a\\\"b\\\\c\\nd\\u0001é\"");
    let flow =
        compile(json!([{"type": "map", "to": "m", "fields": {"we\"ird\\ key": "$.request.body"}}]))
            .unwrap();
    assert!(
        flow.source().contains(r#""we\"ird\\ key": __fg_path(0)"#),
        "{}",
        flow.source()
    );
}
