//! Generated endpoint docs: an OpenAPI 3.1 document per published trigger (and one for all
//! of them), built from the trigger's settings, the flow's respond/fail steps and the
//! saved sample payload. Nothing secret goes in: key and client ids, stored secret names
//! and signing keys stay out; a consumer only learns how to call.
//!
//! A share link (`/share/integrations/{slug}?sig=`) lets an admin hand the docs to a consumer
//! without an account: `sig` is an HMAC of the integration's id under the server secret.

pub mod schema;

use std::collections::BTreeMap;

use flowgate_api::{IntegrationOut, SignaturePreset, TriggerAuth, TriggerDoc};
use flows_runtime::model::Step;
use serde_json::{json, Map, Value};

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The document of one integration's published trigger. `base_url`: scheme and host the
/// consumer calls (`https://flowgate.example.com`), no trailing slash.
pub fn document(i: &IntegrationOut, base_url: &str) -> Value {
    let mut paths = Map::new();
    let mut schemes = Map::new();
    let (path, item) = path_item(i, &mut schemes);
    paths.insert(path, item);
    if let Some((path, item)) = follow_item(i, &mut schemes) {
        paths.insert(path, item);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": i.name,
            "description": description(i),
            "version": i.version.to_string(),
        },
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {
            "securitySchemes": schemes,
            "schemas": common_schemas(),
        },
        "x-flowgate": summary(i, base_url),
    })
}

/// One document for every published, enabled trigger (`GET /api/v1/openapi/triggers.json`).
pub fn all(integrations: &[IntegrationOut], base_url: &str) -> Value {
    let mut paths = Map::new();
    let mut schemes = Map::new();
    let mut tags = Vec::new();
    for i in integrations
        .iter()
        .filter(|i| i.version > 0 && i.enabled && i.status == "published")
    {
        let (path, item) = path_item(i, &mut schemes);
        paths.insert(path, item);
        if let Some((path, item)) = follow_item(i, &mut schemes) {
            paths.insert(path, item);
        }
        tags.push(json!({"name": i.slug, "description": i.name}));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Flowgate triggers",
            "description": "Every published trigger of this Flowgate: how to call it and what it answers.",
            "version": "1",
        },
        "servers": [{"url": base_url}],
        "tags": tags,
        "paths": paths,
        "components": {
            "securitySchemes": schemes,
            "schemas": common_schemas(),
        },
    })
}

fn description(i: &IntegrationOut) -> String {
    let t = &i.trigger;
    let mut parts = Vec::new();
    if !i.description.trim().is_empty() {
        parts.push(i.description.trim().to_owned());
    }
    parts.push(if t.request_response {
        format!(
            "The caller waits for the flow's answer, up to {} ms (then `504 timeout`; the run goes on). `Prefer: respond-async` asks for a `202` at once instead.",
            t.timeout_ms
        )
    } else {
        "The call is stored and answered `202 Accepted` at once; it runs in the background and is never lost. `Prefer: wait=N` waits up to N seconds for the result.".to_owned()
    });
    if t.ordered {
        parts.push(match &t.lane_key {
            Some(k) => format!("Calls with the same `{k}` run one at a time, in arrival order."),
            None => "Calls run one at a time, in arrival order.".to_owned(),
        });
    }
    if let Some(idem) = &t.idempotency {
        parts.push(format!(
            "A call sent again with the same `{}` header within {} h is answered from the first one, not run twice.",
            idem.header, idem.retention_hours
        ));
    }
    if let Some(rl) = &t.rate_limit {
        parts.push(format!(
            "At most {} calls per second (bursts of {}); more get `429` with `Retry-After`.",
            rl.per_second,
            rl.burst()
        ));
    }
    parts.join("\n\n")
}

