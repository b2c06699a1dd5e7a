//! The data store: tables made in the admin API, records written by flows (`store` steps,
//! batches in one transaction, no double insert when an execution is retried), read back by
//! flows (`lookup` by key and by indexed fields) and by the API (filter, pages, CSV/JSON).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::{doc, sendgrid_batch, Db, TestApp};

impl TestApp {
    async fn create_table(&self, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, "/api/v1/tables", Some(body)).await
    }

    async fn records(&self, query: &str) -> Vec<Value> {
        let (status, page) = self.get(&format!("/api/v1/tables/{query}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().clone()
    }
}

async fn flows_keep_records_and_find_them(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("sendgrid").await;

    // Tables: checked names and fields, one name once.
    let (status, table) = app
        .create_table(json!({"name": "email_events", "description": "SendGrid events",
                             "key_field": "sg_event_id", "indexed_fields": ["sg_message_id", "event"]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{table}");
    assert_eq!(table["records"], 0);
    assert_eq!(table["indexed_fields"], json!(["sg_message_id", "event"]));
    let (status, body) = app.create_table(json!({"name": "email_events"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = app
        .create_table(json!({"name": "Bad-Name", "indexed_fields": ["ok", "not ok"]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Bad-Name") && message.contains("not ok"),
        "{message}"
    );

    // An asynchronous trigger stores the whole batch in one step.
    let mut d = doc(
        "sg/events",
        &key,
        json!([
            {"type": "store", "table": "email_events", "action": "upsert", "record_expr": "request.body", "to": "ids"},
            {"type": "respond", "status": 200, "body_expr": "#{stored: vars.ids.len()}"}
        ]),
    );
    d["trigger"]["request_response"] = json!(false);
    d["trigger"]["retry"] = json!({"max_attempts": 1});
    app.put_integration("sg-events", d).await;
    let resp = app
        .call(Method::POST, "sg/events")
        .header("x-api-key", &secret)
        .json(&sendgrid_batch())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let id = resp.json::<Value>().await.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let exec = app.wait_final(&id).await;
    assert_eq!(exec["status"], "succeeded", "{exec}");
    assert_eq!(exec["response"]["body"]["stored"], 3);
    let all = app.records("email_events/records").await;
    assert_eq!(all.len(), 3);
    // Newest first (created together: by id), each with its key and the writing execution.
    assert!(
        all.iter().all(|r| r["execution_id"] == id.as_str()),
        "{all:?}"
    );
    let keys: Vec<&str> = all.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert!(
        keys.contains(&"Ym91bmNl") && keys.contains(&"b3Blbi0x"),
        "{keys:?}"
    );

    // The same batch again, one event changed: upserts replace by key, nothing doubles.
    let mut again = sendgrid_batch();
    again[2]["reason"] = json!("mailbox full");
    let resp = app
        .call(Method::POST, "sg/events")
        .header("x-api-key", &secret)
        .header("prefer", "wait=10")
        .json(&again)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let all = app.records("email_events/records").await;
    assert_eq!(all.len(), 3);
    let bounce = app.records("email_events/records?key=Ym91bmNl").await;
    assert_eq!(bounce.len(), 1);
    assert_eq!(bounce[0]["data"]["reason"], "mailbox full");

    // A dashboard-like read: the events of one message, found through its indexed field.
    let mut d = doc(
        "sg/status",
        &key,
        json!([
            {"type": "lookup", "table": "email_events", "where": {"sg_message_id": "request.query.message"},
             "order": "oldest", "to": "events"},
            {"type": "lookup", "table": "email_events", "key_expr": "request.query.event_id", "to": "one"},
            {"type": "respond", "status": 200, "body_expr":
             "#{events: vars.events.map(|e| e.event), one: if vars.one == () { () } else { vars.one.email }, has_id: vars.events.len() > 0 && vars.events[0]._id != ()}"}
        ]),
    );
    d["trigger"]["methods"] = json!(["GET"]);
    app.put_integration("sg-status", d).await;
    let resp = app
        .call(
            Method::GET,
            "sg/status?message=14c5d75ce93.dfd.64b469.filter0001&event_id=Ym91bmNl",
        )
        .header("x-api-key", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"events": ["delivered", "open"], "one": "bob@example.com", "has_id": true})
    );
    let resp = app
        .call(Method::GET, "sg/status?message=none&event_id=none")
        .header("x-api-key", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"events": [], "one": null, "has_id": false})
    );

    // The API filters by an indexed field, pages, and exports.
    let opens = app
        .records("email_events/records?field=event&value=open")
        .await;
    assert_eq!(opens.len(), 1);
    assert_eq!(opens[0]["data"]["sg_event_id"], "b3Blbi0x");
    let (status, page) = app.get("/api/v1/tables/email_events/records?limit=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = app
        .get(&format!(
            "/api/v1/tables/email_events/records?limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1, "{rest}");
    assert!(rest["next_cursor"].is_null());
    let (status, body) = app
        .get("/api/v1/tables/email_events/records?field=email&value=x")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let resp = app
        .http
        .get(format!(
            "{}/api/v1/tables/email_events/export?format=csv",
            app.base
        ))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("email_events.csv"));
    let csv = resp.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert_eq!(
        lines[0],
        "_id,_key,_created_at,_updated_at,email,event,reason,sg_event_id,sg_message_id,timestamp"
    );
    let (status, exported) = app.get("/api/v1/tables/email_events/export").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(exported.as_array().unwrap().len(), 3);
    let (_, listed) = app.get("/api/v1/tables").await;
    assert_eq!(listed["items"][0]["records"], 3, "{listed}");

    // A record missing the key field: the flow fails with a clear message, nothing written.
    let resp = app
        .call(Method::POST, "sg/events")
        .header("x-api-key", &secret)
        .header("prefer", "wait=10")
        .json(&json!([{"sg_event_id": "new-one"}, {"event": "open"}]))
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-flowgate-execution-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let exec = app.wait_final(&id).await;
    let error = exec["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("record 1 has no `sg_event_id`"), "{exec}");
    assert!(app
        .records("email_events/records?key=new-one")
        .await
        .is_empty());

    // Records are deleted one by one, tables with everything in them.
    let one = &all[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/tables/email_events/records/{one}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .get(&format!("/api/v1/tables/email_events/records/{one}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.records("email_events/records").await.len(), 2);
    let (status, _) = app
        .send(Method::DELETE, "/api/v1/tables/email_events", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let resp = app
        .call(Method::GET, "sg/status?message=x&event_id=y")
        .header("x-api-key", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = resp.headers()["x-flowgate-execution-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let exec = app.wait_final(&id).await;
    assert!(
        exec["error"]
            .as_str()
            .unwrap()
            .contains("there is no table `email_events`"),
        "{exec}"
    );
    app.stop().await;
}
on_both!(flows_keep_records_and_find_them);

/// An execution that fails after inserting runs again; its inserts are not made twice.
async fn a_retry_does_not_insert_twice(db: Db) {
    let app = TestApp::spawn(db).await;
    let (key, secret) = app.create_key("k").await;
    let (status, _) = app
        .create_table(json!({"name": "email_log", "indexed_fields": ["email"]}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .create_table(json!({"name": "flags", "key_field": "name"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut d = doc(
        "log/x",
        &key,
        json!([
            {"type": "for_each", "items": "request.body", "steps": [
                {"type": "store", "table": "email_log", "record_expr": "#{email: vars.item.email, event: vars.item.event}"}
            ]},
            {"type": "lookup", "table": "flags", "key_expr": "\"failed-once\"", "to": "flag"},
            {"type": "condition", "if": "vars.flag == ()", "then": [
                {"type": "store", "table": "flags", "action": "upsert", "record_expr": "#{name: \"failed-once\"}"},
                {"type": "script", "code": "throw \"the first attempt fails after its inserts\";"}
            ]},
            {"type": "script", "code": "vars.n = store_find(\"email_log\", #{email: \"ann@example.com\"}).len();"},
            {"type": "respond", "status": 200, "body_expr": "#{ann: vars.n}"}
        ]),
    );
    d["trigger"]["request_response"] = json!(false);
    d["trigger"]["retry"] = json!({"max_attempts": 3, "initial_delay_ms": 40, "max_delay_ms": 100});
    app.put_integration("log-x", d).await;
    let resp = app
        .call(Method::POST, "log/x")
        .header("x-api-key", &secret)
        .json(&sendgrid_batch())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let id = resp.json::<Value>().await.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let exec = app.wait_final(&id).await;
    assert_eq!(exec["status"], "succeeded", "{exec}");
    assert_eq!(exec["attempts"], 2, "{exec}");
    assert_eq!(exec["response"]["body"], json!({"ann": 2}));
    let all = app.records("email_log/records?limit=100").await;
    assert_eq!(all.len(), 3, "{all:?}");

    // Another call is another execution: its inserts are new records.
    let resp = app
        .call(Method::POST, "log/x")
        .header("x-api-key", &secret)
        .header("prefer", "wait=10")
        .json(&sendgrid_batch())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"ann": 4}));
    assert_eq!(app.records("email_log/records?limit=100").await.len(), 6);

    // A record over 64 KiB is refused with the reason.
    let big = "x".repeat(70 * 1024);
    let resp = app
        .call(Method::POST, "log/x")
        .header("x-api-key", &secret)
        .header("prefer", "wait=10")
        .json(&json!([{"email": big, "event": "open"}]))
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-flowgate-execution-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let exec = app.wait_final(&id).await;
    let error = exec["error"].as_str().unwrap_or_default();
    assert!(error.contains("a record may have at most 65536"), "{exec}");
    app.stop().await;
}
on_both!(a_retry_does_not_insert_twice);

/// Exports read a large table in chunks, in order, up to the limit asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_page_through_large_tables() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let (key, secret) = app.create_key("k").await;
    let (status, _) = app.create_table(json!({"name": "numbers"})).await;
    assert_eq!(status, StatusCode::CREATED);
    app.put_integration(
        "fill",
        doc("n/fill", &key, json!([
            {"type": "script", "code": "vars.batch = []; for i in 0..600 { vars.batch.push(#{n: request.body.from + i}); }"},
            {"type": "store", "table": "numbers", "record_expr": "vars.batch", "to": "ids"},
            {"type": "respond", "status": 200, "body_expr": "vars.ids.len()"}
        ])),
    )
    .await;
    for from in [0, 600] {
        let resp = app
            .call(Method::POST, "n/fill")
            .header("x-api-key", &secret)
            .json(&json!({"from": from}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.json::<Value>().await.unwrap(), 600);
    }
    let (status, all) = app.get("/api/v1/tables/numbers/export").await;
    assert_eq!(status, StatusCode::OK);
    let ns: Vec<i64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["data"]["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, (0..1200).collect::<Vec<_>>());
    let (_, some) = app
        .get("/api/v1/tables/numbers/export?limit=1100&order=newest")
        .await;
    let some = some.as_array().unwrap();
    assert_eq!(some.len(), 1100);
    assert_eq!(some[0]["data"]["n"], 1199);
    assert_eq!(some[1099]["data"]["n"], 100);
    app.stop().await;
}
