//! The admin API against its own OpenAPI document (`GET /api/v1/openapi.json`): the document
//! validates (openapi-spec-validator), and a bounded, seeded schemathesis run against the live
//! server finds no answer that the document does not describe (status, content type, body
//! schema, headers) and no server error. Both tools come from tools/requirements-test.txt
//! (scripts/setup installs them into tools/.venv). Only 127.0.0.1 is talked to.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reqwest::header;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{doc, identity_event, identity_steps, Db, TestApp};

/// The whole schemathesis run may take this long (it takes about 25 s; nextest ends a test
/// after 2 minutes).
const SCHEMATHESIS_TIMEOUT: Duration = Duration::from_secs(90);

/// Operations left out of the run, each for a reason:
/// - `logout` ends the session the whole run signs its requests with.
const EXCLUDED_OPERATIONS: &[&str] = &["logout"];

fn tools() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools")
}

fn venv_bin(name: &str) -> PathBuf {
    let bin = tools().join(".venv/bin").join(name);
    assert!(
        bin.exists(),
        "{} is missing: run scripts/setup (it installs the tests' Python libraries)",
        bin.display()
    );
    bin
}

/// Runs a command to its end, or kills it after `limit`; its status and what it printed
/// (stdout then stderr, through files in `dir`: no pipe to fill up).
async fn run(mut cmd: Command, dir: &Path, limit: Duration) -> (ExitStatus, String) {
    // Only loopback: no proxy between the tools and the test server.
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    let (out, err) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    cmd.env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "{cmd:?} took longer than {limit:?}\n{}\n{}",
                std::fs::read_to_string(&out).unwrap_or_default(),
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let printed = format!(
        "{}\n{}",
        std::fs::read_to_string(&out).unwrap_or_default(),
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    (status, printed)
}

/// Something of every kind, so that the run reaches real resources too: ids, slugs and names
/// of them become schemathesis dictionaries for the path parameters (half of the values it
/// draws for `{id}`, `{slug}` and `{name}`; the other half are made up and meet `404`s).
struct Seeded {
    ids: Vec<String>,
    slugs: Vec<String>,
    names: Vec<String>,
}

async fn created(app: &TestApp, method: Method, path: &str, body: Value) -> Value {
    let (status, out) = app.send(method, path, Some(body)).await;
    assert!(status.is_success(), "{path}: {status} {out}");
    out
}

fn text(v: &Value) -> String {
    v.as_str().unwrap().to_owned()
}

async fn seed(app: &TestApp) -> Seeded {
    let (key, secret) = app.create_key("contract").await;
    app.put_integration(
        "contract-sync",
        doc("contract/sync", &key, identity_steps()),
    )
    .await;
    let call = app
        .call(Method::POST, "contract/sync")
        .header("x-api-key", &secret)
        .json(&identity_event())
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), StatusCode::OK);
    let execution = call.headers()[flowgate_api::EXECUTION_HEADER]
        .to_str()
        .unwrap()
        .to_owned();
    app.wait_final(&execution).await;
    created(
        app,
        Method::PUT,
        "/api/v1/integrations/contract-draft/draft",
        json!({"name": "Draft", "trigger": {"path": "contract/draft", "auth": {"type": "none"}}}),
    )
    .await;
    let client = created(
        app,
        Method::POST,
        "/api/v1/oauth-clients",
        json!({"label": "contract"}),
    )
    .await;
    created(
        app,
        Method::POST,
        "/api/v1/secrets",
        json!({"name": "contract-secret", "value": "s3cret"}),
    )
    .await;
    let user = created(
        app,
        Method::POST,
        "/api/v1/users",
        json!({"email": "designer@example.com", "password": "long enough", "role": "designer"}),
    )
    .await;
    // Nothing listens on the discard port: its deliveries fail, with attempts to show.
    let sub = created(
        app,
        Method::POST,
        "/api/v1/subscriptions",
        json!({"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}),
    )
    .await;
    created(
        app,
        Method::POST,
        "/api/v1/events",
        json!({"type": "contract.seeded", "payload": {}}),
    )
    .await;
    let sub = text(&sub["id"]);
    let (_, page) = app
        .get(&format!("/api/v1/subscriptions/{sub}/deliveries"))
        .await;
    let delivery = text(&page["items"][0]["id"]);
    Seeded {
        ids: vec![
            key,
            execution,
            text(&client["client_id"]),
            text(&user["id"]),
            sub,
            delivery,
        ],
        slugs: vec!["contract-sync".into(), "contract-draft".into()],
        names: vec!["contract-secret".into()],
    }
}

/// schemathesis.toml: the seeded values as dictionaries of the path parameters.
fn config(seeded: &Seeded) -> String {
    let list = |v: &[String]| serde_json::to_string(v).unwrap();
    format!(
        "[dictionaries.ids]\nvalues = {}\n[dictionaries.slugs]\nvalues = {}\n\
         [dictionaries.names]\nvalues = {}\n[parameters]\n\
         \"path.id\" = {{ dictionary = \"ids\", probability = 0.5 }}\n\
         \"path.slug\" = {{ dictionary = \"slugs\", probability = 0.5 }}\n\
         \"path.name\" = {{ dictionary = \"names\", probability = 0.5 }}\n",
        list(&seeded.ids),
        list(&seeded.slugs),
        list(&seeded.names)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_matches_its_openapi_document() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let url = format!("{}/api/v1/openapi.json", app.base);

    // Served without a session, as JSON, cacheable by revalidation.
    let resp = app.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let headers = resp.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    let document = resp.text().await.unwrap();
    let again = app
        .http
        .get(&url)
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("openapi.json");
    std::fs::write(&file, &document).unwrap();
    let seeded = seed(&app).await;
    let settings = work.path().join("schemathesis.toml");
    std::fs::write(&settings, config(&seeded)).unwrap();

    let mut check = Command::new(venv_bin("python"));
    check.arg(tools().join("py/openapi_check.py")).arg(&file);
    let (status, printed) = run(check, work.path(), Duration::from_secs(30)).await;
    assert!(
        status.success(),
        "the document does not validate:\n{printed}"
    );

    let mut st = Command::new(venv_bin("schemathesis"));
    st.current_dir(work.path())
        .arg("--config-file")
        .arg(&settings)
        .arg("run")
        .arg(&file)
        .args(["--url", &app.base])
        .args(["--header", &format!("Authorization: Bearer {}", app.token)])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance,response_headers_conformance,ignored_auth",
        ])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", "8", "--seed", "20261123"])
        .args(["--max-response-time", "5", "--request-timeout", "10"])
        // One worker: Python 3.11's `ast.parse` is not thread-safe, and hypothesis calls it.
        .args(["--workers", "1", "--generation-database", "none"])
        .args(["--continue-on-failure", "--no-color"]);
    for op in EXCLUDED_OPERATIONS {
        st.args(["--exclude-operation-id", op]);
    }
    let (status, report) = run(st, work.path(), SCHEMATHESIS_TIMEOUT).await;
    assert!(status.success(), "schemathesis found mismatches:\n{report}");
    println!("{report}");
    app.stop().await;
}