/// The Flowgate summary the UI renders (`x-flowgate`).
fn summary(i: &IntegrationOut, base_url: &str) -> Value {
    let t = &i.trigger;
    let mut s = json!({
        "slug": i.slug,
        "name": i.name,
        "version": i.version,
        "endpoint": format!("{base_url}{}", i.endpoint),
        "methods": t.methods,
        "request_response": t.request_response,
        "timeout_ms": t.timeout_ms,
        "ordered": t.ordered,
        "max_body_bytes": t.max_body_bytes,
        "content_types": t.content_types,
    });
    let o = match s.as_object_mut() {
        Some(o) => o,
        None => return s,
    };
    if let Some(k) = &t.lane_key {
        o.insert("lane_key".into(), json!(k));
    }
    if let Some(idem) = &t.idempotency {
        o.insert("idempotency_header".into(), json!(idem.header));
    }
    if let Some(rl) = &t.rate_limit {
        o.insert(
            "rate_limit".into(),
            json!({"per_second": rl.per_second, "burst": rl.burst()}),
        );
    }
    match &t.auth {
        TriggerAuth::ApiKey { .. } => {
            o.insert("auth".into(), json!("api_key"));
            o.insert("api_key_header".into(), json!("X-API-Key"));
        }
        TriggerAuth::Oauth2 { keys, scope, .. } => {
            o.insert("auth".into(), json!("oauth2"));
            o.insert("token_url".into(), json!(format!("{base_url}/oauth/token")));
            if let Some(sc) = scope {
                o.insert("scope".into(), json!(sc));
            }
            if !keys.is_empty() {
                o.insert("api_key_header".into(), json!("X-API-Key"));
            }
        }
        TriggerAuth::Signature { keys, clients, .. } => {
            o.insert("auth".into(), json!("signature"));
            if let Some(sig) = signature(&t.auth) {
                o.insert("signature".into(), sig);
            }
            if !clients.is_empty() {
                o.insert("also_requires".into(), json!("oauth2"));
                o.insert("token_url".into(), json!(format!("{base_url}/oauth/token")));
            } else if !keys.is_empty() {
                o.insert("also_requires".into(), json!("api_key"));
                o.insert("api_key_header".into(), json!("X-API-Key"));
            }
        }
        TriggerAuth::None => {
            o.insert("auth".into(), json!("none"));
        }
    }
    s
}

/// How a signature is computed, without the key.
fn signature(auth: &TriggerAuth) -> Option<Value> {
    let TriggerAuth::Signature {
        preset,
        tolerance_s,
        header,
        algorithm,
        encoding,
        prefix,
        timestamp_header,
        ..
    } = auth
    else {
        return None;
    };
    let (h, alg, enc, pre, ts, text): (String, &str, &str, String, Option<String>, String) =
        match preset {
            SignaturePreset::StandardWebhooks => (
                "webhook-signature".into(),
                "sha256",
                "base64",
                "v1,".into(),
                Some("webhook-timestamp".into()),
                format!("Standard Webhooks: HMAC-SHA256 of `{{webhook-id}}.{{webhook-timestamp}}.{{body}}` with the `whsec_` secret, base64, sent as `webhook-signature: v1,<signature>` with `webhook-id` and `webhook-timestamp` (within {tolerance_s} s). A message id is accepted once."),
            ),
            SignaturePreset::Github => (
                "x-hub-signature-256".into(),
                "sha256",
                "hex",
                "sha256=".into(),
                None,
                "GitHub: HMAC-SHA256 of the raw body, hex, sent as `X-Hub-Signature-256: sha256=<signature>`.".into(),
            ),
            SignaturePreset::Stripe => (
                "stripe-signature".into(),
                "sha256",
                "hex",
                "t=<timestamp>,v1=".into(),
                None,
                format!("Stripe: HMAC-SHA256 of `{{t}}.{{body}}`, hex, sent as `Stripe-Signature: t=<unix time>,v1=<signature>` (within {tolerance_s} s)."),
            ),
            SignaturePreset::MsTeams => (
                "authorization".into(),
                "sha256",
                "base64",
                "HMAC ".into(),
                None,
                "Microsoft Teams outgoing webhook: HMAC-SHA256 of the raw body under the base64-decoded security token, base64, sent as `Authorization: HMAC <signature>`.".into(),
            ),
            SignaturePreset::Generic => {
                let h = header.clone().unwrap_or_default().to_ascii_lowercase();
                let alg = match algorithm.unwrap_or_default() {
                    flowgate_api::SignatureAlgorithm::Sha1 => "sha1",
                    flowgate_api::SignatureAlgorithm::Sha256 => "sha256",
                    flowgate_api::SignatureAlgorithm::Sha512 => "sha512",
                };
                let enc = match encoding.unwrap_or_default() {
                    flowgate_api::SignatureEncoding::Hex => "hex",
                    flowgate_api::SignatureEncoding::Base64 => "base64",
                };
                let pre = prefix.clone().unwrap_or_default();
                let ts = timestamp_header.clone().filter(|t| !t.trim().is_empty());
                let signed = match &ts {
                    Some(t) => format!("`{{{t}}}.{{body}}` (the `{t}` header: Unix seconds, within {tolerance_s} s)"),
                    None => "the raw body".to_owned(),
                };
                let text = format!(
                    "HMAC-{} of {signed}, {enc}, sent as `{h}: {pre}<signature>`.",
                    alg.to_ascii_uppercase()
                );
                (h, alg, enc, pre, ts, text)
            }
        };
    Some(json!({
        "preset": preset.as_str(),
        "header": h,
        "algorithm": alg,
        "encoding": enc,
        "prefix": pre,
        "timestamp_header": ts,
        "tolerance_s": tolerance_s,
        "description": text,
    }))
}

