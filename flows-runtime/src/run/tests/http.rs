//! `http` steps and `http()` against a fake client: what is sent, what the flow gets back,
//! status and transport errors, the time left, and flows with I/O kept out of budgets.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::{answered, input, runtime};
use crate::model::Step;
use crate::{
    Body, FlowResult, Limits, Outcome, OverBudget, ResponseBody, Runtime, RuntimeError, StepStatus,
};

/// Answers every request with what `answer` gives, and remembers the requests.
struct FakeClient {
    seen: std::sync::Mutex<Vec<crate::HttpRequest>>,
    answer: fn(&crate::HttpRequest) -> Result<crate::HttpResponse, String>,
}

impl crate::HttpClient for FakeClient {
    fn send(&self, request: crate::HttpRequest) -> crate::HttpExchange {
        let result = (self.answer)(&request);
        let call = crate::HttpCallTrace {
            method: request.method.as_str().to_owned(),
            url: request.url.clone(),
            attempt: 1,
            status: result.as_ref().ok().map(|r| r.status),
            ..Default::default()
        };
        self.seen.lock().unwrap().push(request);
        crate::HttpExchange {
            result,
            calls: vec![call],
        }
    }
}

fn json_answer(status: u16, body: serde_json::Value) -> crate::HttpResponse {
    crate::HttpResponse {
        status,
        headers: BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]),
        body: body.to_string().into_bytes(),
    }
}

fn with_client(
    answer: fn(&crate::HttpRequest) -> Result<crate::HttpResponse, String>,
) -> (Runtime, Arc<FakeClient>) {
    let client = Arc::new(FakeClient {
        seen: std::sync::Mutex::new(Vec::new()),
        answer,
    });
    let rt = runtime().with_http_client(client.clone());
    (rt, client)
}

fn run_on(rt: &Runtime, doc: serde_json::Value) -> Outcome {
    let steps: Vec<Step> = serde_json::from_value(doc).unwrap();
    let flow = rt.compile(&steps).unwrap_or_else(|e| panic!("{e:#?}"));
    rt.execute(&flow, &input(Body::Json(json!({"id": "a b/c", "n": 2}))))
}

#[test]
fn http_step_sends_templates_and_stores_the_answer() {
    let (rt, client) = with_client(|r| {
        Ok(json_answer(
            200,
            json!({"got": r.url, "method": r.method.as_str()}),
        ))
    });
    let o = run_on(
        &rt,
        json!([
            {"type": "http", "method": "PATCH", "url": "https://api.example.com/users/${request.body.id}?x=1",
             "query": {"n": "${request.body.n + 1}", "fixed": "v"}, "headers": {"X-Trace": "t-${request.body.n}"},
             "body_expr": "#{id: request.body.id}", "to": "user",
             "auth": {"type": "bearer", "token_secret": "tok"}, "timeout_ms": 1500,
             "retries": {"max": 2}},
            {"type": "http", "method": "POST", "url": "${\"https://b.example.com\"}/form/${request.body.id}",
             "body": {"a": 1, "b": "x"}, "body_type": "form"},
            {"type": "respond", "body_expr": "vars.user"}
        ]),
    );
    assert_eq!(
        answered(&o).2,
        &ResponseBody::Json(json!({
            "status": 200, "ok": true,
            "headers": {"content-type": "application/json"},
            "body": {"got": "https://api.example.com/users/a%20b%2Fc?x=1", "method": "PATCH"}
        }))
    );
    let seen = client.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let r = &seen[0];
    assert_eq!(
        r.query,
        [
            ("fixed".to_owned(), "v".to_owned()),
            ("n".to_owned(), "3".to_owned())
        ]
    );
    assert_eq!(r.headers, [("x-trace".to_owned(), "t-2".to_owned())]);
    assert_eq!(r.body, crate::RequestBody::Json(json!({"id": "a b/c"})));
    assert_eq!(
        r.auth,
        Some(crate::model::HttpAuth::Bearer {
            token_secret: "tok".into()
        })
    );
    assert_eq!(r.timeout, Duration::from_millis(1500));
    assert_eq!(r.retries.max, 2);
    assert_eq!(r.max_response_bytes, 1024 * 1024);
    // The base at the start of a URL is not encoded; later pieces are.
    assert_eq!(seen[1].url, "https://b.example.com/form/a%20b%2Fc");
    assert_eq!(
        seen[1].body,
        crate::RequestBody::Form(vec![("a".into(), "1".into()), ("b".into(), "x".into())])
    );
    // Each step's trace lists its calls.
    assert_eq!(o.steps[0].calls.len(), 1);
    assert_eq!(o.steps[0].calls[0].method, "PATCH");
    assert_eq!(o.steps[1].calls.len(), 1);
    assert!(o.steps[2].calls.is_empty());
}

