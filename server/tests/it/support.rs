//! The test harness: a real Flowgate server on an ephemeral port, on SQLite (a temp file) or
//! PostgreSQL (a fresh schema in the database named by FLOWGATE_TEST_POSTGRES_URL, default the
//! local `test` database).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use flowgate::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    pub db: Db,
    handle: actix_web::dev::ServerHandle,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub cfg: Config,
    _dir: std::sync::Arc<tempfile::TempDir>,
}

pub fn postgres_base_url() -> String {
    std::env::var("FLOWGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A configuration for a fresh database of the given kind.
pub async fn fresh_config(db: Db) -> (Config, std::sync::Arc<tempfile::TempDir>) {
    flowgate::telemetry::init_for_tests();
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut cfg = Config::defaults().unwrap();
    cfg.data_dir = dir.path().to_path_buf();
    cfg.admin_email = ADMIN_EMAIL.to_owned();
    cfg.admin_password = ADMIN_PASSWORD.to_owned();
    cfg.http_workers = 2;
    cfg.worker.poll_interval_ms = 200;
    cfg.runtime.max_duration_ms = 5_000;
    // The tests' receivers listen on loopback, which the SSRF guard refuses by default.
    cfg.outbound.allow = vec!["127.0.0.0/8".to_owned(), "::1".to_owned()];
    if db == Db::Postgres {
        let base = postgres_base_url();
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let admin = flowgate::db::connect_url(&base, 2, "normal").await.unwrap();
        use sea_orm::ConnectionTrait;
        admin
            .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
            .await
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        cfg.database_url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    }
    (cfg, dir)
}

impl TestApp {
    pub async fn spawn(db: Db) -> TestApp {
        let (cfg, dir) = fresh_config(db).await;
        Self::spawn_with(db, cfg, dir).await
    }

    pub async fn spawn_with(
        db: Db,
        cfg: Config,
        dir: std::sync::Arc<tempfile::TempDir>,
    ) -> TestApp {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let running = flowgate::start(cfg.clone(), listener).await.unwrap();
        let handle = running.handle();
        let done = tokio::spawn(running.wait());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let mut app = TestApp {
            base,
            http,
            token: String::new(),
            db,
            handle,
            done,
            cfg,
            _dir: dir,
        };
        let (status, body) = app
            .send(
                Method::POST,
                "/api/v1/auth/login",
                Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        app.token = body["token"].as_str().unwrap().to_owned();
        app
    }

    pub fn data_dir(&self) -> PathBuf {
        self.cfg.data_dir.clone()
    }

    /// Stops gracefully (like SIGTERM) and returns what is needed to start again on the same data.
    pub async fn stop(self) -> (Config, std::sync::Arc<tempfile::TempDir>) {
        self.handle.stop(true).await;
        self.done.await.unwrap().unwrap();
        (self.cfg, self._dir)
    }

    /// An admin API call with the admin's token; returns status and JSON (Null if none).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.send_as(Some(&self.token), method, path, body).await
    }

    /// An admin API call without credentials.
    pub async fn send_anon(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.send_as(None, method, path, body).await
    }

    pub async fn send_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token.filter(|t| !t.is_empty()) {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    pub async fn create_key(&self, label: &str) -> (String, String) {
        let (status, body) = self
            .send(Method::POST, "/api/v1/keys", Some(json!({"label": label})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["id"].as_str().unwrap().to_owned(),
            body["secret"].as_str().unwrap().to_owned(),
        )
    }

    /// Saves an integration; asserts success.
    pub async fn put_integration(&self, slug: &str, doc: Value) -> Value {
        let (status, body) = self
            .send(
                Method::PUT,
                &format!("/api/v1/integrations/{slug}"),
                Some(doc),
            )
            .await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status} {body}"
        );
        body
    }

    /// A consumer call to `/t/{path}`.
    pub fn call(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/t/{}", self.base, path))
    }

    /// Waits until the execution reaches a final status; returns it.
    pub async fn wait_final(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (status, body) = self.get(&format!("/api/v1/executions/{id}")).await;
            if status == StatusCode::OK
                && matches!(
                    body["status"].as_str(),
                    Some("succeeded" | "failed" | "errored" | "dead" | "skipped")
                )
            {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "execution {id} did not finish: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// All executions of an integration (pages through the cursor).
    pub async fn all_executions(&self, slug: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/executions?integration={slug}&limit=500");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (status, body) = self.get(&path).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            out.extend(body["items"].as_array().unwrap().iter().cloned());
            match body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }
}

/// A trigger document with an API key, request-response on, unordered.
pub fn doc(path: &str, key_id: &str, steps: Value) -> Value {
    json!({
        "name": format!("Test {path}"),
        "trigger": {
            "path": path,
            "methods": ["POST"],
            "auth": {"type": "api_key", "keys": [key_id]},
            "ordered": false,
            "request_response": true,
            "timeout_ms": 10000,
            "max_body_bytes": 1048576,
            "query_params": []
        },
        "steps": steps
    })
}

/// The identity-service update event (shared/samples/identity-user-update.json).
pub fn identity_event() -> Value {
    json!({"id":"IDNUMBER1234","entityType":"USER","eventType":"UPDATE","timestamp":"2019-01-01T00:00:00Z","email":"jane.doe@example.com"})
}

/// Maps the identity event into the answer of the benchmark's sync-map workload.
pub fn identity_steps() -> Value {
    json!([
        {"type": "map", "to": "m", "fields": {
            "id": "$.request.body.id", "entity_type": "$.request.body.entityType",
            "event": "$.request.body.eventType", "email": "$.request.body.email"}},
        {"type": "script", "code": "let at = vars.m.email.index_of(\"@\");\nvars.out = #{ok: true, entity: vars.m.entity_type + \":\" + vars.m.id, event: vars.m.event.to_lower(), email_domain: vars.m.email.sub_string(at + 1)};"},
        {"type": "respond", "status": 200, "body_expr": "vars.out"}
    ])
}

/// A SendGrid event batch (the shape of shared/samples/sendgrid-event-batch.json).
pub fn sendgrid_batch() -> Value {
    json!([
        {"email": "ann@example.com", "timestamp": 1700000000, "event": "delivered",
         "sg_event_id": "ZGVsaXZlcmVk", "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001"},
        {"email": "ann@example.com", "timestamp": 1700000300, "event": "open",
         "sg_event_id": "b3Blbi0x", "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001"},
        {"email": "bob@example.com", "timestamp": 1700000420, "event": "bounce",
         "sg_event_id": "Ym91bmNl", "sg_message_id": "bob.filter0002", "reason": "550 5.1.1 unknown user"}
    ])
}

/// Generates one test per database for an async test body `fn(Db)`.
#[macro_export]
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::support::Db::Postgres).await
            }
        }
    };
}
