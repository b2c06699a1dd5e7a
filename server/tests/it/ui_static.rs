//! The web UI served by the same binary: files, caching, the SPA fallback, path traversal.

use std::io::{Read, Write};
use std::path::Path;

use reqwest::{Method, StatusCode};

use crate::support::{fresh_config, Db, TestApp};

const HASHED_JS: &str = "pkg/flowgate-ui.0123456789abcdef.js";
const HASHED_WASM: &str = "pkg/flowgate-ui_bg.0123456789abcdef.wasm";
const SECRET: &str = "top secret outside the UI directory";

/// A UI directory (`ui/` in a temp dir) and a secret file next to it.
fn ui_dir(root: &Path) -> std::path::PathBuf {
    let ui = root.join("ui");
    std::fs::create_dir_all(ui.join("pkg")).unwrap();
    std::fs::write(
        ui.join("index.html"),
        "<!doctype html><title>Flowgate UI</title>",
    )
    .unwrap();
    std::fs::write(ui.join(HASHED_JS), "export default 1;").unwrap();
    std::fs::write(ui.join(HASHED_WASM), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(ui.join("style.css"), "body{}").unwrap();
    std::fs::write(ui.join("favicon.ico"), b"ico").unwrap();
    std::fs::write(root.join("secret.txt"), SECRET).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("secret.txt"), ui.join("link.txt")).unwrap();
    ui
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Sends a request line as written (no client normalises `..` away); returns status line and
/// the whole answer.
async fn raw_get(base: &str, target: &str) -> (String, String) {
    let addr = base.trim_start_matches("http://").to_owned();
    let target = target.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        write!(
            s,
            "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text.lines().next().unwrap_or_default().to_owned();
        (status, text)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_files_spa_fallback_and_traversal() {
    let (mut cfg, dir) = fresh_config(Db::Sqlite).await;
    let files = tempfile::tempdir().unwrap();
    cfg.ui.dir = ui_dir(files.path());
    let app = TestApp::spawn_with(Db::Sqlite, cfg, dir).await;

    let r = get(&app, "/").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&r, "cache-control"), "no-cache");
    let etag = header(&r, "etag");
    assert!(r.text().await.unwrap().contains("Flowgate UI"));
    // Revalidation of the index.
    let r = app
        .http
        .get(format!("{}/", app.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    // Deep links of the UI get the index.
    for path in [
        "/integrations/foo",
        "/executions",
        "/integrations/foo/versions/",
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&r, "cache-control"), "no-cache");
        assert!(r.text().await.unwrap().contains("Flowgate UI"), "{path}");
    }
    // Hashed files are immutable; others revalidate.
    let r = get(&app, &format!("/{HASHED_JS}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(
        header(&r, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.text().await.unwrap(), "export default 1;");
    let r = get(&app, &format!("/{HASHED_WASM}")).await;
    assert_eq!(header(&r, "content-type"), "application/wasm");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"\0asm\x01\0\0\0");
    let r = get(&app, "/style.css").await;
    assert_eq!(header(&r, "content-type"), "text/css; charset=utf-8");
    assert_eq!(header(&r, "cache-control"), "no-cache");
    let r = get(&app, "/favicon.ico").await;
    assert_eq!(header(&r, "content-type"), "image/x-icon");
    // HEAD answers like GET, without a body.
    let r = app
        .http
        .head(format!("{}/{HASHED_JS}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "text/javascript; charset=utf-8");
    assert!(r.bytes().await.unwrap().is_empty());
    // A missing file with an extension is a 404, not the index.
    let r = get(&app, "/pkg/missing.0123456789abcdef.js").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The API, the consumer endpoints and the health check are not the UI.
    let (status, body) = app.get("/api/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, body) = app.get("/api/other").await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    let r = get(&app, "/t/no/such/trigger").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&r, "content-type"), "application/json");
    let (status, body) = app.send(Method::POST, "/healthz", None).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    let (status, body) = app.send(Method::POST, "/integrations/foo", None).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, "not_found".into())
    );

    // Nothing outside the directory, however the path is written.
    for target in [
        "/../secret.txt",
        "/pkg/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/pkg/..%2f..%2fsecret.txt",
        "/pkg/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/..",
        "/pkg/%2e%2e",
        "/link.txt",
    ] {
        let (status, text) = raw_get(&app.base, target).await;
        assert!(!text.contains(SECRET), "{target}: {text}");
        assert!(
            status.contains(" 404 ") || status.contains(" 400 "),
            "{target}: {status}"
        );
    }
    // A path without an extension that cannot be a file is not the index either.
    let (status, _) = raw_get(&app.base, "/pkg/%2e%2e%2f%2e%2e%2fsecret").await;
    assert!(status.contains(" 404 "), "{status}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_not_built_says_how_to_build_it() {
    let (mut cfg, dir) = fresh_config(Db::Sqlite).await;
    cfg.ui.dir = dir.path().join("no-such-dir");
    let app = TestApp::spawn_with(Db::Sqlite, cfg, dir).await;
    for path in ["/", "/integrations/foo"] {
        let r = get(&app, path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
        let text = r.text().await.unwrap();
        assert!(text.contains("scripts/build-ui"), "{text}");
    }
    assert_eq!(get(&app, "/app.js").await.status(), StatusCode::NOT_FOUND);
    // An index.html missing from an existing directory is the same.
    app.stop().await;
    let (mut cfg, dir) = fresh_config(Db::Sqlite).await;
    let empty = tempfile::tempdir().unwrap();
    cfg.ui.dir = empty.path().to_path_buf();
    let app = TestApp::spawn_with(Db::Sqlite, cfg, dir).await;
    let r = get(&app, "/").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("scripts/build-ui"));
    app.stop().await;
}