/// `(path, path item)` of one trigger; adds its security schemes to `schemes`.
fn path_item(i: &IntegrationOut, schemes: &mut Map<String, Value>) -> (String, Value) {
    let t = &i.trigger;
    let security = security(&t.auth, schemes);
    let params = parameters(t);
    let responses = responses(i);
    let mut item = Map::new();
    for method in &t.methods {
        let m = method.to_ascii_lowercase();
        let mut op = json!({
            "operationId": format!("{}_{}", i.slug.replace(['/', '-', '.'], "_"), m),
            "summary": i.name,
            "description": description(i),
            "tags": [i.slug],
            "parameters": params,
            "responses": responses,
            "security": security,
        });
        if let Some(sig) = signature(&t.auth) {
            if let Some(o) = op.as_object_mut() {
                o.insert("x-flowgate-signature".into(), sig);
            }
        }
        if m != "get" && m != "delete" {
            if let Some(o) = op.as_object_mut() {
                o.insert("requestBody".into(), request_body(t));
            }
        }
        item.insert(m, op);
    }
    (i.endpoint.clone(), Value::Object(item))
}

/// `GET {endpoint}/executions/{execution_id}`: how a caller follows its own call (not for
/// triggers whose callers present only a signature).
fn follow_item(i: &IntegrationOut, schemes: &mut Map<String, Value>) -> Option<(String, Value)> {
    let t = &i.trigger;
    if matches!(&t.auth, TriggerAuth::Signature { keys, clients, .. } if keys.is_empty() && clients.is_empty())
    {
        return None;
    }
    let security = security(&t.auth, schemes);
    let op = json!({
        "operationId": format!("{}_follow", i.slug.replace(['/', '-', '.'], "_")),
        "summary": format!("{}: follow a call", i.name),
        "description": "The status of one of your own calls (the `Location` of a `202`), with the same credential as the call; once it has ended, the answer the flow gave. Polling sooner than `Retry-After` finds nothing new.",
        "tags": [i.slug],
        "parameters": [{"name": "execution_id", "in": "path", "required": true,
                        "schema": {"type": "string", "format": "uuid"}}],
        "responses": {
            "200": {"description": "The call's status, and its answer once it has ended.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CallStatus"}}}},
            "401": error_ref("The credential is missing or wrong."),
            "404": error_ref("`not_found`: no call of yours with this id."),
        },
        "security": security,
    });
    Some((
        format!("{}/executions/{{execution_id}}", i.endpoint),
        json!({"get": op}),
    ))
}

