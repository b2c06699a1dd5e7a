//! Whole runs through [`Runtime`]: results, the step trace, logs, events, the request
//! context, map steps, the raw body, capture, threads. The HTTP calls are in `http`.

mod handling;
mod http;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use crate::model::Step;
use crate::{
    Body, FlowResult, Input, Limits, Outcome, ResponseBody, Runtime, RuntimeError, StepStatus,
    MAX_LOG_ENTRIES, MAX_LOG_MESSAGE_BYTES,
};

fn runtime() -> Runtime {
    Runtime::new(Limits::default())
}

fn input(body: Body) -> Input {
    Input {
        method: "POST".into(),
        path: "/t/acme/x".into(),
        query: BTreeMap::from([("country".to_owned(), "SE".to_owned())]),
        headers: BTreeMap::from([("x-test".to_owned(), "yes".to_owned())]),
        body,
        caller: None,
        execution_id: None,
    }
}

fn run_with(doc: serde_json::Value, body: Body) -> Outcome {
    let steps: Vec<Step> = serde_json::from_value(doc).unwrap();
    let rt = runtime();
    let flow = rt.compile(&steps).unwrap_or_else(|e| panic!("{e:#?}"));
    rt.execute(&flow, &input(body))
}

fn run(doc: serde_json::Value) -> Outcome {
    run_with(
        doc,
        Body::Json(json!({"id": "A1", "items": [{"t": "x"}, {"t": "y"}], "one": [{"t": "z"}]})),
    )
}

fn statuses(o: &Outcome) -> Vec<(&str, StepStatus)> {
    o.steps
        .iter()
        .map(|s| (s.index.as_str(), s.status))
        .collect()
}

fn answered(o: &Outcome) -> (u16, &BTreeMap<String, String>, &ResponseBody) {
    match &o.result {
        FlowResult::Responded {
            status,
            headers,
            body,
        } => (*status, headers, body),
        other => panic!("not responded: {other:?} {:?}", o.steps),
    }
}

#[test]
fn emit_steps_and_function_collect_events() {
    let o = run(json!([
        {"type": "emit", "event": "user.updated", "payload_expr": "#{id: request.body.id}"},
        {"type": "condition", "if": "true", "then": [
            {"type": "emit", "event": "lit", "payload": {"a": [1]}},
            {"type": "emit", "event": "nothing"}
        ]},
        {"type": "script", "code": "emit(\"user.seen\", [request.body.id, 2]);"},
        {"type": "emit", "event": "off", "disabled": true},
        {"type": "respond", "status": 200}
    ]));
    assert_eq!(answered(&o).0, 200);
    let got: Vec<(&str, &serde_json::Value, &str)> = o
        .events
        .iter()
        .map(|e| (e.event_type.as_str(), &e.payload, e.step.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("user.updated", &json!({"id": "A1"}), "0"),
            ("lit", &json!({"a": [1]}), "1.then.0"),
            ("nothing", &json!(null), "1.then.1"),
            ("user.seen", &json!(["A1", 2]), "2"),
        ]
    );
    assert_eq!(o.steps[2].step_type, "emit");
    // A flow that does not emit has no events.
    assert!(run(json!([{"type": "log", "message": "x"}]))
        .events
        .is_empty());
}

