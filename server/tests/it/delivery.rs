//! Delivery semantics: request-response timeouts, asynchronous acceptance, ordered lanes,
//! queued calls surviving a restart.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::{doc, fresh_config, Db, TestApp};

/// A flow that keeps the CPU busy for `ms` milliseconds, then echoes `request.body.n`.
fn slow_steps(ms: u64) -> Value {
    json!([
        {"type": "script", "code": format!("let t = now_unix_ms(); while now_unix_ms() - t < {ms} {{ }}")},
        {"type": "respond", "status": 200, "body_expr": "#{n: request.body.n}"}
    ])
}

async fn slow_app(db: Db, concurrency: usize) -> TestApp {
    let (mut cfg, dir) = fresh_config(db).await;
    cfg.runtime.max_operations = 500_000_000;
    cfg.worker.concurrency = concurrency;
    TestApp::spawn_with(db, cfg, dir).await
}

async fn timeout_gives_504_and_execution_goes_on(db: Db) {
    let app = slow_app(db, 4).await;
    let (key, secret) = app.create_key("k").await;
    let mut d = doc("slow/x", &key, slow_steps(600));
    d["trigger"]["timeout_ms"] = json!(100);
    app.put_integration("slow", d).await;
    let started = std::time::Instant::now();
    let r = app
        .call(Method::POST, "slow/x")
        .header("x-api-key", &secret)
        .json(&json!({"n": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(
        started.elapsed() < Duration::from_millis(550),
        "the caller waited {:?}",
        started.elapsed()
    );
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], "timeout");
    let id = b["error"]["execution_id"].as_str().unwrap().to_owned();
    // Visible while it runs, then finished with the flow's answer.
    let exec = app.wait_final(&id).await;
    assert_eq!(exec["status"], "succeeded", "{exec}");
    assert_eq!(exec["response"]["body"]["n"], 7);
    app.stop().await;
}
on_both!(timeout_gives_504_and_execution_goes_on);

/// A flow that needs longer than the inline budget is stopped there and run again on a
/// blocking thread: the caller gets one answer, the execution one log line.
async fn flows_over_the_inline_budget_still_answer(db: Db) {
    let app = slow_app(db, 4).await;
    let (key, secret) = app.create_key("k").await;
    let mut steps = slow_steps(40);
    steps
        .as_array_mut()
        .unwrap()
        .insert(0, json!({"type": "log", "message": "started"}));
    app.put_integration("slowish", doc("slowish/x", &key, steps))
        .await;
    let r = app
        .call(Method::POST, "slowish/x")
        .header("x-api-key", &secret)
        .json(&json!({"n": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let id = r
        .headers()
        .get("x-flowgate-execution-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(r.json::<Value>().await.unwrap()["n"], 3);
    let exec = app.wait_final(&id).await;
    assert_eq!(exec["status"], "succeeded", "{exec}");
    assert_eq!(exec["logs"].as_array().map(Vec::len), Some(1), "{exec}");
    app.stop().await;
}
on_both!(flows_over_the_inline_budget_still_answer);

async fn async_calls_are_accepted_then_run(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    let mut d = doc(
        "a/x",
        &key,
        json!([{"type": "respond", "status": 201, "body_expr": "#{n: request.body.n}"}]),
    );
    d["trigger"]["request_response"] = json!(false);
    app.put_integration("async", d).await;
    let r = app
        .call(Method::POST, "a/x")
        .header("x-api-key", &secret)
        .json(&json!({"n": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let b: Value = r.json().await.unwrap();
    let id = b["execution_id"].as_str().unwrap();
    assert_eq!(location, format!("/t/a/x/executions/{id}"));
    let exec = app.wait_final(id).await;
    assert_eq!(exec["status"], "succeeded");
    assert_eq!(exec["mode"], "async");
    assert_eq!(exec["attempts"], 1);
    assert_eq!(exec["response"]["status"], 201);
    assert_eq!(exec["response"]["body"]["n"], 1);
    app.stop().await;
}
on_both!(async_calls_are_accepted_then_run);

/// Checks that executions ran one at a time in sequence order, every one succeeded.
fn assert_strict_order(execs: &mut [Value]) {
    execs.sort_by_key(|e| e["sequence"].as_i64().unwrap());
    for (i, e) in execs.iter().enumerate() {
        assert_eq!(e["status"], "succeeded", "{e}");
        assert_eq!(
            e["sequence"].as_i64().unwrap(),
            i as i64 + 1,
            "sequences are 1..n without gaps"
        );
    }
    for pair in execs.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            b["started_at"].as_str().unwrap() >= a["finished_at"].as_str().unwrap(),
            "execution {} started before {} finished",
            b["sequence"],
            a["sequence"]
        );
    }
}

async fn wait_all_final(app: &TestApp, slug: &str, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let all = app.all_executions(slug).await;
        let done = all
            .iter()
            .filter(|e| {
                matches!(
                    e["status"].as_str(),
                    Some("succeeded" | "failed" | "errored")
                )
            })
            .count();
        if all.len() == n && done == n {
            return all;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{done}/{} of {n} finished",
            all.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn ordered_async_runs_in_arrival_order(db: Db) {
    let app = slow_app(db, 8).await;
    let (key, secret) = app.create_key("k").await;
    let mut d = doc("o/x", &key, slow_steps(2));
    d["trigger"]["request_response"] = json!(false);
    d["trigger"]["ordered"] = json!(true);
    app.put_integration("ordered", d).await;
    // Sequential callers: arrival order is send order.
    let mut ids = Vec::new();
    for n in 0..20 {
        let r = app
            .call(Method::POST, "o/x")
            .header("x-api-key", &secret)
            .json(&json!({"n": n}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let b: Value = r.json().await.unwrap();
        ids.push(b["execution_id"].as_str().unwrap().to_owned());
    }
    // Then many concurrent callers.
    let mut set = tokio::task::JoinSet::new();
    for n in 20..100 {
        let req = app
            .call(Method::POST, "o/x")
            .header("x-api-key", &secret)
            .json(&json!({"n": n}));
        set.spawn(async move { req.send().await.unwrap().status() });
    }
    while let Some(s) = set.join_next().await {
        assert_eq!(s.unwrap(), StatusCode::ACCEPTED);
    }
    let mut all = wait_all_final(&app, "ordered", 100).await;
    assert_strict_order(&mut all);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            all[i]["id"].as_str().unwrap(),
            id,
            "the {i}th sequential call is sequence {}",
            i + 1
        );
    }
    app.stop().await;
}
on_both!(ordered_async_runs_in_arrival_order);

async fn ordered_request_response_callers_get_their_answers(db: Db) {
    let app = slow_app(db, 8).await;
    let (key, secret) = app.create_key("k").await;
    let mut d = doc("os/x", &key, slow_steps(20));
    d["trigger"]["ordered"] = json!(true);
    app.put_integration("ordered-sync", d).await;
    let mut set = tokio::task::JoinSet::new();
    for n in 0..12 {
        let req = app
            .call(Method::POST, "os/x")
            .header("x-api-key", &secret)
            .json(&json!({"n": n}));
        set.spawn(async move {
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let b: Value = r.json().await.unwrap();
            assert_eq!(b["n"], n, "each caller gets the answer to its own call");
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let mut all = wait_all_final(&app, "ordered-sync", 12).await;
    assert_strict_order(&mut all);
    app.stop().await;
}
on_both!(ordered_request_response_callers_get_their_answers);

async fn queued_calls_run_after_a_restart(db: Db) {
    let app = slow_app(db, 1).await;
    let (key, secret) = app.create_key("k").await;
    let mut d = doc("q/x", &key, slow_steps(50));
    d["trigger"]["request_response"] = json!(false);
    app.put_integration("queued", d.clone()).await;
    d["trigger"]["path"] = json!("q/ordered");
    d["trigger"]["ordered"] = json!(true);
    app.put_integration("queued-ordered", d).await;
    for n in 0..15 {
        for path in ["q/x", "q/ordered"] {
            let r = app
                .call(Method::POST, path)
                .header("x-api-key", &secret)
                .json(&json!({"n": n}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::ACCEPTED);
        }
    }
    // Stop at once: most calls are still queued.
    let (cfg, dir) = app.stop().await;
    let app = TestApp::spawn_with(db, cfg, dir).await;
    let all = wait_all_final(&app, "queued", 15).await;
    assert!(
        all.iter()
            .all(|e| e["status"] == "succeeded" && e["attempts"] == 1),
        "{all:?}"
    );
    let mut ordered = wait_all_final(&app, "queued-ordered", 15).await;
    assert_strict_order(&mut ordered);
    app.stop().await;
}
on_both!(queued_calls_run_after_a_restart);

/// A call sent again with the same idempotency key gets the first call's execution (and, for
/// request-response, its stored answer) instead of running again.
async fn idempotent_calls_run_once(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    let counter = json!([
        {"type": "respond", "status": 201, "body_expr": "#{n: request.body.n, id: uuid()}", "headers": {"x-made": "yes"}}
    ]);
    let mut sync_doc = doc("idem/sync", &key, counter.clone());
    sync_doc["trigger"]["idempotency"] = json!({"header": "Idempotency-Key"});
    app.put_integration("idem-sync", sync_doc).await;
    let call = |k: &'static str, n: i64| {
        app.call(Method::POST, "idem/sync")
            .header("x-api-key", &secret)
            .header("idempotency-key", k)
            .json(&json!({ "n": n }))
            .send()
    };
    let first = call("order-1", 1).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_id = first.headers()["x-flowgate-execution-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let first_body: Value = first.json().await.unwrap();
    // Same key, even with another body: the stored answer, the same execution.
    let again = call("order-1", 99).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["x-made"], "yes");
    assert_eq!(
        again.headers()["x-flowgate-execution-id"].to_str().unwrap(),
        first_id
    );
    assert_eq!(again.json::<Value>().await.unwrap(), first_body);
    // Another key runs.
    let other = call("order-2", 2).await.unwrap();
    let other_body: Value = other.json().await.unwrap();
    assert_eq!(other_body["n"], 2);
    assert_ne!(other_body["id"], first_body["id"]);
    assert_eq!(app.all_executions("idem-sync").await.len(), 2);

    // Asynchronous, with the key taken from the body: one execution for all repeats.
    let mut async_doc = doc("idem/async", &key, counter);
    async_doc["trigger"]["request_response"] = json!(false);
    async_doc["trigger"]["idempotency"] = json!({"body_path": "$.eventId", "retention_hours": 1});
    app.put_integration("idem-async", async_doc).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = app
            .call(Method::POST, "idem/async")
            .header("x-api-key", &secret)
            .json(&json!({"eventId": "evt-7", "n": 7}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let b: Value = r.json().await.unwrap();
        ids.push(b["execution_id"].as_str().unwrap().to_owned());
    }
    assert!(ids.iter().all(|i| i == &ids[0]), "{ids:?}");
    assert_eq!(app.wait_final(&ids[0]).await["status"], "succeeded");
    assert_eq!(app.all_executions("idem-async").await.len(), 1);
    let e = app.wait_final(&ids[0]).await;
    assert_eq!(e["idempotency_key"], "evt-7");
    // A key that is too long is refused.
    let r = app
        .call(Method::POST, "idem/async")
        .header("x-api-key", &secret)
        .json(&json!({"eventId": "x".repeat(300)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    app.stop().await;
}
on_both!(idempotent_calls_run_once);

/// While the first call with a key still runs (its caller got a 504), a repeat is told so.
async fn idempotent_repeat_of_a_running_call_is_refused(db: Db) {
    let app = slow_app(db, 4).await;
    let (key, secret) = app.create_key("k").await;
    let mut d = doc("idem/slow", &key, slow_steps(800));
    d["trigger"]["timeout_ms"] = json!(100);
    d["trigger"]["idempotency"] = json!({});
    app.put_integration("idem-slow", d).await;
    let send = || {
        app.call(Method::POST, "idem/slow")
            .header("x-api-key", &secret)
            .header("idempotency-key", "k1")
            .json(&json!({"n": 1}))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::GATEWAY_TIMEOUT);
    let again = send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let b: Value = again.json().await.unwrap();
    assert_eq!(b["error"]["code"], "idempotency_in_progress");
    let id = b["error"]["execution_id"].as_str().unwrap().to_owned();
    assert_eq!(app.wait_final(&id).await["status"], "succeeded");
    let done = send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(done.json::<Value>().await.unwrap()["n"], 1);
    app.stop().await;
}
on_both!(idempotent_repeat_of_a_running_call_is_refused);

/// Finished executions beyond the per-integration count are pruned in the background; queued
/// work and dead letters are not.
async fn retention_prunes_old_executions(db: Db) {
    let (mut cfg, dir) = fresh_config(db).await;
    cfg.retention.max_per_integration = 3;
    cfg.retention.interval_ms = 100;
    let app = TestApp::spawn_with(db, cfg, dir).await;
    let (key, secret) = app.create_key("k").await;
    app.put_integration(
        "keep",
        doc(
            "keep/x",
            &key,
            json!([{"type": "respond", "status": 200, "body_expr": "#{n: request.body.n}"}]),
        ),
    )
    .await;
    let mut ids = Vec::new();
    for n in 0..8 {
        let r = app
            .call(Method::POST, "keep/x")
            .header("x-api-key", &secret)
            .json(&json!({ "n": n }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        ids.push(
            r.headers()["x-flowgate-execution-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        // Answers come before their records are written (the journal batches them), so the
        // pruner may run while only some are on disk: wait for the final state.
        let left = app.all_executions("keep").await;
        let kept: Vec<&str> = left.iter().map(|e| e["id"].as_str().unwrap()).collect();
        if kept == [ids[7].as_str(), ids[6].as_str(), ids[5].as_str()] {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "left: {kept:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = app.get(&format!("/api/v1/executions/{}", ids[0])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}
on_both!(retention_prunes_old_executions);

/// An ordered trigger with a lane key: calls with the same key run one at a time in arrival
/// order, calls with different keys run side by side.
async fn keyed_lanes_keep_order_per_key_and_run_keys_in_parallel(db: Db) {
    let app = slow_app(db, 4).await;
    let (key, secret) = app.create_key("k").await;
    let mut d = doc("keyed/x", &key, slow_steps(60));
    d["trigger"]["request_response"] = json!(false);
    d["trigger"]["ordered"] = json!(true);
    d["trigger"]["lane_key"] = json!("$.customer");
    app.put_integration("keyed", d).await;
    let mut ids = Vec::new();
    for round in 0..4 {
        for customer in ["c1", "c2", "c3"] {
            let r = app
                .call(Method::POST, "keyed/x")
                .header("x-api-key", &secret)
                .json(&json!({"customer": customer, "n": round}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::ACCEPTED);
            let b: Value = r.json().await.unwrap();
            ids.push(b["execution_id"].as_str().unwrap().to_owned());
        }
    }
    let mut done = Vec::new();
    for id in &ids {
        let e = app.wait_final(id).await;
        assert_eq!(e["status"], "succeeded", "{e}");
        done.push(e);
    }
    let times = |e: &Value| {
        (
            e["started_at"].as_str().unwrap().to_owned(),
            e["finished_at"].as_str().unwrap().to_owned(),
        )
    };
    for customer in ["c1", "c2", "c3"] {
        let mut lane: Vec<&Value> = done.iter().filter(|e| e["lane_key"] == customer).collect();
        assert_eq!(lane.len(), 4, "{customer}");
        lane.sort_by_key(|e| e["sequence"].as_i64());
        for w in lane.windows(2) {
            assert!(
                times(w[0]).1 <= times(w[1]).0,
                "{customer}: {} / {}",
                w[0],
                w[1]
            );
            assert_eq!(
                w[0]["request"]["body"]["n"].as_i64().unwrap() + 1,
                w[1]["request"]["body"]["n"].as_i64().unwrap()
            );
        }
    }
    // Different keys overlapped in time at least once.
    let overlapped = done.iter().any(|a| {
        done.iter().any(|b| {
            a["lane_key"] != b["lane_key"] && times(a).0 < times(b).1 && times(b).0 < times(a).1
        })
    });
    assert!(overlapped, "keyed lanes never ran side by side");
    // An idle keyed lane goes away after a few seconds; the next call of that key starts a
    // new one.
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    let r = app
        .call(Method::POST, "keyed/x")
        .header("x-api-key", &secret)
        .json(&json!({"customer": "c1", "n": 4}))
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    let e = app.wait_final(b["execution_id"].as_str().unwrap()).await;
    assert_eq!(e["status"], "succeeded");

    // A lane key on an unordered trigger is refused.
    let mut bad = doc("keyed/y", &key, slow_steps(1));
    bad["trigger"]["lane_key"] = json!("$.customer");
    let (status, body) = app
        .send(Method::PUT, "/api/v1/integrations/keyed-bad", Some(bad))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    app.stop().await;
}
on_both!(keyed_lanes_keep_order_per_key_and_run_keys_in_parallel);

/// Two instances on one PostgreSQL database receive the same idempotency key at the same
/// moment: the database's claim lets exactly one call run. Keys are scoped per credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_holds_across_instances_racing_one_key() {
    let (cfg, dir) = fresh_config(Db::Postgres).await;
    let a = TestApp::spawn_with(Db::Postgres, cfg.clone(), dir.clone()).await;
    let b = TestApp::spawn_with(Db::Postgres, cfg, dir).await;
    let (key, secret) = a.create_key("one").await;
    let (other_key, other_secret) = a.create_key("two").await;
    let mut d = doc(
        "idem/race",
        &key,
        json!([{"type": "respond", "status": 200}]),
    );
    d["trigger"]["auth"]["keys"] = json!([key, other_key]);
    d["trigger"]["request_response"] = json!(false);
    d["trigger"]["idempotency"] = json!({"header": "Idempotency-Key"});
    a.put_integration("race", d).await;
    // Both instances serve the trigger before the race starts.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = b
            .call(Method::POST, "idem/race")
            .header("x-api-key", &secret)
            .header("idempotency-key", "warm-up")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::ACCEPTED {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "instance b never served the trigger"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut calls = Vec::new();
    for i in 0..16 {
        let app = if i % 2 == 0 { &a } else { &b };
        calls.push(
            app.call(Method::POST, "idem/race")
                .header("x-api-key", &secret)
                .header("idempotency-key", "race-1")
                .json(&json!({"i": i}))
                .send(),
        );
    }
    let mut ids = std::collections::HashSet::new();
    for r in futures_util::future::join_all(calls).await {
        let r = r.unwrap();
        match r.status() {
            StatusCode::ACCEPTED => {
                ids.insert(
                    r.json::<Value>().await.unwrap()["execution_id"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            StatusCode::CONFLICT => {
                assert!(r.headers().contains_key("retry-after"));
                assert_eq!(
                    r.json::<Value>().await.unwrap()["error"]["code"],
                    "idempotency_in_progress"
                );
            }
            s => panic!("unexpected {s}"),
        }
    }
    assert_eq!(ids.len(), 1, "one execution for one key: {ids:?}");
    // The same key from another credential is another call.
    let r = b
        .call(Method::POST, "idem/race")
        .header("x-api-key", &other_secret)
        .header("idempotency-key", "race-1")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert!(r.headers().get("idempotent-replayed").is_none());
    let other_id = r.json::<Value>().await.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!ids.contains(&other_id));
    let all = a.all_executions("race").await;
    assert_eq!(
        all.iter()
            .filter(|e| e["idempotency_key"] == "race-1")
            .count(),
        2,
        "{all:?}"
    );
    b.stop().await;
    a.stop().await;
}

/// One bound on flows running at once, shared by every kind of run: a request-response call
/// that finds no free slot in time gets `503 busy` with `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_server_answers_busy() {
    let (mut cfg, dir) = fresh_config(Db::Sqlite).await;
    cfg.runtime.max_concurrent_runs = 1;
    cfg.runtime.inline_budget_us = 0;
    cfg.runtime.max_operations = 500_000_000;
    let app = TestApp::spawn_with(Db::Sqlite, cfg, dir).await;
    let (key, secret) = app.create_key("k").await;
    app.put_integration("slow", doc("busy/slow", &key, slow_steps(3000)))
        .await;
    app.put_integration(
        "fast",
        doc(
            "busy/fast",
            &key,
            json!([{"type": "respond", "status": 200}]),
        ),
    )
    .await;
    let first = app
        .call(Method::POST, "busy/slow")
        .header("x-api-key", &secret)
        .json(&json!({"n": 1}))
        .send();
    let first = tokio::spawn(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let second = app
        .call(Method::POST, "busy/fast")
        .header("x-api-key", &secret)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(second.headers()["retry-after"], "1");
    assert_eq!(
        second.json::<Value>().await.unwrap()["error"]["code"],
        "busy"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "it waited for a slot first"
    );
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.json::<Value>().await.unwrap()["n"], 1);
    let third = app
        .call(Method::POST, "busy/fast")
        .header("x-api-key", &secret)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), StatusCode::OK, "free again");
    app.stop().await;
}

async fn sql_one_i64(app: &TestApp, sql: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    let conn = flowgate::db::connect(&app.cfg).await.unwrap();
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn sql_exec(app: &TestApp, sql: &str) {
    use sea_orm::ConnectionTrait;
    let conn = flowgate::db::connect(&app.cfg).await.unwrap();
    conn.execute_unprepared(sql).await.unwrap();
}

/// A run whose lease expired while its instance lives (the instance lost it) goes back to
/// the queue and runs again; the leases of runs an instance still holds are renewed.
async fn lost_runs_are_picked_up_and_held_ones_renewed(db: Db) {
    let (mut cfg, dir) = fresh_config(db).await;
    cfg.cluster.heartbeat_ms = 200;
    cfg.runtime.max_operations = 500_000_000;
    let app = TestApp::spawn_with(db, cfg, dir).await;
    let (key, secret) = app.create_key("k").await;
    let mut d = doc("lease/x", &key, slow_steps(1500));
    d["trigger"]["request_response"] = json!(false);
    app.put_integration("lease", d).await;
    let accept = |n: i64| {
        let r = app
            .call(Method::POST, "lease/x")
            .header("x-api-key", &secret)
            .json(&json!({"n": n}));
        async move {
            r.send().await.unwrap().json::<Value>().await.unwrap()["execution_id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    // Held: while it runs, its lease moves forward.
    let id = accept(1).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let first = loop {
        let n = sql_one_i64(&app, &format!("SELECT COALESCE(lease_until, 0) FROM executions WHERE id = '{id}' AND status = 'running'")).await;
        if n > 0 {
            break n;
        }
        assert!(std::time::Instant::now() < deadline, "never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_millis(600)).await;
    let later = sql_one_i64(
        &app,
        &format!("SELECT COALESCE(MAX(lease_until), 0) FROM executions WHERE id = '{id}'"),
    )
    .await;
    assert!(later > first, "the lease was renewed ({first} -> {later})");
    let done = app.wait_final(&id).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["attempts"], 1);
    // Lost: "running" with this live instance as owner and an expired lease.
    let owner: String = {
        use sea_orm::ConnectionTrait;
        let conn = flowgate::db::connect(&app.cfg).await.unwrap();
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                "SELECT id FROM instances".to_owned(),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<String>(0).unwrap()
    };
    sql_exec(&app, &format!(
        "UPDATE executions SET status = 'running', lease_owner = '{owner}', lease_until = 1, finished_at = NULL WHERE id = '{id}'"
    )).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (_, e) = app.get(&format!("/api/v1/executions/{id}")).await;
        if e["status"] == "succeeded" && e["attempts"] == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the lost run was not picked up: {e}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
}
on_both!(lost_runs_are_picked_up_and_held_ones_renewed);
