//! Behaviour of whole flows: the worked examples of docs/flows.md on the sample payloads,
//! hostile scripts against every limit, and the cost of one execute.

#![cfg(feature = "engine")]
// The helpers below are test code too (clippy only exempts `#[test]` functions by itself).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use flows_runtime::model::Step;
use flows_runtime::{
    CompiledFlow, FlowResult, Input, Limits, Outcome, ResponseBody, Runtime, RuntimeError,
    StepStatus, RECOMMENDED_THREAD_STACK_BYTES,
};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};

const IDENTITY: &str = include_str!("fixtures/identity-user-update.json");
const SENDGRID: &str = include_str!("fixtures/sendgrid-event-batch.json");
const TEAMS: &str = include_str!("fixtures/teams-outgoing-webhook.json");
const JIRA: &str = include_str!("fixtures/jira-issue-updated.json");

fn steps(v: Value) -> Vec<Step> {
    serde_json::from_value(v).unwrap()
}

fn json_input(raw: &str, headers: &[(&str, &str)]) -> Input {
    Input {
        method: "POST".into(),
        path: "/t/acme/hook".into(),
        query: BTreeMap::new(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: flows_runtime::parse_body(Some("application/json"), raw.as_bytes()).unwrap(),
        caller: None,
        execution_id: None,
    }
}

fn responded(o: &Outcome) -> (u16, &ResponseBody) {
    match &o.result {
        FlowResult::Responded { status, body, .. } => (*status, body),
        other => panic!("not responded: {other:?}\n{:#?}", o.steps),
    }
}

// --- Worked examples (keep in step with docs/flows.md) ------------------------------------

#[test]
fn identity_user_update_answers_the_caller() {
    let rt = Runtime::new(Limits::default());
    let flow = rt
        .compile(&steps(json!([
            {"type": "map", "name": "pick fields", "to": "m", "fields": {
                "id": "$.request.body.id",
                "entity_type": "$.request.body.entityType",
                "event": "$.request.body.eventType",
                "email": "$.request.body.email"
            }},
            {"type": "condition", "if": "vars.m.email == ()", "then": [
                {"type": "fail", "status": 422, "message": "email is required"}
            ]},
            {"type": "script", "name": "shape answer", "code": "let at = vars.m.email.index_of(\"@\");\nvars.out = #{\n    ok: true,\n    entity: vars.m.entity_type + \":\" + vars.m.id,\n    event: vars.m.event.to_lower(),\n    email_domain: vars.m.email.sub_string(at + 1)\n};"},
            {"type": "respond", "status": 200, "body_expr": "vars.out"}
        ])))
        .unwrap();
    let o = rt.execute(&flow, &json_input(IDENTITY, &[]));
    assert_eq!(
        responded(&o),
        (
            200,
            &ResponseBody::Json(
                json!({"ok": true, "entity": "USER:IDNUMBER1234", "event": "update", "email_domain": "example.com"})
            )
        )
    );
    let statuses: Vec<StepStatus> = o.steps.iter().map(|s| s.status).collect();
    use StepStatus::{Ok, Skipped};
    assert_eq!(statuses, [Ok, Ok, Skipped, Ok, Ok]);

    let no_email = IDENTITY.replace(r#","email":"jane.doe@example.com""#, "");
    let o = rt.execute(&flow, &json_input(&no_email, &[]));
    assert_eq!(
        o.result,
        FlowResult::Failed {
            status: 422,
            message: "email is required".into()
        }
    );
}

#[test]
fn sendgrid_batch_counts_events_by_type() {
    let rt = Runtime::new(Limits::default());
    let flow = rt
        .compile(&steps(json!([
            {"type": "map", "to": "sg", "fields": {
                "events": "$.request.body[*].event",
                "bounced": "$.request.body[?@.event == 'bounce'].email"
            }},
            {"type": "script", "code": "let counts = #{};\nfor e in request.body {\n    counts[e.event] = (counts[e.event] ?? 0) + 1;\n}\nvars.counts = counts;"},
            {"type": "log", "level": "info", "message_expr": "`${request.body.len()} events, ${vars.counts.len()} kinds`"},
            {"type": "respond", "status": 200, "body_expr": "#{received: request.body.len(), by_type: vars.counts, bounced: vars.sg.bounced}"}
        ])))
        .unwrap();
    let o = rt.execute(&flow, &json_input(SENDGRID, &[]));
    assert_eq!(
        responded(&o),
        (
            200,
            &ResponseBody::Json(json!({
                "received": 4,
                "by_type": {"delivered": 1, "open": 1, "bounce": 1, "click": 1},
                "bounced": "bob@example.com"
            }))
        )
    );
    assert_eq!(o.logs.len(), 1);
    assert_eq!(o.logs[0].message, "4 events, 4 kinds");
}

fn teams_flow(rt: &Runtime) -> CompiledFlow {
    rt.compile(&steps(json!([
        {"type": "script", "name": "verify signature", "code": "let token = \"c2VjcmV0LXNlY3VyaXR5LXRva2Vu\"; // the security token Teams showed\nlet expected = \"HMAC \" + hmac_sha256_base64(base64_decode_blob(token), request.raw_body);\nif !secure_eq(request.headers.authorization ?? \"\", expected) {\n    fail(401, \"invalid signature\");\n}"},
        {"type": "map", "to": "msg", "fields": {"text": "$.request.body.text", "from": "$.request.body.from.name"}},
        {"type": "script", "code": "let asked = vars.msg.text;\nasked.replace(\"<at>StockBot</at> \", \"\");\nvars.reply = `Hello ${vars.msg.from}, you asked: ${asked}`;"},
        {"type": "respond", "status": 200, "body_expr": "#{type: \"message\", text: vars.reply}"}
    ])))
    .unwrap()
}

#[test]
fn teams_outgoing_webhook_checks_the_hmac() {
    let rt = Runtime::new(Limits::default());
    let flow = teams_flow(&rt);
    let key = base64::engine::general_purpose::STANDARD
        .decode("c2VjcmV0LXNlY3VyaXR5LXRva2Vu")
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(TEAMS.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let auth = format!("HMAC {sig}");

    let input = json_input(TEAMS, &[("authorization", &auth)]);
    let o = rt.execute_with_raw_body(&flow, &input, TEAMS.as_bytes());
    assert_eq!(
        responded(&o),
        (
            200,
            &ResponseBody::Json(
                json!({"type": "message", "text": "Hello Ann Admin, you asked: stock ITEM-778"})
            )
        )
    );

    let forged = json_input(TEAMS, &[("authorization", "HMAC AAAA")]);
    let o = rt.execute_with_raw_body(&flow, &forged, TEAMS.as_bytes());
    assert_eq!(
        o.result,
        FlowResult::Failed {
            status: 401,
            message: "invalid signature".into()
        }
    );
    let o = rt.execute_with_raw_body(&flow, &json_input(TEAMS, &[]), TEAMS.as_bytes());
    assert_eq!(
        o.result,
        FlowResult::Failed {
            status: 401,
            message: "invalid signature".into()
        }
    );
    // Without the bytes as received, the re-encoded body does not carry the caller's signature.
    let o = rt.execute(&flow, &input);
    assert_eq!(
        o.result,
        FlowResult::Failed {
            status: 401,
            message: "invalid signature".into()
        }
    );
}

#[test]
fn jira_changelog_routes_by_status() {
    let rt = Runtime::new(Limits::default());
    let flow = rt
        .compile(&steps(json!([
            {"type": "map", "to": "j", "fields": {
                "key": "$.request.body.issue.key",
                "to_status": "$.request.body.changelog.items[?@.field == 'status'].toString",
                "priority": "$.request.body.issue.fields.priority.name"
            }},
            {"type": "condition", "if": "vars.j.to_status == \"In Progress\" && vars.j.priority == \"High\"",
             "then": [{"type": "respond", "status": 202, "body_expr": "#{escalate: vars.j.key}"}],
             "else": [{"type": "log", "message": "nothing to do"}]}
        ])))
        .unwrap();
    let o = rt.execute(&flow, &json_input(JIRA, &[]));
    assert_eq!(
        responded(&o),
        (202, &ResponseBody::Json(json!({"escalate": "SD-42"})))
    );
    let low = JIRA.replace(
        r#""priority":{"name":"High"}"#,
        r#""priority":{"name":"Low"}"#,
    );
    let o = rt.execute(&flow, &json_input(&low, &[]));
    assert_eq!(o.result, FlowResult::Completed);
    assert_eq!(o.steps[2].status, StepStatus::Skipped);
    assert_eq!(o.steps[3].status, StepStatus::Ok);
}

// --- Hostile scripts -----------------------------------------------------------------------

/// Generous: the machine may be busy (CI shares two cores); the loops would run far longer.
const SLACK: Duration = Duration::from_secs(5);

/// Runs a hostile script step and checks it ends in time, in step 0.
fn hostile(code: &str, limits: Limits) -> RuntimeError {
    let budget = limits.max_duration + SLACK;
    let rt = Runtime::new(limits);
    let flow = rt
        .compile(&steps(
            json!([{"type": "script", "code": code}, {"type": "log", "message": "after"}]),
        ))
        .unwrap();
    let started = Instant::now();
    let o = rt.execute(&flow, &json_input("{}", &[]));
    assert!(
        started.elapsed() < budget,
        "{code}: took {:?}",
        started.elapsed()
    );
    assert_eq!(o.steps[0].status, StepStatus::Error, "{code}");
    assert!(o.steps[0].error.is_some(), "{code}");
    assert_eq!(o.steps[1].status, StepStatus::Skipped, "{code}");
    match o.result {
        FlowResult::Error(e) => e,
        other => panic!("{code}: {other:?}"),
    }
}

fn short(limits: Limits) -> Limits {
    Limits {
        max_duration: Duration::from_millis(300),
        ..limits
    }
}

fn limit(what: &str) -> RuntimeError {
    RuntimeError::LimitExceeded { what: what.into() }
}

#[test]
fn infinite_loop_hits_the_operation_limit() {
    let e = hostile("loop { }", Limits::default());
    assert_eq!(e, limit("operations"));
    assert_eq!(e.code(), "limit_exceeded");
}

#[test]
fn deep_recursion_hits_the_call_limit() {
    assert_eq!(
        hostile("fn f(n) { f(n + 1) }\nf(0);", Limits::default()),
        limit("call levels")
    );
    assert_eq!(
        hostile(
            "let f = |g, n| g.call(g, n + 1);\nf.call(f, 0);",
            Limits::default()
        ),
        limit("call levels")
    );
}

#[test]
fn growing_values_hit_the_size_limits() {
    assert_eq!(
        hostile("let s = \"x\";\nloop { s += s; }", Limits::default()),
        limit("string size")
    );
    assert_eq!(
        hostile("let a = [];\na.pad(10000000, 0);", Limits::default()),
        limit("array size")
    );
    assert_eq!(
        hostile("let a = [1];\nloop { a += a; }", Limits::default()),
        limit("array size")
    );
    assert_eq!(
        hostile(
            "let b = base64_decode_blob(\"AA==\");\nloop { b += b; }",
            Limits::default()
        ),
        limit("array size")
    );
    assert_eq!(
        hostile(
            "let m = #{};\nfor i in 0..20000 { m[`k${i}`] = i; }",
            Limits::default()
        ),
        limit("map size")
    );
    // Rhai itself does not measure a container when an item is set by index; the runtime does.
    let code = "let m = #{};\nlet s = \"x\";\ns.pad(500000, 'x');\nfor i in 0..100000 { m[`k${i}`] = s + i; }";
    assert_eq!(hostile(code, Limits::default()), limit("string size"));
    let code = "let a = [];\na.pad(1000, 0);\nlet big = [];\nbig.pad(9000, 0);\nfor i in 0..1000 { a[i] = big; }";
    assert_eq!(hostile(code, Limits::default()), limit("array size"));
    // The limits hold per value; all variables together may hold 16 times as much.
    let lets: String = (0..300)
        .map(|i| format!("let v{i} = s + \"{i}\";\n"))
        .collect();
    let code = format!("let s = \"x\";\ns.pad(1000000, 'x');\n{lets}");
    assert_eq!(hostile(&code, Limits::default()), limit("memory"));
}

#[test]
fn a_long_run_is_stopped_at_the_deadline() {
    let unlimited = Limits {
        max_operations: 0,
        ..Limits::default()
    };
    let e = hostile(
        "let t = now_unix_ms();\nwhile now_unix_ms() - t < 60000 { }",
        short(unlimited.clone()),
    );
    assert_eq!(e, RuntimeError::Timeout);
    assert_eq!(e.code(), "timeout");
    // Catching the stop inside a closure does not keep the run going.
    let e = hostile(
        "loop { try { [1].map(|x| { loop { } }) } catch { } }",
        short(unlimited.clone()),
    );
    assert_eq!(e, RuntimeError::Timeout);
    // Expensive built-in calls are still interrupted.
    let e = hostile(
        "let s = \"x\";\ns.pad(1000000, 'x');\nloop { s.index_of(\"y\"); }",
        short(unlimited),
    );
    assert_eq!(e, RuntimeError::Timeout);
}

#[test]
fn a_run_over_its_budget_is_handed_back() {
    let rt = Runtime::new(Limits {
        max_operations: 0,
        ..Limits::default()
    });
    let quick = rt
        .compile(&steps(
            json!([{"type": "respond", "status": 200, "body": "$.request.body"}]),
        ))
        .unwrap();
    let inp = json_input(r#"{"a":1}"#, &[]);
    let o = rt
        .try_execute_within(&quick, &inp, None, Duration::from_millis(50))
        .expect("a short flow ends within its budget");
    assert_eq!(responded(&o).0, 200);

    let slow = rt
        .compile(&steps(json!([{"type": "script", "code": "let t = now_unix_ms();\nwhile now_unix_ms() - t < 200 { }\nrespond(201, #{})"}])))
        .unwrap();
    let started = Instant::now();
    let r = rt.try_execute_within(&slow, &inp, None, Duration::from_millis(20));
    assert_eq!(r.err(), Some(flows_runtime::OverBudget));
    assert!(
        started.elapsed() < Duration::from_millis(150),
        "stopped near the budget"
    );
    // The same flow, run without a budget, ends normally.
    assert_eq!(responded(&rt.execute(&slow, &inp)).0, 201);
}

#[test]
fn deeply_nested_values_do_not_overflow_the_stack() {
    // Rhai clones, measures and drops nested values recursively; this runs on a 2 MiB test thread.
    for code in [
        "let a = [];\nloop { a = [a]; }",
        "let m = #{};\nloop { m = #{a: m}; }",
    ] {
        let e = hostile(
            code,
            Limits {
                max_duration: Duration::from_secs(2),
                max_operations: 0,
                ..Limits::default()
            },
        );
        assert!(
            matches!(
                e,
                RuntimeError::Timeout | RuntimeError::LimitExceeded { .. }
            ),
            "{code}: {e:?}"
        );
    }
}

#[test]
fn hostile_source_is_refused_at_compile_time() {
    let rt = Runtime::new(Limits::default());
    let deep = format!("let x = {}1{};", "[".repeat(500), "]".repeat(500));
    for code in ["import \"x\" as x;", "eval(\"loop {}\")", deep.as_str()] {
        let errs = rt
            .compile(&steps(json!([{"type": "script", "code": code}])))
            .unwrap_err();
        assert_eq!(errs.len(), 1, "{code}");
        assert_eq!(
            (errs[0].path.as_str(), errs[0].step.as_str()),
            ("steps[0].code", "0"),
            "{code}"
        );
    }
}

// --- Cost --------------------------------------------------------------------------------

/// The benchmark's sync-map flow (bench/integration.json): map + script + respond.
fn bench_flow(rt: &Runtime) -> CompiledFlow {
    rt.compile(&steps(json!([
        {"type": "map", "to": "m", "fields": {
            "id": "$.request.body.id", "entity_type": "$.request.body.entityType",
            "event": "$.request.body.eventType", "email": "$.request.body.email"}},
        {"type": "script", "code": "let at = vars.m.email.index_of(\"@\"); vars.out = #{ok: true, entity: vars.m.entity_type + \":\" + vars.m.id, event: vars.m.event.to_lower(), email_domain: vars.m.email.sub_string(at + 1)};"},
        {"type": "respond", "status": 200, "body_expr": "vars.out"}
    ])))
    .unwrap()
}

/// Best of 5 rounds, in µs per execute.
fn measure(rt: &Runtime, flow: &CompiledFlow, inp: &Input) -> f64 {
    let n = 2_000;
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..n {
            let out = rt.execute(flow, inp);
            assert!(matches!(
                out.result,
                FlowResult::Responded { status: 200, .. }
            ));
        }
        best = best.min(t.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    best
}

/// Prints the cost of one execute of the benchmark flow (`cargo test --release ... -- --nocapture`).
#[test]
fn cost_of_one_execute() {
    let rt = std::sync::Arc::new(Runtime::new(Limits::default()));
    let flow = bench_flow(&rt);
    let inp = json_input(IDENTITY, &[]);
    let small_stack = measure(&rt, &flow, &inp);
    let big_stack = std::thread::Builder::new()
        .stack_size(RECOMMENDED_THREAD_STACK_BYTES)
        .spawn(move || measure(&rt, &flow, &inp))
        .unwrap()
        .join()
        .unwrap();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "µs per execute ({profile}): {small_stack:.1} on a 2 MiB thread, {big_stack:.1} on a {} MiB thread",
        RECOMMENDED_THREAD_STACK_BYTES >> 20
    );
}
