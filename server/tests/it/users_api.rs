//! Users changed by an admin, executions listed by time, the schema going down and up again.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::{doc, fresh_config, identity_event, identity_steps, Db, TestApp};

async fn login(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    app.send_anon(
        Method::POST,
        "/api/v1/auth/login",
        Some(json!({"email": email, "password": password})),
    )
    .await
}

async fn new_user(app: &TestApp, email: &str, role: &str) -> (String, String) {
    let (status, u) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Some(json!({"email": email, "password": "password-one", "role": role})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{u}");
    let (status, l) = login(app, email, "password-one").await;
    assert_eq!(status, StatusCode::OK, "{l}");
    (
        u["id"].as_str().unwrap().to_owned(),
        l["token"].as_str().unwrap().to_owned(),
    )
}

async fn patch_user(app: &TestApp, token: &str, id: &str, body: Value) -> (StatusCode, Value) {
    app.send_as(
        Some(token),
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(body),
    )
    .await
}

async fn users_are_changed_by_admins(db: Db) {
    let app = TestApp::spawn(db).await;
    let admin = app.token.clone();
    let (_, me) = app.get("/api/v1/auth/me").await;
    let me = me["id"].as_str().unwrap().to_owned();
    let (dan, dan_token) = new_user(&app, "dan@example.com", "designer").await;
    let (key, _) = app.create_key("k").await;

    // Demoted: the very next request has the new role.
    let (status, out) = patch_user(&app, &admin, &dan, json!({"role": "viewer"})).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["role"], "viewer");
    let (status, _) = app
        .send_as(
            Some(&dan_token),
            Method::PUT,
            "/api/v1/integrations/x",
            Some(doc("a/x", &key, identity_steps())),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Only admins change users.
    let (status, _) = patch_user(&app, &dan_token, &dan, json!({"role": "admin"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Disabled: the session ends at once and sign-in is refused.
    let (status, out) = patch_user(&app, &admin, &dan, json!({"disabled": true})).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["disabled"], true);
    let (status, _) = app
        .send_as(Some(&dan_token), Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = login(&app, "dan@example.com", "password-one").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Enabled again with a new password: the old one no longer works.
    let (status, out) = patch_user(
        &app,
        &admin,
        &dan,
        json!({"disabled": false, "password": "password-two"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(
        login(&app, "dan@example.com", "password-one").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, l) = login(&app, "dan@example.com", "password-two").await;
    assert_eq!(status, StatusCode::OK);
    let dan_token = l["token"].as_str().unwrap().to_owned();
    // A new password set by an admin ends the user's sessions.
    patch_user(&app, &admin, &dan, json!({"password": "password-three"})).await;
    let (status, _) = app
        .send_as(Some(&dan_token), Method::GET, "/api/v1/auth/me", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Admins cannot disable or demote themselves.
    let (status, body) = patch_user(&app, &admin, &me, json!({"disabled": true})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    let (status, _) = patch_user(&app, &admin, &me, json!({"role": "designer"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Their own password they may change, and keep their session.
    let (status, _) = patch_user(&app, &admin, &me, json!({"password": "a new long one"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get("/api/v1/auth/me").await.0, StatusCode::OK);
    // With a second admin, one may demote the other; the one left cannot leave.
    let (ann, ann_token) = new_user(&app, "ann@example.com", "admin").await;
    let (status, out) = patch_user(&app, &ann_token, &me, json!({"role": "designer"})).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (status, _) = patch_user(&app, &ann_token, &ann, json!({"disabled": true})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = patch_user(&app, &admin, &ann, json!({"disabled": true})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no longer an admin");

    // Bad input.
    for (body, want) in [
        (json!({"role": "owner"}), StatusCode::BAD_REQUEST),
        (json!({"password": "short"}), StatusCode::BAD_REQUEST),
        (json!({"email": "x@example.com"}), StatusCode::BAD_REQUEST),
    ] {
        let (status, out) = patch_user(&app, &ann_token, &dan, body.clone()).await;
        assert_eq!(status, want, "{body}: {out}");
    }
    let (status, body) = patch_user(&app, &ann_token, "nobody", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    app.stop().await;
}
on_both!(users_are_changed_by_admins);

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

async fn executions_between(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    app.put_integration("ok", doc("t/ok", &key, identity_steps()))
        .await;
    let send = || async {
        let r = app
            .call(Method::POST, "t/ok")
            .header("x-api-key", &secret)
            .json(&identity_event())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.headers()["x-flowgate-execution-id"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let t0 = now_rfc3339();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let first = send().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let t1 = now_rfc3339();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = send().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let t2 = now_rfc3339();
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.all_executions("ok").await.len() < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, page) = app.get(&format!("/api/v1/executions?from={t1}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), vec![second.clone()]);
    let (_, page) = app.get(&format!("/api/v1/executions?to={t1}")).await;
    assert_eq!(ids(&page), vec![first.clone()]);
    let (_, page) = app
        .get(&format!(
            "/api/v1/executions?integration=ok&status=succeeded&from={t0}&to={t2}"
        ))
        .await;
    assert_eq!(ids(&page), [second, first]);
    let (_, page) = app.get(&format!("/api/v1/executions?from={t2}")).await;
    assert_eq!(page["items"], json!([]));
    for bad in [
        "from=yesterday",
        "to=2026-13-01T00:00:00Z",
        "from=1700000000",
    ] {
        let (status, body) = app.get(&format!("/api/v1/executions?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "bad_request");
    }
    app.stop().await;
}
on_both!(executions_between);

/// The schema goes down to nothing and up again (every migration's `down` works).
async fn migrations_go_down_and_up(db: Db) {
    use migrations::MigratorTrait;
    let (cfg, _dir) = fresh_config(db).await;
    let conn = flowgate::db::connect(&cfg).await.unwrap();
    migrations::Migrator::up(&conn, None).await.unwrap();
    migrations::Migrator::down(&conn, None).await.unwrap();
    assert!(migrations::Migrator::get_applied_migrations(&conn)
        .await
        .unwrap()
        .is_empty());
    migrations::Migrator::up(&conn, None).await.unwrap();
    assert_eq!(
        migrations::Migrator::get_applied_migrations(&conn)
            .await
            .unwrap()
            .len(),
        migrations::Migrator::migrations().len()
    );
}
on_both!(migrations_go_down_and_up);

/// Failed sign-ins back off: five free failures per account, then a doubling wait answered
/// `429` with `Retry-After`, even for the right password; after the wait, sign-in works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_throttled_then_let_through() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let login = |password: &str| {
        let body = json!({"email": crate::support::ADMIN_EMAIL, "password": password});
        let req = app
            .http
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    for i in 0..6 {
        let resp = login("wrong password").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let resp = login(crate::support::ADMIN_PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Another account from the same address is not held back by this one.
    let (status, _) = app
        .send_anon(
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": "nobody@example.com", "password": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        login(crate::support::ADMIN_PASSWORD).await.status(),
        StatusCode::OK
    );
    // The success forgot the failures: one more wrong password is a plain 401.
    assert_eq!(
        login("wrong again").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(crate::support::ADMIN_PASSWORD).await.status(),
        StatusCode::OK
    );
    app.stop().await;
}

/// `/readyz` says ready only when the database answers with this binary's schema and the
/// workers and heartbeat run; otherwise 503 names the check that fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_what_is_not_ready() {
    use migrations::MigratorTrait;
    let app = TestApp::spawn(Db::Sqlite).await;
    let ready = || app.http.get(format!("{}/readyz", app.base)).send();
    let resp = ready().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["migrations"], "current");
    assert_eq!(body["checks"]["workers"], "running");
    // The schema one migration behind this binary: not ready.
    let conn = flowgate::db::connect(&app.cfg).await.unwrap();
    migrations::Migrator::down(&conn, Some(1)).await.unwrap();
    let resp = ready().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["checks"]["migrations"],
        "1 pending"
    );
    migrations::Migrator::up(&conn, None).await.unwrap();
    assert_eq!(ready().await.unwrap().status(), StatusCode::OK);
    app.stop().await;
}
