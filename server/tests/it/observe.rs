//! Observability and caller preferences: `/metrics` moving with traffic, the dashboard's
//! overview, the generated endpoint docs and their share links, `Prefer` (RFC 7240), and
//! JSON logs that carry execution ids and never query strings.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::{
    doc, identity_event, identity_steps, Db, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD,
};

/// The value of one sample line of the Prometheus text, `name{labels} value`, whose labels
/// include all of `labels`; `None` if absent.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        let (n, rest) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if n != name {
            return None;
        }
        let all = labels
            .iter()
            .all(|(k, v)| rest.split(',').any(|p| p == format!("{k}=\"{v}\"")));
        all.then(|| value.parse().ok()).flatten()
    })
}

async fn metrics(app: &TestApp) -> String {
    let resp = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    resp.text().await.unwrap()
}

async fn metrics_move_with_traffic(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key_id, secret) = app.create_key("metrics").await;
    app.put_integration("m-sync", doc("m/sync", &key_id, identity_steps()))
        .await;
    // An async trigger whose flow always fails, with no retry: each call is a dead letter.
    let mut dead = doc(
        "m/dead",
        &key_id,
        json!([{"type": "fail", "status": 500, "message": "no"}]),
    );
    dead["trigger"]["request_response"] = json!(false);
    dead["trigger"]["retry"] = json!({"max_attempts": 1});
    app.put_integration("m-dead", dead).await;

    let before = metrics(&app).await;
    assert_eq!(
        sample(
            &before,
            "flowgate_calls_total",
            &[("integration", "m-sync")]
        ),
        None
    );
    for _ in 0..3 {
        let r = app
            .call(Method::POST, "m/sync")
            .header("x-api-key", &secret)
            .json(&identity_event())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = app
        .call(Method::POST, "m/sync")
        .header("x-api-key", "wrong")
        .json(&identity_event())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .call(Method::POST, "no/such/trigger")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let r = app
            .call(Method::POST, "m/dead")
            .header("x-api-key", &secret)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let body: Value = r.json().await.unwrap();
        ids.push(body["execution_id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        assert_eq!(app.wait_final(id).await["status"], "dead");
    }

    let text = metrics(&app).await;
    let calls = |integration, status| {
        sample(
            &text,
            "flowgate_calls_total",
            &[("integration", integration), ("status", status)],
        )
    };
    assert_eq!(calls("m-sync", "2xx"), Some(3.0), "{text}");
    assert_eq!(calls("m-sync", "4xx"), Some(1.0));
    assert_eq!(calls("_unmatched", "4xx"), Some(1.0));
    assert_eq!(calls("m-dead", "2xx"), Some(2.0));
    assert_eq!(
        sample(
            &text,
            "flowgate_runs_total",
            &[("integration", "m-sync"), ("status", "succeeded")]
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &text,
            "flowgate_run_duration_seconds_count",
            &[("integration", "m-sync")]
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &text,
            "flowgate_dead_letters_total",
            &[("integration", "m-dead")]
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "flowgate_dead_letters_waiting",
            &[("integration", "m-dead")]
        ),
        Some(2.0)
    );
    assert!(sample(&text, "flowgate_journal_batch_size_count", &[]).is_some_and(|n| n >= 1.0));
    assert!(sample(&text, "flowgate_journal_commit_seconds_count", &[]).is_some_and(|n| n >= 1.0));
    assert!(sample(&text, "flowgate_db_pool_max_connections", &[]).is_some_and(|n| n >= 1.0));
    assert!(sample(&text, "flowgate_db_pool_connections", &[("state", "idle")]).is_some());

    // A skipped dead letter leaves the gauge.
    let (s, body) = app
        .send(
            Method::POST,
            &format!("/api/v1/executions/{}/skip", ids[0]),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let text = metrics(&app).await;
    assert_eq!(
        sample(
            &text,
            "flowgate_dead_letters_waiting",
            &[("integration", "m-dead")]
        ),
        Some(1.0)
    );
}
on_both!(metrics_move_with_traffic);

async fn prefer_headers(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key_id, secret) = app.create_key("prefer").await;
    app.put_integration("p-sync", doc("p/sync", &key_id, identity_steps()))
        .await;
    let mut asynchronous = doc("p/async", &key_id, identity_steps());
    asynchronous["trigger"]["request_response"] = json!(false);
    app.put_integration("p-async", asynchronous).await;
    let mut retried = doc(
        "p/retried",
        &key_id,
        json!([{"type": "fail", "status": 503, "message": "later"}]),
    );
    retried["trigger"]["request_response"] = json!(false);
    retried["trigger"]["retry"] =
        json!({"max_attempts": 3, "initial_delay_ms": 60000, "retry_if": ["5xx"]});
    app.put_integration("p-retried", retried).await;
    let call = |path: &str, prefer: Option<&str>| {
        let mut r = app
            .call(Method::POST, path)
            .header("x-api-key", &secret)
            .json(&identity_event());
        if let Some(p) = prefer {
            r = r.header("prefer", p);
        }
        r.send()
    };

    // A request-response trigger, asked to answer asynchronously.
    let r = call("p/sync", Some("respond-async")).await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(r.headers()["preference-applied"], "respond-async");
    let id = r.json::<Value>().await.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let e = app.wait_final(&id).await;
    assert_eq!(e["status"], "succeeded");
    assert_eq!(e["response"]["body"]["entity"], "USER:IDNUMBER1234");
    // Without the preference it answers as before, and says nothing about preferences.
    let r = call("p/sync", None).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("preference-applied").is_none());
    // Unknown preferences are ignored.
    let r = call("p/sync", Some("handling=lenient, foo")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("preference-applied").is_none());

    // An asynchronous trigger, with a caller who waits for the result.
    let r = call("p/async", Some("wait=5")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["preference-applied"], "wait=5");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["entity"], "USER:IDNUMBER1234");
    let r = call("p/async", None).await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);

    // A failed attempt that will be tried again is not the result: 202 after the wait.
    let started = Instant::now();
    let r = call("p/retried", Some("wait=1")).await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert!(started.elapsed() >= Duration::from_millis(900));
    let id = r.json::<Value>().await.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, e) = app.get(&format!("/api/v1/executions/{id}")).await;
    assert_eq!(e["status"], "queued", "{e}");
}
on_both!(prefer_headers);

