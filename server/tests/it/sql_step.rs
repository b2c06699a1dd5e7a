//! `sql` steps: parameterised statements on an external PostgreSQL database (the local one,
//! in a schema of its own), its URL a stored secret, its address under the SSRF guard.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{doc, fresh_config, postgres_base_url, Db, TestApp};

/// A schema with a `customers` table; the URL that reaches it.
async fn external_db() -> String {
    let base = postgres_base_url();
    let schema = format!("ext_{}", uuid::Uuid::new_v4().simple());
    let admin = flowgate::db::connect_url(&base, 1, "normal").await.unwrap();
    use sea_orm::ConnectionTrait;
    admin
        .execute_unprepared(&format!(
            "CREATE SCHEMA {schema}; CREATE TABLE {schema}.customers \
             (id serial PRIMARY KEY, email text UNIQUE NOT NULL, name text, tier int NOT NULL DEFAULT 0)"
        ))
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}sslmode=disable&options=-c%20search_path%3D{schema}")
}

fn steps() -> Value {
    json!([
        {"type": "sql", "connection": "crm_db", "to": "ins",
         "query": "INSERT INTO customers (email, name, tier) VALUES ($1, $2, $3) ON CONFLICT (email) DO UPDATE SET name = excluded.name RETURNING id, email",
         "params": ["request.body.email", "request.body.name", "request.body.tier"]},
        {"type": "sql", "connection": "crm_db", "to": "upd",
         "query": "UPDATE customers SET tier = tier + 1 WHERE email = $1", "params": ["request.body.email"]},
        {"type": "sql", "connection": "crm_db", "to": "found",
         "query": "SELECT email, name, tier FROM customers WHERE email = $1;", "params": ["request.body.email"]},
        {"type": "sql", "connection": "crm_db", "to": "probe",
         "query": "SELECT count(*) AS n FROM customers WHERE email = $1", "params": ["request.body.probe ?? \"\""]},
        {"type": "respond", "status": 200, "body_expr":
         "#{inserted: vars.ins.rows[0].email, updated: vars.upd.count, found: vars.found.rows, probe: vars.probe.rows[0].n}"}
    ])
}

async fn call(app: &TestApp, secret: &str, body: Value) -> (StatusCode, String, Value) {
    let resp = app
        .call(Method::POST, "crm/customers")
        .header("x-api-key", secret)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let id = resp.headers()["x-flowgate-execution-id"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, id, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_steps_run_bound_statements_on_an_external_database() {
    let url = external_db().await;
    let app = TestApp::spawn(Db::Sqlite).await;
    let (key, secret) = app.create_key("crm").await;
    app.create_secret("crm_db", &url).await;
    app.put_integration("crm", doc("crm/customers", &key, steps()))
        .await;

    let (status, _, body) = call(
        &app,
        &secret,
        json!({"email": "ann@example.com", "name": "Ann", "tier": 2}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"inserted": "ann@example.com", "updated": 1,
               "found": [{"email": "ann@example.com", "name": "Ann", "tier": 3}], "probe": 0})
    );
    // Values are bound, never spliced into the SQL.
    let (status, _, body) = call(
        &app,
        &secret,
        json!({"email": "bob@example.com", "name": "Bob'); DROP TABLE customers; --", "tier": 0,
               "probe": "x' OR '1'='1"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["found"][0]["name"], "Bob'); DROP TABLE customers; --");
    assert_eq!(body["probe"], 0);

    // The database's own message names the problem; a wrong type is its error too.
    let (status, id, _) = call(
        &app,
        &secret,
        json!({"email": "c@example.com", "name": "C", "tier": "high"}),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let exec = app.wait_final(&id).await;
    let error = exec["error"].as_str().unwrap();
    assert!(error.starts_with("step 0: sql: "), "{error}");
    assert!(!error.contains(&url), "the URL must not appear: {error}");

    // More rows than allowed, and one statement only.
    let mut d = doc(
        "crm/all",
        &key,
        json!([
            {"type": "sql", "connection": "crm_db", "query": "SELECT email FROM customers", "max_rows": 1, "to": "all"},
            {"type": "respond", "status": 200, "body_expr": "vars.all"}
        ]),
    );
    d["trigger"]["methods"] = json!(["POST"]);
    app.put_integration("crm-all", d).await;
    let resp = app
        .call(Method::POST, "crm/all")
        .header("x-api-key", &secret)
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-flowgate-execution-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let exec = app.wait_final(&id).await;
    assert!(
        exec["error"]
            .as_str()
            .unwrap()
            .contains("more than max_rows (1)"),
        "{exec}"
    );
    let (status, body) = app
        .send(
            Method::PUT,
            "/api/v1/integrations/crm-bad",
            Some(doc(
                "crm/bad",
                &key,
                json!([
                    {"type": "sql", "connection": "no_such_secret", "query": "SELECT 1; SELECT 2"}
                ]),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let text = body.to_string();
    assert!(text.contains("one statement only"), "{body}");
    assert!(text.contains("no_such_secret"), "{body}");
    app.stop().await;

    // Loopback is refused unless outbound.allow lists it.
    let (mut cfg, dir) = fresh_config(Db::Sqlite).await;
    cfg.outbound.allow = Vec::new();
    let app = TestApp::spawn_with(Db::Sqlite, cfg, dir).await;
    let (key, secret) = app.create_key("crm").await;
    app.create_secret("crm_db", &url).await;
    app.put_integration("crm", doc("crm/customers", &key, steps()))
        .await;
    let (status, id, _) = call(
        &app,
        &secret,
        json!({"email": "d@example.com", "name": "D", "tier": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let exec = app.wait_final(&id).await;
    assert!(
        exec["error"]
            .as_str()
            .unwrap()
            .contains("loopback address; allow it with outbound.allow"),
        "{exec}"
    );
    app.stop().await;
}
