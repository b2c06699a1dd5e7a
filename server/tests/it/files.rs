//! Flows as files: `export` from one server, `apply` to another (dry run, create, idempotent
//! re-apply, edit), and the refusals (invalid step, missing or ambiguous credential label).

use std::collections::BTreeMap;
use std::path::Path;

use flowgate::files::{Api, Credentials, Log};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::{
    doc, identity_event, identity_steps, Db, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD,
};

/// The secrets one environment holds; none may reach a file.
struct Env {
    key_id: String,
    key_secret: String,
    client_id: String,
    client_secret: String,
    stored_value: String,
}

async fn seed(app: &TestApp, tag: &str) -> Env {
    let (status, key) = app
        .send(
            Method::POST,
            "/api/v1/keys",
            Some(json!({"label": "identity service", "rate_limit": {"per_second": 100}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    app.create_key("erp").await;
    let (status, client) = app
        .send(
            Method::POST,
            "/api/v1/oauth-clients",
            Some(json!({"label": "SendGrid", "scopes": ["events.write"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    let stored_value = format!("crm-token-of-{tag}-0123456789");
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/secrets",
            Some(json!({"name": "crm-key", "value": stored_value, "hosts": ["crm.example.com"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Env {
        key_id: key["id"].as_str().unwrap().to_owned(),
        key_secret: key["secret"].as_str().unwrap().to_owned(),
        client_id: client["client_id"].as_str().unwrap().to_owned(),
        client_secret: client["client_secret"].as_str().unwrap().to_owned(),
        stored_value,
    }
}

/// A subscription with a header whose value is a secret; returns its signing secret.
async fn subscribe(app: &TestApp, body: Value) -> String {
    let (status, out) = app
        .send(Method::POST, "/api/v1/subscriptions", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{out}");
    out["secret"].as_str().unwrap().to_owned()
}

fn oauth_doc(client_id: &str) -> Value {
    let mut d = doc(
        "events/In",
        "unused",
        json!([
            {"type": "map", "to": "m", "fields": {"kind": "$.request.body.kind"}},
            {"type": "condition", "if": "false", "then": [
                {"type": "http", "url": "https://crm.example.com/events", "to": "crm",
                 "auth": {"type": "bearer", "token_secret": "crm-key"}}
            ]},
            {"type": "respond", "status": 202, "body_expr": "#{kind: vars.m.kind}"}
        ]),
    );
    d["trigger"]["auth"] =
        json!({"type": "oauth2", "clients": [client_id], "scope": "events.write"});
    d["description"] = json!("Events from SendGrid");
    d
}

fn api(app: &TestApp) -> Api {
    Api::new(&app.base, &app.token).unwrap()
}

/// Every file below `dir`, by path relative to it.
fn files_of(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    out
}

async fn export_to(app: &TestApp, dir: &Path) -> Log {
    let mut log = Log::quiet();
    flowgate::files::export(&api(app), dir, &mut log)
        .await
        .unwrap();
    log
}

async fn apply_to(app: &TestApp, dir: &Path, dry_run: bool) -> (i32, Log) {
    let mut log = Log::quiet();
    let done = flowgate::files::apply(&api(app), dir, dry_run, &mut log)
        .await
        .unwrap();
    (done.exit_code(), log)
}

async fn version_of(app: &TestApp, slug: &str) -> i64 {
    let (status, body) = app.get(&format!("/api/v1/integrations/{slug}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["version"].as_i64().unwrap()
}

async fn call_customer(app: &TestApp, key: &str) -> (StatusCode, Value) {
    let r = app
        .call(Method::POST, "acme/CreateCustomerRecord")
        .header("x-api-key", key)
        .json(&identity_event())
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn export_apply_round_trip(db: Db) {
    // Server A: credentials, two integrations, a draft, two subscriptions.
    let a = TestApp::spawn(db).await;
    let env_a = seed(&a, "a").await;
    a.put_integration(
        "create-customer",
        doc("acme/CreateCustomerRecord", &env_a.key_id, identity_steps()),
    )
    .await;
    a.put_integration("events-in", oauth_doc(&env_a.client_id))
        .await;
    let (status, body) = a
        .send(
            Method::PUT,
            "/api/v1/integrations/drafty/draft",
            Some(doc("wip/Drafty", &env_a.key_id, json!([]))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut next = oauth_doc(&env_a.client_id);
    next["name"] = json!("Work in progress");
    let (status, body) = a
        .send(
            Method::PUT,
            "/api/v1/integrations/events-in/draft",
            Some(next),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sub_a1 = subscribe(
        &a,
        json!({"url": "http://127.0.0.1:9/a", "event_types": ["customer.updated", "customer.*"],
               "description": "CRM feed"}),
    )
    .await;
    let header_value = "receiver-token-of-a-0123456789";
    let sub_a2 = subscribe(
        &a,
        json!({"url": "http://127.0.0.1:9/b", "event_types": ["*"],
               "headers": {"x-receiver-token": header_value}, "rate_limit": 5}),
    )
    .await;

    let dir_a = tempfile::tempdir().unwrap();
    let log = export_to(&a, dir_a.path()).await;
    assert!(
        log.stderr().contains("skipped drafty: never published"),
        "{}",
        log.stderr()
    );
    assert!(
        log.stderr()
            .contains("note: events-in has an unpublished draft; exported its published version 1"),
        "{}",
        log.stderr()
    );
    let exported = files_of(dir_a.path());
    let names: Vec<&str> = exported.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "integrations/create-customer.yaml",
            "integrations/events-in.yaml",
            "keys.yaml",
            "oauth-clients.yaml",
            "secrets.yaml",
            "subscriptions.yaml"
        ]
    );
    let customer = &exported["integrations/create-customer.yaml"];
    assert!(
        customer.starts_with("slug: create-customer\n"),
        "{customer}"
    );
    assert!(customer.contains("- identity service"), "{customer}");
    let events = &exported["integrations/events-in.yaml"];
    assert!(
        events.contains("- SendGrid") && events.contains("token_secret: crm-key"),
        "{events}"
    );
    assert!(!events.contains("Work in progress"), "{events}");
    assert!(
        exported["secrets.yaml"].contains("crm.example.com"),
        "{}",
        exported["secrets.yaml"]
    );
    assert!(exported["subscriptions.yaml"].contains("x-receiver-token: '[redacted]'"));
    // No secret, and no id of A, in any file.
    for (name, text) in &exported {
        for secret in [
            env_a.key_secret.as_str(),
            env_a.client_secret.as_str(),
            env_a.stored_value.as_str(),
            sub_a1.as_str(),
            sub_a2.as_str(),
            header_value,
            env_a.key_id.as_str(),
            env_a.client_id.as_str(),
        ] {
            assert!(!text.contains(secret), "{name} holds {secret}:\n{text}");
        }
        assert!(text.ends_with('\n'), "{name}");
    }
    // A re-export of an unchanged server writes nothing.
    let again = export_to(&a, dir_a.path()).await;
    assert!(!again.stdout().contains("wrote"), "{}", again.stdout());
    assert_eq!(files_of(dir_a.path()), exported);

    // Server B: the same labels with its own secrets, and the header subscription set up
    // by hand (its header value is B's).
    let b = TestApp::spawn(db).await;
    let env_b = seed(&b, "b").await;
    subscribe(
        &b,
        json!({"url": "http://127.0.0.1:9/b", "event_types": ["*"],
               "headers": {"x-receiver-token": "receiver-token-of-b-0123456789"}, "rate_limit": 5}),
    )
    .await;

    // Dry run: the changes are shown, nothing is made, exit code 2.
    let (code, log) = apply_to(&b, dir_a.path(), true).await;
    assert_eq!(code, 2, "{}\n{}", log.stdout(), log.stderr());
    let out = log.stdout();
    assert!(out.contains("create create-customer\n"), "{out}");
    assert!(out.contains("create events-in\n"), "{out}");
    assert!(out.contains("+++ integrations/events-in.yaml"), "{out}");
    assert!(
        out.contains("create subscription http://127.0.0.1:9/a (CRM feed)"),
        "{out}"
    );
    assert!(
        out.contains("unchanged subscription http://127.0.0.1:9/b"),
        "{out}"
    );
    let (_, list) = b.get("/api/v1/integrations").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    let (_, subs) = b.get("/api/v1/subscriptions").await;
    assert_eq!(subs["items"].as_array().unwrap().len(), 1, "{subs}");

    // Apply, signed in with email and password.
    let api_b = Api::connect(
        &b.base,
        Credentials::Login {
            email: ADMIN_EMAIL.to_owned(),
            password: ADMIN_PASSWORD.to_owned(),
        },
    )
    .await
    .unwrap();
    let mut log = Log::quiet();
    let done = flowgate::files::apply(&api_b, dir_a.path(), false, &mut log)
        .await
        .unwrap();
    assert_eq!(done.exit_code(), 0, "{}\n{}", log.stdout(), log.stderr());
    let out = log.stdout();
    assert!(out.contains("created create-customer (version 1)"), "{out}");
    assert!(out.contains("created events-in (version 1)"), "{out}");
    assert!(
        out.contains("created subscription http://127.0.0.1:9/a (CRM feed)"),
        "{out}"
    );
    for text in log.out.iter().chain(&log.err) {
        assert!(
            !text.contains("whsec_"),
            "a signing secret was printed: {text}"
        );
    }
    // Callable on B with B's key (not A's), and with a token of B's client.
    let (status, body) = call_customer(&b, &env_b.key_secret).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["entity"], "USER:IDNUMBER1234");
    let (status, _) = call_customer(&b, &env_a.key_secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let token: Value = b
        .http
        .post(format!("{}/oauth/token", b.base))
        .basic_auth(&env_b.client_id, Some(&env_b.client_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = b
        .call(Method::POST, "events/In")
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&json!({"kind": "bounce"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(r.json::<Value>().await.unwrap()["kind"], "bounce");

    // Again: all unchanged, no new versions; a dry run now exits 0.
    let (code, log) = apply_to(&b, dir_a.path(), false).await;
    assert_eq!(code, 0, "{}\n{}", log.stdout(), log.stderr());
    let out = log.stdout();
    assert!(
        out.contains("unchanged create-customer") && out.contains("unchanged events-in"),
        "{out}"
    );
    assert!(
        !out.contains("created") && !out.contains("updated"),
        "{out}"
    );
    assert_eq!(version_of(&b, "create-customer").await, 1);
    assert_eq!(version_of(&b, "events-in").await, 1);
    let (_, subs) = b.get("/api/v1/subscriptions").await;
    assert_eq!(subs["items"].as_array().unwrap().len(), 2, "{subs}");
    let (code, _) = apply_to(&b, dir_a.path(), true).await;
    assert_eq!(code, 0);

    // B exports exactly what A did.
    let dir_b = tempfile::tempdir().unwrap();
    export_to(&b, dir_b.path()).await;
    assert_eq!(files_of(dir_b.path()), exported);

    // An edit (a renamed field mapping) shows as a diff and becomes version 2.
    let path = dir_b.path().join("integrations/create-customer.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text
        .replace("email: $.request.body.email", "mail: $.request.body.email")
        .replace("vars.m.email", "vars.m.mail");
    assert_ne!(edited, text, "{text}");
    std::fs::write(&path, &edited).unwrap();
    let (code, log) = apply_to(&b, dir_b.path(), true).await;
    assert_eq!(code, 2, "{}", log.stderr());
    let (code, log) = apply_to(&b, dir_b.path(), false).await;
    assert_eq!(code, 0, "{}\n{}", log.stdout(), log.stderr());
    let out = log.stdout();
    assert!(
        out.contains("-    email: $.request.body.email")
            && out.contains("+    mail: $.request.body.email"),
        "{out}"
    );
    assert!(
        out.contains("--- create-customer (target, version 1)"),
        "{out}"
    );
    assert!(out.contains("updated create-customer (version 2)"), "{out}");
    assert!(out.contains("unchanged events-in"), "{out}");
    let (status, body) = call_customer(&b, &env_b.key_secret).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email_domain"], "example.com");

    // Only `enabled` changed: a switch, no new version.
    let off = edited.replace("enabled: true", "enabled: false");
    std::fs::write(&path, &off).unwrap();
    let (code, log) = apply_to(&b, dir_b.path(), false).await;
    assert_eq!(code, 0, "{}", log.stderr());
    assert!(
        log.stdout()
            .contains("disabled create-customer (version 2)"),
        "{}",
        log.stdout()
    );
    assert_eq!(version_of(&b, "create-customer").await, 2);
    let (status, _) = call_customer(&b, &env_b.key_secret).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    std::fs::write(&path, &edited).unwrap();

    // A file with an invalid step: a clear error naming the file and field, nothing applied
    // (not even the valid change of another file), exit code 1.
    std::fs::write(
        dir_b.path().join("integrations/broken.yaml"),
        "slug: broken\nname: Broken\ntrigger:\n  path: acme/Broken\n  auth:\n    type: none\nsteps:\n- type: script\n  code: let x = ;\n",
    )
    .unwrap();
    for dry_run in [true, false] {
        let (code, log) = apply_to(&b, dir_b.path(), dry_run).await;
        assert_eq!(code, 1, "{}", log.stdout());
        let err = log.stderr();
        assert!(
            err.contains("error: integrations/broken.yaml: steps[0].code:"),
            "{err}"
        );
        assert!(
            log.stdout().contains("enable create-customer"),
            "{}",
            log.stdout()
        );
    }
    let (status, _) = b.get("/api/v1/integrations/broken").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call_customer(&b, &env_b.key_secret).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the switch was applied");
    std::fs::remove_file(dir_b.path().join("integrations/broken.yaml")).unwrap();

    // A flow naming a key label the target lacks, or one two keys share, is refused by name.
    b.create_key("erp").await;
    let refs = tempfile::tempdir().unwrap();
    std::fs::create_dir(refs.path().join("integrations")).unwrap();
    std::fs::write(
        refs.path().join("integrations/billing.yaml"),
        "slug: billing\nname: Billing\ntrigger:\n  path: acme/Billing\n  auth:\n    type: api_key\n    keys: [billing, erp]\nsteps:\n- type: respond\n  status: 200\n",
    )
    .unwrap();
    std::fs::write(refs.path().join("keys.yaml"), "- label: billing\n").unwrap();
    for dry_run in [true, false] {
        let (code, log) = apply_to(&b, refs.path(), dry_run).await;
        assert_eq!(code, 1, "{}", log.stdout());
        let err = log.stderr();
        assert!(
            err.contains("integrations/billing.yaml: trigger.auth.keys[0]: no API key labelled `billing` in the target"),
            "{err}"
        );
        assert!(
            err.contains("trigger.auth.keys[1]: 2 API keys are labelled `erp`"),
            "{err}"
        );
        assert!(
            err.contains("keys.yaml: no API key labelled `billing`"),
            "{err}"
        );
    }
    let (status, _) = b.get("/api/v1/integrations/billing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The command line: no server configuration needed, the exit code of a dry run with
    // changes is 2 (the file enables what the target has disabled).
    let cwd = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_flowgate");
    let (base, token, dir) = (b.base.clone(), b.token.clone(), dir_b.path().to_path_buf());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin)
            .current_dir(cwd.path())
            .env_remove("FLOWGATE_CONFIG")
            .env("FLOWGATE_TOKEN", token)
            .args(["apply", "--dry-run", "--url", &base])
            .arg(&dir)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("enable create-customer"), "{stdout}");

    a.stop().await;
    b.stop().await;
}
on_both!(export_apply_round_trip);