#[test]
fn emit_errors_are_clear() {
    let err = |doc: serde_json::Value| match run(doc).result {
        FlowResult::Error(e) => e.to_string(),
        other => panic!("{other:?}"),
    };
    let e = err(json!([{"type": "script", "code": "emit(\"bad type!\", 1);"}]));
    assert!(
        e.contains("emit: `bad type!` is not a valid event type"),
        "{e}"
    );
    let e = err(json!([{"type": "script", "code": "for i in 0..101 { emit(\"e\", i); }"}]));
    assert!(e.contains("at most 100 events"), "{e}");
    let e = err(
        json!([{"type": "script", "code": "let s = \"\"; s.pad(300000, 'x'); emit(\"e\", s);"}]),
    );
    assert!(e.contains("at most 262144 are allowed"), "{e}");
    let e = err(
        json!([{"type": "script", "code": "let s = \"\"; s.pad(200000, 'x'); for i in 0..6 { emit(\"e\", s); }"}]),
    );
    assert!(e.contains("1048576 bytes of JSON together"), "{e}");
    let e = err(json!([{"type": "emit", "event": "e", "payload_expr": "|x| x"}]));
    assert!(e.contains("emit: the payload"), "{e}");
    // Catchable like other function errors.
    let o = run(
        json!([{"type": "script", "code": "try { emit(\"a b\", 1) } catch (e) { respond(200, \"caught\") }"}]),
    );
    assert_eq!(answered(&o).2, &ResponseBody::Text("caught".into()));
}

