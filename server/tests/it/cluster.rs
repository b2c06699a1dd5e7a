//! Two `flowgate` instances on one PostgreSQL database behave as one system.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{doc, fresh_config, Db, TestApp};

fn echo_steps() -> Value {
    json!([
        {"type": "script", "code": "let x = 0; for i in 0..200 { x += i; } vars.x = x;"},
        {"type": "respond", "status": 200, "body_expr": "#{n: request.body.n}"}
    ])
}

async fn call(app: &TestApp, path: &str, secret: &str, n: i64) -> reqwest::Response {
    app.call(Method::POST, path)
        .header("x-api-key", secret)
        .json(&json!({ "n": n }))
        .send()
        .await
        .unwrap()
}

/// Waits until `app` answers a call of `path` with `want` (it learns of changes made on the
/// other instance through a notification).
async fn until_status(app: &TestApp, path: &str, secret: &str, want: StatusCode) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = call(app, path, secret, -1).await.status();
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{path} answered {got}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_work_and_keep_order() {
    let (mut cfg, dir) = fresh_config(Db::Postgres).await;
    cfg.cluster.heartbeat_ms = 200;
    cfg.cluster.dead_after_ms = 1_000;
    let a = TestApp::spawn_with(Db::Postgres, cfg.clone(), dir.clone()).await;
    let b = TestApp::spawn_with(Db::Postgres, cfg, dir).await;
    let (key, secret) = a.create_key("k").await;
    let mut ordered = doc("c/ordered", &key, echo_steps());
    ordered["trigger"]["request_response"] = json!(false);
    ordered["trigger"]["ordered"] = json!(true);
    a.put_integration("ordered", ordered).await;
    let mut parallel = doc("c/parallel", &key, echo_steps());
    parallel["trigger"]["request_response"] = json!(false);
    a.put_integration("parallel", parallel).await;
    let mut ordered_sync = doc("c/ordered-sync", &key, echo_steps());
    ordered_sync["trigger"]["ordered"] = json!(true);
    a.put_integration("ordered-sync", ordered_sync).await;
    // B serves what was made on A.
    until_status(&b, "c/parallel", &secret, StatusCode::ACCEPTED).await;
    until_status(&b, "c/ordered-sync", &secret, StatusCode::OK).await;

    // Calls spread over both instances.
    let mut accepted = Vec::new();
    for n in 0..400i64 {
        let app = if n % 2 == 0 { &a } else { &b };
        for path in ["c/ordered", "c/parallel"] {
            let r = call(app, path, &secret, n).await;
            assert_eq!(r.status(), StatusCode::ACCEPTED);
            let body: Value = r.json().await.unwrap();
            accepted.push((path, n, body["execution_id"].as_str().unwrap().to_owned()));
        }
    }
    // Request-response callers on an ordered trigger get their own answer, whichever
    // instance runs the lane.
    for n in 0..20i64 {
        let app = if n % 2 == 0 { &a } else { &b };
        let r = call(app, "c/ordered-sync", &secret, n).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.json::<Value>().await.unwrap()["n"], n);
    }
    for (path, n, id) in &accepted {
        let e = a.wait_final(id).await;
        assert_eq!(e["status"], "succeeded", "{path} {n}: {e}");
        assert_eq!(e["response"]["body"]["n"], *n, "{e}");
        assert_eq!(e["attempts"], 1, "ran more than once: {e}");
    }
    let mut lane = a.all_executions("ordered").await;
    lane.retain(|e| e["sequence"].as_i64().is_some());
    lane.sort_by_key(|e| e["sequence"].as_i64());
    assert!(lane.len() >= 400);
    for w in lane.windows(2) {
        assert!(w[0]["sequence"].as_i64() < w[1]["sequence"].as_i64());
        assert!(
            w[0]["finished_at"].as_str() <= w[1]["started_at"].as_str(),
            "overlap: {} / {}",
            w[0],
            w[1]
        );
    }

    // A key revoked on A is refused by B at once (well, within a notification).
    let (status, _) = a
        .send(Method::DELETE, &format!("/api/v1/keys/{key}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    until_status(&b, "c/parallel", &secret, StatusCode::UNAUTHORIZED).await;

    // A leaves; B takes over its ordered lane and runs what comes next.
    let (key2, secret2) = b.create_key("k2").await;
    let mut ordered = doc("c/ordered", &key2, echo_steps());
    ordered["trigger"]["request_response"] = json!(false);
    ordered["trigger"]["ordered"] = json!(true);
    b.put_integration("ordered", ordered).await;
    a.stop().await;
    let r = call(&b, "c/ordered", &secret2, 1000).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let id = r.json::<Value>().await.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(b.wait_final(&id).await["status"], "succeeded");
    b.stop().await;
}
