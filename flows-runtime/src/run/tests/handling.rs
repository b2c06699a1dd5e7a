//! Errors handled by the flow (`try` steps, the flow's `on_error` handler) and `for_each`.

use serde_json::json;

use super::{answered, input, run, runtime, statuses};
use crate::model::Step;
use crate::{Body, FlowResult, Limits, Outcome, ResponseBody, Runtime, RuntimeError, StepStatus};

fn run_flow(steps: serde_json::Value, on_error: serde_json::Value) -> Outcome {
    let steps: Vec<Step> = serde_json::from_value(steps).unwrap();
    let on_error: Vec<Step> = serde_json::from_value(on_error).unwrap();
    let rt = runtime();
    let flow = rt
        .compile_flow(&steps, &on_error)
        .unwrap_or_else(|e| panic!("{e:#?}"));
    rt.execute(
        &flow,
        &input(Body::Json(
            json!({"events": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}),
        )),
    )
}

#[test]
fn try_catches_script_errors_and_goes_on() {
    let o = run(json!([
        {"type": "try", "steps": [
            {"type": "script", "code": "vars.before = 1;"},
            {"type": "script", "code": "let a = 1;\nlet b = a / 0;"},
            {"type": "log", "message": "not reached"}
        ], "catch": [
            {"type": "script", "code": "vars.caught = vars.error;"}
        ]},
        {"type": "try", "steps": [{"type": "script", "code": "throw \"no customer\";"}]},
        {"type": "respond", "status": 200, "body_expr": "#{before: vars.before, caught: vars.caught, last: vars.error.message}"}
    ]));
    let (status, _, body) = answered(&o);
    assert_eq!(status, 200);
    let ResponseBody::Json(body) = body else {
        panic!("{body:?}")
    };
    assert_eq!(body["before"], 1);
    let message = body["caught"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Division by zero")
            && message.ends_with("(`code` line 2, position 11)"),
        "{message}"
    );
    assert_eq!(body["caught"]["step"], "0.steps.1");
    assert_eq!(body["caught"]["step_type"], "script");
    // A thrown string is the message as it is; an empty catch ignores the error.
    assert_eq!(body["last"], "no customer");
    assert_eq!(
        statuses(&o),
        [
            ("0", StepStatus::Ok),
            ("0.steps.0", StepStatus::Ok),
            ("0.steps.1", StepStatus::Error),
            ("0.steps.2", StepStatus::Skipped),
            ("0.catch.0", StepStatus::Ok),
            ("1", StepStatus::Ok),
            ("1.steps.0", StepStatus::Error),
            ("2", StepStatus::Ok),
        ]
    );
    assert!(o.steps[2]
        .error
        .as_deref()
        .unwrap()
        .starts_with("Division by zero"));
}

#[test]
fn try_does_not_catch_respond_fail_or_limits() {
    let o = run(json!([
        {"type": "try", "steps": [{"type": "fail", "status": 422, "message": "bad"}],
         "catch": [{"type": "respond", "status": 200}]}
    ]));
    assert!(
        matches!(&o.result, FlowResult::Failed { status: 422, .. }),
        "{:?}",
        o.result
    );
    let o = run(json!([
        {"type": "try", "steps": [{"type": "respond", "status": 201}],
         "catch": [{"type": "respond", "status": 500}]}
    ]));
    assert_eq!(answered(&o).0, 201);
    let limits = Limits {
        max_operations: 5_000,
        ..Limits::default()
    };
    let rt = Runtime::new(limits);
    let steps: Vec<Step> = serde_json::from_value(json!([
        {"type": "try", "steps": [{"type": "script", "code": "loop { }"}],
         "catch": [{"type": "respond", "status": 200}]}
    ]))
    .unwrap();
    let on_error: Vec<Step> =
        serde_json::from_value(json!([{"type": "respond", "status": 400}])).unwrap();
    let flow = rt.compile_flow(&steps, &on_error).unwrap();
    let o = rt.execute(&flow, &input(Body::Empty));
    assert!(
        matches!(
            &o.result,
            FlowResult::Error(RuntimeError::LimitExceeded { .. })
        ),
        "{:?}",
        o.result
    );
}