fn security(auth: &TriggerAuth, schemes: &mut Map<String, Value>) -> Value {
    let key = |schemes: &mut Map<String, Value>| {
        schemes.insert(
            "apiKey".into(),
            json!({"type": "apiKey", "in": "header", "name": "X-API-Key",
                   "description": "An API key the Flowgate admin gave you."}),
        );
        schemes.insert(
            "bearerKey".into(),
            json!({"type": "http", "scheme": "bearer",
                   "description": "The same API key, as `Authorization: Bearer <key>`."}),
        );
    };
    let oauth = |schemes: &mut Map<String, Value>, scope: Option<&String>| {
        let scopes: Map<String, Value> = scope
            .map(|s| (s.clone(), json!("required by this trigger")))
            .into_iter()
            .collect();
        schemes.insert(
            "oauth2".into(),
            json!({"type": "oauth2",
                   "description": "OAuth2 client credentials: get a token from the token URL with your client id and secret, send it as `Authorization: Bearer <token>`.",
                   "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": scopes}}}),
        );
    };
    match auth {
        TriggerAuth::ApiKey { .. } => {
            key(schemes);
            json!([{"apiKey": []}, {"bearerKey": []}])
        }
        TriggerAuth::Oauth2 { keys, scope, .. } => {
            oauth(schemes, scope.as_ref());
            let scopes: Vec<&String> = scope.iter().collect();
            let mut any = vec![json!({"oauth2": scopes})];
            if !keys.is_empty() {
                key(schemes);
                any.push(json!({"apiKey": []}));
            }
            Value::Array(any)
        }
        // The signature is described in `x-flowgate-signature`; OpenAPI has no scheme for it.
        TriggerAuth::Signature { keys, clients, .. } => {
            if !clients.is_empty() {
                oauth(schemes, None);
                json!([{"oauth2": []}])
            } else if !keys.is_empty() {
                key(schemes);
                json!([{"apiKey": []}, {"bearerKey": []}])
            } else {
                json!([])
            }
        }
        TriggerAuth::None => json!([]),
    }
}

fn parameters(t: &TriggerDoc) -> Value {
    let mut out: Vec<Value> = t
        .query_params
        .iter()
        .map(|q| {
            let mut schema = json!({"type": "string"});
            if let (Some(d), Some(o)) = (&q.default, schema.as_object_mut()) {
                o.insert("default".into(), json!(d));
            }
            json!({"name": q.name, "in": "query", "required": q.required, "schema": schema})
        })
        .collect();
    if let Some(idem) = &t.idempotency {
        out.push(json!({
            "name": idem.header, "in": "header", "required": false,
            "description": "Send the same value again to have a repeated call answered from the first one.",
            "schema": {"type": "string", "maxLength": 255}
        }));
    }
    out.push(json!({
        "name": "Prefer", "in": "header", "required": false,
        "description": if t.request_response {
            "`respond-async`: answer 202 at once; with `wait=N`, after N seconds instead of 504."
        } else {
            "`wait=N`: wait up to N seconds for the result instead of an immediate 202."
        },
        "schema": {"type": "string"},
        "example": if t.request_response { "respond-async" } else { "wait=10" },
    }));
    Value::Array(out)
}

fn request_body(t: &TriggerDoc) -> Value {
    let media: Vec<String> = if t.content_types.is_empty() {
        vec!["application/json".into()]
    } else {
        t.content_types.clone()
    };
    let mut content = Map::new();
    for m in media {
        let json_like = m == "application/json" || m.ends_with("+json") || m == "*/*";
        let entry = match (&t.sample, json_like) {
            (Some(sample), true) => json!({"schema": schema::infer(sample), "example": sample}),
            _ => json!({"schema": {}}),
        };
        content.insert(m, entry);
    }
    json!({
        "required": false,
        "description": format!("At most {} bytes.", t.max_body_bytes),
        "content": content,
    })
}

