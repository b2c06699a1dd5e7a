//! The admin API: sign-in, keys, integrations (validation, versions), executions listing.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both;
use crate::support::{doc, identity_event, identity_steps, Db, TestApp, ADMIN_EMAIL};

async fn login_and_session(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, body) = app
        .send_anon(
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": ADMIN_EMAIL, "password": "wrong"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "invalid_credentials");
    let (status, body) = app
        .send_anon(
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": "nobody@example.com", "password": "wrong"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "invalid_credentials");
    // Without a token the API refuses; with it, it knows who we are.
    let (status, body) = app.send_anon(Method::GET, "/api/v1/keys", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    let (status, me) = app.get("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["role"], "admin");
    // The login also sets an HttpOnly cookie that works instead of the bearer token.
    let resp = app
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"email": ADMIN_EMAIL, "password": crate::support::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let resp = app
        .http
        .get(format!("{}/api/v1/auth/me", app.base))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Logout ends the session.
    let (status, _) = app.send(Method::POST, "/api/v1/auth/logout", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}
on_both!(login_and_session);

async fn keys_secret_shown_once(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, created) = app
        .send(
            Method::POST,
            "/api/v1/keys",
            Some(json!({"label": "identity service"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));
    let (status, list) = app.get("/api/v1/keys").await;
    assert_eq!(status, StatusCode::OK);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["label"], "identity service");
    assert!(
        items[0].get("secret").is_none(),
        "list must not return secrets: {list}"
    );
    assert!(!list.to_string().contains(secret));
    // A pasted secret is accepted once; the same secret again conflicts; a short one is refused.
    let pasted = "pasted-secret-0123456789abcdef";
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/keys",
            Some(json!({"label": "erp", "secret": pasted})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["secret"], pasted);
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/keys",
            Some(json!({"label": "erp2", "secret": pasted})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/keys",
            Some(json!({"label": "x", "secret": "short"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "bad_request");
    let (status, _) = app.send(Method::DELETE, "/api/v1/keys/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}
on_both!(keys_secret_shown_once);

async fn integration_validation_and_versions(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, _) = app.create_key("k").await;
    // A Rhai syntax error in a nested branch and a bad JSONPath are reported per step.
    let bad = doc(
        "acme/Bad",
        &key,
        json!([
            {"type": "map", "to": "m", "fields": {"x": "$.request.body[?("}},
            {"type": "condition", "if": "true", "then": [
                {"type": "script", "code": "let x = ;"}
            ]},
            {"type": "respond", "status": 99}
        ]),
    );
    let (status, body) = app
        .send(Method::PUT, "/api/v1/integrations/bad", Some(bad))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
    let details = body["error"]["details"].as_array().unwrap();
    let steps: Vec<&str> = details.iter().filter_map(|d| d["step"].as_str()).collect();
    assert!(steps.contains(&"0"), "{body}");
    assert!(steps.contains(&"1.then.0"), "{body}");
    assert!(steps.contains(&"2"), "{body}");
    // Unknown key ids and bad paths are caught too.
    let (status, body) = app
        .send(
            Method::PUT,
            "/api/v1/integrations/bad",
            Some(doc("a//b", "no-such-key", json!([]))),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let paths: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"trigger.path") && paths.contains(&"trigger.auth.keys[0]"),
        "{body}"
    );
    // Unknown fields in the document are refused with a clear message.
    let mut weird = doc("acme/W", &key, json!([]));
    weird["trigger"]["orderd"] = json!(true);
    let (status, body) = app
        .send(Method::PUT, "/api/v1/integrations/w", Some(weird))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("orderd"),
        "{body}"
    );

    // Create (201, version 1), update (200, version 2), list, versions.
    let (status, v1) = app
        .send(
            Method::PUT,
            "/api/v1/integrations/create-customer",
            Some(doc("acme/CreateCustomerRecord", &key, identity_steps())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v1}");
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["endpoint"], "/t/acme/CreateCustomerRecord");
    let (status, v2) = app
        .send(
            Method::PUT,
            "/api/v1/integrations/create-customer",
            Some(doc("acme/CreateCustomerRecord", &key, identity_steps())),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v2["version"], 2);
    let (_, versions) = app
        .get("/api/v1/integrations/create-customer/versions")
        .await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 2);
    // Another integration may not take the same path.
    let (status, body) = app
        .send(
            Method::PUT,
            "/api/v1/integrations/other",
            Some(doc("acme/CreateCustomerRecord", &key, json!([]))),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, list) = app.get("/api/v1/integrations").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // The key list shows which integrations accept the key.
    let (_, keys) = app.get("/api/v1/keys").await;
    assert_eq!(keys["items"][0]["integrations"], json!(["create-customer"]));
    // Delete: gone from the API and from the endpoint.
    let (status, _) = app
        .send(Method::DELETE, "/api/v1/integrations/create-customer", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/api/v1/integrations/create-customer").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let resp = app
        .call(Method::POST, "acme/CreateCustomerRecord")
        .json(&identity_event())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}
on_both!(integration_validation_and_versions);

async fn executions_list_filters_and_pages(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    app.put_integration("ok", doc("t/ok", &key, identity_steps()))
        .await;
    app.put_integration(
        "bad",
        doc(
            "t/bad",
            &key,
            json!([{"type": "fail", "status": 422, "message": "no"}]),
        ),
    )
    .await;
    for _ in 0..5 {
        let r = app
            .call(Method::POST, "t/ok")
            .header("x-api-key", &secret)
            .json(&identity_event())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = app
        .call(Method::POST, "t/bad")
        .header("x-api-key", &secret)
        .json(&identity_event())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let id = r.headers()["x-flowgate-execution-id"]
        .to_str()
        .unwrap()
        .to_owned();
    app.wait_final(&id).await;
    // Recording is batched off the hot path: wait until all six are visible.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.all_executions("ok").await.len() < 5 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, page) = app.get("/api/v1/executions?integration=ok&limit=2").await;
    assert_eq!(status, StatusCode::OK);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items[0]["id"].as_str() > items[1]["id"].as_str(),
        "newest first"
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, page2) = app
        .get(&format!(
            "/api/v1/executions?integration=ok&limit=2&cursor={cursor}"
        ))
        .await;
    assert!(page2["items"][0]["id"].as_str() < items[1]["id"].as_str());
    let (_, failed) = app.get("/api/v1/executions?status=failed").await;
    let failed = failed["items"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["integration"], "bad");
    let (status, body) = app.get("/api/v1/executions?status=weird").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = app.get("/api/v1/executions/does-not-exist").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}
on_both!(executions_list_filters_and_pages);
