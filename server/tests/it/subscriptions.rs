//! Event subscriptions (outbound webhooks) against real local receivers: signing (checked
//! from the Standard Webhooks spec's own description), wildcards, retries, timeouts, 410,
//! 429 with Retry-After, FIFO order under failures, rate limits, secret rotation,
//! redelivery, deliveries surviving a restart, events emitted by flows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::{fresh_config, Db, TestApp};

/// One request a receiver got.
#[derive(Clone, Debug)]
pub struct Got {
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// What a receiver answers: status, extra headers, delay before answering.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub delay: Duration,
}

impl Reply {
    fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }
}

type Policy = Arc<dyn Fn(usize, &Got) -> Reply + Send + Sync>;

/// A real HTTP server on 127.0.0.1:0 that records every request and answers per `policy`
/// (given the request's index and the request).
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Got>>>,
    policy: Arc<Mutex<Policy>>,
}

struct Shared {
    got: Arc<Mutex<Vec<Got>>>,
    policy: Arc<Mutex<Policy>>,
}

async fn receive(shared: web::Data<Shared>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let got = Got {
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    };
    let n = {
        let mut g = shared.got.lock().unwrap();
        g.push(got.clone());
        g.len() - 1
    };
    let policy = shared.policy.lock().unwrap().clone();
    let reply = policy(n, &got);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut resp =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(reply.status).unwrap());
    for (k, v) in reply.headers {
        resp.insert_header((k, v));
    }
    resp.body(format!("answer {}", reply.status))
}

