//! What the web UI needs of the admin API: drafts, publish, rollback, enable/disable,
//! validation, test runs, call statistics.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::{doc, identity_event, identity_steps, Db, TestApp};

/// A flow answering `{"v": n}`.
fn answering(n: i64) -> Value {
    json!([{"type": "respond", "status": 200, "body": {"v": n}}])
}

async fn call(app: &TestApp, path: &str, secret: &str) -> (StatusCode, Value) {
    let resp = app
        .call(Method::POST, path)
        .header("x-api-key", secret)
        .json(&identity_event())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn put_draft(app: &TestApp, slug: &str, d: Value) -> (StatusCode, Value) {
    app.send(
        Method::PUT,
        &format!("/api/v1/integrations/{slug}/draft"),
        Some(d),
    )
    .await
}

async fn publish(app: &TestApp, slug: &str, body: Option<Value>) -> (StatusCode, Value) {
    app.send(
        Method::POST,
        &format!("/api/v1/integrations/{slug}/publish"),
        body,
    )
    .await
}

async fn drafts_publish_and_rollback(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;

    // A draft is saved whatever its problems; it creates the integration, unpublished.
    let mut broken = doc(
        "acme/orders",
        &key,
        json!([
            {"type": "log", "message": "hi"},
            {"type": "script", "code": "let x = ;"}
        ]),
    );
    broken["name"] = json!("");
    let (status, draft) = put_draft(&app, "orders", broken).await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!(draft["is_draft"], true);
    assert_eq!(draft["based_on_version"], 0);
    let problems = draft["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["path"] == "steps[1].code" && p["step"] == "1" && p["field"] == "code"),
        "{draft}"
    );
    assert!(problems.iter().any(|p| p["path"] == "name"), "{draft}");
    let (status, out) = app.get("/api/v1/integrations/orders").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["status"], "draft");
    assert_eq!(out["version"], 0);
    assert_eq!(out["has_draft"], true);
    assert_eq!(out["endpoint"], "/t/acme/orders");
    let (_, list) = app.get("/api/v1/integrations").await;
    assert_eq!(list["items"][0]["slug"], "orders");
    assert_eq!(list["items"][0]["status"], "draft");
    // Not routed; no versions; the draft cannot be discarded; an invalid draft cannot be
    // published.
    let (status, _) = call(&app, "acme/orders", &secret).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, versions) = app.get("/api/v1/integrations/orders/versions").await;
    assert_eq!(versions["items"], json!([]));
    let (status, body) = app
        .send(Method::DELETE, "/api/v1/integrations/orders/draft", None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = publish(&app, "orders", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
    assert!(!body["error"]["details"].as_array().unwrap().is_empty());
    let (status, body) = app
        .send(
            Method::PATCH,
            "/api/v1/integrations/orders",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/integrations/orders/replay",
            Some(json!({"status": "failed"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Keys list only published integrations.
    let (_, keys) = app.get("/api/v1/keys").await;
    assert_eq!(keys["items"][0]["integrations"], json!([]));

    // A never-published integration's draft holds its path against others.
    let (status, body) = put_draft(&app, "other", doc("acme/orders", &key, answering(0))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = app
        .send(
            Method::PUT,
            "/api/v1/integrations/other",
            Some(doc("acme/orders", &key, answering(0))),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Bad slugs and bad JSON are refused as on save.
    let (status, body) = put_draft(&app, "Bad Slug", doc("x/y", &key, json!([]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = put_draft(&app, "orders", json!({"name": "x", "trigger": 5})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");

    // Fixed draft: saved (200), no problems; published as version 1 and served.
    let (status, draft) = put_draft(&app, "orders", doc("acme/orders", &key, answering(1))).await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    assert_eq!(draft["problems"], json!([]));
    let (status, out) = publish(&app, "orders", None).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["version"], 1);
    assert_eq!(out["status"], "published");
    assert_eq!(out["has_draft"], false);
    assert_eq!(call(&app, "acme/orders", &secret).await.1, json!({"v": 1}));
    let (_, keys) = app.get("/api/v1/keys").await;
    assert_eq!(keys["items"][0]["integrations"], json!(["orders"]));
    // Without a draft: the published document; nothing to discard or publish.
    let (status, current) = app.get("/api/v1/integrations/orders/draft").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(current["is_draft"], false);
    assert_eq!(current["based_on_version"], 1);
    assert_eq!(current["saved_at"], out["updated_at"]);
    assert_eq!(current["document"]["steps"], answering(1));
    let (status, body) = app
        .send(Method::DELETE, "/api/v1/integrations/orders/draft", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, body) = publish(&app, "orders", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "no_draft");

    // A draft of a published integration is not live until published.
    put_draft(&app, "orders", doc("acme/orders", &key, answering(2))).await;
    let (_, out) = app.get("/api/v1/integrations/orders").await;
    assert_eq!(
        (out["has_draft"].clone(), out["version"].clone()),
        (json!(true), json!(1))
    );
    assert_eq!(call(&app, "acme/orders", &secret).await.1, json!({"v": 1}));
    let (_, draft) = app.get("/api/v1/integrations/orders/draft").await;
    assert_eq!(draft["is_draft"], true);
    assert_eq!(draft["based_on_version"], 1);
    let (status, out) = publish(&app, "orders", Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["version"], 2);
    assert_eq!(call(&app, "acme/orders", &secret).await.1, json!({"v": 2}));

    // Rollback: version 1's document again, as version 3.
    let (status, out) = publish(&app, "orders", Some(json!({"version": 1}))).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["version"], 3);
    assert_eq!(call(&app, "acme/orders", &secret).await.1, json!({"v": 1}));
    let (_, versions) = app.get("/api/v1/integrations/orders/versions").await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 3);
    let (status, body) = publish(&app, "orders", Some(json!({"version": 99}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = publish(&app, "orders", Some(json!({"versoin": 1}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Discarding a draft; a direct save discards one too.
    put_draft(&app, "orders", doc("acme/orders", &key, answering(4))).await;
    let (status, _) = app
        .send(Method::DELETE, "/api/v1/integrations/orders/draft", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, current) = app.get("/api/v1/integrations/orders/draft").await;
    assert_eq!(current["is_draft"], false);
    assert_eq!(current["document"]["steps"], answering(1));
    put_draft(&app, "orders", doc("acme/orders", &key, answering(5))).await;
    let saved = app
        .put_integration("orders", doc("acme/orders", &key, answering(6)))
        .await;
    assert_eq!(saved["has_draft"], false);
    assert_eq!(saved["version"], 4);
    assert_eq!(call(&app, "acme/orders", &secret).await.1, json!({"v": 6}));

    // A never-published integration survives a restart unrouted; deleting it removes its
    // draft.
    put_draft(&app, "later", doc("acme/later", &key, answering(7))).await;
    let (cfg, dir) = app.stop().await;
    let app = TestApp::spawn_with(db, cfg, dir).await;
    let (status, _) = call(&app, "acme/later", &secret).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(call(&app, "acme/orders", &secret).await.1, json!({"v": 6}));
    let (_, out) = app.get("/api/v1/integrations/later").await;
    assert_eq!(out["status"], "draft");
    let (status, _) = app
        .send(Method::DELETE, "/api/v1/integrations/later", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/api/v1/integrations/later/draft").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Its path is free again.
    let (status, body) = put_draft(&app, "later2", doc("acme/later", &key, answering(8))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}
on_both!(drafts_publish_and_rollback);

async fn enable_and_disable(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    app.put_integration("sw", doc("acme/sw", &key, answering(1)))
        .await;
    put_draft(&app, "sw", doc("acme/sw", &key, answering(2))).await;
    let (status, out) = app
        .send(
            Method::PATCH,
            "/api/v1/integrations/sw",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["status"], "disabled");
    assert_eq!(out["enabled"], false);
    assert_eq!(out["version"], 1, "no new version");
    assert_eq!(out["has_draft"], true);
    let (status, body) = call(&app, "acme/sw", &secret).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, list) = app.get("/api/v1/integrations").await;
    assert_eq!(list["items"][0]["status"], "disabled");
    // The draft follows, so publishing it does not switch the endpoint back on.
    let (_, draft) = app.get("/api/v1/integrations/sw/draft").await;
    assert_eq!(draft["document"]["enabled"], false);
    // Still disabled after a restart (and for other instances, which reload the same way).
    let (cfg, dir) = app.stop().await;
    let app = TestApp::spawn_with(db, cfg, dir).await;
    assert_eq!(
        call(&app, "acme/sw", &secret).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, out) = app
        .send(
            Method::PATCH,
            "/api/v1/integrations/sw",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["status"], "published");
    assert_eq!(call(&app, "acme/sw", &secret).await.1, json!({"v": 1}));
    // An empty patch changes nothing; unknown fields and unknown slugs are refused.
    let (status, out) = app
        .send(Method::PATCH, "/api/v1/integrations/sw", Some(json!({})))
        .await;
    assert_eq!(
        (status, out["enabled"].clone()),
        (StatusCode::OK, json!(true))
    );
    let (status, _) = app
        .send(
            Method::PATCH,
            "/api/v1/integrations/sw",
            Some(json!({"enabled": true, "name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .send(
            Method::PATCH,
            "/api/v1/integrations/nope",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}
on_both!(enable_and_disable);

async fn validate_without_saving(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, _) = app.create_key("k").await;
    let bad = doc(
        "a//b",
        &key,
        json!([{"type": "condition", "if": "true", "then": [{"type": "script", "code": "let x = ;"}]}]),
    );
    let (status, out) = app
        .send(Method::POST, "/api/v1/integrations/validate", Some(bad))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let paths: Vec<&str> = out["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["trigger.path", "steps[0].then[0].code"], "{out}");
    assert_eq!(out["problems"][1]["step"], "0.then.0");
    let (status, out) = app
        .send(
            Method::POST,
            "/api/v1/integrations/validate",
            Some(doc("a/b", &key, identity_steps())),
        )
        .await;
    assert_eq!((status, out), (StatusCode::OK, json!({"problems": []})));
    // Nothing was saved; `validate` is no slug.
    let (_, list) = app.get("/api/v1/integrations").await;
    assert_eq!(list["items"], json!([]));
    let (status, body) = app
        .send(
            Method::PUT,
            "/api/v1/integrations/validate",
            Some(doc("a/b", &key, identity_steps())),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["details"][0]["path"], "slug");
    let (status, _) = app.get("/api/v1/integrations/validate").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/integrations/validate",
            Some(json!({"name": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "bad_request");
    app.stop().await;
}
on_both!(validate_without_saving);

async fn test_run(app: &TestApp, slug: &str, body: Value) -> (StatusCode, Value) {
    app.send(
        Method::POST,
        &format!("/api/v1/integrations/{slug}/test"),
        Some(body),
    )
    .await
}

async fn test_runs_record_nothing(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, _) = app.create_key("k").await;
    let mut d = doc(
        "acme/test",
        &key,
        json!([
            {"type": "map", "to": "m", "fields": {"id": "$.request.body.id", "c": "$.request.query.country"}},
            {"type": "log", "message_expr": "`got ${vars.m.id}`"},
            {"type": "script", "code": "vars.out = #{entity: \"USER:\" + vars.m.id, country: vars.m.c};"},
            {"type": "respond", "status": 201, "body_expr": "vars.out"}
        ]),
    );
    d["trigger"]["query_params"] =
        json!([{"name": "country", "default": "SE"}, {"name": "dryRun", "required": true}]);
    d["trigger"]["content_types"] = json!(["application/json"]);
    // The draft of a never-published integration runs by default.
    put_draft(&app, "tested", d.clone()).await;
    let request = json!({"query": {"dryRun": "1"}, "content_type": "application/json",
                         "body": identity_event().to_string()});
    let (status, out) = test_run(&app, "tested", json!({"request": request})).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["status"], "succeeded");
    assert_eq!(out["response"]["status"], 201);
    assert_eq!(
        out["response"]["body"],
        json!({"entity": "USER:IDNUMBER1234", "country": "SE"})
    );
    assert_eq!(out["logs"][0]["message"], "got IDNUMBER1234");
    assert!(out["duration_us"].as_u64().is_some());
    let steps = out["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4);
    assert_eq!(steps[0]["type"], "map");
    assert_eq!(steps[0]["input"], json!({}));
    assert_eq!(
        steps[0]["output"],
        json!({"m": {"id": "IDNUMBER1234", "c": "SE"}})
    );
    assert_eq!(steps[2]["input"], steps[0]["output"]);
    assert_eq!(
        steps[2]["output"]["out"],
        json!({"entity": "USER:IDNUMBER1234", "country": "SE"})
    );
    assert_eq!(steps[3]["status"], "ok");
    assert_eq!(steps[3]["output"], steps[2]["output"]);

    // As a real caller would be answered: missing required parameter, wrong method, wrong
    // content type, invalid JSON; no step runs.
    for (req, status, code) in [
        (
            json!({"content_type": "application/json", "body": "{}"}),
            400,
            "missing_query_parameter",
        ),
        (
            json!({"method": "GET", "query": {"dryRun": "1"}}),
            405,
            "method_not_allowed",
        ),
        (
            json!({"query": {"dryRun": "1"}, "content_type": "text/plain", "body": "x"}),
            415,
            "unsupported_media_type",
        ),
        (
            json!({"query": {"dryRun": "1"}, "headers": {"Content-Type": "application/json"}, "body": "{nope"}),
            400,
            "invalid_json",
        ),
    ] {
        let (s, out) = test_run(&app, "tested", json!({"request": req})).await;
        assert_eq!(s, StatusCode::OK, "{out}");
        assert_eq!(out["status"], "failed", "{out}");
        assert_eq!(out["response"]["status"], status, "{out}");
        assert_eq!(out["response"]["body"]["error"]["code"], code, "{out}");
        assert_eq!(out["steps"], json!([]));
    }
    let (_, out) = test_run(&app, "tested", json!({"request": {"method": "GET"}})).await;
    assert_eq!(out["response"]["headers"]["allow"], "POST");

    // A document given in the request, for a slug that does not exist yet.
    let failing = doc(
        "acme/new",
        &key,
        json!([
            {"type": "script", "code": "vars.a = 1;"},
            {"type": "fail", "status": 422, "message": "no"}
        ]),
    );
    let (status, out) = test_run(&app, "brand-new", json!({"document": failing})).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["status"], "failed");
    assert_eq!(out["response"]["status"], 422);
    assert_eq!(out["error"], "no");
    assert_eq!(out["steps"][1]["input"], json!({"a": 1}));
    assert_eq!(out["steps"][1]["output"], json!({"a": 1}));
    let broken = doc(
        "acme/new",
        &key,
        json!([{"type": "script", "code": "vars.a = 1;\nlet b = vars.a / 0;"}]),
    );
    let (_, out) = test_run(&app, "brand-new", json!({"document": broken})).await;
    assert_eq!(out["status"], "errored", "{out}");
    assert_eq!(out["response"]["status"], 500);
    assert!(out["steps"][0]["error"].as_str().is_some(), "{out}");
    // Without a document the integration must exist; a flow that does not compile is a 400.
    let (status, _) = test_run(&app, "brand-new", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let bad = doc(
        "acme/new",
        &key,
        json!([{"type": "script", "code": "let x = ;"}]),
    );
    let (status, body) = test_run(&app, "brand-new", json!({"document": bad})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(body["error"]["details"][0]["path"], "steps[0].code");
    let (status, _) = test_run(&app, "Bad Slug", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Published: the draft still runs by default; nothing of any test run was recorded.
    app.put_integration("tested", d).await;
    put_draft(
        &app,
        "tested",
        doc(
            "acme/test",
            &key,
            json!([{"type": "respond", "body": "draft"}]),
        ),
    )
    .await;
    let (_, out) = test_run(&app, "tested", json!({})).await;
    assert_eq!(out["response"]["body"], "draft");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, page) = app.get("/api/v1/executions").await;
    assert_eq!(page["items"], json!([]), "test runs are not executions");
    app.stop().await;
}
on_both!(test_runs_record_nothing);

async fn list_shows_call_stats(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    app.put_integration("good", doc("s/good", &key, answering(1)))
        .await;
    app.put_integration(
        "bad",
        doc(
            "s/bad",
            &key,
            json!([{"type": "fail", "status": 409, "message": "no"}]),
        ),
    )
    .await;
    put_draft(&app, "drafted", doc("s/drafted", &key, answering(1))).await;
    for _ in 0..3 {
        assert_eq!(call(&app, "s/good", &secret).await.0, StatusCode::OK);
    }
    for _ in 0..2 {
        assert_eq!(call(&app, "s/bad", &secret).await.0, StatusCode::CONFLICT);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.all_executions("good").await.len() + app.all_executions("bad").await.len() < 5 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, list) = app.get("/api/v1/integrations").await;
    assert_eq!(status, StatusCode::OK);
    let by_slug = |slug: &str| -> Value {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["slug"] == slug)
            .cloned()
            .unwrap()
    };
    let good = by_slug("good")["stats"].clone();
    assert_eq!(
        (good["calls_24h"].clone(), good["errors_24h"].clone()),
        (json!(3), json!(0))
    );
    assert!(good["last_call_at"].as_str().unwrap().ends_with('Z'));
    let bad = by_slug("bad")["stats"].clone();
    assert_eq!(
        (bad["calls_24h"].clone(), bad["errors_24h"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(
        by_slug("drafted")["stats"],
        json!({"last_call_at": null, "calls_24h": 0, "errors_24h": 0})
    );
    // A single GET does not compute them.
    let (_, one) = app.get("/api/v1/integrations/good").await;
    assert!(one.get("stats").is_none(), "{one}");
    app.stop().await;
}
on_both!(list_shows_call_stats);
