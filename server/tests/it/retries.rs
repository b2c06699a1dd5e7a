//! Retries of failed asynchronous executions, dead letters, what they do to ordered lanes,
//! and replaying them (one, or in bulk) against the original or the current version.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::{doc, Db, TestApp};

/// Fails with a script error when `request.body.n` is `bad`, else echoes `n`.
fn steps_failing_on(bad: i64) -> Value {
    json!([
        {"type": "script", "code": format!("if request.body.n == {bad} {{ throw \"refused {bad}\"; }}")},
        {"type": "respond", "status": 200, "body_expr": "#{n: request.body.n}"}
    ])
}

fn async_doc(path: &str, key: &str, steps: Value, ordered: bool, retry: Value) -> Value {
    let mut d = doc(path, key, steps);
    d["trigger"]["request_response"] = json!(false);
    d["trigger"]["ordered"] = json!(ordered);
    d["trigger"]["retry"] = retry;
    d
}

async fn send(app: &TestApp, path: &str, secret: &str, n: i64) -> String {
    let r = app
        .call(Method::POST, path)
        .header("x-api-key", secret)
        .json(&json!({ "n": n }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let b: Value = r.json().await.unwrap();
    b["execution_id"].as_str().unwrap().to_owned()
}

async fn status_of(app: &TestApp, id: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/executions/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Waits until the execution has this status.
async fn wait_status(app: &TestApp, id: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let e = status_of(app, id).await;
        if e["status"] == want {
            return e;
        }
        assert!(Instant::now() < deadline, "{id} never became {want}: {e}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

async fn retries_then_dead_then_replay(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    let retry = json!({"max_attempts": 3, "initial_delay_ms": 40, "max_delay_ms": 100});
    app.put_integration(
        "r",
        async_doc("r/x", &key, steps_failing_on(1), false, retry.clone()),
    )
    .await;
    let started = Instant::now();
    let id = send(&app, "r/x", &secret, 1).await;
    let e = wait_status(&app, &id, "dead").await;
    assert_eq!(e["attempts"], 3, "{e}");
    assert!(e["error"].as_str().unwrap().contains("refused 1"), "{e}");
    // Two back-offs of at least half their nominal delay (40 ms, then 80 ms) passed.
    assert!(started.elapsed() >= Duration::from_millis(60));
    // A deliberate rejection (`fail` with a 4xx) is not retried.
    app.put_integration(
        "r2",
        async_doc(
            "r/y",
            &key,
            json!([{"type": "fail", "status": 422, "message": "no"}]),
            false,
            retry.clone(),
        ),
    )
    .await;
    let rejected = send(&app, "r/y", &secret, 5).await;
    let e = app.wait_final(&rejected).await;
    assert_eq!(
        (e["status"].as_str(), e["attempts"].as_i64()),
        (Some("failed"), Some(1))
    );

    // Replaying on the original version fails again (in place: same id).
    let (status, out) = app
        .send(
            Method::POST,
            &format!("/api/v1/executions/{id}/replay"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{out}");
    assert_eq!(
        (out["execution_id"].as_str(), out["kind"].as_str()),
        (Some(id.as_str()), Some("requeued"))
    );
    let e = wait_status(&app, &id, "dead").await;
    assert_eq!(e["attempts"], 3);
    // Fixed in version 2; a replay against the current version succeeds.
    app.put_integration(
        "r",
        async_doc("r/x", &key, steps_failing_on(-1), false, retry),
    )
    .await;
    let (status, out) = app
        .send(
            Method::POST,
            &format!("/api/v1/executions/{id}/replay"),
            Some(json!({"version": "current"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{out}");
    let e = wait_status(&app, &id, "succeeded").await;
    assert_eq!(
        (e["version"].as_i64(), e["attempts"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(e["response"]["body"]["n"], 1);

    // A finished execution replays as a new one that points back at it.
    let (status, out) = app
        .send(
            Method::POST,
            &format!("/api/v1/executions/{id}/replay"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{out}");
    assert_eq!(out["kind"], "new");
    let new_id = out["execution_id"].as_str().unwrap();
    assert_ne!(new_id, id);
    let e = app.wait_final(new_id).await;
    assert_eq!(
        (e["status"].as_str(), e["replay_of"].as_str()),
        (Some("succeeded"), Some(id.as_str()))
    );

    // Errors: unknown id, a body that is not JSON, skipping what is not dead.
    let (status, _) = app
        .send(Method::POST, "/api/v1/executions/nope/replay", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = app
        .send(Method::POST, &format!("/api/v1/executions/{id}/skip"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    app.stop().await;
}
on_both!(retries_then_dead_then_replay);

/// Ordered, `on_dead: block`: a dead execution holds the lane until it is skipped; later
/// calls then run in order.
async fn dead_letter_blocks_an_ordered_lane_until_skipped(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    let retry =
        json!({"max_attempts": 2, "initial_delay_ms": 20, "max_delay_ms": 20, "on_dead": "block"});
    app.put_integration(
        "o",
        async_doc("o/x", &key, steps_failing_on(2), true, retry),
    )
    .await;
    let mut ids = Vec::new();
    for n in 1..=4 {
        ids.push(send(&app, "o/x", &secret, n).await);
    }
    assert_eq!(app.wait_final(&ids[0]).await["status"], "succeeded");
    let dead = wait_status(&app, &ids[1], "dead").await;
    assert_eq!(dead["attempts"], 2);
    // The lane holds: the calls after it stay queued.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for id in &ids[2..] {
        assert_eq!(status_of(&app, id).await["status"], "queued");
    }
    let (status, body) = app
        .send(
            Method::POST,
            &format!("/api/v1/executions/{}/skip", ids[1]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "skipped");
    let third = app.wait_final(&ids[2]).await;
    let fourth = app.wait_final(&ids[3]).await;
    assert_eq!(
        (third["status"].as_str(), fourth["status"].as_str()),
        (Some("succeeded"), Some("succeeded"))
    );
    assert!(third["finished_at"].as_str() <= fourth["started_at"].as_str());
    app.stop().await;
}
on_both!(dead_letter_blocks_an_ordered_lane_until_skipped);

/// Ordered, `on_dead: block`, then the flow is fixed and the dead one replayed on the current
/// version: it runs first, in its place, then the rest.
async fn replayed_dead_letter_keeps_its_place_in_the_lane(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    let retry = json!({"max_attempts": 1, "initial_delay_ms": 20, "max_delay_ms": 20});
    app.put_integration(
        "o",
        async_doc("o/x", &key, steps_failing_on(1), true, retry.clone()),
    )
    .await;
    let first = send(&app, "o/x", &secret, 1).await;
    let second = send(&app, "o/x", &secret, 2).await;
    wait_status(&app, &first, "dead").await;
    app.put_integration(
        "o",
        async_doc("o/x", &key, steps_failing_on(-1), true, retry),
    )
    .await;
    let (status, body) = app
        .send(
            Method::POST,
            &format!("/api/v1/executions/{first}/replay"),
            Some(json!({"version": "current"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let a = app.wait_final(&first).await;
    let b = app.wait_final(&second).await;
    assert_eq!(
        (a["status"].as_str(), b["status"].as_str()),
        (Some("succeeded"), Some("succeeded"))
    );
    assert!(a["sequence"].as_i64() < b["sequence"].as_i64());
    assert!(
        a["finished_at"].as_str() <= b["started_at"].as_str(),
        "{a}\n{b}"
    );
    app.stop().await;
}
on_both!(replayed_dead_letter_keeps_its_place_in_the_lane);

/// Ordered, `on_dead: park`: the lane goes on past a dead execution; a bulk replay brings the
/// dead ones back.
async fn parked_dead_letters_and_bulk_replay(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    let retry =
        json!({"max_attempts": 1, "initial_delay_ms": 20, "max_delay_ms": 20, "on_dead": "park"});
    app.put_integration(
        "p",
        async_doc("p/x", &key, steps_failing_on(2), true, retry.clone()),
    )
    .await;
    let mut ids = Vec::new();
    for n in [1, 2, 3, 2] {
        ids.push(send(&app, "p/x", &secret, n).await);
    }
    let last = app.wait_final(&ids[3]).await;
    assert_eq!(last["status"], "dead");
    assert_eq!(app.wait_final(&ids[2]).await["status"], "succeeded");
    assert_eq!(status_of(&app, &ids[1]).await["status"], "dead");

    app.put_integration(
        "p",
        async_doc("p/x", &key, steps_failing_on(-1), true, retry),
    )
    .await;
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/integrations/p/replay",
            Some(json!({"version": "current"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        (body["requeued"].as_u64(), body["created"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(app.wait_final(&ids[1]).await["status"], "succeeded");
    assert_eq!(app.wait_final(&ids[3]).await["status"], "succeeded");

    // Bulk replay of succeeded executions creates new ones; bad input is refused.
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/integrations/p/replay",
            Some(json!({"status": "succeeded", "from": "2000-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["created"], 4);
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/integrations/p/replay",
            Some(json!({"from": "yesterday"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = app
        .send(Method::POST, "/api/v1/integrations/nope/replay", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}
on_both!(parked_dead_letters_and_bulk_replay);

async fn retry_policies_are_validated(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, _) = app.create_key("k").await;
    let retry = json!({"max_attempts": 0, "initial_delay_ms": 5000, "max_delay_ms": 10, "retry_if": ["error", "6xx", "abc"]});
    let (status, body) = app
        .send(
            Method::PUT,
            "/api/v1/integrations/bad",
            Some(async_doc("b/x", &key, steps_failing_on(1), false, retry)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["field"].as_str().or(d["path"].as_str()))
        .collect();
    for f in [
        "trigger.retry.max_attempts",
        "trigger.retry.initial_delay_ms",
        "trigger.retry.retry_if[1]",
        "trigger.retry.retry_if[2]",
    ] {
        assert!(fields.contains(&f), "{f} missing in {body}");
    }
    app.stop().await;
}
on_both!(retry_policies_are_validated);