async fn dashboard_overview(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key_id, secret) = app.create_key("dash").await;
    app.put_integration("d-ok", doc("d/ok", &key_id, identity_steps()))
        .await;
    app.put_integration(
        "d-bad",
        doc(
            "d/bad",
            &key_id,
            json!([{"type": "fail", "status": 422, "message": "no"}]),
        ),
    )
    .await;
    for (path, n) in [("d/ok", 4), ("d/bad", 2)] {
        for _ in 0..n {
            app.call(Method::POST, path)
                .header("x-api-key", &secret)
                .json(&identity_event())
                .send()
                .await
                .unwrap();
        }
    }
    // Request-response records are written after the answer: wait until all six are there.
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.all_executions("d-ok").await.len() < 4 || app.all_executions("d-bad").await.len() < 2
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (s, o) = app.get("/api/v1/stats/overview?window=1h").await;
    assert_eq!(s, StatusCode::OK, "{o}");
    assert_eq!(o["window"], "1h");
    assert_eq!(o["bucket_s"], 60);
    assert_eq!(o["totals"]["calls"], 6);
    assert_eq!(o["totals"]["errors"], 2);
    assert_eq!(o["totals"]["buckets"].as_array().unwrap().len(), 60);
    let last_two: u64 = o["totals"]["buckets"].as_array().unwrap()[58..]
        .iter()
        .map(|b| b["calls"].as_u64().unwrap())
        .sum();
    assert_eq!(last_two, 6, "the calls are in the newest buckets");
    let rows = o["integrations"].as_array().unwrap();
    assert_eq!(rows[0]["slug"], "d-bad", "failing first: {o}");
    assert_eq!(rows[0]["error_rate"], 1.0);
    assert_eq!(rows[1]["slug"], "d-ok");
    assert_eq!(rows[1]["calls"], 4);
    assert!(rows[1]["p50_ms"].as_f64().is_some_and(|p| p > 0.0));
    assert!(rows[1]["p99_ms"]
        .as_f64()
        .is_some_and(|p| p >= rows[1]["p50_ms"].as_f64().unwrap()));

    let (s, o) = app.get("/api/v1/stats/overview?window=24h").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(o["totals"]["buckets"].as_array().unwrap().len(), 48);
    assert_eq!(o["totals"]["calls"], 6);
    let (s, e) = app.get("/api/v1/stats/overview?window=7d").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["code"], "bad_request");
    let (s, _) = app
        .send_anon(Method::GET, "/api/v1/stats/overview", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
on_both!(dashboard_overview);

async fn endpoint_docs_and_share_links(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key_id, secret) = app.create_key("docs").await;
    let mut d = doc("acme/customers", &key_id, identity_steps());
    d["trigger"]["sample"] = identity_event();
    d["trigger"]["query_params"] = json!([{"name": "region", "default": "eu"}]);
    app.put_integration("docs-customers", d).await;

    let (s, o) = app
        .get("/api/v1/integrations/docs-customers/openapi.json")
        .await;
    assert_eq!(s, StatusCode::OK, "{o}");
    assert_eq!(o["openapi"], "3.1.0");
    let post = &o["paths"]["/t/acme/customers"]["post"];
    let schema = &post["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(schema["properties"]["email"]["format"], "email");
    assert_eq!(post["parameters"][0]["schema"]["default"], "eu");
    assert!(o["servers"][0]["url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert_eq!(
        o["x-flowgate"]["endpoint"],
        format!("{}/t/acme/customers", app.base)
    );
    // No credential is named in the docs.
    assert!(!o.to_string().contains(&key_id));
    assert!(!o.to_string().contains(&secret));

    let (s, all) = app.get("/api/v1/openapi/triggers.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(all["paths"].get("/t/acme/customers").is_some());

    // A draft that was never published has no endpoint yet.
    let (s, body) = app
        .send(
            Method::PUT,
            "/api/v1/integrations/docs-draft/draft",
            Some(doc("acme/draft", &key_id, json!([]))),
        )
        .await;
    assert!(s.is_success(), "{s} {body}");
    let (s, e) = app
        .get("/api/v1/integrations/docs-draft/openapi.json")
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "not_published");
    let (s, _) = app.get("/api/v1/integrations/nope/openapi.json").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The docs need a session; a share link does not.
    let (s, _) = app
        .send_anon(
            Method::GET,
            "/api/v1/integrations/docs-customers/openapi.json",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, link) = app
        .send(
            Method::POST,
            "/api/v1/integrations/docs-customers/share-link",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{link}");
    let url = link["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/share/integrations/docs-customers?sig=",
            app.base
        )),
        "{url}"
    );
    let sig = url.rsplit_once("sig=").unwrap().1;
    let shared = format!("/api/v1/shared/integrations/docs-customers/openapi.json?sig={sig}");
    let (s, o2) = app.send_anon(Method::GET, &shared, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(o2["paths"], o["paths"]);
    let mut wrong = sig.to_owned();
    wrong.replace_range(0..1, if sig.starts_with('0') { "1" } else { "0" });
    for bad in [
        format!("/api/v1/shared/integrations/docs-customers/openapi.json?sig={wrong}"),
        "/api/v1/shared/integrations/docs-customers/openapi.json".to_owned(),
        format!("/api/v1/shared/integrations/docs-draft/openapi.json?sig={sig}"),
    ] {
        let (s, _) = app.send_anon(Method::GET, &bad, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
    }
}
on_both!(endpoint_docs_and_share_links);

/// The real binary with JSON logs and the access line on: every line of a call names its
/// execution, and a credential in the query string is never written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_execution_ids_and_no_query_strings() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowgate"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FLOWGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("FLOWGATE_DATA_DIR", dir.path())
        .env("FLOWGATE_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("FLOWGATE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("FLOWGATE_LOG_FORMAT", "json")
        .env("FLOWGATE_UI__DIR", dir.path().join("no-ui"))
        .env("RUST_LOG", "info,flowgate::access=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let token = loop {
        if let Ok(r) = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .send()
            .await
        {
            if r.status() == StatusCode::OK {
                break r.json::<Value>().await.unwrap()["token"]
                    .as_str()
                    .unwrap()
                    .to_owned();
            }
        }
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let key: Value = http
        .post(format!("{base}/api/v1/keys"))
        .bearer_auth(&token)
        .json(&json!({"label": "logs"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = http
        .put(format!("{base}/api/v1/integrations/logs"))
        .bearer_auth(&token)
        .json(&doc(
            "logs/in",
            key["id"].as_str().unwrap(),
            identity_steps(),
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = http
        .post(format!("{base}/t/logs/in?token=QUERY-SECRET-123"))
        .header("x-api-key", key["secret"].as_str().unwrap())
        .json(&identity_event())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let id = r.headers()["x-flowgate-execution-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    let access = loop {
        let found = lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["target"] == "flowgate::access" && v["span"]["path"] == "/t/logs/in");
        if let Some(v) = found {
            break v;
        }
        assert!(Instant::now() < deadline, "no access line");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(access["span"]["execution_id"], id.as_str(), "{access}");
    assert_eq!(access["span"]["status"], 200);
    let all = lines.lock().unwrap();
    assert!(
        all.iter().all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "every line is JSON"
    );
    assert!(
        !all.iter().any(|l| l.contains("QUERY-SECRET-123")),
        "a query string was logged"
    );
}

/// A price list on loopback that counts its requests.
async fn price_list() -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = web::Data::new(hits.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        App::new().app_data(counter.clone()).route(
            "/price",
            web::get().to(
                |hits: web::Data<std::sync::Arc<std::sync::atomic::AtomicU64>>| async move {
                    hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    HttpResponse::Ok().json(json!({"price": 10}))
                },
            ),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (base, hits)
}

async fn shadow(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.send(
        Method::POST,
        "/api/v1/integrations/shadow/shadow",
        Some(body),
    )
    .await
}

fn priced_flow(base: &str, url_path: &str, factor: &str) -> Value {
    json!([
        {"type": "http", "method": "GET", "url": format!("{base}{url_path}?sku=${{request.body.sku}}"),
         "to": "p", "fail_on_status": false},
        {"type": "respond", "status": 200,
         "body_expr": format!("#{{sku: request.body.sku, total: vars.p.body.price * request.body.qty * {factor}}}")}
    ])
}

async fn shadow_replay_compares_without_side_effects(db: Db) {
    let (base, hits) = price_list().await;
    let app = TestApp::spawn(db).await;
    let (key_id, secret) = app.create_key("shadow").await;
    app.put_integration(
        "shadow",
        doc("shop/order", &key_id, priced_flow(&base, "/price", "1")),
    )
    .await;
    for qty in 1..=3 {
        let r = app
            .call(Method::POST, "shop/order")
            .header("x-api-key", &secret)
            .json(&json!({"sku": "A", "qty": qty}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.all_executions("shadow").await.len() < 3 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 3);

    // No draft: the published document answers as recorded.
    let (s, o) = shadow(&app, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{o}");
    assert_eq!(o["against"], "published");
    assert_eq!(
        (o["total"].as_u64(), o["same"].as_u64()),
        (Some(3), Some(3)),
        "{o}"
    );
    assert_eq!(o["runs"][0]["replayed_calls"], 1);

    // A draft that doubles the total: every call differs, in the body's `total`.
    let mut draft = doc("shop/order", &key_id, priced_flow(&base, "/price", "2"));
    draft["name"] = json!("Test shop/order");
    let (s, b) = app
        .send(
            Method::PUT,
            "/api/v1/integrations/shadow/draft",
            Some(draft),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let (s, o) = shadow(&app, json!({"limit": 2})).await;
    assert_eq!(s, StatusCode::OK, "{o}");
    assert_eq!(o["against"], "draft");
    assert_eq!(
        (o["total"].as_u64(), o["different"].as_u64()),
        (Some(2), Some(2))
    );
    let newest = &o["runs"][0];
    assert_eq!(newest["recorded"]["body"]["total"], 30);
    assert_eq!(newest["shadow"]["body"]["total"], 60);
    assert_eq!(newest["differences"], json!(["body $.total: 30 → 60"]));

    // A draft calling a URL the recording never saw: not called, marked.
    let draft = doc("shop/order", &key_id, priced_flow(&base, "/price-v2", "1"));
    app.send(
        Method::PUT,
        "/api/v1/integrations/shadow/draft",
        Some(draft),
    )
    .await;
    let (_, o) = shadow(&app, json!({})).await;
    assert_eq!(o["incomplete"], 3, "{o}");
    let unmatched = o["runs"][0]["unmatched_calls"][0].as_str().unwrap();
    assert!(
        unmatched.starts_with(&format!("GET {base}/price-v2?sku=A")),
        "{unmatched}"
    );
    // Nothing left the server in any of the replays.
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 3);
    // Nothing was recorded either.
    assert_eq!(app.all_executions("shadow").await.len(), 3);

    let (s, e) = shadow(&app, json!({"limit": 0})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["code"], "bad_request");
    let (s, _) = shadow(&app, json!({"from": "yesterday"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = app
        .send(Method::POST, "/api/v1/integrations/nope/shadow", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
on_both!(shadow_replay_compares_without_side_effects);