impl Receiver {
    pub fn start(policy: impl Fn(usize, &Got) -> Reply + Send + Sync + 'static) -> Receiver {
        let got = Arc::new(Mutex::new(Vec::new()));
        let policy: Arc<Mutex<Policy>> = Arc::new(Mutex::new(Arc::new(policy)));
        let data = web::Data::new(Shared {
            got: got.clone(),
            policy: policy.clone(),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .shutdown_timeout(0)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Receiver { url, got, policy }
    }

    pub fn ok() -> Receiver {
        Self::start(|_, _| Reply::status(204))
    }

    pub fn set_policy(&self, policy: impl Fn(usize, &Got) -> Reply + Send + Sync + 'static) {
        *self.policy.lock().unwrap() = Arc::new(policy);
    }

    pub fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Got> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "receiver got {} of {n} requests",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Short retry schedule and quick polling for tests.
async fn subs_app(db: Db) -> TestApp {
    let (mut cfg, dir) = fresh_config(db).await;
    let s = &mut cfg.subscriptions;
    s.retry_schedule_ms = vec![0, 100, 200, 200];
    s.jitter = 0.0;
    s.poll_interval_ms = 50;
    s.timeout_ms = 2_000;
    TestApp::spawn_with(db, cfg, dir).await
}

async fn subscribe(app: &TestApp, body: Value) -> (String, String) {
    let (status, out) = app
        .send(Method::POST, "/api/v1/subscriptions", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{out}");
    (
        out["id"].as_str().unwrap().to_owned(),
        out["secret"].as_str().unwrap().to_owned(),
    )
}

async fn publish(app: &TestApp, t: &str, payload: Value) -> Value {
    let (status, out) = app
        .send(
            Method::POST,
            "/api/v1/events",
            Some(json!({"type": t, "payload": payload})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{out}");
    out
}

/// The signatures of a request that verify with `secret`, computed as the Standard Webhooks
/// spec describes: HMAC-SHA256 keyed with the base64-decoded part of the secret after
/// `whsec_`, over `{webhook-id}.{webhook-timestamp}.{body}`, base64-encoded, each entry of
/// the space-separated `webhook-signature` header being `v1,<signature>`.
fn verifies(got: &Got, secret: &str) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let id = &got.headers["webhook-id"];
    let ts = &got.headers["webhook-timestamp"];
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(got.body.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    got.headers["webhook-signature"]
        .split(' ')
        .filter_map(|e| e.strip_prefix("v1,"))
        .any(|sig| sig == expected)
}

/// Waits until a delivery of the subscription has this status; returns the list.
async fn wait_deliveries(app: &TestApp, sub: &str, status: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, page) = app
            .get(&format!(
                "/api/v1/subscriptions/{sub}/deliveries?status={status}"
            ))
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let items = page["items"].as_array().unwrap().clone();
        if items.len() >= n {
            return items;
        }
        assert!(
            Instant::now() < deadline,
            "{sub}: {} deliveries {status}, wanted {n}",
            items.len()
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

async fn delivery(app: &TestApp, id: &str) -> Value {
    let (s, d) = app.get(&format!("/api/v1/deliveries/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    d
}

async fn signed_test_events_with_wildcards(db: Db) {
    let app = subs_app(db).await;
    let users = Receiver::ok();
    let all = Receiver::ok();
    let (users_id, users_secret) = subscribe(
        &app,
        json!({"url": users.url, "event_types": ["user.*"], "description": "users",
               "headers": {"X-Tenant": "acme", "Authorization": "Bearer t0k"}}),
    )
    .await;
    assert!(users_secret.starts_with("whsec_"));
    let (_, all_secret) = subscribe(&app, json!({"url": all.url, "event_types": ["*"]})).await;

    let out = publish(&app, "user.created", json!({"id": 7, "name": "Jane"})).await;
    assert_eq!(out["deliveries"], 2, "{out}");
    let msg_id = out["id"].as_str().unwrap().to_owned();
    let out = publish(&app, "order.created", json!({"id": 1})).await;
    assert_eq!(out["deliveries"], 1, "only `*` wants it: {out}");
    let out = publish(&app, "user", json!({})).await;
    assert_eq!(
        out["deliveries"], 1,
        "`user.*` does not match `user`: {out}"
    );

    let got = users.wait_for(1).await;
    let g = &got[0];
    assert_eq!(g.headers["webhook-id"], msg_id);
    assert_eq!(g.headers["content-type"], "application/json");
    assert_eq!(g.headers["x-tenant"], "acme");
    let ts: i64 = g.headers["webhook-timestamp"].parse().unwrap();
    assert!((ts - chrono::Utc::now().timestamp()).abs() < 60);
    assert!(verifies(g, &users_secret), "{:?}", g.headers);
    assert!(!verifies(g, &all_secret));
    let body = g.json();
    assert_eq!(body["type"], "user.created");
    assert_eq!(body["data"], json!({"id": 7, "name": "Jane"}));
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    let got_all = all.wait_for(3).await;
    assert!(got_all.iter().all(|g| verifies(g, &all_secret)));

    // Recorded: the delivery and its attempt, credentials among custom headers redacted.
    let items = wait_deliveries(&app, &users_id, "succeeded", 1).await;
    assert_eq!(items[0]["event_type"], "user.created");
    let d = delivery(&app, items[0]["id"].as_str().unwrap()).await;
    assert_eq!(d["attempts"], 1);
    let a = &d["attempt_log"][0];
    assert_eq!(a["response_status"], 204);
    assert_eq!(a["request_headers"]["authorization"], "[redacted]");
    assert_eq!(a["request_headers"]["webhook-id"], msg_id.as_str());
    assert_eq!(d["body"]["data"]["name"], "Jane");
    // Stored encrypted, never shown again.
    {
        use sea_orm::ConnectionTrait;
        let conn = flowgate::db::connect(&app.cfg).await.unwrap();
        let backend = conn.get_database_backend();
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                backend,
                format!("SELECT secret FROM subscriptions WHERE id = '{users_id}'"),
            ))
            .await
            .unwrap()
            .unwrap();
        let stored: String = row.try_get("", "secret").unwrap();
        assert!(!stored.contains(users_secret.strip_prefix("whsec_").unwrap()));
        assert!(!stored.starts_with("whsec_"));
        // Custom header values are sealed too.
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                backend,
                format!("SELECT headers FROM subscriptions WHERE id = '{users_id}'"),
            ))
            .await
            .unwrap()
            .unwrap();
        let headers: String = row.try_get("", "headers").unwrap();
        assert!(
            !headers.contains("t0k") && !headers.contains("acme"),
            "{headers}"
        );
    }
    let (_, shown) = app.get(&format!("/api/v1/subscriptions/{users_id}")).await;
    assert_eq!(shown["headers"]["x-tenant"], "[redacted]", "{shown}");
    assert_eq!(shown["headers"]["authorization"], "[redacted]");
    assert_eq!(a["request_headers"]["x-tenant"], "[redacted]");
    // Sent back as shown, a value is kept; a new one replaces it.
    let (status, _) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/subscriptions/{users_id}"),
            Some(json!({"headers": {"x-tenant": "[redacted]", "authorization": "Bearer n3w"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    publish(&app, "user.updated", json!({"id": 7})).await;
    let got = users.wait_for(2).await;
    assert_eq!(got[1].headers["x-tenant"], "acme");
    assert_eq!(got[1].headers["authorization"], "Bearer n3w");
    let (_, s) = app.get(&format!("/api/v1/subscriptions/{users_id}")).await;
    assert!(s.get("secret").is_none(), "{s}");
    assert!(!s.to_string().contains(&users_secret));
    let (_, list) = app.get("/api/v1/subscriptions").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains("whsec_"));
    app.stop().await;
}
on_both!(signed_test_events_with_wildcards);

async fn bad_input_is_refused(db: Db) {
    let app = subs_app(db).await;
    for (body, what) in [
        (json!({"url": "ftp://x/y", "event_types": ["a"]}), "scheme"),
        (json!({"url": "not a url", "event_types": ["a"]}), "url"),
        (json!({"url": "http://x/y", "event_types": []}), "no types"),
        (
            json!({"url": "http://x/y", "event_types": ["*.created"]}),
            "pattern",
        ),
        (
            json!({"url": "http://x/y", "event_types": ["a"], "headers": {"webhook-id": "x"}}),
            "reserved header",
        ),
        (
            json!({"url": "http://x/y", "event_types": ["a"], "secret": "mine"}),
            "unknown field",
        ),
    ] {
        let (s, out) = app
            .send(Method::POST, "/api/v1/subscriptions", Some(body))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{what}: {out}");
        assert_eq!(out["error"]["code"], "bad_request", "{what}: {out}");
    }
    let (s, out) = app
        .send(
            Method::POST,
            "/api/v1/events",
            Some(json!({"type": "user.*"})),
        )
        .await;
    assert_eq!(
        (s, out["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let (s, _) = app
        .send_anon(Method::GET, "/api/v1/subscriptions", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app.get("/api/v1/subscriptions/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get("/api/v1/deliveries/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (id, _) = subscribe(
        &app,
        json!({"url": "http://127.0.0.1:9/x", "event_types": ["a"], "enabled": false}),
    )
    .await;
    let (s, out) = app
        .get(&format!(
            "/api/v1/subscriptions/{id}/deliveries?status=lost"
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{out}");
    let (s, out) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/subscriptions/{id}"),
            Some(json!({"event_types": ["b.*"], "rate_limit": 3})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(
        (
            out["event_types"].clone(),
            out["rate_limit"].clone(),
            out["enabled"].clone()
        ),
        (json!(["b.*"]), json!(3), json!(false))
    );
    // Roles: a designer reads and publishes test events, only admins change subscriptions.
    let (s, out) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Some(json!({"email": "d@example.com", "password": "designer pw", "role": "designer"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{out}");
    let (_, login) = app
        .send_anon(
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": "d@example.com", "password": "designer pw"})),
        )
        .await;
    let designer = login["token"].as_str().unwrap().to_owned();
    let (s, _) = app
        .send_as(Some(&designer), Method::GET, "/api/v1/subscriptions", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, out) = app
        .send_as(
            Some(&designer),
            Method::POST,
            "/api/v1/subscriptions",
            Some(json!({"url": "http://x/y", "event_types": ["a"]})),
        )
        .await;
    assert_eq!(
        (s, out["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (s, _) = app
        .send_as(
            Some(&designer),
            Method::POST,
            &format!("/api/v1/subscriptions/{id}/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, out) = app
        .send_as(
            Some(&designer),
            Method::POST,
            "/api/v1/events",
            Some(json!({"type": "a", "payload": 1})),
        )
        .await;
    assert_eq!(
        (s, out["deliveries"].as_i64()),
        (StatusCode::ACCEPTED, Some(0)),
        "{out}"
    );
    let (s, _) = app
        .send(Method::DELETE, &format!("/api/v1/subscriptions/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&format!("/api/v1/subscriptions/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    app.stop().await;
}
on_both!(bad_input_is_refused);

async fn failures_are_retried_until_the_receiver_recovers(db: Db) {
    let app = subs_app(db).await;
    let rx = Receiver::start(|n, _| Reply::status(if n < 2 { 500 } else { 200 }));
    let (sub, _) = subscribe(&app, json!({"url": rx.url, "event_types": ["x.y"]})).await;
    publish(&app, "x.y", json!({"n": 1})).await;
    let items = wait_deliveries(&app, &sub, "succeeded", 1).await;
    let d = delivery(&app, items[0]["id"].as_str().unwrap()).await;
    assert_eq!(d["attempts"], 3, "{d}");
    let statuses: Vec<i64> = d["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["response_status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, vec![500, 500, 200]);
    assert_eq!(d["attempt_log"][0]["response_excerpt"], "answer 500");
    assert_eq!(d["attempt_log"][0]["error"], "the endpoint answered 500");
    // Same webhook-id on every attempt, and schedule gaps of ~100 ms then ~200 ms.
    let got = rx.got();
    assert!(got
        .iter()
        .all(|g| g.headers["webhook-id"] == got[0].headers["webhook-id"]));
    assert!(got[1].at - got[0].at >= Duration::from_millis(90));
    assert!(got[2].at - got[1].at >= Duration::from_millis(190));
    let (_, s) = app.get(&format!("/api/v1/subscriptions/{sub}")).await;
    assert!(
        s["last_success_at"].is_string() && s.get("failing_since").is_none(),
        "{s}"
    );
    app.stop().await;
}
on_both!(failures_are_retried_until_the_receiver_recovers);

async fn timeouts_are_given_up_then_redelivered(db: Db) {
    let (mut cfg, dir) = fresh_config(db).await;
    cfg.subscriptions.retry_schedule_ms = vec![0, 50, 50];
    cfg.subscriptions.jitter = 0.0;
    cfg.subscriptions.poll_interval_ms = 50;
    cfg.subscriptions.timeout_ms = 200;
    let app = TestApp::spawn_with(db, cfg, dir).await;
    let rx = Receiver::start(|_, _| Reply {
        status: 200,
        headers: Vec::new(),
        delay: Duration::from_millis(600),
    });
    let (sub, _) = subscribe(&app, json!({"url": rx.url, "event_types": ["t.*"]})).await;
    let since = chrono::Utc::now().to_rfc3339();
    publish(&app, "t.one", json!({"n": 1})).await;
    publish(&app, "t.two", json!({"n": 2})).await;
    let failed = wait_deliveries(&app, &sub, "failed", 2).await;
    let d = delivery(&app, failed[0]["id"].as_str().unwrap()).await;
    assert_eq!(d["attempts"], 3, "{d}");
    assert_eq!(d["attempt_log"][0]["error"], "timed out", "{d}");
    assert!(d["attempt_log"][0].get("response_status").is_none());
    // Filters: by event type.
    let (_, page) = app
        .get(&format!(
            "/api/v1/subscriptions/{sub}/deliveries?event_type=t.two"
        ))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["event_type"], "t.two");

    rx.set_policy(|_, _| Reply::status(200));
    // One delivery again: same webhook-id, the schedule starts over.
    let one = failed[0]["id"].as_str().unwrap();
    let (s, out) = app
        .send(
            Method::POST,
            &format!("/api/v1/deliveries/{one}/redeliver"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{out}");
    wait_deliveries(&app, &sub, "succeeded", 1).await;
    let d = delivery(&app, one).await;
    assert_eq!(d["attempt_log"].as_array().unwrap().len(), 4);
    assert_eq!(d["attempt_log"][3]["response_status"], 200);
    let last = rx.got().last().cloned().unwrap();
    assert_eq!(last.headers["webhook-id"], d["event_id"].as_str().unwrap());
    // All failed since a time.
    let (s, out) = app
        .send(
            Method::POST,
            &format!("/api/v1/subscriptions/{sub}/redeliver"),
            Some(json!({"since": since})),
        )
        .await;
    assert_eq!(
        (s, out["requeued"].as_i64()),
        (StatusCode::ACCEPTED, Some(1)),
        "{out}"
    );
    wait_deliveries(&app, &sub, "succeeded", 2).await;
    // A pending one cannot be redelivered; a bad time is refused.
    let (s, out) = app
        .send(
            Method::POST,
            &format!("/api/v1/subscriptions/{sub}/redeliver"),
            Some(json!({"since": "yesterday"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{out}");
    app.stop().await;
}
on_both!(timeouts_are_given_up_then_redelivered);

async fn gone_disables_the_subscription(db: Db) {
    let app = subs_app(db).await;
    let rx = Receiver::start(|_, _| Reply::status(410));
    let (sub, _) = subscribe(&app, json!({"url": rx.url, "event_types": ["*"]})).await;
    publish(&app, "a.b", json!({})).await;
    let failed = wait_deliveries(&app, &sub, "failed", 1).await;
    assert_eq!(failed[0]["attempts"], 1, "no retry after 410");
    assert_eq!(failed[0]["last_status"], 410);
    let (_, s) = app.get(&format!("/api/v1/subscriptions/{sub}")).await;
    assert_eq!(s["enabled"], false, "{s}");
    assert!(
        s["disabled_reason"].as_str().unwrap().contains("410 Gone"),
        "{s}"
    );
    let out = publish(&app, "a.b", json!({})).await;
    assert_eq!(out["deliveries"], 0);
    // Enabling it again clears the reason.
    let (_, s) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/subscriptions/{sub}"),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(
        (s["enabled"].as_bool(), s.get("disabled_reason")),
        (Some(true), None),
        "{s}"
    );
    assert_eq!(rx.got().len(), 1);
    app.stop().await;
}
on_both!(gone_disables_the_subscription);

async fn failing_for_too_long_disables(db: Db) {
    let (mut cfg, dir) = fresh_config(db).await;
    cfg.subscriptions.retry_schedule_ms = vec![0, 400, 400, 400, 400];
    cfg.subscriptions.jitter = 0.0;
    cfg.subscriptions.poll_interval_ms = 50;
    cfg.subscriptions.disable_after_secs = 1;
    let app = TestApp::spawn_with(db, cfg, dir).await;
    let rx = Receiver::start(|_, _| Reply::status(503));
    let (sub, _) = subscribe(&app, json!({"url": rx.url, "event_types": ["*"]})).await;
    publish(&app, "a.b", json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, s) = app.get(&format!("/api/v1/subscriptions/{sub}")).await;
        if s["enabled"] == false {
            assert!(
                s["disabled_reason"]
                    .as_str()
                    .unwrap()
                    .contains("failed for more than 1 s"),
                "{s}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "never disabled: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}
on_both!(failing_for_too_long_disables);

async fn retry_after_is_honoured(db: Db) {
    let app = subs_app(db).await;
    let rx = Receiver::start(|n, _| {
        if n == 0 {
            Reply {
                status: 429,
                headers: vec![("retry-after", "1".to_owned())],
                delay: Duration::ZERO,
            }
        } else {
            Reply::status(200)
        }
    });
    let (sub, _) = subscribe(&app, json!({"url": rx.url, "event_types": ["*"]})).await;
    publish(&app, "a.b", json!({})).await;
    let got = rx.wait_for(2).await;
    let gap = got[1].at - got[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "Retry-After: 1 but retried after {gap:?}"
    );
    wait_deliveries(&app, &sub, "succeeded", 1).await;
    app.stop().await;
}
on_both!(retry_after_is_honoured);

async fn ordered_subscriptions_keep_fifo_under_failures(db: Db) {
    let app = subs_app(db).await;
    // The first two tries of event 2 fail.
    let tries = Arc::new(Mutex::new(0));
    let t = tries.clone();
    let rx = Receiver::start(move |_, g| {
        if g.json()["data"]["n"] == 2 {
            let mut t = t.lock().unwrap();
            *t += 1;
            if *t <= 2 {
                return Reply::status(500);
            }
        }
        Reply {
            status: 200,
            headers: Vec::new(),
            delay: Duration::from_millis(20),
        }
    });
    let (sub, _) = subscribe(
        &app,
        json!({"url": rx.url, "event_types": ["o.*"], "ordered": true}),
    )
    .await;
    for n in 1..=6 {
        publish(&app, "o.e", json!({"n": n})).await;
    }
    wait_deliveries(&app, &sub, "succeeded", 6).await;
    let order: Vec<i64> = rx
        .got()
        .iter()
        .map(|g| g.json()["data"]["n"].as_i64().unwrap())
        .collect();
    assert_eq!(order, vec![1, 2, 2, 2, 3, 4, 5, 6]);
    // One at a time: each request came after the previous one was answered.
    let got = rx.got();
    for w in got.windows(2) {
        assert!(w[1].at >= w[0].at + Duration::from_millis(15) || w[0].json()["data"]["n"] == 2);
    }
    app.stop().await;
}
on_both!(ordered_subscriptions_keep_fifo_under_failures);

async fn rate_limit_spaces_deliveries(db: Db) {
    let app = subs_app(db).await;
    let rx = Receiver::ok();
    let (sub, _) = subscribe(
        &app,
        json!({"url": rx.url, "event_types": ["*"], "rate_limit": 5}),
    )
    .await;
    for n in 0..6 {
        publish(&app, "r.e", json!({"n": n})).await;
    }
    let got = rx.wait_for(6).await;
    let span = got[5].at - got[0].at;
    assert!(
        span >= Duration::from_millis(900),
        "6 deliveries at 5/s took {span:?}"
    );
    wait_deliveries(&app, &sub, "succeeded", 6).await;
    app.stop().await;
}
on_both!(rate_limit_spaces_deliveries);

async fn rotated_secrets_overlap_then_expire(db: Db) {
    let app = subs_app(db).await;
    let rx = Receiver::ok();
    let (sub, old) = subscribe(&app, json!({"url": rx.url, "event_types": ["*"]})).await;
    let (s, out) = app
        .send(
            Method::POST,
            &format!("/api/v1/subscriptions/{sub}/rotate-secret"),
            Some(json!({"overlap_secs": 2})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    let new = out["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(out["previous_secret_expires_at"].is_string());
    publish(&app, "a.b", json!({"n": 1})).await;
    let g = rx.wait_for(1).await[0].clone();
    assert_eq!(
        g.headers["webhook-signature"].split(' ').count(),
        2,
        "{:?}",
        g.headers
    );
    assert!(verifies(&g, &old) && verifies(&g, &new));
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    publish(&app, "a.b", json!({"n": 2})).await;
    let g = rx.wait_for(2).await[1].clone();
    assert_eq!(g.headers["webhook-signature"].split(' ').count(), 1);
    assert!(verifies(&g, &new) && !verifies(&g, &old));
    let (_, s) = app.get(&format!("/api/v1/subscriptions/{sub}")).await;
    assert!(s.get("previous_secret_expires_at").is_none(), "{s}");
    // Default body: 24 h overlap.
    let (s, out) = app
        .send(
            Method::POST,
            &format!("/api/v1/subscriptions/{sub}/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert!(out["previous_secret_expires_at"].is_string());
    app.stop().await;
}
on_both!(rotated_secrets_overlap_then_expire);

async fn deliveries_survive_a_restart(db: Db) {
    let (mut cfg, dir) = fresh_config(db).await;
    cfg.subscriptions.retry_schedule_ms = vec![0, 1_500];
    cfg.subscriptions.jitter = 0.0;
    cfg.subscriptions.poll_interval_ms = 50;
    let app = TestApp::spawn_with(db, cfg, dir).await;
    let rx = Receiver::start(|_, _| Reply::status(503));
    let (sub, secret) = subscribe(&app, json!({"url": rx.url, "event_types": ["*"]})).await;
    publish(&app, "a.b", json!({"n": 1})).await;
    rx.wait_for(1).await;
    // Stopped with the delivery waiting for its retry.
    let (cfg, dir) = app.stop().await;
    rx.set_policy(|_, _| Reply::status(200));
    let app = TestApp::spawn_with(db, cfg, dir).await;
    let got = rx.wait_for(2).await;
    assert!(verifies(&got[1], &secret));
    assert_eq!(got[0].headers["webhook-id"], got[1].headers["webhook-id"]);
    let items = wait_deliveries(&app, &sub, "succeeded", 1).await;
    assert_eq!(items[0]["attempts"], 2);
    app.stop().await;
}
on_both!(deliveries_survive_a_restart);

async fn events_emitted_by_flows_reach_subscribers(db: Db) {
    let app = subs_app(db).await;
    let rx = Receiver::ok();
    let (sub, secret) = subscribe(&app, json!({"url": rx.url, "event_types": ["user.*"]})).await;
    let (key, api_secret) = app.create_key("k").await;
    let steps = json!([
        {"type": "emit", "event": "user.updated", "payload_expr": "#{id: request.body.id}"},
        {"type": "emit", "event": "order.created", "payload": {"not": "wanted"}},
        {"type": "respond", "status": 200, "body_expr": "#{ok: true}"}
    ]);
    // Asynchronous: the deliveries are written with the execution's end.
    let mut d = crate::support::doc("emit/async", &key, steps.clone());
    d["trigger"]["request_response"] = json!(false);
    app.put_integration("emit-async", d).await;
    let r = app
        .call(Method::POST, "emit/async")
        .header("x-api-key", &api_secret)
        .json(&json!({"id": "u1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let exec_id = r.json::<Value>().await.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_final(&exec_id).await;
    let g = rx.wait_for(1).await[0].clone();
    assert!(verifies(&g, &secret));
    assert!(g.headers["webhook-id"].starts_with("msg_"));
    assert_eq!(g.json()["type"], "user.updated");
    assert_eq!(g.json()["data"], json!({"id": "u1"}));
    let items = wait_deliveries(&app, &sub, "succeeded", 1).await;
    assert_eq!(items[0]["execution_id"], exec_id.as_str());
    // Request-response: the same.
    app.put_integration("emit-sync", crate::support::doc("emit/sync", &key, steps))
        .await;
    let r = app
        .call(Method::POST, "emit/sync")
        .header("x-api-key", &api_secret)
        .json(&json!({"id": "u2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let g = rx.wait_for(2).await[1].clone();
    assert_eq!(g.json()["data"], json!({"id": "u2"}));
    // A run that fails and is retried publishes only with the run that ends the execution.
    let mut d = crate::support::doc(
        "emit/retry",
        &key,
        json!([
            {"type": "emit", "event": "user.retry", "payload": {}},
            {"type": "script", "code": "throw \"no\";"}
        ]),
    );
    d["trigger"]["request_response"] = json!(false);
    d["trigger"]["retry"] = json!({"max_attempts": 3, "initial_delay_ms": 20, "max_delay_ms": 40});
    app.put_integration("emit-retry", d).await;
    let r = app
        .call(Method::POST, "emit/retry")
        .header("x-api-key", &api_secret)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let exec_id = r.json::<Value>().await.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let e = app.wait_final(&exec_id).await;
    assert_eq!(
        (e["status"].as_str(), e["attempts"].as_i64()),
        (Some("dead"), Some(3)),
        "{e}"
    );
    let items = wait_deliveries(&app, &sub, "succeeded", 3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, page) = app
        .get(&format!(
            "/api/v1/subscriptions/{sub}/deliveries?event_type=user.retry"
        ))
        .await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "{page} {items:?}"
    );
    assert_eq!(rx.got().len(), 3);
    app.stop().await;
}
on_both!(events_emitted_by_flows_reach_subscribers);

/// Two instances on one PostgreSQL database: subscriptions created on one are used by the
/// other's journal, every event is delivered once, an ordered subscription keeps its order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_each_event_once_and_in_order() {
    let (mut cfg, dir) = fresh_config(Db::Postgres).await;
    cfg.cluster.heartbeat_ms = 200;
    cfg.cluster.dead_after_ms = 1_000;
    cfg.subscriptions.retry_schedule_ms = vec![0, 100, 100];
    cfg.subscriptions.jitter = 0.0;
    cfg.subscriptions.poll_interval_ms = 50;
    let a = TestApp::spawn_with(Db::Postgres, cfg.clone(), dir.clone()).await;
    let b = TestApp::spawn_with(Db::Postgres, cfg, dir).await;
    let slow = |_: usize, _: &Got| Reply {
        status: 200,
        headers: Vec::new(),
        delay: Duration::from_millis(10),
    };
    let unordered = Receiver::start(slow);
    let failed_once = Arc::new(Mutex::new(false));
    let f = failed_once.clone();
    let ordered = Receiver::start(move |_, g| {
        if g.json()["data"]["n"] == 3 && !std::mem::replace(&mut *f.lock().unwrap(), true) {
            return Reply::status(500);
        }
        Reply::status(200)
    });
    let (u_sub, _) = subscribe(&a, json!({"url": unordered.url, "event_types": ["*"]})).await;
    let (o_sub, _) = subscribe(
        &a,
        json!({"url": ordered.url, "event_types": ["c.*"], "ordered": true}),
    )
    .await;
    for n in 0..20 {
        let app = if n % 2 == 0 { &a } else { &b };
        publish(app, "c.e", json!({ "n": n })).await;
    }
    // A flow run on instance B publishes to the subscriptions created on A.
    let (key, api_secret) = a.create_key("k").await;
    a.put_integration(
        "emit",
        crate::support::doc(
            "c/emit",
            &key,
            json!([{"type": "emit", "event": "c.flow", "payload": {"n": 20}},
                   {"type": "respond", "status": 200}]),
        ),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = b
            .call(Method::POST, "c/emit")
            .header("x-api-key", &api_secret)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B never learned of the integration"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_deliveries(&a, &u_sub, "succeeded", 21).await;
    wait_deliveries(&b, &o_sub, "succeeded", 21).await;
    let ids: Vec<String> = unordered
        .got()
        .iter()
        .map(|g| g.headers["webhook-id"].clone())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((ids.len(), unique.len()), (21, 21), "each event once");
    let order: Vec<i64> = ordered
        .got()
        .iter()
        .map(|g| g.json()["data"]["n"].as_i64().unwrap())
        .collect();
    let mut want: Vec<i64> = (0..=20).collect();
    want.insert(3, 3);
    assert_eq!(order, want);
    b.stop().await;
    a.stop().await;
}
