//! The HTTP step against real local HTTP servers started by the test: the identity API, the
//! commercial system, an OAuth2 token endpoint and misbehaving endpoints.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::{doc, fresh_config, identity_event, Db, TestApp};

const IDENTITY_TOKEN: &str = "id-token-8f3a2b";
const CRM_KEY: &str = "crm-key-51c9e7";
const BASIC_PASSWORD: &str = "basic-pw-77d1";
const OAUTH_SECRET: &str = "oauth-client-secret-9e2";

/// What the receiver saw.
#[derive(Default)]
struct Seen {
    /// Requests by route name.
    counts: Mutex<HashMap<String, u64>>,
    /// Bodies of PATCH /customers/{id}.
    patches: Mutex<Vec<(String, Value)>>,
    tokens_issued: AtomicU64,
    /// The token the protected endpoint refuses (as if revoked).
    revoked: Mutex<Option<String>>,
}

impl Seen {
    fn hit(&self, route: &str) -> u64 {
        let mut c = self.counts.lock().unwrap();
        let n = c.entry(route.to_owned()).or_default();
        *n += 1;
        *n
    }

    fn count(&self, route: &str) -> u64 {
        self.counts.lock().unwrap().get(route).copied().unwrap_or(0)
    }
}

fn header(req: &HttpRequest, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn get_user(req: HttpRequest, seen: web::Data<Seen>, id: web::Path<String>) -> HttpResponse {
    seen.hit("user");
    if header(&req, "authorization") != format!("Bearer {IDENTITY_TOKEN}") {
        return HttpResponse::Unauthorized().json(json!({"message": "bad token"}));
    }
    match id.as_str() {
        "missing" => HttpResponse::NotFound().json(json!({"message": "no user with id missing"})),
        "broken" => HttpResponse::InternalServerError().body("identity database down"),
        id => HttpResponse::Ok().json(json!({
            "id": id, "firstName": "Jane", "lastName": "Doe",
            "email": "jane.doe@example.com", "active": true
        })),
    }
}

async fn patch_customer(
    req: HttpRequest,
    seen: web::Data<Seen>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    seen.hit("customer");
    if header(&req, "x-api-key") != CRM_KEY {
        return HttpResponse::Forbidden().json(json!({"message": "bad key"}));
    }
    if body.get("email").is_none() {
        return HttpResponse::UnprocessableEntity().json(json!({"message": "email is required"}));
    }
    seen.patches
        .lock()
        .unwrap()
        .push((id.into_inner(), body.into_inner()));
    HttpResponse::Ok().json(json!({"updated": true}))
}

async fn status(seen: web::Data<Seen>, code: web::Path<u16>) -> HttpResponse {
    seen.hit("status");
    HttpResponse::build(actix_web::http::StatusCode::from_u16(*code).unwrap())
        .json(json!({"error": format!("status {code} as asked")}))
}

async fn flaky(seen: web::Data<Seen>) -> HttpResponse {
    match seen.hit("flaky") {
        1 => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", "1"))
            .finish(),
        2 => HttpResponse::ServiceUnavailable().finish(),
        _ => HttpResponse::Ok().json(json!({"finally": true})),
    }
}

async fn slow(seen: web::Data<Seen>) -> HttpResponse {
    seen.hit("slow");
    tokio::time::sleep(Duration::from_secs(3)).await;
    HttpResponse::Ok().finish()
}

async fn big(seen: web::Data<Seen>) -> HttpResponse {
    seen.hit("big");
    HttpResponse::Ok()
        .content_type("text/plain")
        .body("x".repeat(10_000))
}

async fn basic(req: HttpRequest, seen: web::Data<Seen>) -> HttpResponse {
    seen.hit("basic");
    use base64::Engine as _;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("svc:{BASIC_PASSWORD}"))
    );
    if header(&req, "authorization") == expected {
        HttpResponse::Ok().json(json!({"who": "svc"}))
    } else {
        HttpResponse::Unauthorized().finish()
    }
}