/// What a flow answers on purpose: its respond and fail steps (nested ones too).
#[derive(Default)]
struct Answers {
    respond: BTreeMap<u16, Vec<Option<Value>>>,
    fail: BTreeMap<u16, Vec<String>>,
}

fn collect(steps: &[Step], into: &mut Answers) {
    for s in steps {
        match s {
            Step::Respond(r) if !r.disabled => into
                .respond
                .entry(r.status)
                .or_default()
                .push(r.body.clone()),
            Step::Fail(f) if !f.disabled => into
                .fail
                .entry(f.status)
                .or_default()
                .push(f.message.clone().unwrap_or_else(|| "rejected".into())),
            other if !other.is_disabled() => {
                for (_, list) in other.branches() {
                    collect(list, into);
                }
            }
            _ => {}
        }
    }
}

fn error_ref(description: &str) -> Value {
    json!({"description": description,
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn responses(i: &IntegrationOut) -> Value {
    let t = &i.trigger;
    let mut out = Map::new();
    let mut answers = Answers::default();
    collect(&i.steps, &mut answers);
    collect(&i.on_error, &mut answers);
    if t.request_response {
        for (status, bodies) in &answers.respond {
            let mut r = json!({"description": "The flow's answer."});
            if let (Some(Some(body)), Some(o)) =
                (bodies.iter().find(|b| b.is_some()), r.as_object_mut())
            {
                o.insert(
                    "content".into(),
                    json!({"application/json": {"schema": schema::infer(body), "example": body}}),
                );
            }
            out.insert(status.to_string(), r);
        }
        if answers.respond.is_empty() {
            out.insert(
                "200".into(),
                json!({"description": "The flow ran to its end without a respond step.",
                       "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Completed"}}}}),
            );
        }
        for (status, messages) in &answers.fail {
            out.entry(status.to_string()).or_insert_with(|| {
                error_ref(&format!(
                    "The flow refused the call (`rejected`): {}",
                    messages.join("; ")
                ))
            });
        }
        out.insert(
            "202".into(),
            json!({"description": "With `Prefer: respond-async`: accepted, running in the background.",
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}}),
        );
        out.insert(
            "504".into(),
            error_ref(&format!(
                "`timeout`: no answer within {} ms; the run goes on.",
                t.timeout_ms
            )),
        );
        match &t.error_response {
            Some(e) => {
                out.entry(e.status.to_string()).or_insert_with(|| {
                    json!({"description": "The flow broke (an error it did not handle).",
                           "content": {"application/json": {"example": e.render(e.status, "script_error", "…", "…")}}})
                });
            }
            None => {
                out.insert(
                    "500".into(),
                    error_ref("`flow_failed`: the flow broke; the error names the execution."),
                );
            }
        }
    } else {
        out.insert(
            "202".into(),
            json!({"description": "Accepted: stored, it runs in the background (`Location`: where to follow it, `…/executions/{execution_id}`).",
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}}),
        );
        out.insert(
            "200".into(),
            json!({"description": "With `Prefer: wait=N`, the flow's answer when it ended in time."}),
        );
    }
    let needs_credential = !matches!(t.auth, TriggerAuth::None);
    if needs_credential {
        out.insert(
            "401".into(),
            error_ref("`invalid_api_key`, `invalid_token` or `invalid_signature`: the credential or signature is missing or wrong."),
        );
    }
    if matches!(&t.auth, TriggerAuth::Oauth2 { scope: Some(_), .. }) {
        out.insert(
            "403".into(),
            error_ref("`insufficient_scope`: the token lacks the scope."),
        );
    }
    let mut bad = vec!["`invalid_json` and the like: the body does not parse"];
    if t.query_params
        .iter()
        .any(|q| q.required && q.default.is_none())
    {
        bad.push("`missing_query_parameter`: a required query parameter is missing");
    }
    out.entry("400".to_owned())
        .or_insert_with(|| error_ref(&bad.join("; ")));
    out.insert(
        "404".into(),
        error_ref("`not_found`: no such trigger, or it is disabled."),
    );
    out.insert(
        "405".into(),
        error_ref("`method_not_allowed`: see `Allow`."),
    );
    if t.idempotency.is_some() {
        out.insert(
            "409".into(),
            error_ref("`idempotency_in_progress`: the first call with this key is still running."),
        );
    }
    out.insert(
        "413".into(),
        error_ref(&format!(
            "`payload_too_large`: over {} bytes.",
            t.max_body_bytes
        )),
    );
    if !t.content_types.is_empty() {
        out.insert(
            "415".into(),
            error_ref(&format!(
                "`unsupported_media_type`: send one of {}.",
                t.content_types.join(", ")
            )),
        );
    }
    if t.rate_limit.is_some() || needs_credential {
        out.insert(
            "429".into(),
            error_ref("`rate_limited`: too many calls; wait `Retry-After` seconds."),
        );
    }
    out.insert(
        "503".into(),
        error_ref("`busy` or `shutting_down`: try again shortly."),
    );
    Value::Object(out)
}