#[test]
fn respond_and_fail_cannot_be_caught() {
    for code in [
        r#"try { respond(201, "a") } catch (e) { vars.caught = e }"#,
        r#"try { [1, 2].map(|x| respond(201, "a")) } catch (e) { vars.caught = e }"#,
        r#"fn answer() { respond(201, "a") } try { answer() } catch (e) { vars.caught = e }"#,
        r#"let f = || respond(201, "a"); try { f.call() } catch { }"#,
    ] {
        let o = run(json!([
            {"type": "script", "code": code},
            {"type": "respond", "status": 500, "body": "reached"}
        ]));
        assert_eq!(answered(&o).0, 201, "{code}");
        assert_eq!(
            statuses(&o),
            [("0", StepStatus::Ok), ("1", StepStatus::Skipped)],
            "{code}"
        );
    }
    let o = run(json!([
        {"type": "script", "code": r#"try { [1].for_each(|x| fail(409, "taken")) } catch (e) { respond(200, "caught") }"#}
    ]));
    assert_eq!(
        o.result,
        FlowResult::Failed {
            status: 409,
            message: "taken".into()
        }
    );
    assert_eq!(
        o.steps[0].error.as_deref(),
        Some("failed the call with status 409: taken")
    );
}

#[test]
fn respond_forms() {
    let o = run(
        json!([{"type": "script", "code": r#"respond(202, #{ok: true}, #{"X-Trace": "t1", retry: 3})"#}]),
    );
    let (status, headers, body) = answered(&o);
    assert_eq!(status, 202);
    assert_eq!(
        headers,
        &BTreeMap::from([
            ("retry".into(), "3".into()),
            ("x-trace".into(), "t1".into())
        ])
    );
    assert_eq!(body, &ResponseBody::Json(json!({"ok": true})));
    let cases = [
        (
            json!({"type": "respond", "body_expr": "\"plain\""}),
            ResponseBody::Text("plain".into()),
        ),
        (
            json!({"type": "respond", "body_expr": "base64_decode_blob(\"AAE=\")"}),
            ResponseBody::Binary(vec![0, 1]),
        ),
        (
            json!({"type": "respond", "body_expr": "()"}),
            ResponseBody::Empty,
        ),
        (
            json!({"type": "respond", "body_expr": "[1, 2.5]"}),
            ResponseBody::Json(json!([1, 2.5])),
        ),
        (
            json!({"type": "respond", "body": "literal text"}),
            ResponseBody::Text("literal text".into()),
        ),
        (
            json!({"type": "respond", "body": null}),
            ResponseBody::Empty,
        ),
        (json!({"type": "respond"}), ResponseBody::Empty),
        (
            json!({"type": "respond", "body": {"n": [1]}, "headers": {"X-A": "b"}}),
            ResponseBody::Json(json!({"n": [1]})),
        ),
    ];
    for (step, expected) in cases {
        let o = run(json!([step.clone()]));
        assert_eq!(answered(&o).2, &expected, "{step}");
    }
    let o = run(json!([{"type": "respond", "status": 201, "body": {}, "headers": {"X-A": "b"}}]));
    assert_eq!(answered(&o).0, 201);
    assert_eq!(
        answered(&o).1,
        &BTreeMap::from([("x-a".into(), "b".into())])
    );
}

#[test]
fn bad_respond_and_fail_arguments_are_script_errors() {
    for (code, needle) in [
        (
            "respond(99, 1)",
            "respond: status 99 is not between 200 and 599",
        ),
        (
            "fail(302, \"x\")",
            "fail: status 302 is not between 400 and 599",
        ),
        (
            "respond(200, 1, #{\"bad name\": \"v\"})",
            "not a valid header name",
        ),
        ("respond(200, 1, #{a: [1]})", "header `a` must be a string"),
        ("respond(200, 1, 5)", "headers must be a map"),
    ] {
        let o = run(json!([{"type": "script", "code": code}]));
        match &o.result {
            FlowResult::Error(RuntimeError::Script { step, message }) => {
                assert_eq!(step.as_deref(), Some("0"));
                assert!(message.contains(needle), "{code}: {message}");
            }
            other => panic!("{code}: {other:?}"),
        }
    }
}

#[test]
fn trace_marks_ok_error_and_skipped_steps() {
    let o = run(json!([
        {"type": "log", "message": "start"},
        {"type": "condition", "if": "request.body.id == \"A1\"",
         "then": [{"type": "script", "code": "vars.x = 1;"}],
         "else": [{"type": "log", "message": "never"}]},
        {"type": "log", "message": "disabled", "disabled": true},
        {"type": "condition", "if": "true", "then": [
            {"type": "script", "code": "let a = 1;\nlet b = a / 0;"}
        ]},
        {"type": "log", "message": "not reached"}
    ]));
    assert_eq!(
        statuses(&o),
        [
            ("0", StepStatus::Ok),
            ("1", StepStatus::Ok),
            ("1.then.0", StepStatus::Ok),
            ("1.else.0", StepStatus::Skipped),
            ("2", StepStatus::Skipped),
            ("3", StepStatus::Error),
            ("3.then.0", StepStatus::Error),
            ("4", StepStatus::Skipped),
        ]
    );
    let err = o.steps[6].error.as_deref().unwrap();
    assert!(
        err.starts_with("Division by zero") && err.ends_with("(`code` line 2, position 11)"),
        "{err}"
    );
    assert_eq!(
        o.steps[5].error.as_deref(),
        Some("step 3.then.0 did not complete")
    );
    assert_eq!(o.error_step(), Some("3.then.0"));
    match &o.result {
        FlowResult::Error(e @ RuntimeError::Script { step, .. }) => {
            assert_eq!(step.as_deref(), Some("3.then.0"));
            assert!(
                e.to_string().starts_with("step 3.then.0: Division by zero"),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
    let types: Vec<&str> = o.steps.iter().map(|s| s.step_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "log",
            "condition",
            "script",
            "log",
            "log",
            "condition",
            "script",
            "log"
        ]
    );
}

#[test]
fn errors_in_functions_point_at_their_definition() {
    let o = run(json!([
        {"type": "script", "code": "fn half(x) {\n  x / 0\n}"},
        {"type": "script", "code": "vars.h = half(4);"}
    ]));
    match &o.result {
        FlowResult::Error(RuntimeError::Script { step, message }) => {
            assert_eq!(step.as_deref(), Some("1"));
            assert!(
                message.contains("(step 0 `code` line 2, position 5) in function `half`"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn conditions_need_booleans() {
    let o = run(json!([{"type": "condition", "if": "request.body.id", "then": []}]));
    match &o.result {
        FlowResult::Error(RuntimeError::Script { message, .. }) => {
            assert!(
                message.starts_with("the condition gave string, not a boolean"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn fail_steps() {
    let o = run(json!([{"type": "fail", "status": 422, "message": "email is required"}]));
    assert_eq!(
        o.result,
        FlowResult::Failed {
            status: 422,
            message: "email is required".into()
        }
    );
    assert_eq!(o.steps[0].status, StepStatus::Error);
    let o =
        run(json!([{"type": "fail", "status": 503, "message_expr": "`no ${request.body.id}`"}]));
    assert_eq!(
        o.result,
        FlowResult::Failed {
            status: 503,
            message: "no A1".into()
        }
    );
    let o = run(json!([{"type": "fail", "status": 400, "message_expr": "#{why: 1}"}]));
    assert_eq!(
        o.result,
        FlowResult::Failed {
            status: 400,
            message: r#"{"why":1}"#.into()
        }
    );
}

#[test]
fn return_ends_the_flow_as_completed() {
    let o = run(json!([
        {"type": "script", "code": "if true { return; }\nvars.x = 1;"},
        {"type": "log", "message": "not reached"}
    ]));
    assert_eq!(o.result, FlowResult::Completed);
    assert_eq!(
        statuses(&o),
        [("0", StepStatus::Ok), ("1", StepStatus::Skipped)]
    );
}

#[test]
fn logs_from_steps_print_and_debug() {
    let o = run(json!([
        {"type": "log", "message": "plain"},
        {"type": "log", "level": "warn", "message_expr": "`id ${request.body.id}`"},
        {"type": "condition", "if": "true", "then": [
            {"type": "script", "code": "print(\"printed\"); debug(\"dbg\");"}
        ]},
        {"type": "log", "level": "error", "message_expr": "#{a: 1}"}
    ]));
    assert_eq!(o.result, FlowResult::Completed);
    let logs: Vec<(&str, &str, &str)> = o
        .logs
        .iter()
        .map(|l| (l.step.as_str(), l.level.as_str(), l.message.as_str()))
        .collect();
    assert_eq!(
        logs,
        [
            ("0", "info", "plain"),
            ("1", "warn", "id A1"),
            ("2.then.0", "info", "printed"),
            ("2.then.0", "debug", "\"dbg\""),
            ("3", "error", r#"{"a":1}"#),
        ]
    );
}

#[test]
fn logs_are_capped() {
    let o = run(json!([{"type": "script", "code": "for i in 0..1500 { print(i) }"}]));
    assert_eq!(o.logs.len(), MAX_LOG_ENTRIES + 1);
    assert_eq!(o.logs[MAX_LOG_ENTRIES].level, "warn");
    assert!(
        o.logs[MAX_LOG_ENTRIES]
            .message
            .starts_with("500 more log lines were dropped"),
        "{:?}",
        o.logs.last()
    );
    let o = run(json!([{"type": "script", "code": "let s = \"é\"; s.pad(10000, 'é'); print(s);"}]));
    assert!(
        o.logs[0].message.len() <= MAX_LOG_MESSAGE_BYTES + 3 && o.logs[0].message.ends_with('…')
    );
}

#[test]
fn request_context_for_every_body() {
    let expr = "#{m: request.method, p: request.path, q: request.query.country, h: request.headers[\"x-test\"], t: type_of(request.body), b: request.body}";
    let doc = json!([{"type": "respond", "body_expr": expr}]);
    let cases = [
        (Body::Empty, "()", json!(null)),
        (Body::Json(json!({"a": [1]})), "map", json!({"a": [1]})),
        (Body::Json(json!([1, "x"])), "array", json!([1, "x"])),
        (
            Body::Form(BTreeMap::from([("k".into(), "v".into())])),
            "map",
            json!({"k": "v"}),
        ),
        (Body::Text("<x/>".into()), "string", json!("<x/>")),
        (Body::Binary(vec![1, 2]), "blob", json!("AQI=")),
    ];
    for (body, kind, value) in cases {
        let o = run_with(doc.clone(), body);
        let expected =
            json!({"m": "POST", "p": "/t/acme/x", "q": "SE", "h": "yes", "t": kind, "b": value});
        assert_eq!(answered(&o).2, &ResponseBody::Json(expected), "{kind}");
    }
    let o = run(json!([{"type": "script", "code": "request.body.id = 5;"}]));
    assert!(
        matches!(o.result, FlowResult::Error(RuntimeError::Script { .. })),
        "request is constant: {:?}",
        o.result
    );
}

#[test]
fn map_step_results_and_merge() {
    let o = run(json!([
        {"type": "map", "to": "m", "fields": {
            "none": "$.request.body.missing",
            "one": "$.request.body.id",
            "one_of_wildcard": "$.request.body.one[*].t",
            "many": "$.request.body.items[*].t",
            "query": "$.request.query.country",
            "header": "$.request.headers['x-test']"
        }},
        {"type": "map", "merge": true, "fields": {"first": "$.vars.m.many[0]", "id": "$.vars.m.one"}},
        {"type": "respond", "body_expr": "vars"}
    ]));
    assert_eq!(
        answered(&o).2,
        &ResponseBody::Json(json!({
            "m": {"none": null, "one": "A1", "one_of_wildcard": "z", "many": ["x", "y"], "query": "SE", "header": "yes"},
            "first": "x",
            "id": "A1"
        }))
    );
}

#[test]
fn raw_body_is_exact_when_given_and_re_encoded_otherwise() {
    let steps: Vec<Step> =
        serde_json::from_value(json!([{"type": "respond", "body_expr": "request.raw_body"}]))
            .unwrap();
    let rt = runtime();
    let flow = rt.compile(&steps).unwrap();
    let raw = br#"{"b": 1,  "a": 2}"#;
    let inp = input(Body::Json(serde_json::from_slice(raw).unwrap()));
    let o = rt.execute_with_raw_body(&flow, &inp, raw);
    assert_eq!(
        answered(&o).2,
        &ResponseBody::Text(r#"{"b": 1,  "a": 2}"#.into())
    );
    let o = rt.execute(&flow, &inp);
    assert_eq!(
        answered(&o).2,
        &ResponseBody::Text(r#"{"a":2,"b":1}"#.into())
    );
    let o = rt.execute_with_raw_body(&flow, &input(Body::Binary(vec![0xff])), &[0xff]);
    assert_eq!(answered(&o).2, &ResponseBody::Binary(vec![0xff]));
    // A flow that never mentions raw_body does not get it.
    let steps: Vec<Step> =
        serde_json::from_value(json!([{"type": "respond", "body_expr": "request.keys()"}]))
            .unwrap();
    let flow = rt.compile(&steps).unwrap();
    assert_eq!(
        answered(&rt.execute(&flow, &inp)).2,
        &ResponseBody::Json(json!([
            "body", "caller", "headers", "method", "path", "query"
        ]))
    );
}

#[test]
fn capture_records_vars_around_each_step_and_only_when_asked() {
    let doc = json!([
        {"type": "map", "to": "m", "fields": {"id": "$.request.body.id"}},
        {"type": "condition", "if": "vars.m.id == \"A1\"",
         "then": [{"type": "script", "code": "vars.x = 1;"}],
         "else": [{"type": "log", "message": "never"}]},
        {"type": "log", "message": "off", "disabled": true},
        {"type": "script", "code": "vars.y = 2;\nlet a = 1 / 0;"},
        {"type": "respond", "body_expr": "vars"}
    ]);
    let steps: Vec<Step> = serde_json::from_value(doc).unwrap();
    let rt = runtime();
    let plain = rt.compile(&steps).unwrap();
    let captured = rt.compile_capturing(&steps).unwrap();
    assert!(!plain.captures() && captured.captures());
    // Production flows are untouched: no capture calls in their program.
    assert!(!plain.source().contains("__fg_snap"), "{}", plain.source());
    assert!(captured.source().contains("vars.__fg_snap_in(0)"));
    assert_eq!(
        plain.source().lines().count(),
        captured.source().lines().count()
    );
    let inp = input(Body::Json(json!({"id": "A1"})));
    let o = rt.execute(&plain, &inp);
    assert!(o.snapshots.is_empty());
    let c = rt.execute(&captured, &inp);
    // Same result, same trace, same error position.
    assert_eq!(c.result, o.result);
    assert_eq!(statuses(&c), statuses(&o));
    assert_eq!(c.steps[5].error, o.steps[5].error);
    assert_eq!(c.snapshots.len(), c.steps.len());
    let snap = |i: usize| (c.snapshots[i].input.clone(), c.snapshots[i].output.clone());
    assert_eq!(snap(0), (Some(json!({})), Some(json!({"m": {"id": "A1"}}))));
    assert_eq!(
        snap(1),
        (
            Some(json!({"m": {"id": "A1"}})),
            Some(json!({"m": {"id": "A1"}, "x": 1}))
        )
    );
    assert_eq!(
        snap(2),
        (
            Some(json!({"m": {"id": "A1"}})),
            Some(json!({"m": {"id": "A1"}, "x": 1}))
        )
    );
    assert_eq!(snap(3), (None, None), "branch not taken");
    assert_eq!(snap(4), (None, None), "disabled");
    // The step the flow broke in shows vars as the flow ended.
    assert_eq!(
        snap(5),
        (
            Some(json!({"m": {"id": "A1"}, "x": 1})),
            Some(json!({"m": {"id": "A1"}, "x": 1, "y": 2}))
        )
    );
    assert_eq!(snap(6), (None, None), "not reached");

    // A step that responds ends the flow: its output is vars as it ended.
    let steps: Vec<Step> = serde_json::from_value(json!([
        {"type": "script", "code": "vars.a = 1; respond(201, vars);"}
    ]))
    .unwrap();
    let c = rt.execute(&rt.compile_capturing(&steps).unwrap(), &inp);
    assert_eq!(answered(&c).0, 201);
    assert_eq!(c.snapshots[0].input, Some(json!({})));
    assert_eq!(c.snapshots[0].output, Some(json!({"a": 1})));

    // Large snapshots are replaced by a note.
    let steps: Vec<Step> = serde_json::from_value(json!([
        {"type": "script", "code": "let s = \"\"; s.pad(70000, 'x'); vars.big = s;"}
    ]))
    .unwrap();
    let c = rt.execute(&rt.compile_capturing(&steps).unwrap(), &inp);
    assert_eq!(c.result, FlowResult::Completed);
    assert_eq!(c.snapshots[0].input, Some(json!({})));
    let out = c.snapshots[0].output.clone().unwrap();
    assert!(
        out.as_str()
            .unwrap()
            .starts_with("(truncated: vars is larger than 65536"),
        "{out}"
    );
}

#[test]
fn one_runtime_serves_many_threads() {
    let rt = Arc::new(runtime());
    let steps: Vec<Step> = serde_json::from_value(json!([
        {"type": "map", "to": "m", "fields": {"n": "$.request.body.n"}},
        {"type": "script", "code": "if vars.m.n % 2 == 0 { respond(200, vars.m.n * 10) } else { fail(400, `odd ${vars.m.n}`) }"}
    ]))
    .unwrap();
    let flow = rt.compile(&steps).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let (rt, flow) = (Arc::clone(&rt), flow.clone());
            std::thread::spawn(move || {
                for i in 0..200 {
                    let n = t * 1000 + i;
                    let o = rt.execute(&flow, &input(Body::Json(json!({"n": n}))));
                    let expected = if n % 2 == 0 {
                        FlowResult::Responded {
                            status: 200,
                            headers: BTreeMap::new(),
                            body: ResponseBody::Json(json!(n * 10)),
                        }
                    } else {
                        FlowResult::Failed {
                            status: 400,
                            message: format!("odd {n}"),
                        }
                    };
                    assert_eq!(o.result, expected);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}