async fn token(seen: web::Data<Seen>, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    seen.hit("token");
    if form.get("grant_type").map(String::as_str) != Some("client_credentials")
        || form.get("client_id").map(String::as_str) != Some("flowgate")
        || form.get("client_secret").map(String::as_str) != Some(OAUTH_SECRET)
        || form.get("scope").map(String::as_str) != Some("crm.write")
    {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_client"}));
    }
    let n = seen.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
    HttpResponse::Ok().json(json!({
        "access_token": format!("oauth-token-{n}"), "token_type": "Bearer", "expires_in": 3600
    }))
}

async fn protected(req: HttpRequest, seen: web::Data<Seen>) -> HttpResponse {
    seen.hit("protected");
    let auth = header(&req, "authorization");
    let revoked = seen.revoked.lock().unwrap().clone();
    match auth.strip_prefix("Bearer ") {
        Some(t) if t.starts_with("oauth-token-") && revoked.as_deref() != Some(t) => {
            HttpResponse::Ok().json(json!({"token": t}))
        }
        _ => HttpResponse::Unauthorized().finish(),
    }
}

/// `302` to the URL in `?to=`.
async fn redirect(seen: web::Data<Seen>, q: web::Query<HashMap<String, String>>) -> HttpResponse {
    seen.hit("redirect");
    HttpResponse::Found()
        .insert_header(("location", q.get("to").cloned().unwrap_or_default()))
        .finish()
}

/// The headers it received, as JSON.
async fn echo_headers(req: HttpRequest, seen: web::Data<Seen>) -> HttpResponse {
    seen.hit("headers");
    let h: HashMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    HttpResponse::Ok().json(h)
}

async fn plain(seen: web::Data<Seen>) -> HttpResponse {
    seen.hit("plain");
    HttpResponse::Ok().json(json!({"plain": true}))
}

async fn count(seen: web::Data<Seen>) -> HttpResponse {
    let n = seen.hit("count");
    HttpResponse::Ok().json(json!({"n": n}))
}

/// Starts the receiver on an ephemeral port: its base URL and what it sees.
async fn receiver() -> (String, Arc<Seen>) {
    let seen = web::Data::new(Seen::default());
    let data = seen.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/users/{id}", web::get().to(get_user))
            .route("/customers/{id}", web::patch().to(patch_customer))
            .route("/status/{code}", web::get().to(status))
            .route("/flaky", web::get().to(flaky))
            .route("/slow", web::get().to(slow))
            .route("/big", web::get().to(big))
            .route("/basic", web::get().to(basic))
            .route("/oauth/token", web::post().to(token))
            .route("/protected", web::get().to(protected))
            .route("/count", web::post().to(count))
            .route("/redirect", web::get().to(redirect))
            .route("/plain", web::get().to(plain))
            .route("/headers", web::get().to(echo_headers))
    })
    .workers(2)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (base, seen.into_inner())
}

