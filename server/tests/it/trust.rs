//! Inbound trust: OAuth2 client credentials, signed webhooks, keys with expiry / rotation /
//! bearer use, rate limits. Every call goes to the test server on loopback.

use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::{doc, fresh_config, Db, TestApp};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = HmacSha256::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn echo_steps() -> Value {
    json!([{"type": "respond", "status": 200, "body_expr": "#{got: request.body, auth: request.headers.authorization}"}])
}

fn with_auth(path: &str, auth: Value) -> Value {
    let mut d = doc(path, "unused", echo_steps());
    d["trigger"]["auth"] = auth;
    d
}

impl TestApp {
    pub(crate) async fn create_client(&self, label: &str, scopes: &[&str]) -> (String, String) {
        let (status, body) = self
            .send(
                Method::POST,
                "/api/v1/oauth-clients",
                Some(json!({"label": label, "scopes": scopes})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["token_url"], "/oauth/token");
        (
            body["client_id"].as_str().unwrap().to_owned(),
            body["client_secret"].as_str().unwrap().to_owned(),
        )
    }

    async fn token_form(
        &self,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap());
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        (status, headers, resp.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn token(&self, id: &str, secret: &str) -> String {
        let (status, _, body) = self
            .token_form(&[("grant_type", "client_credentials")], Some((id, secret)))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn create_secret(&self, name: &str, value: &str) {
        let (status, body) = self
            .send(
                Method::POST,
                "/api/v1/secrets",
                Some(json!({"name": name, "value": value})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    async fn bearer_call(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.call(Method::POST, path).json(&json!({"n": 1}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        (status, headers, resp.json().await.unwrap_or(Value::Null))
    }
}

async fn oauth2_client_credentials(db: Db) {
    let app = TestApp::spawn(db).await;
    let (cid, secret) = app.create_client("SendGrid", &["events.write"]).await;
    let (other_cid, other_secret) = app.create_client("Other", &[]).await;
    app.put_integration(
        "sg",
        with_auth("acme/SendGrid", json!({"type": "oauth2", "clients": [cid]})),
    )
    .await;

    // HTTP Basic and body authentication both get a token.
    let (status, headers, tok) = app
        .token_form(
            &[("grant_type", "client_credentials")],
            Some((&cid, &secret)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tok}");
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 3600);
    assert_eq!(tok["scope"], "events.write");
    assert_eq!(headers["cache-control"], "no-store");
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let (status, _, body_tok) = app
        .token_form(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("scope", "events.write"),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body_tok}");

    // The call with the token runs the flow, which does not see the credential.
    let (status, _, body) = app.bearer_call("acme/SendGrid", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["got"], json!({"n": 1}));
    assert!(body.get("auth").is_none_or(|a| a.is_null()), "{body}");

    // Without a token, with a forged one, with another client's: 401 invalid_token.
    let (status, headers, body) = app.bearer_call("acme/SendGrid", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "invalid_token");
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    let (status, headers, body) = app.bearer_call("acme/SendGrid", Some(&forged)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
    let other_token = app.token(&other_cid, &other_secret).await;
    let (status, _, _) = app.bearer_call("acme/SendGrid", Some(&other_token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // RFC 6749 §5.2 errors.
    let (status, headers, body) = app
        .token_form(
            &[("grant_type", "client_credentials")],
            Some((&cid, "wrong")),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert!(headers.contains_key("www-authenticate"));
    let (status, _, body) = app
        .token_form(&[("grant_type", "password")], Some((&cid, &secret)))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
    let (status, _, body) = app.token_form(&[], Some((&cid, &secret))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (status, _, body) = app
        .token_form(
            &[("grant_type", "client_credentials"), ("scope", "admin")],
            Some((&cid, &secret)),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    let resp = app
        .http
        .post(format!("{}/oauth/token", app.base))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );

    // The secret is shown once: the list never has it.
    let (status, list) = app.get("/api/v1/oauth-clients").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!list.to_string().contains(&secret));
    let item = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == cid.as_str())
        .unwrap()
        .clone();
    assert_eq!(item["integrations"], json!(["sg"]));
    assert_eq!(item["scopes"], json!(["events.write"]));

    // Rotation with an overlap: both secrets get tokens; issued tokens keep working.
    let (status, rotated) = app
        .send(
            Method::POST,
            &format!("/api/v1/oauth-clients/{cid}/rotate"),
            Some(json!({"overlap_s": 600})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert!(rotated["previous_until"].is_string());
    app.token(&cid, &secret).await;
    app.token(&cid, &new_secret).await;
    // Rotation without overlap: the old secret is refused at once.
    let (_, rotated) = app
        .send(
            Method::POST,
            &format!("/api/v1/oauth-clients/{cid}/rotate"),
            None,
        )
        .await;
    let newest = rotated["client_secret"].as_str().unwrap().to_owned();
    let (status, _, _) = app
        .token_form(
            &[("grant_type", "client_credentials")],
            Some((&cid, &new_secret)),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = app.bearer_call("acme/SendGrid", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);

    // Revoking stops its tokens at once.
    let (status, _) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/oauth-clients/{cid}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, body) = app.bearer_call("acme/SendGrid", Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "invalid_token");
    let (status, _, _) = app
        .token_form(
            &[("grant_type", "client_credentials")],
            Some((&cid, &newest)),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}
on_both!(oauth2_client_credentials);

/// A real OAuth2 client library (requests-oauthlib, set up by scripts/setup) gets a token and
/// calls the trigger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_oauthlib_gets_a_token_and_calls() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let (cid, secret) = app.create_client("python", &[]).await;
    app.put_integration(
        "py",
        with_auth("acme/Py", json!({"type": "oauth2", "clients": [cid]})),
    )
    .await;
    let base = app.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python())
            .arg(tool("oauth_call.py"))
            .args([&base, &cid, &secret, "acme/Py"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["status"], 200, "{v}");
    assert_eq!(v["body"]["got"], json!({"hello": "world"}));
    app.stop().await;
}

fn tool(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tools/py")
        .join(name)
}

fn python() -> std::path::PathBuf {
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/.venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/setup (it installs the tests' Python libraries)",
        venv.display()
    );
    venv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expire() {
    let (mut cfg, dir) = fresh_config(Db::Sqlite).await;
    cfg.oauth.token_ttl_secs = 1;
    let app = TestApp::spawn_with(Db::Sqlite, cfg, dir).await;
    let (cid, secret) = app.create_client("short", &[]).await;
    app.put_integration(
        "exp",
        with_auth("acme/Exp", json!({"type": "oauth2", "clients": [cid]})),
    )
    .await;
    let token = app.token(&cid, &secret).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _, body) = app.bearer_call("acme/Exp", Some(&token)).await;
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(body["error"]["message"], "the access token has expired");
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(Instant::now() < deadline, "the token never expired");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.stop().await;
}

/// Revoking a client on one instance stops its tokens on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_reaches_the_other_instance() {
    let (cfg, dir) = fresh_config(Db::Postgres).await;
    let a = TestApp::spawn_with(Db::Postgres, cfg.clone(), dir.clone()).await;
    let b = TestApp::spawn_with(Db::Postgres, cfg, dir).await;
    let (cid, secret) = a.create_client("shared", &[]).await;
    a.put_integration(
        "two",
        with_auth("acme/Two", json!({"type": "oauth2", "clients": [cid]})),
    )
    .await;
    let token = a.token(&cid, &secret).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.bearer_call("acme/Two", Some(&token)).await.0 != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "instance b never accepted the token"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = a
        .send(
            Method::DELETE,
            &format!("/api/v1/oauth-clients/{cid}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.bearer_call("acme/Two", Some(&token)).await.0 != StatusCode::UNAUTHORIZED {
        assert!(
            Instant::now() < deadline,
            "instance b kept accepting a revoked client's token"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.stop().await;
    a.stop().await;
}

/// Sends `body` with headers; returns status and JSON.
async fn signed(
    app: &TestApp,
    path: &str,
    body: &str,
    headers: &[(&str, String)],
) -> (StatusCode, Value) {
    let mut req = app
        .call(Method::POST, path)
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn refused(r: &(StatusCode, Value), says: &str) {
    assert_eq!(r.0, StatusCode::UNAUTHORIZED, "{}", r.1);
    assert_eq!(r.1["error"]["code"], "invalid_signature", "{}", r.1);
    let msg = r.1["error"]["message"].as_str().unwrap();
    assert!(msg.contains(says), "{msg:?} should say {says:?}");
}

async fn signatures_of_every_preset(db: Db) {
    let app = TestApp::spawn(db).await;
    let sw_key = b"standard webhooks signing key!!";
    let sw_secret = format!("whsec_{}", b64(sw_key));
    app.create_secret("sw", &sw_secret).await;
    app.create_secret("gh", "github webhook secret").await;
    app.create_secret("stripe", "whsec_stripe_test_secret")
        .await;
    let teams_key = b"teams security token bytes";
    app.create_secret("teams", &b64(teams_key)).await;
    app.create_secret("generic", "generic secret").await;
    let sig = |preset: &str, secret: &str| json!({"type": "signature", "preset": preset, "secret": secret});
    app.put_integration("sw", with_auth("in/sw", sig("standard_webhooks", "sw")))
        .await;
    app.put_integration("gh", with_auth("in/gh", sig("github", "gh")))
        .await;
    app.put_integration("st", with_auth("in/st", sig("stripe", "stripe")))
        .await;
    app.put_integration("teams", with_auth("in/teams", sig("ms_teams", "teams")))
        .await;
    let mut generic = sig("generic", "generic");
    generic["header"] = json!("X-Signature");
    generic["algorithm"] = json!("sha512");
    generic["encoding"] = json!("base64");
    generic["prefix"] = json!("sha512=");
    generic["timestamp_header"] = json!("X-Timestamp");
    app.put_integration("gen", with_auth("in/gen", generic))
        .await;

    let body = r#"{"event":"delivered","sg_message_id":"abc.1"}"#;
    let now = now_s().to_string();

    // Standard Webhooks: valid, tampered, missing, stale, replayed, redelivered.
    let sw_headers = |id: &str, ts: &str, body: &str| {
        let mac = hmac256(
            sw_key,
            &[id.as_bytes(), b".", ts.as_bytes(), b".", body.as_bytes()],
        );
        vec![
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", ts.to_owned()),
            (
                "webhook-signature",
                format!("v1,{} v1,{}", b64(b"old key's signature"), b64(&mac)),
            ),
        ]
    };
    let h = sw_headers("msg_1", &now, body);
    let ok = signed(&app, "in/sw", body, &h).await;
    assert_eq!(ok.0, StatusCode::OK, "{}", ok.1);
    assert_eq!(ok.1["got"]["sg_message_id"], "abc.1");
    refused(&signed(&app, "in/sw", body, &h).await, "seen before");
    let later = (now_s() + 1).to_string();
    let redelivery = signed(&app, "in/sw", body, &sw_headers("msg_1", &later, body)).await;
    assert_eq!(
        redelivery.0,
        StatusCode::OK,
        "a redelivery signs a new timestamp: {}",
        redelivery.1
    );
    refused(
        &signed(
            &app,
            "in/sw",
            r#"{"event":"bounce"}"#,
            &sw_headers("msg_2", &now, body),
        )
        .await,
        "does not match",
    );
    refused(
        &signed(&app, "in/sw", body, &[]).await,
        "webhook-id header is missing",
    );
    let stale = (now_s() - 3600).to_string();
    refused(
        &signed(&app, "in/sw", body, &sw_headers("msg_3", &stale, body)).await,
        "tolerance",
    );

    // GitHub.
    let gh = format!(
        "sha256={}",
        hex::encode(hmac256(b"github webhook secret", &[body.as_bytes()]))
    );
    assert_eq!(
        signed(&app, "in/gh", body, &[("x-hub-signature-256", gh.clone())])
            .await
            .0,
        StatusCode::OK
    );
    refused(
        &signed(
            &app,
            "in/gh",
            &body.replace("abc", "abd"),
            &[("x-hub-signature-256", gh)],
        )
        .await,
        "does not match",
    );
    refused(
        &signed(
            &app,
            "in/gh",
            body,
            &[("x-hub-signature-256", "md5=00".into())],
        )
        .await,
        "malformed",
    );

    // Stripe.
    let st = |ts: &str| {
        format!(
            "t={ts},v1={}",
            hex::encode(hmac256(
                b"whsec_stripe_test_secret",
                &[ts.as_bytes(), b".", body.as_bytes()]
            ))
        )
    };
    assert_eq!(
        signed(&app, "in/st", body, &[("stripe-signature", st(&now))])
            .await
            .0,
        StatusCode::OK
    );
    refused(
        &signed(&app, "in/st", body, &[("stripe-signature", st(&stale))]).await,
        "tolerance",
    );

    // MS Teams.
    let teams = format!("HMAC {}", b64(&hmac256(teams_key, &[body.as_bytes()])));
    assert_eq!(
        signed(&app, "in/teams", body, &[("authorization", teams)])
            .await
            .0,
        StatusCode::OK
    );
    refused(
        &signed(
            &app,
            "in/teams",
            body,
            &[("authorization", "HMAC AAAA".into())],
        )
        .await,
        "does not match",
    );

    // Generic: sha512, base64, prefix, timestamp header.
    let gen = {
        let mut m = hmac::Hmac::<sha2::Sha512>::new_from_slice(b"generic secret").unwrap();
        m.update(now.as_bytes());
        m.update(b".");
        m.update(body.as_bytes());
        format!("sha512={}", b64(&m.finalize().into_bytes()))
    };
    let gen_ok = signed(
        &app,
        "in/gen",
        body,
        &[("x-signature", gen.clone()), ("x-timestamp", now.clone())],
    )
    .await;
    assert_eq!(gen_ok.0, StatusCode::OK, "{}", gen_ok.1);
    refused(
        &signed(&app, "in/gen", body, &[("x-signature", gen)]).await,
        "x-timestamp header is missing",
    );

    // Nothing refused ran the flow or was recorded (records are written just after the
    // answers: wait for the accepted ones, then count).
    for (slug, n) in [("sw", 2), ("gh", 1)] {
        let deadline = Instant::now() + Duration::from_secs(10);
        while app.all_executions(slug).await.len() < n {
            assert!(Instant::now() < deadline, "{slug}: records missing");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(app.all_executions(slug).await.len(), n, "{slug}");
    }

    // The key is a stored secret: rotating it applies to the trigger at once.
    let (status, _) = app
        .send(
            Method::PUT,
            "/api/v1/secrets/gh",
            Some(json!({"value": "the new github secret"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let old = format!(
        "sha256={}",
        hex::encode(hmac256(b"github webhook secret", &[body.as_bytes()]))
    );
    refused(
        &signed(&app, "in/gh", body, &[("x-hub-signature-256", old)]).await,
        "does not match",
    );
    let new = format!(
        "sha256={}",
        hex::encode(hmac256(b"the new github secret", &[body.as_bytes()]))
    );
    assert_eq!(
        signed(&app, "in/gh", body, &[("x-hub-signature-256", new)])
            .await
            .0,
        StatusCode::OK
    );
    // ...and cannot be deleted while a trigger checks with it.
    let (status, body_del) = app.send(Method::DELETE, "/api/v1/secrets/gh", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body_del}");
    assert!(body_del["error"]["message"]
        .as_str()
        .unwrap()
        .contains("gh"));
    app.stop().await;
}
on_both!(signatures_of_every_preset);

/// Signatures are checked before an asynchronous or ordered call is accepted, and a trigger
/// can require a key as well as a signature.
async fn signatures_guard_async_and_ordered_and_combine_with_keys(db: Db) {
    let app = TestApp::spawn(db).await;
    app.create_secret("gh", "shh").await;
    let (key, key_secret) = app.create_key("sender").await;
    let auth = json!({"type": "signature", "preset": "github", "secret": "gh", "keys": [key]});
    let mut d = with_auth("in/async", auth.clone());
    d["trigger"]["request_response"] = json!(false);
    app.put_integration("async", d).await;
    let mut d = with_auth("in/ordered", auth);
    d["trigger"]["request_response"] = json!(false);
    d["trigger"]["ordered"] = json!(true);
    app.put_integration("ordered", d).await;
    let body = r#"{"a":1}"#;
    let good = format!(
        "sha256={}",
        hex::encode(hmac256(b"shh", &[body.as_bytes()]))
    );
    for path in ["in/async", "in/ordered"] {
        let no_key = signed(&app, path, body, &[("x-hub-signature-256", good.clone())]).await;
        assert_eq!(no_key.0, StatusCode::UNAUTHORIZED);
        assert_eq!(no_key.1["error"]["code"], "invalid_api_key");
        let bad_sig = signed(
            &app,
            path,
            body,
            &[
                ("x-api-key", key_secret.clone()),
                ("x-hub-signature-256", "sha256=00".into()),
            ],
        )
        .await;
        refused(&bad_sig, "does not match");
        let ok = signed(
            &app,
            path,
            body,
            &[
                ("x-api-key", key_secret.clone()),
                ("x-hub-signature-256", good.clone()),
            ],
        )
        .await;
        assert_eq!(ok.0, StatusCode::ACCEPTED, "{path}: {}", ok.1);
    }
    for slug in ["async", "ordered"] {
        let all = app.all_executions(slug).await;
        assert_eq!(all.len(), 1, "{slug}: only the signed call was accepted");
    }
    app.stop().await;
}
on_both!(signatures_guard_async_and_ordered_and_combine_with_keys);

/// The reference Standard Webhooks library signs; Flowgate verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standardwebhooks_library_signatures_verify() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    app.create_secret("svix", secret).await;
    app.put_integration(
        "svix",
        with_auth(
            "in/svix",
            json!({"type": "signature", "preset": "standard_webhooks", "secret": "svix"}),
        ),
    )
    .await;
    let body = r#"{"type":"invoice.paid","data":{"id":42}}"#.to_owned();
    let ts = now_s().to_string();
    let (b, t) = (body.clone(), ts.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python())
            .arg(tool("standard_webhook_sign.py"))
            .args([secret, "msg_lib_1", &t, &b])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signature = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let r = signed(
        &app,
        "in/svix",
        &body,
        &[
            ("webhook-id", "msg_lib_1".into()),
            ("webhook-timestamp", ts),
            ("webhook-signature", signature),
        ],
    )
    .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["got"]["data"]["id"], 42);
    app.stop().await;
}

async fn keys_expire_rotate_and_work_as_bearer(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("bearer").await;
    app.put_integration("k", doc("acme/K", &key, echo_steps()))
        .await;
    // Authorization: Bearer <key> works like X-API-Key.
    let (status, _, body) = app.bearer_call("acme/K", Some(&secret)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = app
        .bearer_call("acme/K", Some("fg_not_a_key_at_all_000000"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_api_key"))
    );

    // Rotation with overlap: both secrets work; then without: only the newest.
    let (status, rotated) = app
        .send(
            Method::POST,
            &format!("/api/v1/keys/{key}/rotate"),
            Some(json!({"overlap_s": 3600})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        app.bearer_call("acme/K", Some(&secret)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.bearer_call("acme/K", Some(&new_secret)).await.0,
        StatusCode::OK
    );
    let (_, list) = app.get("/api/v1/keys").await;
    let item = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == key.as_str())
        .unwrap()
        .clone();
    assert!(item["previous_until"].is_string(), "{item}");
    assert!(item["last_used_at"].is_string(), "{item}");
    assert!(!list.to_string().contains(&new_secret));
    let (_, rotated) = app
        .send(Method::POST, &format!("/api/v1/keys/{key}/rotate"), None)
        .await;
    let newest = rotated["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        app.bearer_call("acme/K", Some(&new_secret)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.bearer_call("acme/K", Some(&newest)).await.0,
        StatusCode::OK
    );

    // Expiry.
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let (status, created) = app
        .send(
            Method::POST,
            "/api/v1/keys",
            Some(json!({"label": "short", "expires_at": soon.to_rfc3339()})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let short_id = created["id"].as_str().unwrap().to_owned();
    let short = created["secret"].as_str().unwrap().to_owned();
    app.put_integration("k", doc("acme/K", &short_id, echo_steps()))
        .await;
    assert_eq!(
        app.bearer_call("acme/K", Some(&short)).await.0,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (status, _, body) = app.bearer_call("acme/K", Some(&short)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["message"], "this API key has expired");
    let (_, list) = app.get("/api/v1/keys").await;
    let item = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == short_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(item["expired"], true);
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/keys",
            Some(json!({"label": "past", "expires_at": "2020-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.stop().await;
}
on_both!(keys_expire_rotate_and_work_as_bearer);

async fn rate_limits_per_trigger_and_per_credential(db: Db) {
    let app = TestApp::spawn(db).await;
    let (a, a_secret) = app.create_key("a").await;
    let (status, limited) = app
        .send(
            Method::POST,
            "/api/v1/keys",
            Some(json!({"label": "limited", "rate_limit": {"per_second": 1, "burst": 2}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{limited}");
    let b = limited["id"].as_str().unwrap().to_owned();
    let b_secret = limited["secret"].as_str().unwrap().to_owned();
    let mut d = doc("acme/Limited", &a, echo_steps());
    d["trigger"]["auth"]["keys"] = json!([a, b]);
    d["trigger"]["rate_limit"] = json!({"per_second": 1, "burst": 5});
    app.put_integration("limited", d).await;
    // The key's own bucket (burst 2) runs out first.
    for _ in 0..2 {
        assert_eq!(
            app.bearer_call("acme/Limited", Some(&b_secret)).await.0,
            StatusCode::OK
        );
    }
    let (status, headers, body) = app.bearer_call("acme/Limited", Some(&b_secret)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("API key"));
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // The other key still gets through, until the trigger's bucket (burst 5) is empty.
    let mut ok = 0;
    let mut limited_at = None;
    // The bucket refills one a second: however slow the calls, it runs dry well within 30.
    for i in 0..30 {
        let (status, _, body) = app.bearer_call("acme/Limited", Some(&a_secret)).await;
        match status {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(
                    body["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("trigger"),
                    "{body}"
                );
                limited_at = Some(i);
                break;
            }
            s => panic!("{s} {body}"),
        }
    }
    assert!(
        ok >= 2 && limited_at.is_some(),
        "ok {ok}, limited at {limited_at:?}"
    );
    // Unauthenticated calls do not use up the trigger's budget (they stop at the key check).
    let (status, _, _) = app.bearer_call("acme/Limited", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // After the wait, calls pass again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        app.bearer_call("acme/Limited", Some(&a_secret)).await.0,
        StatusCode::OK
    );
    app.stop().await;
}
on_both!(rate_limits_per_trigger_and_per_credential);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_settings_are_validated() {
    let app = TestApp::spawn(Db::Sqlite).await;
    app.create_secret("s", "value").await;
    let cases = [
        (
            json!({"type": "oauth2", "clients": ["nope"]}),
            "trigger.auth.clients[0]",
        ),
        (
            json!({"type": "oauth2", "clients": []}),
            "trigger.auth.clients",
        ),
        (
            json!({"type": "signature", "preset": "github", "secret": "missing"}),
            "trigger.auth.secret",
        ),
        (
            json!({"type": "signature", "preset": "generic", "secret": "s"}),
            "trigger.auth.header",
        ),
        (
            json!({"type": "signature", "preset": "github", "secret": "s", "header": "x"}),
            "trigger.auth.header",
        ),
        (
            json!({"type": "signature", "preset": "stripe", "secret": "s", "tolerance_s": 0}),
            "trigger.auth.tolerance_s",
        ),
        (
            json!({"type": "signature", "preset": "stripe", "secret": "s", "keys": ["nope"]}),
            "trigger.auth.keys[0]",
        ),
    ];
    for (auth, path) in cases {
        let (status, body) = app
            .send(
                Method::PUT,
                "/api/v1/integrations/bad",
                Some(with_auth("in/bad", auth.clone())),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{auth}: {body}");
        let details = body["error"]["details"].as_array().unwrap();
        assert!(details.iter().any(|d| d["path"] == path), "{auth}: {body}");
    }
    let mut d = with_auth("in/bad", json!({"type": "none"}));
    d["trigger"]["rate_limit"] = json!({"per_second": 0});
    let (status, _) = app
        .send(Method::PUT, "/api/v1/integrations/bad", Some(d))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.stop().await;
}
