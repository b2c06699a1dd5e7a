//! Consumers: who called (recorded on the execution, `request.caller` in flows, a filter of
//! the executions list), following an accepted call at its `Location`, and key labels.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::{doc, Db, TestApp};

/// A flow answering with what it sees of its caller.
fn who_steps() -> Value {
    json!([{"type": "respond", "status": 201, "body_expr":
        "if request.caller == () { #{who: ()} } else { #{who: request.caller.label, kind: request.caller.type, id: request.caller.id} }"}])
}

impl TestApp {
    /// `GET {location}` (a path under `/t/`) with an API key; status, headers and JSON.
    async fn follow(
        &self,
        location: &str,
        key: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.get(format!("{}{location}", self.base));
        if let Some(k) = key {
            req = req.header("x-api-key", k);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        (status, headers, resp.json().await.unwrap_or(Value::Null))
    }

    /// Follows until the call has ended; returns the last answer.
    async fn follow_until_final(&self, location: &str, key: Option<&str>) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (status, headers, body) = self.follow(location, key).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(headers["cache-control"], "no-store");
            if body["status"] == "succeeded" || body["status"] == "dead" {
                assert!(headers.get("retry-after").is_none());
                return body;
            }
            assert_eq!(headers["retry-after"], "1", "{body}");
            assert!(body.get("response").is_none(), "{body}");
            assert!(Instant::now() < deadline, "{location}: {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn callers_are_recorded_and_can_follow_their_calls(db: Db) {
    let app = TestApp::spawn(db).await;
    let (idp, idp_secret) = app.create_key("Identity service").await;
    let (erp, erp_secret) = app.create_key("ERP").await;
    let mut d = doc("acme/who", &idp, who_steps());
    d["trigger"]["auth"]["keys"] = json!([idp, erp]);
    d["trigger"]["request_response"] = json!(false);
    app.put_integration("who", d).await;

    let resp = app
        .call(Method::POST, "acme/who")
        .header("x-api-key", &idp_secret)
        .json(&json!({"n": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let id = resp.json::<Value>().await.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(location, format!("/t/acme/who/executions/{id}"));

    // The caller follows its call with the same key until it has ended, then sees the answer.
    let done = app.follow_until_final(&location, Some(&idp_secret)).await;
    assert_eq!(done["execution_id"], id.as_str());
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 1);
    assert!(done["finished_at"].is_string(), "{done}");
    assert_eq!(done["response"]["status"], 201, "{done}");
    assert_eq!(
        done["response"]["body"],
        json!({"who": "Identity service", "kind": "api_key", "id": idp})
    );

    // Another consumer of the same trigger cannot see it; nobody without a key can; an
    // unknown or malformed id is not found either.
    let (status, _, body) = app.follow(&location, Some(&erp_secret)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _, body) = app.follow(&location, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let other = format!("/t/acme/who/executions/{}", uuid_like());
    let (status, _, _) = app.follow(&other, Some(&idp_secret)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = app
        .follow("/t/acme/who/executions/not-an-id", Some(&idp_secret))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Not a path of another trigger's executions either.
    let (status, _, _) = app
        .follow(&format!("/t/acme/nope/executions/{id}"), Some(&idp_secret))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The ERP calls too; the list filters by consumer and shows who called.
    let resp = app
        .call(Method::POST, "acme/who")
        .header("x-api-key", &erp_secret)
        .json(&json!({"n": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let erp_id = resp.json::<Value>().await.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let erp_exec = app.wait_final(&erp_id).await;
    assert_eq!(erp_exec["caller"]["label"], "ERP", "{erp_exec}");
    assert_eq!(erp_exec["request"]["caller"]["id"], erp.as_str());
    let (status, page) = app
        .get(&format!("/api/v1/executions?caller=key:{idp}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(
        items[0]["caller"],
        json!({"type": "api_key", "id": idp, "label": "Identity service"})
    );
    let (status, page) = app
        .get(&format!(
            "/api/v1/executions?integration=who&caller=key:{erp}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["items"][0]["id"], erp_id.as_str());
    let (status, body) = app.get("/api/v1/executions?caller=someone").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");

    // A key's label can be changed; new calls carry the new one, recorded ones keep theirs.
    let (status, key) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/keys/{idp}"),
            Some(json!({"label": "  IdP  "})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{key}");
    assert_eq!(key["label"], "IdP");
    let (status, body) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/keys/{idp}"),
            Some(json!({"label": ""})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app
        .send(
            Method::PATCH,
            "/api/v1/keys/01900000-0000-7000-8000-000000000000",
            Some(json!({"label": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, keys) = app.get("/api/v1/keys").await;
    assert_eq!(status, StatusCode::OK);
    assert!(keys.to_string().contains("\"IdP\""), "{keys}");
    let resp = app
        .call(Method::POST, "acme/who")
        .header("x-api-key", &idp_secret)
        .header("prefer", "wait=10")
        .json(&json!({"n": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.json::<Value>().await.unwrap()["who"], "IdP");
    let first = app.wait_final(&id).await;
    assert_eq!(first["caller"]["label"], "Identity service", "{first}");
    app.stop().await;
}
on_both!(callers_are_recorded_and_can_follow_their_calls);

/// A syntactically valid id no execution has.
fn uuid_like() -> String {
    "01900000-0000-7000-8000-00000000abcd".to_owned()
}

async fn open_and_signed_triggers_and_oauth_clients(db: Db) {
    let app = TestApp::spawn(db).await;
    // Open: no caller; anyone holding the id follows the call.
    let mut d = doc("open/who", "unused", who_steps());
    d["trigger"]["auth"] = json!({"type": "none"});
    d["trigger"]["request_response"] = json!(false);
    app.put_integration("open-who", d).await;
    let resp = app
        .call(Method::POST, "open/who")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let done = app.follow_until_final(&location, None).await;
    assert_eq!(done["response"]["body"], json!({"who": null}), "{done}");
    let id = done["execution_id"].as_str().unwrap();
    let exec = app.wait_final(id).await;
    assert!(exec.get("caller").is_none(), "{exec}");

    // Signed webhooks carry no credential to tie a call to its caller.
    app.create_secret("hook", "webhook signing secret").await;
    let mut d = doc("signed/who", "unused", who_steps());
    d["trigger"]["auth"] = json!({"type": "signature", "preset": "github", "secret": "hook"});
    app.put_integration("signed-who", d).await;
    let (status, _, body) = app
        .follow(&format!("/t/signed/who/executions/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "not_followable");

    // An OAuth client is a caller too, with its label.
    let (cid, csecret) = app.create_client("Partner portal", &[]).await;
    let mut d = doc("oauth/who", "unused", who_steps());
    d["trigger"]["auth"] = json!({"type": "oauth2", "clients": [cid]});
    app.put_integration("oauth-who", d).await;
    let token = app.token(&cid, &csecret).await;
    let resp = app
        .call(Method::POST, "oauth/who")
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let exec_id = resp.headers()["x-flowgate-execution-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"who": "Partner portal", "kind": "oauth_client", "id": cid})
    );
    // Request-response calls are recorded after their answer; then they can be followed.
    let exec = app.wait_final(&exec_id).await;
    assert_eq!(exec["caller"]["type"], "oauth_client", "{exec}");
    let resp = app
        .http
        .get(format!("{}/t/oauth/who/executions/{exec_id}", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(body["response"]["status"], 201);
    app.stop().await;
}
on_both!(open_and_signed_triggers_and_oauth_clients);