async fn add_secret(app: &TestApp, name: &str, value: &str) {
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/secrets",
            Some(json!({"name": name, "value": value})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

fn execution_id(r: &reqwest::Response) -> String {
    r.headers()["x-flowgate-execution-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The seed scenario's flow: fetch the user, map it, PATCH it into the commercial system,
/// answer 200, or 4xx with the error message when a step fails.
fn seed_steps(identity: &str, crm: &str) -> Value {
    json!([
        {"type": "map", "name": "read event", "to": "event", "fields": {
            "id": "$.request.body.id", "entity": "$.request.body.entityType", "type": "$.request.body.eventType"}},
        {"type": "condition", "if": "vars.event.id == () || vars.event.entity != \"USER\"", "then": [
            {"type": "fail", "status": 400, "message": "a USER event with an id is required"}
        ]},
        {"type": "http", "name": "fetch user", "method": "GET",
         "url": format!("{identity}/users/${{vars.event.id}}"),
         "auth": {"type": "bearer", "token_secret": "identity-token"},
         "timeout_ms": 5000, "to": "user", "fail_on_status": false},
        {"type": "script", "name": "check user", "code": "if vars.user.status == 404 {\n    fail(404, `user ${vars.event.id} not found in the identity service`);\n} else if !vars.user.ok {\n    fail(424, `the identity service answered ${vars.user.status}`);\n}"},
        {"type": "script", "name": "map to CRM", "code": "let u = vars.user.body;\nvars.customer = #{\n    externalId: u.id,\n    fullName: u.firstName + \" \" + u.lastName,\n    email: u.email,\n    status: if u.active { \"ACTIVE\" } else { \"INACTIVE\" },\n    updatedAt: request.body.timestamp\n};"},
        {"type": "http", "name": "update customer", "method": "PATCH",
         "url": format!("{crm}/customers/${{vars.event.id}}"),
         "auth": {"type": "secret_header", "header": "x-api-key", "secret": "crm-key"},
         "body_expr": "vars.customer", "to": "crm", "fail_on_status": false},
        {"type": "condition", "if": "!vars.crm.ok", "then": [
            {"type": "fail", "status": 422, "message_expr": "`the CRM refused the update (${vars.crm.status}): ${vars.crm.body.message ?? \"\"}`"}
        ]},
        {"type": "respond", "status": 200, "body_expr": "#{ok: true, id: vars.event.id, crm: vars.crm.body}"}
    ])
}

async fn seed_scenario_fetches_maps_and_patches(db: Db) {
    let (base, seen) = receiver().await;
    let app = TestApp::spawn(db).await;
    let (key, api_key) = app.create_key("identity").await;
    // Publishing refuses a flow whose secrets do not exist, naming the step's field.
    let (status, body) = app
        .send(
            Method::PUT,
            "/api/v1/integrations/user-sync",
            Some(doc("identity/UserUpdated", &key, seed_steps(&base, &base))),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let paths: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["steps[2].auth.token_secret", "steps[5].auth.secret"],
        "{body}"
    );
    add_secret(&app, "identity-token", IDENTITY_TOKEN).await;
    add_secret(&app, "crm-key", CRM_KEY).await;
    app.put_integration(
        "user-sync",
        doc("identity/UserUpdated", &key, seed_steps(&base, &base)),
    )
    .await;

    let call = |event: Value| {
        app.call(Method::POST, "identity/UserUpdated")
            .header("x-api-key", &api_key)
            .json(&event)
            .send()
    };
    let r = call(identity_event()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let id = execution_id(&r);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"ok": true, "id": "IDNUMBER1234", "crm": {"updated": true}})
    );
    assert_eq!(
        seen.patches.lock().unwrap().clone(),
        [(
            "IDNUMBER1234".to_owned(),
            json!({"externalId": "IDNUMBER1234", "fullName": "Jane Doe", "email": "jane.doe@example.com",
                   "status": "ACTIVE", "updatedAt": "2019-01-01T00:00:00Z"})
        )]
    );
    // The trace shows both calls, credentials redacted, and no secret anywhere.
    let exec = app.wait_final(&id).await;
    assert_eq!(exec["status"], "succeeded", "{exec}");
    let steps = exec["steps"].as_array().unwrap();
    let fetch = &steps[3]["calls"][0];
    assert_eq!(fetch["method"], "GET");
    assert_eq!(fetch["url"], format!("{base}/users/IDNUMBER1234"));
    assert_eq!(fetch["status"], 200);
    assert_eq!(fetch["attempt"], 1);
    assert_eq!(fetch["request_headers"]["authorization"], "[redacted]");
    assert!(fetch["response_body"].as_str().unwrap().contains("Jane"));
    assert!(fetch["duration_us"].as_u64().unwrap() > 0);
    let patch = &steps[6]["calls"][0];
    assert_eq!(patch["method"], "PATCH");
    assert_eq!(patch["request_headers"]["x-api-key"], "[redacted]");
    assert_eq!(patch["request_headers"]["content-type"], "application/json");
    assert!(patch["request_body"].as_str().unwrap().contains("Jane Doe"));
    let text = exec.to_string();
    assert!(
        !text.contains(IDENTITY_TOKEN) && !text.contains(CRM_KEY),
        "{text}"
    );

    // A user the identity service does not know: 404 with the message.
    let r = call(json!({"id": "missing", "entityType": "USER", "eventType": "UPDATE", "timestamp": "2019-01-01T00:00:00Z"}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "user missing not found in the identity service"
    );
    // The identity service broken: 424 naming it.
    let r = call(json!({"id": "broken", "entityType": "USER", "eventType": "UPDATE", "timestamp": "2019-01-01T00:00:00Z"}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FAILED_DEPENDENCY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["message"],
        "the identity service answered 500"
    );
    // A malformed event never reaches the identity service.
    let before = seen.count("user");
    let r = call(json!({"entityType": "GROUP"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(seen.count("user"), before);
    assert_eq!(seen.patches.lock().unwrap().len(), 1);
    app.stop().await;
}
on_both!(seed_scenario_fetches_maps_and_patches);

/// Runs a one-trigger app on SQLite with the given steps; returns the app and the API key.
async fn app_with(slug: &str, steps: Value) -> (TestApp, String) {
    let app = TestApp::spawn(Db::Sqlite).await;
    let (key, api_key) = app.create_key(slug).await;
    app.put_integration(slug, doc(&format!("http/{slug}"), &key, steps))
        .await;
    (app, api_key)
}

async fn post(app: &TestApp, slug: &str, key: &str) -> (StatusCode, Value, String) {
    let r = app
        .call(Method::POST, &format!("http/{slug}"))
        .header("x-api-key", key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let id = execution_id(&r);
    (status, r.json().await.unwrap_or(Value::Null), id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_statuses_fail_the_flow_or_reach_it() {
    let (base, _seen) = receiver().await;
    let (app, key) = app_with(
        "statuses",
        json!([
            {"type": "http", "url": format!("{base}/status/503"), "to": "a"},
            {"type": "respond", "body": "not reached"}
        ]),
    )
    .await;
    let (status, body, id) = post(&app, "statuses", &key).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["error"]["code"], "flow_failed");
    let exec = app.wait_final(&id).await;
    assert_eq!(exec["status"], "errored");
    let error = exec["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("GET {base}/status/503 answered 503"))
            && error.contains("status 503 as asked"),
        "{error}"
    );
    assert_eq!(exec["steps"][0]["status"], "error");
    assert_eq!(exec["steps"][0]["calls"][0]["status"], 503);

    // fail_on_status false: the flow reads the status and decides.
    let mut d = doc(
        "http/statuses2",
        &app.create_key("k2").await.0,
        json!([
            {"type": "http", "url": format!("{base}/status/409"), "to": "a", "fail_on_status": false},
            {"type": "respond", "status": 200, "body_expr": "#{seen: vars.a.status, ok: vars.a.ok, said: vars.a.body.error}"}
        ]),
    );
    d["trigger"]["auth"] = json!({"type": "none"});
    app.put_integration("statuses2", d).await;
    let r = app
        .call(Method::POST, "http/statuses2")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"seen": 409, "ok": false, "said": "status 409 as asked"})
    );
    // A test run makes the call too and shows it in its step.
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/integrations/statuses2/test",
            Some(json!({"request": {"body": "{}"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["response"]["body"]["seen"], 409, "{body}");
    let call = &body["steps"][0]["calls"][0];
    assert_eq!(call["status"], 409, "{body}");
    assert_eq!(call["url"], format!("{base}/status/409"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_retries_and_size_limits() {
    let (base, seen) = receiver().await;
    let (app, key) = app_with(
        "slow",
        json!([{"type": "http", "url": format!("{base}/slow"), "timeout_ms": 300}]),
    )
    .await;
    let started = Instant::now();
    let (status, _, id) = post(&app, "slow", &key).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let exec = app.wait_final(&id).await;
    assert!(
        exec["error"]
            .as_str()
            .unwrap()
            .ends_with("/slow: timed out"),
        "{exec}"
    );
    assert_eq!(exec["steps"][0]["calls"][0]["error"], "timed out");

    // 429 with Retry-After: 1, then 503, then 200: three attempts, the first wait >= 1 s.
    let mut d = doc(
        "http/flaky",
        &app.create_key("f").await.0,
        json!([
            {"type": "http", "url": format!("{base}/flaky"), "to": "r",
             "retries": {"max": 3, "delay_ms": 50}},
            {"type": "respond", "body_expr": "vars.r.body"}
        ]),
    );
    d["trigger"]["auth"] = json!({"type": "none"});
    app.put_integration("flaky", d).await;
    let started = Instant::now();
    let r = app
        .call(Method::POST, "http/flaky")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let id = execution_id(&r);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"finally": true}));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(seen.count("flaky"), 3);
    let exec = app.wait_final(&id).await;
    let calls = exec["steps"][0]["calls"].as_array().unwrap();
    let got: Vec<(u64, u64)> = calls
        .iter()
        .map(|c| {
            (
                c["attempt"].as_u64().unwrap(),
                c["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [(1, 429), (2, 503), (3, 200)]);

    // Retries are capped: two attempts, then the 503 breaks the flow.
    let mut d = doc(
        "http/capped",
        &app.create_key("c").await.0,
        json!([{"type": "http", "url": format!("{base}/status/503"), "retries": {"max": 1, "delay_ms": 10}}]),
    );
    d["trigger"]["auth"] = json!({"type": "none"});
    app.put_integration("capped", d).await;
    let before = seen.count("status");
    let r = app
        .call(Method::POST, "http/capped")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(seen.count("status") - before, 2);

    // A response over max_response_bytes is refused.
    let mut d = doc(
        "http/big",
        &app.create_key("b").await.0,
        json!([{"type": "http", "url": format!("{base}/big"), "max_response_bytes": 1000}]),
    );
    d["trigger"]["auth"] = json!({"type": "none"});
    app.put_integration("big", d).await;
    let r = app
        .call(Method::POST, "http/big")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let exec = app.wait_final(&execution_id(&r)).await;
    assert!(
        exec["error"]
            .as_str()
            .unwrap()
            .contains("the response is larger than 1000 bytes"),
        "{exec}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_and_oauth2_tokens_are_cached_and_renewed() {
    let (base, seen) = receiver().await;
    let app = TestApp::spawn(Db::Sqlite).await;
    add_secret(&app, "svc-password", BASIC_PASSWORD).await;
    add_secret(&app, "crm-oauth", OAUTH_SECRET).await;
    let mut d = doc(
        "http/auth",
        &app.create_key("k").await.0,
        json!([
            {"type": "http", "url": format!("{base}/basic"), "to": "b",
             "auth": {"type": "basic", "username": "svc", "password_secret": "svc-password"}},
            {"type": "http", "url": format!("{base}/protected"), "to": "p",
             "auth": {"type": "oauth2_client_credentials", "token_url": format!("{base}/oauth/token"),
                      "client_id": "flowgate", "client_secret_secret": "crm-oauth", "scope": "crm.write"}},
            {"type": "respond", "body_expr": "#{who: vars.b.body.who, token: vars.p.body.token}"}
        ]),
    );
    d["trigger"]["auth"] = json!({"type": "none"});
    app.put_integration("auth", d).await;
    let call = || async {
        let r = app
            .call(Method::POST, "http/auth")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let id = execution_id(&r);
        (r.status(), r.json::<Value>().await.unwrap(), id)
    };
    for _ in 0..3 {
        let (status, body, _) = call().await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({"who": "svc", "token": "oauth-token-1"}));
    }
    // One token for three calls.
    assert_eq!(seen.count("token"), 1);
    assert_eq!(seen.count("protected"), 3);
    // The token is revoked: the 401 renews it once and the call goes through.
    *seen.revoked.lock().unwrap() = Some("oauth-token-1".into());
    let (status, body, id) = call().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token"], "oauth-token-2");
    assert_eq!(seen.count("token"), 2);
    let exec = app.wait_final(&id).await;
    let calls = exec["steps"][1]["calls"].as_array().unwrap();
    let shape: Vec<(Option<&str>, u64)> = calls
        .iter()
        .map(|c| (c["purpose"].as_str(), c["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(shape, [(None, 401), (Some("token"), 200), (None, 200)]);
    let token_call = &calls[1];
    assert!(token_call["request_body"]
        .as_str()
        .unwrap()
        .contains("client_secret=[redacted]"));
    assert!(token_call["response_body"]
        .as_str()
        .unwrap()
        .contains("\"access_token\":\"[redacted]\""));
    assert_eq!(
        exec["steps"][0]["calls"][0]["request_headers"]["authorization"],
        "[redacted]"
    );
    let text = exec.to_string();
    for secret in [BASIC_PASSWORD, OAUTH_SECRET] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // The flow answered with the token on purpose; its trace never shows it.
    assert!(!exec["steps"].to_string().contains("oauth-token-2"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_api_never_returns_values() {
    let app = TestApp::spawn(Db::Sqlite).await;
    add_secret(&app, "crm-key", CRM_KEY).await;
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/secrets",
            Some(json!({"name": "crm-key", "value": "again"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/secrets",
            Some(json!({"name": "bad name", "value": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app.get("/api/v1/secrets").await;
    assert_eq!(status, StatusCode::OK);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "crm-key");
    assert!(items[0]["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(items[0].get("value").is_none());
    let (status, body) = app
        .send(
            Method::PUT,
            "/api/v1/secrets/crm-key",
            Some(json!({"value": "rotated-value-1"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.to_string().contains("rotated-value-1"));
    let (status, _) = app
        .send(
            Method::PUT,
            "/api/v1/secrets/nope",
            Some(json!({"value": "v"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Stored encrypted: the value is not in the database file.
    let db_bytes = std::fs::read(app.data_dir().join("flowgate.db")).unwrap_or_default();
    let needle = b"rotated-value-1";
    assert!(!db_bytes.windows(needle.len()).any(|w| w == needle));
    // Not for anonymous callers.
    let (status, _) = app.send_anon(Method::GET, "/api/v1/secrets", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .send(Method::DELETE, "/api/v1/secrets/crm-key", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .send(Method::DELETE, "/api/v1/secrets/crm-key", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

/// An asynchronous trigger: 202 at once, the worker makes the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_trigger_runs_http_steps_on_workers() {
    let (base, seen) = receiver().await;
    let app = TestApp::spawn(Db::Sqlite).await;
    let mut d = doc(
        "http/async",
        &app.create_key("k").await.0,
        json!([
            {"type": "http", "method": "POST", "url": format!("{base}/count"), "body_expr": "request.body", "to": "c"},
            {"type": "log", "message_expr": "`count ${vars.c.body.n}`"}
        ]),
    );
    d["trigger"]["auth"] = json!({"type": "none"});
    d["trigger"]["request_response"] = json!(false);
    app.put_integration("async", d).await;
    let r = app
        .call(Method::POST, "http/async")
        .json(&json!({"x": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let id = execution_id(&r);
    let exec = app.wait_final(&id).await;
    assert_eq!(exec["status"], "succeeded", "{exec}");
    assert_eq!(exec["logs"][0]["message"], "count 1");
    assert_eq!(exec["steps"][0]["calls"][0]["request_body"], "{\"x\":1}");
    assert_eq!(seen.count("count"), 1);
    app.stop().await;
}

/// A flow with an HTTP step that runs longer than the inline budget is run once, on a
/// blocking thread: never started inline and run again (which would call twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_flows_are_never_run_twice_by_the_inline_budget() {
    let (base, seen) = receiver().await;
    let (mut cfg, dir) = fresh_config(Db::Sqlite).await;
    cfg.runtime.inline_budget_us = 5_000;
    cfg.runtime.max_operations = 500_000_000;
    let app = TestApp::spawn_with(Db::Sqlite, cfg, dir).await;
    for (slug, request_response) in [("inline-sync", true), ("inline-async", false)] {
        let mut d = doc(
            &format!("http/{slug}"),
            &app.create_key(slug).await.0,
            json!([
                {"type": "http", "method": "POST", "url": format!("{base}/count"), "to": "c"},
                {"type": "script", "code": "let t = now_unix_ms(); while now_unix_ms() - t < 50 { }"},
                {"type": "respond", "body_expr": "vars.c.body"}
            ]),
        );
        d["trigger"]["auth"] = json!({"type": "none"});
        d["trigger"]["request_response"] = json!(request_response);
        app.put_integration(slug, d).await;
    }
    let before = seen.count("count");
    let r = app
        .call(Method::POST, "http/inline-sync")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(seen.count("count") - before, 1);
    let r = app
        .call(Method::POST, "http/inline-async")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let exec = app.wait_final(&execution_id(&r)).await;
    assert_eq!(exec["status"], "succeeded", "{exec}");
    assert_eq!(seen.count("count") - before, 2);
    app.stop().await;
}

/// The SSRF guard. Every address used here is a loopback one: the guard refuses before it
/// connects, and what it lets through goes to the test's own receiver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_calls_to_private_addresses_are_refused_unless_allowed() {
    let (base, seen) = receiver().await;
    let port = base.rsplit(':').next().unwrap().to_owned();
    let (mut cfg, dir) = fresh_config(Db::Sqlite).await;
    cfg.outbound.allow = Vec::new();
    let app = TestApp::spawn_with(Db::Sqlite, cfg, dir).await;
    let (key, secret) = app.create_key("k").await;
    let call = |url: String| json!([{"type": "http", "url": url, "to": "r"}, {"type": "respond", "status": 200, "body_expr": "vars.r.body"}]);
    app.put_integration("lit", doc("ssrf/lit", &key, call(format!("{base}/plain"))))
        .await;
    app.put_integration(
        "name",
        doc(
            "ssrf/name",
            &key,
            call(format!("http://localhost:{port}/plain")),
        ),
    )
    .await;
    for (path, says) in [
        (
            "ssrf/lit",
            "127.0.0.1 is a loopback address; allow it with outbound.allow".to_owned(),
        ),
        ("ssrf/name", "localhost resolves to ".to_owned()),
    ] {
        let resp = app
            .call(Method::POST, path)
            .header("x-api-key", &secret)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let id = execution_id(&resp);
        let exec = app.wait_final(&id).await;
        let error = exec["error"].as_str().unwrap();
        assert!(error.contains(&says), "{path}: {error}");
        // Refused at once: no retries of a refusal.
        assert!(
            exec["steps"][0]["calls"].as_array().map_or(0, |c| c.len()) <= 1,
            "{exec}"
        );
    }
    assert_eq!(seen.count("plain"), 0, "nothing reached the receiver");
    // A subscription to a loopback URL is refused at creation.
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/subscriptions",
            Some(json!({"url": format!("{base}/hook"), "event_types": ["*"]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("loopback"),
        "{body}"
    );
    app.stop().await;

    // Allow-listed (127.0.0.1 only): the call goes through; a redirect to another loopback
    // address that is not listed is refused on that hop.
    let (mut cfg, dir) = fresh_config(Db::Sqlite).await;
    cfg.outbound.allow = vec!["127.0.0.1".to_owned()];
    let app = TestApp::spawn_with(Db::Sqlite, cfg, dir).await;
    let (key, secret) = app.create_key("k").await;
    app.put_integration("ok", doc("ssrf/ok", &key, call(format!("{base}/plain"))))
        .await;
    let to = format!("http://127.0.0.2:{port}/plain");
    app.put_integration(
        "hop",
        doc("ssrf/hop", &key, call(format!("{base}/redirect?to={to}"))),
    )
    .await;
    let resp = app
        .call(Method::POST, "ssrf/ok")
        .header("x-api-key", &secret)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"plain": true}));
    let resp = app
        .call(Method::POST, "ssrf/hop")
        .header("x-api-key", &secret)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let exec = app.wait_final(&execution_id(&resp)).await;
    let error = exec["error"].as_str().unwrap();
    assert!(
        error.contains(&format!(
            "the redirect to {to} was refused: 127.0.0.2 is a loopback address"
        )),
        "{error}"
    );
    assert_eq!(seen.count("redirect"), 1);
    assert_eq!(seen.count("plain"), 1, "only the allowed call arrived");
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/subscriptions",
            Some(json!({"url": format!("{base}/hook"), "event_types": ["*"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}

/// Redirects are followed hop by hop and traced; a hop to another host carries no credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_stay_with_their_host_across_redirects() {
    let (base, _seen) = receiver().await;
    let port = base.rsplit(':').next().unwrap().to_owned();
    let app = TestApp::spawn(Db::Sqlite).await;
    add_secret(&app, "crm-key", CRM_KEY).await;
    let (key, secret) = app.create_key("k").await;
    let step = |url: String| {
        json!([
        {"type": "http", "url": url, "to": "r", "auth": {"type": "secret_header", "header": "x-crm-key", "secret": "crm-key"}},
        {"type": "respond", "status": 200, "body_expr": "vars.r.body"}])
    };
    let same = format!("{base}/redirect?to=/headers");
    let other = format!("{base}/redirect?to=http://localhost:{port}/headers");
    app.put_integration("same", doc("redir/same", &key, step(same)))
        .await;
    app.put_integration("other", doc("redir/other", &key, step(other)))
        .await;
    let call = |path: &'static str| {
        let r = app
            .call(Method::POST, path)
            .header("x-api-key", &secret)
            .json(&json!({}));
        async move { r.send().await.unwrap() }
    };
    let resp = call("redir/same").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let id = execution_id(&resp);
    let got: Value = resp.json().await.unwrap();
    assert_eq!(
        got["x-crm-key"], CRM_KEY,
        "same origin keeps the credential"
    );
    let exec = app.wait_final(&id).await;
    let calls = exec["steps"][0]["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{exec}");
    assert_eq!(calls[0]["purpose"], "redirect");
    assert_eq!(calls[0]["status"], 302);
    assert!(calls[1]["url"].as_str().unwrap().ends_with("/headers"));
    assert!(
        !exec["steps"].to_string().contains(CRM_KEY),
        "the trace never shows the secret"
    );

    let resp = call("redir/other").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let got: Value = resp.json().await.unwrap();
    assert!(
        got.get("x-crm-key").is_none(),
        "another host gets no credential: {got}"
    );
    assert!(
        got["host"].as_str().unwrap().starts_with("localhost"),
        "{got}"
    );
    app.stop().await;
}

/// A secret bound to hosts is only ever sent to them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_bound_to_hosts_go_nowhere_else() {
    let (base, seen) = receiver().await;
    let app = TestApp::spawn(Db::Sqlite).await;
    let (status, body) = app
        .send(Method::POST, "/api/v1/secrets", Some(json!({"name": "bound", "value": CRM_KEY, "hosts": ["crm.example.com", "*.crm.example.com"]})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["hosts"],
        json!(["crm.example.com", "*.crm.example.com"])
    );
    let (key, secret) = app.create_key("k").await;
    let steps = json!([
        {"type": "http", "url": format!("{base}/headers"), "to": "r", "auth": {"type": "secret_header", "header": "x-crm-key", "secret": "bound"}},
        {"type": "respond", "status": 200, "body_expr": "vars.r.body"}]);
    app.put_integration("bound", doc("bound/call", &key, steps))
        .await;
    let call = || {
        app.call(Method::POST, "bound/call")
            .header("x-api-key", &secret)
            .json(&json!({}))
            .send()
    };
    let resp = call().await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let exec = app.wait_final(&execution_id(&resp)).await;
    let error = exec["error"].as_str().unwrap();
    assert!(error.contains("secret `bound` may only be sent to crm.example.com, *.crm.example.com, not to 127.0.0.1"), "{error}");
    assert_eq!(seen.count("headers"), 0);
    // Bound to the receiver's host: sent.
    let (status, _) = app
        .send(
            Method::PUT,
            "/api/v1/secrets/bound",
            Some(json!({"value": CRM_KEY, "hosts": ["127.0.0.1"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let resp = call().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap()["x-crm-key"], CRM_KEY);
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/secrets",
            Some(json!({"name": "badhosts", "value": "v", "hosts": ["a b"]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.stop().await;
}
