//! Consumer calls: answers, every error case, keys, query parameters, bodies.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::{doc, identity_event, identity_steps, Db, TestApp};

async fn request_response_answers_and_records(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("identity").await;
    app.put_integration(
        "create-customer",
        doc("acme/CreateCustomerRecord", &key, identity_steps()),
    )
    .await;
    let resp = app
        .call(Method::POST, "acme/CreateCustomerRecord")
        .header("x-api-key", &secret)
        .json(&identity_event())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let id = resp.headers()["x-flowgate-execution-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"ok": true, "entity": "USER:IDNUMBER1234", "event": "update", "email_domain": "example.com"})
    );
    let exec = app.wait_final(&id).await;
    assert_eq!(exec["status"], "succeeded");
    assert_eq!(exec["integration"], "create-customer");
    assert_eq!(exec["version"], 1);
    assert_eq!(exec["mode"], "sync");
    assert_eq!(exec["response"]["status"], 200);
    assert_eq!(exec["response"]["body"]["entity"], "USER:IDNUMBER1234");
    assert_eq!(exec["request"]["body"]["id"], "IDNUMBER1234");
    assert_eq!(exec["request"]["method"], "POST");
    // The consumer's key never reaches the stored request.
    assert!(exec["request"]["headers"].get("x-api-key").is_none());
    assert!(!exec.to_string().contains(&secret));
    let steps = exec["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[0]["type"], "map");
    assert!(steps.iter().all(|s| s["status"] == "ok"), "{exec}");
    for field in ["received_at", "started_at", "finished_at"] {
        assert!(
            exec[field].as_str().unwrap().ends_with('Z'),
            "{field}: {exec}"
        );
    }
    app.stop().await;
}
on_both!(request_response_answers_and_records);

async fn consumer_errors_are_clear(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    let (other_key, other_secret) = app.create_key("other").await;
    let _ = other_key;
    let mut d = doc(
        "acme/Strict",
        &key,
        json!([{"type": "respond", "status": 200, "body_expr": "request.query"}]),
    );
    d["trigger"]["max_body_bytes"] = json!(64);
    d["trigger"]["content_types"] = json!(["application/json"]);
    d["trigger"]["query_params"] =
        json!([{"name": "country", "default": "SE"}, {"name": "dryRun", "required": true}]);
    app.put_integration("strict", d).await;

    let send = |m: Method, key: Option<&str>, q: &str, ct: Option<&str>, body: Vec<u8>| {
        let mut r = app.call(m, &format!("acme/Strict{q}"));
        if let Some(k) = key {
            r = r.header("x-api-key", k);
        }
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        async move {
            let resp = r.body(body).send().await.unwrap();
            let status = resp.status();
            let allow = resp
                .headers()
                .get("allow")
                .map(|v| v.to_str().unwrap().to_owned());
            let v: Value = resp.json().await.unwrap_or(Value::Null);
            (status, v, allow)
        }
    };
    let json_ct = Some("application/json");
    // Unknown path.
    let resp = app.call(Method::POST, "acme/Nope").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Method not enabled.
    let (s, b, allow) = send(Method::GET, Some(&secret), "?dryRun=1", None, vec![]).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(b["error"]["code"], "method_not_allowed");
    assert_eq!(allow.as_deref(), Some("POST"));
    // Missing, wrong, and not-allowed keys: 401 with the same body.
    let (s1, b1, _) = send(Method::POST, None, "?dryRun=1", json_ct, b"{}".to_vec()).await;
    let (s2, b2, _) = send(
        Method::POST,
        Some("fg_wrong"),
        "?dryRun=1",
        json_ct,
        b"{}".to_vec(),
    )
    .await;
    let (s3, b3, _) = send(
        Method::POST,
        Some(&other_secret),
        "?dryRun=1",
        json_ct,
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(
        (s1, s2, s3),
        (
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED
        )
    );
    assert_eq!(b1, b2);
    assert_eq!(b2, b3);
    assert_eq!(b1["error"]["code"], "invalid_api_key");
    // Missing required query parameter, named.
    let (s, b, _) = send(Method::POST, Some(&secret), "", json_ct, b"{}".to_vec()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"]["code"], "missing_query_parameter");
    assert!(b["error"]["message"].as_str().unwrap().contains("dryRun"));
    // Too large.
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(100)).into_bytes();
    let (s, b, _) = send(Method::POST, Some(&secret), "?dryRun=1", json_ct, big).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(b["error"]["code"], "payload_too_large");
    // Content type not accepted.
    let (s, b, _) = send(
        Method::POST,
        Some(&secret),
        "?dryRun=1",
        Some("text/plain"),
        b"hi".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(b["error"]["code"], "unsupported_media_type");
    // Broken JSON.
    let (s, b, _) = send(
        Method::POST,
        Some(&secret),
        "?dryRun=1",
        json_ct,
        b"{\"a\":".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"]["code"], "invalid_json");
    // And the good call: defaults applied, given values kept.
    let (s, b, _) = send(
        Method::POST,
        Some(&secret),
        "?dryRun=yes",
        json_ct,
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b, json!({"country": "SE", "dryRun": "yes"}));
    let (_, b, _) = send(
        Method::POST,
        Some(&secret),
        "?dryRun=no&country=NO",
        json_ct,
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(b, json!({"country": "NO", "dryRun": "no"}));
    app.stop().await;
}
on_both!(consumer_errors_are_clear);

async fn revoked_key_fails_at_once(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    app.put_integration(
        "r",
        doc(
            "r/x",
            &key,
            json!([{"type": "respond", "status": 200, "body": {"ok": true}}]),
        ),
    )
    .await;
    let ok = app
        .call(Method::POST, "r/x")
        .header("x-api-key", &secret)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let (status, _) = app
        .send(Method::DELETE, &format!("/api/v1/keys/{key}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let after = app
        .call(Method::POST, "r/x")
        .header("x-api-key", &secret)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    // Revoking twice: not found.
    let (status, _) = app
        .send(Method::DELETE, &format!("/api/v1/keys/{key}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}
on_both!(revoked_key_fails_at_once);

async fn fail_error_and_completed_answers(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    app.put_integration(
        "reject",
        doc(
            "f/reject",
            &key,
            json!([
                {"type": "condition", "if": "request.body.email == ()", "then": [
                    {"type": "fail", "status": 422, "message": "email is required"}
                ]},
                {"type": "respond", "status": 200, "body": {"ok": true}}
            ]),
        ),
    )
    .await;
    app.put_integration(
        "broken",
        doc(
            "f/broken",
            &key,
            json!([
                {"type": "script", "code": "let x = 1; x = x / 0;"}
            ]),
        ),
    )
    .await;
    app.put_integration(
        "loop",
        doc(
            "f/loop",
            &key,
            json!([
                {"type": "script", "code": "loop { }"}
            ]),
        ),
    )
    .await;
    app.put_integration(
        "done",
        doc(
            "f/done",
            &key,
            json!([
                {"type": "log", "message": "nothing to answer"}
            ]),
        ),
    )
    .await;

    let r = app
        .call(Method::POST, "f/reject")
        .header("x-api-key", &secret)
        .json(&json!({"id": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let id = r.headers()["x-flowgate-execution-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["message"], "email is required");
    assert_eq!(b["error"]["execution_id"], id.as_str());
    let exec = app.wait_final(&id).await;
    assert_eq!(exec["status"], "failed");
    let r = app
        .call(Method::POST, "f/reject")
        .header("x-api-key", &secret)
        .json(&json!({"email": "a@b.c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    for path in ["f/broken", "f/loop"] {
        let r = app
            .call(Method::POST, path)
            .header("x-api-key", &secret)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"]["code"], "flow_failed", "{b}");
        let id = b["error"]["execution_id"].as_str().unwrap().to_owned();
        let exec = app.wait_final(&id).await;
        assert_eq!(exec["status"], "errored");
        assert!(exec["error"].as_str().is_some());
        assert_eq!(exec["steps"][0]["status"], "error", "{exec}");
    }
    let r = app
        .call(Method::POST, "f/done")
        .header("x-api-key", &secret)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["status"], "succeeded");
    let exec = app.wait_final(b["execution_id"].as_str().unwrap()).await;
    assert_eq!(exec["logs"][0]["message"], "nothing to answer");
    // The server is still fine after the hostile flows.
    let (status, _) = app.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}
on_both!(fail_error_and_completed_answers);

async fn bodies_of_every_kind_reach_the_flow(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut d = doc(
        "b/echo",
        "unused",
        json!([
            {"type": "respond", "status": 200, "body_expr": "#{kind: type_of(request.body), method: request.method, ua: request.headers[\"x-test\"]}"}
        ]),
    );
    d["trigger"]["auth"] = json!({"type": "none"});
    d["trigger"]["methods"] = json!(["GET", "POST"]);
    app.put_integration("echo", d).await;
    let cases: Vec<(Option<&str>, Vec<u8>, &str)> = vec![
        (Some("application/json"), b"{\"a\":1}".to_vec(), "map"),
        (
            Some("application/x-www-form-urlencoded"),
            b"a=1&b=two".to_vec(),
            "map",
        ),
        (Some("text/plain"), b"hello".to_vec(), "string"),
        (Some("application/xml"), b"<a>1</a>".to_vec(), "string"),
        (Some("application/octet-stream"), vec![0, 1, 2, 255], "blob"),
    ];
    for (ct, body, kind) in cases {
        let mut r = app.call(Method::POST, "b/echo").header("x-test", "yes");
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        let resp = r.body(body).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{ct:?}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["kind"], kind, "{ct:?}: {v}");
        assert_eq!(v["ua"], "yes");
    }
    let resp = app
        .call(Method::GET, "b/echo")
        .header("x-test", "yes")
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["kind"], "()");
    assert_eq!(v["method"], "GET");
    app.stop().await;
}
on_both!(bodies_of_every_kind_reach_the_flow);

/// Consumer answers are sandboxed on the admin origin; flows cannot set cookies or hop-by-hop
/// headers, nor redirect without the trigger's opt-in. Admin answers carry a strict policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_cannot_attack_the_admin_origin() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let (key, secret) = app.create_key("k").await;
    let page = json!([{"type": "respond", "status": 200,
        "headers": {"content-type": "text/html", "set-cookie": "flowgate_session=stolen; Path=/",
                    "connection": "close", "content-security-policy": "default-src *", "x-custom": "kept"},
        "body": "<script>fetch('/api/v1/keys')</script>"}]);
    app.put_integration("page", doc("evil/page", &key, page))
        .await;
    let resp = app
        .call(Method::POST, "evil/page")
        .header("x-api-key", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    assert_eq!(h["content-security-policy"], "sandbox; default-src 'none'");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h.get("set-cookie").is_none(), "{h:?}");
    assert_eq!(h["x-custom"], "kept");
    assert_eq!(h["content-type"], "text/html");
    // Errors under /t/ are sandboxed as well.
    let resp = app.call(Method::POST, "evil/page").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()["content-security-policy"],
        "sandbox; default-src 'none'"
    );

    let redirect = json!([{"type": "respond", "status": 302, "headers": {"location": "https://example.com/phish"}}]);
    app.put_integration("hop", doc("evil/hop", &key, redirect.clone()))
        .await;
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("{}/t/evil/hop", app.base);
    let resp = no_follow
        .post(&url)
        .header("x-api-key", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(resp.headers().get("location").is_none());
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["code"],
        "redirect_not_allowed"
    );
    let mut d = doc("evil/hop", &key, redirect);
    d["trigger"]["allow_redirects"] = json!(true);
    app.put_integration("hop", d).await;
    let resp = no_follow
        .post(&url)
        .header("x-api-key", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(resp.headers()["location"], "https://example.com/phish");

    // The admin API and the UI.
    for path in ["/api/v1/auth/me", "/", "/integrations"] {
        let resp = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("unsafe-inline'; script")
                && !csp.contains("script-src 'self' 'unsafe-inline'"),
            "{csp}"
        );
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h.get("strict-transport-security").is_none());
    }
    // Behind a TLS-terminating proxy: HSTS and a Secure session cookie.
    let resp = app
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("x-forwarded-proto", "https")
        .json(&json!({"email": crate::support::ADMIN_EMAIL, "password": crate::support::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let cookie = resp.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    app.stop().await;
}

/// Oversized heads get 431 before anything runs; admin bodies that are too large or not JSON
/// get 413 / 415, all in the JSON error shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_heads_and_wrong_admin_bodies_are_refused_clearly() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let (key, secret) = app.create_key("k").await;
    app.put_integration(
        "echo",
        doc(
            "heads/echo",
            &key,
            json!([{"type": "respond", "status": 200, "body_expr": "request.headers"}]),
        ),
    )
    .await;
    let big = "x".repeat(100 * 1024);
    let resp = app
        .call(Method::POST, "heads/echo")
        .header("x-api-key", &secret)
        .header("x-big", &big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["code"],
        "headers_too_large"
    );
    assert!(app.all_executions("echo").await.is_empty(), "nothing ran");
    // A head under the limit still reaches the flow.
    let fine = "y".repeat(8 * 1024);
    let resp = app
        .call(Method::POST, "heads/echo")
        .header("x-api-key", &secret)
        .header("x-fine", &fine)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap()["x-fine"], fine.as_str());

    let resp = app
        .http
        .put(format!("{}/api/v1/integrations/x", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body(format!("{{\"name\": \"{}\"}}", "n".repeat(5 * 1024 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["code"],
        "payload_too_large"
    );
    let resp = app
        .http
        .post(format!("{}/api/v1/keys", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "text/plain")
        .body(r#"{"label": "x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["code"],
        "unsupported_media_type"
    );
    app.stop().await;
}

/// PostgreSQL's text refuses NUL: a NUL in any caller-controlled field is refused at the edge
/// (keys) or stored replaced (messages), and never sinks the journal's other writes.
async fn nul_bytes_never_fail_the_journal(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    let echo = json!([
        {"type": "condition", "if": "request.body.fail == true", "then": [
            {"type": "fail", "status": 422, "message_expr": "request.body.msg"}]},
        {"type": "respond", "status": 200, "body_expr": "#{q: request.query.q, msg: request.body.msg}"}]);
    app.put_integration("nul", doc("nul/echo", &key, echo))
        .await;
    let mut lanes = doc("nul/lanes", &key, json!([]));
    lanes["trigger"]["ordered"] = json!(true);
    lanes["trigger"]["request_response"] = json!(false);
    lanes["trigger"]["lane_key"] = json!("$.customer");
    app.put_integration("lanes", lanes).await;
    let mut idem = doc("nul/idem", &key, json!([]));
    idem["trigger"]["request_response"] = json!(false);
    idem["trigger"]["idempotency"] = json!({"header": "Idempotency-Key", "body_path": "$.eventId"});
    app.put_integration("idem", idem).await;

    let post = |path: &'static str, q: &'static str, body: Value| {
        let req = app
            .call(Method::POST, &format!("{path}{q}"))
            .header("x-api-key", &secret)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let resp = post("nul/echo", "?q=a%00b", json!({"msg": "hello\u{0}world"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let id = resp.headers()["x-flowgate-execution-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"q": "a\u{0}b", "msg": "hello\u{0}world"})
    );
    let exec = app.wait_final(&id).await;
    assert_eq!(exec["request"]["body"]["msg"], "hello\u{0}world");
    let resp = post(
        "nul/echo",
        "",
        json!({"fail": true, "msg": "bad\u{0}input"}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let id = resp.headers()["x-flowgate-execution-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let exec = app.wait_final(&id).await;
    assert_eq!(exec["status"], "failed");
    assert!(
        exec["error"].as_str().unwrap().contains("bad\u{FFFD}input"),
        "{exec}"
    );

    for (path, body, says) in [
        ("nul/lanes", json!({"customer": "a\u{0}b"}), "lane key"),
        ("nul/idem", json!({"eventId": "e\u{0}1"}), "idempotency key"),
    ] {
        let resp = post(path, "", body).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let msg = resp.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(msg.contains(says) && msg.contains("NUL"), "{msg}");
    }
    // The journal is unharmed: calls go on being accepted and recorded.
    let resp = post("nul/lanes", "", json!({"customer": "c1"})).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let id = resp.json::<Value>().await.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.wait_final(&id).await["status"], "succeeded");
    app.stop().await;
}
on_both!(nul_bytes_never_fail_the_journal);

/// With `consumer_listen`, consumers are served on their own address and the admin origin
/// serves none of their endpoints (and the other way round).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_can_have_a_listener_of_their_own() {
    let (cfg, _dir) = crate::support::fresh_config(Db::Sqlite).await;
    let admin = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let consumers = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let admin_base = format!("http://{}", admin.local_addr().unwrap());
    let consumer_base = format!("http://{}", consumers.local_addr().unwrap());
    let running = flowgate::start_with(cfg, admin, Some(consumers))
        .await
        .unwrap();
    let handle = running.handle();
    let done = tokio::spawn(running.wait());
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{admin_base}/api/v1/auth/login"))
        .json(&json!({"email": crate::support::ADMIN_EMAIL, "password": crate::support::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let key: Value = http
        .post(format!("{admin_base}/api/v1/keys"))
        .bearer_auth(&token)
        .json(&json!({"label": "k"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let d = doc(
        "split/echo",
        key["id"].as_str().unwrap(),
        json!([{"type": "respond", "status": 200, "body": {"ok": true}}]),
    );
    let r = http
        .put(format!("{admin_base}/api/v1/integrations/split"))
        .bearer_auth(&token)
        .json(&d)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let secret = key["secret"].as_str().unwrap();
    let call = |base: &str| {
        http.post(format!("{base}/t/split/echo"))
            .header("x-api-key", secret)
            .send()
    };
    assert_eq!(call(&consumer_base).await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        call(&admin_base).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let me = http
        .get(format!("{consumer_base}/api/v1/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::NOT_FOUND);
    let ui = http.get(format!("{consumer_base}/")).send().await.unwrap();
    assert_eq!(ui.status(), StatusCode::NOT_FOUND);
    for base in [&admin_base, &consumer_base] {
        let h = http.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(
            h.status(),
            StatusCode::OK,
            "{base}: readiness answers on both"
        );
    }
    let tok = http
        .post(format!("{consumer_base}/oauth/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        tok.status(),
        StatusCode::BAD_REQUEST,
        "the token endpoint is a consumer one"
    );
    handle.stop(true).await;
    done.await.unwrap().unwrap();
}