#[test]
fn http_status_fails_the_flow_unless_told_otherwise() {
    let (rt, _) = with_client(|_| Ok(json_answer(404, json!({"message": "no such user"}))));
    let o = run_on(
        &rt,
        json!([{"type": "http", "url": "https://id.example.com/users/1", "to": "u"}]),
    );
    match &o.result {
        FlowResult::Error(RuntimeError::Script { step, message }) => {
            assert_eq!(step.as_deref(), Some("0"));
            assert!(
                message.starts_with(
                    r#"GET https://id.example.com/users/1 answered 404: {"message":"no such user"}"#
                ),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(o.steps[0].status, StepStatus::Error);
    assert_eq!(o.steps[0].calls.len(), 1);
    let o = run_on(
        &rt,
        json!([
            {"type": "http", "url": "https://id.example.com/users/1", "to": "u", "fail_on_status": false},
            {"type": "respond", "body_expr": "[vars.u.status, vars.u.ok, vars.u.body.message]"}
        ]),
    );
    assert_eq!(
        answered(&o).2,
        &ResponseBody::Json(json!([404, false, "no such user"]))
    );
    // A transport error breaks the flow with the client's message.
    let (rt, _) = with_client(|_| Err("connection refused".into()));
    match run_on(
        &rt,
        json!([{"type": "http", "url": "http://127.0.0.1:9/x"}]),
    )
    .result
    {
        FlowResult::Error(e) => {
            assert!(
                e.to_string()
                    .contains("GET http://127.0.0.1:9/x: connection refused"),
                "{e}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn http_function_takes_options() {
    let (rt, client) = with_client(|r| match r.method {
        crate::model::HttpMethod::Delete => Ok(crate::HttpResponse {
            status: 500,
            headers: BTreeMap::new(),
            body: b"boom".to_vec(),
        }),
        _ => Ok(crate::HttpResponse {
            status: 201,
            headers: BTreeMap::from([("content-type".into(), "text/plain".into())]),
            body: b"made".to_vec(),
        }),
    });
    let o = run_on(
        &rt,
        json!([{"type": "script", "code": r#"
            let a = http("post", "https://x.example.com/a", #{body: "hi", body_type: "text",
                headers: #{"X-A": 1}, query: #{q: "1"}, auth: #{type: "secret_header", header: "x-key", secret: "k"},
                timeout_ms: 50, max_response_bytes: 10});
            let b = http("DELETE", "https://x.example.com/b");
            let c = "none";
            try { http("DELETE", "https://x.example.com/b", #{fail_on_status: true}); } catch (e) { c = e; }
            respond(200, [a.status, a.body, b.status, b.body, c]);
        "#}]),
    );
    assert_eq!(
        answered(&o).2,
        &ResponseBody::Json(json!([
            201,
            "made",
            500,
            "boom",
            "DELETE https://x.example.com/b answered 500: boom"
        ]))
    );
    let seen = client.seen.lock().unwrap();
    assert_eq!(seen[0].method, crate::model::HttpMethod::Post);
    assert_eq!(seen[0].body, crate::RequestBody::Text("hi".into()));
    assert_eq!(seen[0].headers, [("x-a".to_owned(), "1".to_owned())]);
    assert_eq!(seen[0].timeout, Duration::from_millis(50));
    assert_eq!(seen[0].max_response_bytes, 10);
    assert_eq!(o.steps[0].calls.len(), 3);
    for (code, needle) in [
        (
            r#"http("GET", "https://x", #{bogus: 1})"#,
            "unknown option `bogus`",
        ),
        (r#"http("TRACE", "https://x")"#, "`TRACE` is not a method"),
        (
            r#"http("GET", "ftp://x")"#,
            "is not an http:// or https:// URL",
        ),
        (
            r#"http("GET", "https://x", #{auth: #{type: "bearer"}})"#,
            "http: `auth`",
        ),
        (
            r#"http("GET", "https://x", #{retries: #{max: 9}})"#,
            "at most 5 retries",
        ),
        (
            r#"http("GET", "https://x", #{timeout_ms: 0})"#,
            "`timeout_ms` is a number between 1",
        ),
    ] {
        match run_on(&rt, json!([{"type": "script", "code": code}])).result {
            FlowResult::Error(e) => assert!(e.to_string().contains(needle), "{code}: {e}"),
            other => panic!("{code}: {other:?}"),
        }
    }
}

#[test]
fn flows_with_io_are_marked_and_never_run_within_a_budget() {
    let (rt, client) = with_client(|_| Ok(json_answer(200, json!({}))));
    let compile = |doc: serde_json::Value| {
        let steps: Vec<Step> = serde_json::from_value(doc).unwrap();
        rt.compile(&steps).unwrap()
    };
    let plain = compile(json!([{"type": "log", "message": "x"}]));
    let step = compile(json!([{"type": "http", "url": "https://x"}]));
    let script =
        compile(json!([{"type": "script", "code": "let r = http(\"GET\", \"https://x\");"}]));
    let off = compile(json!([{"type": "http", "url": "https://x", "disabled": true}]));
    assert!(!plain.does_io() && step.does_io() && script.does_io() && !off.does_io());
    let inp = input(Body::Empty);
    for flow in [&step, &script] {
        assert_eq!(
            rt.try_execute_within(flow, &inp, None, Duration::from_secs(1)),
            Err(OverBudget)
        );
    }
    assert!(client.seen.lock().unwrap().is_empty());
    assert!(rt
        .try_execute_within(&plain, &inp, None, Duration::from_secs(1))
        .is_ok());
    // Without a client, HTTP is an error, not a crash.
    let o = runtime().execute(&step, &inp);
    match o.result {
        FlowResult::Error(e) => assert!(e.to_string().contains("not available"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
#[allow(clippy::disallowed_methods)] // the fake client blocks like a real one
fn http_timeout_never_exceeds_the_time_left() {
    let limits = Limits {
        max_duration: Duration::from_millis(300),
        ..Limits::default()
    };
    let client = Arc::new(FakeClient {
        seen: std::sync::Mutex::new(Vec::new()),
        answer: |r| {
            std::thread::sleep(r.timeout);
            Err("timed out".into())
        },
    });
    let rt = Runtime::new(limits).with_http_client(client.clone());
    let steps: Vec<Step> = serde_json::from_value(
        json!([{"type": "http", "url": "https://slow.example.com", "timeout_ms": 60000}]),
    )
    .unwrap();
    let flow = rt.compile(&steps).unwrap();
    let o = rt.execute(&flow, &input(Body::Empty));
    assert_eq!(o.result, FlowResult::Error(RuntimeError::Timeout));
    let seen = client.seen.lock().unwrap();
    assert!(
        seen[0].timeout <= Duration::from_millis(300),
        "{:?}",
        seen[0].timeout
    );
    assert!(o.duration < Duration::from_millis(1000), "{:?}", o.duration);
}
