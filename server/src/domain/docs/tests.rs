use flowgate_api::IntegrationOut;
use serde_json::json;

use super::*;

fn integration(trigger: serde_json::Value, steps: serde_json::Value) -> IntegrationOut {
    serde_json::from_value(json!({
        "id": "int_1",
        "slug": "acme-customers",
        "name": "Create customer",
        "description": "Creates a customer record.",
        "enabled": true,
        "version": 3,
        "endpoint": "/t/acme/customers",
        "trigger": trigger,
        "steps": steps,
        "created_at": "2026-12-03T00:00:00Z",
        "updated_at": "2026-12-03T00:00:00Z",
        "status": "published",
    }))
    .unwrap()
}

#[test]
fn api_key_trigger_with_sample_params_and_answers() {
    let i = integration(
        json!({
            "path": "acme/customers",
            "methods": ["POST", "GET"],
            "auth": {"type": "api_key", "keys": ["key_secret_id"]},
            "query_params": [{"name": "region", "default": "eu"}, {"name": "tenant", "required": true}],
            "content_types": ["application/json"],
            "idempotency": {"header": "Idempotency-Key"},
            "rate_limit": {"per_second": 5},
            "sample": {"customer": {"id": 42, "email": "a@example.com"}}
        }),
        json!([
            {"type": "condition", "if": "true",
             "then": [{"type": "fail", "status": 422, "message": "no email"}],
             "else": []},
            {"type": "respond", "status": 201, "body": {"created": true}}
        ]),
    );
    let d = document(&i, "https://hooks.example.com");
    assert_eq!(d["openapi"], "3.1.0");
    assert_eq!(d["servers"][0]["url"], "https://hooks.example.com");
    let post = &d["paths"]["/t/acme/customers"]["post"];
    let get = &d["paths"]["/t/acme/customers"]["get"];
    assert!(get.get("requestBody").is_none());
    let body = &post["requestBody"]["content"]["application/json"];
    assert_eq!(
        body["schema"]["properties"]["customer"]["properties"]["id"]["type"],
        "integer"
    );
    assert_eq!(body["example"]["customer"]["id"], 42);
    let params = post["parameters"].as_array().unwrap();
    let region = params.iter().find(|p| p["name"] == "region").unwrap();
    assert_eq!(region["schema"]["default"], "eu");
    assert!(params
        .iter()
        .any(|p| p["name"] == "tenant" && p["required"] == true));
    assert!(params
        .iter()
        .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"));
    let r = &post["responses"];
    assert_eq!(
        r["201"]["content"]["application/json"]["example"]["created"],
        true
    );
    assert!(r["422"]["description"]
        .as_str()
        .unwrap()
        .contains("no email"));
    for status in ["202", "400", "401", "409", "413", "415", "429", "504"] {
        assert!(r.get(status).is_some(), "{status}");
    }
    assert_eq!(post["security"], json!([{"apiKey": []}, {"bearerKey": []}]));
    assert_eq!(
        d["components"]["securitySchemes"]["apiKey"]["name"],
        "X-API-Key"
    );
    assert_eq!(d["x-flowgate"]["auth"], "api_key");
    assert_eq!(
        d["x-flowgate"]["endpoint"],
        "https://hooks.example.com/t/acme/customers"
    );
    // Credentials are referenced by nobody: no key id leaks into the document.
    assert!(!d.to_string().contains("key_secret_id"));
}

#[test]
fn async_signature_trigger_describes_the_scheme_without_the_secret() {
    let i = integration(
        json!({
            "path": "acme/customers",
            "auth": {"type": "signature", "preset": "github", "secret": "github-hook-secret"},
            "request_response": false
        }),
        json!([]),
    );
    let d = document(&i, "http://127.0.0.1:8080");
    let post = &d["paths"]["/t/acme/customers"]["post"];
    assert_eq!(
        post["x-flowgate-signature"]["header"],
        "x-hub-signature-256"
    );
    assert_eq!(post["x-flowgate-signature"]["prefix"], "sha256=");
    assert_eq!(post["security"], json!([]));
    assert!(post["responses"].get("202").is_some());
    assert!(post["responses"].get("504").is_none());
    assert_eq!(d["x-flowgate"]["signature"]["preset"], "github");
    assert!(!d.to_string().contains("github-hook-secret"));
}

#[test]
fn oauth2_trigger_has_a_client_credentials_flow_and_a_scope() {
    let i = integration(
        json!({
            "path": "acme/customers",
            "auth": {"type": "oauth2", "clients": ["fgc_abc"], "scope": "customers:write"}
        }),
        json!([]),
    );
    let d = document(&i, "https://h.example");
    let flows = &d["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"];
    assert_eq!(flows["tokenUrl"], "/oauth/token");
    assert!(flows["scopes"].get("customers:write").is_some());
    let post = &d["paths"]["/t/acme/customers"]["post"];
    assert_eq!(post["security"], json!([{"oauth2": ["customers:write"]}]));
    assert!(post["responses"].get("403").is_some());
    // No respond step: the run's end answers 200 with the execution.
    assert_eq!(
        post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Completed"
    );
    assert_eq!(
        d["x-flowgate"]["token_url"],
        "https://h.example/oauth/token"
    );
    assert!(!d.to_string().contains("fgc_abc"));
}

#[test]
fn all_triggers_skips_drafts_and_disabled_ones() {
    let t = json!({"path": "acme/customers", "auth": {"type": "none"}});
    let a = integration(t.clone(), json!([]));
    let mut b = integration(t.clone(), json!([]));
    b.slug = "draft-one".into();
    b.endpoint = "/t/draft".into();
    b.version = 0;
    b.status = "draft".into();
    let mut c = integration(t, json!([]));
    c.slug = "off".into();
    c.endpoint = "/t/off".into();
    c.enabled = false;
    c.status = "disabled".into();
    let d = all(&[a, b, c], "http://x");
    let paths: Vec<&String> = d["paths"].as_object().unwrap().keys().collect();
    // The trigger, and where its callers follow their calls.
    assert_eq!(
        paths,
        [
            "/t/acme/customers",
            "/t/acme/customers/executions/{execution_id}"
        ]
    );
    let follow = &d["paths"]["/t/acme/customers/executions/{execution_id}"]["get"];
    assert_eq!(
        follow["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CallStatus"
    );
}

#[test]
fn signature_only_triggers_have_no_follow_path() {
    let t = json!({"path": "acme/hook", "auth": {"type": "signature", "preset": "github", "secret": "gh"}});
    let d = document(&integration(t, json!([])), "http://x");
    let paths: Vec<&String> = d["paths"].as_object().unwrap().keys().collect();
    assert_eq!(paths.len(), 1, "{paths:?}");
    assert!(!paths[0].ends_with("/executions/{execution_id}"));
}
