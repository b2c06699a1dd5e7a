//! The admin API against its own OpenAPI document (`GET /api/v1/openapi.json`): the document
//! validates (openapi-spec-validator), and a bounded, seeded schemathesis run against the live
//! server finds no answer that the document does not describe (status, content type, body
//! schema, headers) and no server error. Both tools come from tools/requirements-test.txt
//! (scripts/setup installs them into tools/.venv). Only 127.0.0.1 is talked to.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::header;
use reqwest::StatusCode;

use crate::support::{Db, TestApp};

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

/// Runs a command to its end, or kills it after `limit`.
async fn run(mut cmd: Command, limit: Duration) -> Output {
    // Only loopback: no proxy between the tools and the test server.
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
        cmd.env_remove(var);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} took longer than {limit:?}\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
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
    let text = resp.text().await.unwrap();
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
    std::fs::write(&file, &text).unwrap();

    let mut check = Command::new(venv_bin("python"));
    check.arg(tools().join("py/openapi_check.py")).arg(&file);
    let out = run(check, Duration::from_secs(30)).await;
    assert!(
        out.status.success(),
        "the document does not validate:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let mut st = Command::new(venv_bin("schemathesis"));
    st.current_dir(work.path())
        .env("SCHEMATHESIS_HOOKS", "")
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
        .args(["--workers", "2", "--generation-database", "none"])
        .args(["--continue-on-failure", "--no-color"]);
    for op in EXCLUDED_OPERATIONS {
        st.args(["--exclude-operation-id", op]);
    }
    let out = run(st, SCHEMATHESIS_TIMEOUT).await;
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis found mismatches:\n{report}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn tmp_hold() {
    let app = TestApp::spawn(Db::Sqlite).await;
    std::fs::write("/tmp/hold.txt", format!("{} {}", app.base, app.token)).unwrap();
    tokio::time::sleep(Duration::from_secs(1500)).await;
    app.stop().await;
}