fn common_schemas() -> Value {
    json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "Stable, machine-readable."},
                    "message": {"type": "string", "description": "For people."},
                    "execution_id": {"type": "string"},
                    "details": {"type": "array", "items": {"type": "object"}}
                }
            }}
        },
        "Accepted": {
            "type": "object",
            "required": ["execution_id"],
            "properties": {"execution_id": {"type": "string"}}
        },
        "Completed": {
            "type": "object",
            "required": ["execution_id", "status"],
            "properties": {"execution_id": {"type": "string"}, "status": {"const": "succeeded"}}
        },
        "CallStatus": {
            "type": "object",
            "required": ["execution_id", "status", "received_at", "attempts"],
            "properties": {
                "execution_id": {"type": "string"},
                "status": {"enum": ["queued", "running", "succeeded", "failed", "errored", "dead", "skipped"]},
                "received_at": {"type": "string", "format": "date-time"},
                "finished_at": {"type": "string", "format": "date-time"},
                "attempts": {"type": "integer"},
                "next_attempt_at": {"type": "string", "format": "date-time"},
                "response": {"type": "object", "description": "Once ended: the answer's status, headers and body.",
                             "properties": {"status": {"type": "integer"}, "headers": {"type": "object"}, "body": {}}}
            }
        }
    })
}

/// The document of a published integration: `404` if there is none, `409 not_published`
/// while it only has a draft.
pub async fn for_slug(state: &AppState, slug: &str, base_url: &str) -> AppResult<Value> {
    let i = super::integrations::get(state, slug).await?;
    if i.version == 0 {
        return Err(AppError::NotPublished);
    }
    Ok(document(&i, base_url))
}

/// Every published trigger.
pub async fn for_all(state: &AppState, base_url: &str) -> AppResult<Value> {
    let list = super::integrations::list(state).await?;
    Ok(all(&list, base_url))
}

/// The `sig` of an integration's share link.
pub fn share_sig(state: &AppState, integration_id: &str) -> String {
    let d = state
        .secret
        .digest(format!("flowgate: shared docs, v1: {integration_id}").as_bytes());
    hex::encode(&d[..16])
}

/// The document behind a share link; a wrong `sig` is the same `404` as a missing
/// integration, so links cannot be probed.
pub async fn shared(state: &AppState, slug: &str, sig: &str, base_url: &str) -> AppResult<Value> {
    let i = super::integrations::get(state, slug)
        .await
        .map_err(|_| AppError::NotFound("shared docs"))?;
    let expected = share_sig(state, &i.id);
    let same: bool = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), sig.as_bytes()).into();
    if !same || i.version == 0 {
        return Err(AppError::NotFound("shared docs"));
    }
    Ok(document(&i, base_url))
}

#[cfg(test)]
mod tests;
