//! Errors as configuration: a trigger's own error answer, the flow's `on_error` handler,
//! `try` steps, and `for_each` over a batch (a SendGrid event batch).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::{doc, sendgrid_batch, Db, TestApp};

async fn post(app: &TestApp, path: &str, secret: &str, body: Value) -> (StatusCode, String, Value) {
    let resp = app
        .call(Method::POST, path)
        .header("x-api-key", secret)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let id = resp
        .headers()
        .get("x-flowgate-execution-id")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, id, resp.json().await.unwrap_or(Value::Null))
}

async fn errors_are_answered_the_way_the_designer_chose(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    let check_customer = json!({"type": "script", "code":
        "if request.body.customer == () { throw \"customer is missing\"; }\nif request.body.customer == \"\" { let x = 1 / 0; }"});

    // The trigger's error answer: uncaught errors get its status and body.
    let mut d = doc(
        "err/shape",
        &key,
        json!([
            check_customer,
            {"type": "condition", "if": "request.body.customer == \"blocked\"", "then": [
                {"type": "fail", "status": 403, "message": "this customer is blocked"}
            ]},
            {"type": "respond", "status": 200, "body": {"ok": true}}
        ]),
    );
    d["trigger"]["error_response"] = json!({"status": 400, "body": {"message": "${message}", "code": "${code}", "status": "${status}", "ref": "execution ${execution_id}"}});
    app.put_integration("err-shape", d).await;
    let (status, id, body) = post(&app, "err/shape", &secret, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body,
        json!({"message": "customer is missing", "code": "script_error", "status": 400, "ref": format!("execution {id}")})
    );
    let exec = app.wait_final(&id).await;
    assert_eq!(exec["status"], "errored", "{exec}");
    assert_eq!(exec["response"]["status"], 400);
    // A fail step's refusal takes the same shape, with its own status.
    let (status, _, body) = post(&app, "err/shape", &secret, json!({"customer": "blocked"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["message"], "this customer is blocked");
    assert_eq!(body["code"], "rejected");
    assert_eq!(body["status"], 403);
    let (status, _, body) = post(&app, "err/shape", &secret, json!({"customer": "c1"})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"ok": true})));

    // Without one, the fixed answer stays: 500 flow_failed, no detail.
    app.put_integration("err-plain", doc("err/plain", &key, json!([check_customer])))
        .await;
    let (status, _, body) = post(&app, "err/plain", &secret, json!({})).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"]["code"], "flow_failed");
    assert!(!body.to_string().contains("customer is missing"), "{body}");

    // The flow's error handler answers with a message built from the error.
    let mut d = doc(
        "err/handled",
        &key,
        json!([
            check_customer,
            {"type": "respond", "status": 200, "body": {"ok": true}}
        ]),
    );
    d["on_error"] = json!([
        {"type": "log", "level": "warn", "message_expr": "`refused: ${vars.error.message}`"},
        {"type": "respond", "status": 422, "body_expr": "#{message: `could not process: ${vars.error.message}`}"}
    ]);
    let saved = app.put_integration("err-handled", d).await;
    assert_eq!(
        saved["on_error"].as_array().map(Vec::len),
        Some(2),
        "{saved}"
    );
    let (status, id, body) = post(&app, "err/handled", &secret, json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body,
        json!({"message": "could not process: customer is missing"})
    );
    let exec = app.wait_final(&id).await;
    let steps: Vec<(&str, &str)> = exec["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["index"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("0", "error"),
            ("1", "skipped"),
            ("on_error.0", "ok"),
            ("on_error.1", "ok")
        ],
        "{exec}"
    );
    assert_eq!(exec["logs"][0]["message"], "refused: customer is missing");
    // Division by zero: Rhai's message, with the place in the snippet.
    let (status, _, body) = post(&app, "err/handled", &secret, json!({"customer": ""})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("Division by zero") && message.contains("`code` line 2"),
        "{message}"
    );

    // A handler that does not answer leaves the error standing (500 without a shape).
    let mut d = doc("err/logged", &key, json!([check_customer]));
    d["on_error"] = json!([{"type": "log", "message_expr": "vars.error.message"}]);
    app.put_integration("err-logged", d).await;
    let (status, id, _) = post(&app, "err/logged", &secret, json!({})).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let exec = app.wait_final(&id).await;
    assert_eq!(exec["status"], "errored");
    assert!(
        exec["error"]
            .as_str()
            .unwrap()
            .contains("customer is missing"),
        "{exec}"
    );

    // A bad error answer is refused when saved.
    let mut d = doc("err/bad", &key, json!([]));
    d["trigger"]["error_response"] = json!({"status": 200, "body": {}});
    d["on_error"] = json!([{"type": "for_each", "items": "", "steps": []}]);
    let (status, body) = app
        .send(Method::PUT, "/api/v1/integrations/err-bad", Some(d))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let text = body.to_string();
    assert!(text.contains("trigger.error_response.status"), "{body}");
    assert!(text.contains("on_error[0].items"), "{body}");
    app.stop().await;
}
on_both!(errors_are_answered_the_way_the_designer_chose);

async fn a_batch_is_processed_item_by_item(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("sendgrid").await;
    // One event per item of the batch; a bad item is set aside, the others go on.
    let mut d = doc(
        "sg/events",
        &key,
        json!([
            {"type": "script", "code": "vars.kept = []; vars.refused = [];"},
            {"type": "for_each", "items": "request.body", "as": "event", "max_items": 10, "steps": [
                {"type": "try", "steps": [
                    {"type": "script", "code": "if vars.event.event == \"bounce\" { throw `bounced: ${vars.event.reason}`; }"},
                    {"type": "emit", "event": "email.event", "payload_expr": "#{message_id: vars.event.sg_message_id, event: vars.event.event}"},
                    {"type": "script", "code": "vars.kept.push(vars.index);"}
                ], "catch": [
                    {"type": "script", "code": "vars.refused.push(#{index: vars.index, why: vars.error.message});"}
                ]}
            ]},
            {"type": "respond", "status": 200, "body_expr": "#{kept: vars.kept, refused: vars.refused}"}
        ]),
    );
    d["trigger"]["request_response"] = json!(true);
    app.put_integration("sg-events", d).await;
    let (status, id, body) = post(&app, "sg/events", &secret, sendgrid_batch()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"kept": [0, 1], "refused": [{"index": 2, "why": "bounced: 550 5.1.1 unknown user"}]})
    );
    let exec = app.wait_final(&id).await;
    assert_eq!(exec["status"], "succeeded");
    // More items than allowed: refused before any is handled.
    let many: Vec<Value> = (0..11)
        .map(|i| json!({"event": "open", "sg_message_id": i}))
        .collect();
    let (status, id, _) = post(&app, "sg/events", &secret, Value::Array(many)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let exec = app.wait_final(&id).await;
    assert!(
        exec["error"]
            .as_str()
            .unwrap()
            .contains("more than max_items (10)"),
        "{exec}"
    );
    app.stop().await;
}
on_both!(a_batch_is_processed_item_by_item);