#[test]
fn on_error_answers_with_the_error_or_lets_it_stand() {
    // The handler answers: a 400 whose message is built from the error.
    let o = run_flow(
        json!([
            {"type": "log", "message": "start"},
            {"type": "script", "code": "if request.body.customer == () { throw \"customer is missing\"; }"},
            {"type": "respond", "status": 200}
        ]),
        json!([
            {"type": "respond", "status": 400, "body_expr": "#{message: vars.error.message, step: vars.error.step}"}
        ]),
    );
    let (status, _, body) = answered(&o);
    assert_eq!(status, 400);
    assert_eq!(
        body,
        &ResponseBody::Json(json!({"message": "customer is missing", "step": "1"}))
    );
    assert_eq!(
        statuses(&o),
        [
            ("0", StepStatus::Ok),
            ("1", StepStatus::Error),
            ("2", StepStatus::Skipped),
            ("on_error.0", StepStatus::Ok),
        ]
    );
    // A fail step in the handler refuses the call with its status.
    let o = run_flow(
        json!([{"type": "script", "code": "let x = #{}; x.a.b = 1;"}]),
        json!([{"type": "fail", "status": 422, "message_expr": "`could not process: ${vars.error.message}`"}]),
    );
    match &o.result {
        FlowResult::Failed { status, message } => {
            assert_eq!(*status, 422);
            assert!(message.starts_with("could not process: "), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // A handler that only logs: the error stands, as raised, with its step.
    let o = run_flow(
        json!([{"type": "condition", "if": "true", "then": [
            {"type": "script", "code": "throw \"downstream refused\";"}
        ]}]),
        json!([{"type": "log", "level": "warn", "message_expr": "vars.error.message"}]),
    );
    match &o.result {
        FlowResult::Error(RuntimeError::Script { step, message }) => {
            assert_eq!(step.as_deref(), Some("0.then.0"));
            assert_eq!(message, "downstream refused");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(o.logs.len(), 1);
    assert_eq!(o.logs[0].message, "downstream refused");
    assert_eq!(o.logs[0].step, "on_error.0");
    // No error: the handler does not run.
    let o = run_flow(
        json!([{"type": "respond", "status": 204}]),
        json!([{"type": "respond", "status": 400}]),
    );
    assert_eq!(answered(&o).0, 204);
    assert_eq!(
        statuses(&o),
        [("0", StepStatus::Ok), ("on_error.0", StepStatus::Skipped)]
    );
    // An error in the handler itself ends the flow with that error.
    let o = run_flow(
        json!([{"type": "script", "code": "throw \"first\";"}]),
        json!([{"type": "script", "code": "throw \"second\";"}]),
    );
    match &o.result {
        FlowResult::Error(RuntimeError::Script { step, message }) => {
            assert_eq!(step.as_deref(), Some("on_error.0"));
            assert!(message.starts_with("second (`code` line 1"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn for_each_runs_steps_per_item() {
    let o = run_flow(
        json!([
            {"type": "script", "code": "vars.seen = [];"},
            {"type": "for_each", "items": "request.body.events", "as": "event", "steps": [
                {"type": "condition", "if": "vars.event.id != \"b\"", "then": [
                    {"type": "script", "code": "vars.seen.push(`${vars.index}:${vars.event.id}`);"}
                ]}
            ]},
            {"type": "for_each", "items": "()", "steps": [{"type": "script", "code": "throw \"never\";"}]},
            {"type": "respond", "status": 200, "body_expr": "vars.seen"}
        ]),
        json!([]),
    );
    let (_, _, body) = answered(&o);
    assert_eq!(body, &ResponseBody::Json(json!(["0:a", "2:c"])));
    assert_eq!(o.steps[1].status, StepStatus::Ok);
    assert_eq!(o.steps[1].step_type, "for_each");
    // Over the limit, or not an array: an error before any item runs.
    let o = run_flow(
        json!([{"type": "for_each", "items": "request.body.events", "max_items": 2, "steps": [
            {"type": "emit", "event": "x"}
        ]}]),
        json!([]),
    );
    match &o.result {
        FlowResult::Error(e) => assert!(
            e.to_string()
                .contains("`items` has 3 items, more than max_items (2)"),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(o.events.is_empty());
    let o = run_flow(
        json!([{"type": "for_each", "items": "request.body", "steps": []}]),
        json!([]),
    );
    match &o.result {
        FlowResult::Error(e) => assert!(e.to_string().contains("not an array"), "{e}"),
        other => panic!("{other:?}"),
    }
    // One item failing inside a try: the others still run.
    let o = run_flow(
        json!([
            {"type": "script", "code": "vars.ok = 0; vars.bad = [];"},
            {"type": "for_each", "items": "request.body.events", "steps": [
                {"type": "try", "steps": [
                    {"type": "script", "code": "if vars.item.id == \"b\" { throw \"bad item\"; } vars.ok += 1;"}
                ], "catch": [
                    {"type": "script", "code": "vars.bad.push(vars.index);"}
                ]}
            ]},
            {"type": "respond", "status": 200, "body_expr": "#{ok: vars.ok, bad: vars.bad}"}
        ]),
        json!([]),
    );
    assert_eq!(
        answered(&o).2,
        &ResponseBody::Json(json!({"ok": 2, "bad": [1]}))
    );
}
