//! Reading an OpenAPI 3.1 document: its operations with their parameters, bodies and
//! responses, `$ref`s resolved. Tolerant: a missing or odd field reads as empty, never fails.
//! Both the endpoint docs and the admin API reference read documents through this.

use serde_json::Value;

use super::schema::type_label;

/// The methods an OpenAPI path item may hold, in the order they are shown.
const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

pub use super::json::{deref, ref_name, scalar_text, text};

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    /// `query`, `path`, `header`, `cookie`.
    pub location: String,
    pub required: bool,
    pub default: Option<String>,
    pub description: String,
    pub type_label: String,
    pub example: Option<String>,
}

/// One media type of a body: its schema and an example.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    pub media_type: String,
    pub schema: Option<Value>,
    pub example: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub required: bool,
    pub description: String,
    pub media: Vec<Media>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// `200`, `4XX`, `default`.
    pub status: String,
    pub description: String,
    pub media: Vec<Media>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Upper case: `POST`.
    pub method: String,
    pub path: String,
    pub summary: String,
    pub description: String,
    pub operation_id: String,
    pub tags: Vec<String>,
    pub deprecated: bool,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    pub responses: Vec<Reply>,
}

impl Operation {
    /// The media types a body may come as (empty: no body).
    pub fn content_types(&self) -> Vec<String> {
        self.body
            .as_ref()
            .map(|b| b.media.iter().map(|m| m.media_type.clone()).collect())
            .unwrap_or_default()
    }
}

fn param(doc: &Value, raw: &Value) -> Option<Param> {
    let p = deref(doc, raw);
    let name = text(p, "name");
    if name.is_empty() {
        return None;
    }
    let schema = p.get("schema").map(|s| deref(doc, s));
    let location = text(p, "in");
    Some(Param {
        required: p.get("required").and_then(Value::as_bool).unwrap_or(false) || location == "path",
        default: schema.and_then(|s| s.get("default")).map(scalar_text),
        description: text(p, "description"),
        type_label: p
            .get("schema")
            .map(|s| type_label(doc, s))
            .unwrap_or_default(),
        example: p
            .get("example")
            .or_else(|| schema.and_then(|s| s.get("example")))
            .map(scalar_text),
        name,
        location,
    })
}

/// Merges the path item's parameters with the operation's (the operation's win).
fn params(doc: &Value, item: &Value, op: &Value) -> Vec<Param> {
    let list = |v: &Value| -> Vec<Param> {
        v.get("parameters")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|p| param(doc, p)).collect())
            .unwrap_or_default()
    };
    let mut out = list(item);
    for p in list(op) {
        match out
            .iter_mut()
            .find(|q| q.name == p.name && q.location == p.location)
        {
            Some(q) => *q = p,
            None => out.push(p),
        }
    }
    out
}

/// The example of a media type: its `example`, the first of its `examples`, or the schema's.
fn example_of(doc: &Value, media: &Value) -> Option<Value> {
    if let Some(e) = media.get("example") {
        return Some(e.clone());
    }
    if let Some(first) = media
        .get("examples")
        .and_then(Value::as_object)
        .and_then(|m| m.values().next())
    {
        let e = deref(doc, first);
        if let Some(v) = e.get("value") {
            return Some(v.clone());
        }
    }
    let schema = deref(doc, media.get("schema")?);
    schema.get("example").cloned().or_else(|| {
        schema
            .get("examples")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .cloned()
    })
}

fn media_of(doc: &Value, holder: &Value) -> Vec<Media> {
    holder
        .get("content")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(media_type, media)| Media {
                    media_type: media_type.clone(),
                    schema: media.get("schema").cloned(),
                    example: example_of(doc, media),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn operation(doc: &Value, path: &str, item: &Value, method: &str, op: &Value) -> Operation {
    let body = op.get("requestBody").map(|b| {
        let b = deref(doc, b);
        Body {
            required: b.get("required").and_then(Value::as_bool).unwrap_or(false),
            description: text(b, "description"),
            media: media_of(doc, b),
        }
    });
    let responses = op
        .get("responses")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(status, r)| {
                    let r = deref(doc, r);
                    Reply {
                        status: status.clone(),
                        description: text(r, "description"),
                        media: media_of(doc, r),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Operation {
        method: method.to_uppercase(),
        path: path.to_owned(),
        summary: text(op, "summary"),
        description: text(op, "description"),
        operation_id: text(op, "operationId"),
        tags: op
            .get("tags")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        deprecated: op
            .get("deprecated")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        params: params(doc, item, op),
        body,
        responses,
    }
}

/// Every operation of the document: paths in the document's order (alphabetical), methods
/// GET, POST, PUT, PATCH, DELETE, …
pub fn operations(doc: &Value) -> Vec<Operation> {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (path, item) in paths {
        let item = deref(doc, item);
        for m in METHODS {
            if let Some(op) = item.get(m).filter(|op| op.is_object()) {
                out.push(operation(doc, path, item, m, op));
            }
        }
    }
    out
}

/// The path the operations are called at: `paths` keys below a relative server URL
/// (`/api/v1`) get it in front, so `/keys` reads `/api/v1/keys`.
pub fn full_path(doc: &Value, path: &str) -> String {
    let base = doc
        .get("servers")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .map(|s| text(s, "url"))
        .unwrap_or_default();
    let base = base.trim_end_matches('/');
    if base.starts_with('/') && !path.starts_with(base) {
        format!("{base}{path}")
    } else {
        path.to_owned()
    }
}

/// The operations grouped by their first tag, in the order of the document's `tags` list and
/// then of first appearance; untagged ones under "Other". Each group with its description.
pub fn by_tag(doc: &Value, ops: Vec<Operation>) -> Vec<(String, String, Vec<Operation>)> {
    let declared: Vec<(String, String)> = doc
        .get("tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|t| (text(t, "name"), text(t, "description")))
                .filter(|(n, _)| !n.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut groups: Vec<(String, String, Vec<Operation>)> = declared
        .into_iter()
        .map(|(n, d)| (n, d, Vec::new()))
        .collect();
    for op in ops {
        let tag = op
            .tags
            .first()
            .cloned()
            .unwrap_or_else(|| "Other".to_owned());
        match groups.iter_mut().find(|(n, _, _)| *n == tag) {
            Some((_, _, list)) => list.push(op),
            None => groups.push((tag, String::new(), vec![op])),
        }
    }
    groups.retain(|(_, _, list)| !list.is_empty());
    groups
}

#[cfg(test)]
mod tests {
    use super::super::json::{code_spans, paragraphs, resolve_ref};
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "openapi": "3.1.0",
            "servers": [{"url": "/api/v1"}],
            "tags": [{"name": "keys", "description": "API keys"}, {"name": "unused"}],
            "paths": {
                "/keys/{id}": {
                    "parameters": [{"name": "id", "in": "path", "schema": {"type": "string"}}],
                    "delete": {"tags": ["keys"], "summary": "Revoke a key",
                        "responses": {"204": {"description": "Revoked"}}}
                },
                "/keys": {
                    "post": {
                        "tags": ["keys"], "summary": "Create a key", "operationId": "create_key",
                        "requestBody": {"required": true, "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/KeyIn"}}}},
                        "responses": {
                            "201": {"$ref": "#/components/responses/Created"},
                            "400": {"description": "Invalid"}
                        }
                    },
                    "get": {"summary": "List keys", "parameters": [
                        {"$ref": "#/components/parameters/Limit"},
                        {"name": "", "in": "query"}
                    ], "responses": {}}
                },
                "/health": {"get": {"tags": ["ops"], "responses": {}}, "x-note": "ignored"}
            },
            "components": {
                "schemas": {"KeyIn": {"type": "object", "example": {"label": "crm"},
                    "properties": {"label": {"type": "string"}}}},
                "parameters": {"Limit": {"name": "limit", "in": "query",
                    "schema": {"type": "integer", "default": 50}}},
                "responses": {"Created": {"description": "Created", "content": {"application/json": {
                    "schema": {"type": "object"}, "examples": {"one": {"value": {"id": "k1"}}}}}}}
            }
        })
    }

    #[test]
    fn descriptions_have_code_and_paragraphs() {
        assert_eq!(
            code_spans("send `X-API-Key` or `Bearer`."),
            vec![
                (false, "send ".to_owned()),
                (true, "X-API-Key".to_owned()),
                (false, " or ".to_owned()),
                (true, "Bearer".to_owned()),
                (false, ".".to_owned()),
            ]
        );
        assert_eq!(code_spans("a `b"), vec![(false, "a `b".to_owned())]);
        assert_eq!(code_spans(""), Vec::<(bool, String)>::new());
        assert_eq!(paragraphs("one\n\n two \n\n\n"), ["one", "two"]);
    }

    #[test]
    fn refs_resolve_and_loops_stop() {
        let d = doc();
        assert_eq!(ref_name("#/components/schemas/KeyIn"), "KeyIn");
        let r = json!({"$ref": "#/components/schemas/KeyIn"});
        assert_eq!(deref(&d, &r).get("type"), Some(&json!("object")));
        let missing = json!({"$ref": "#/components/schemas/Nope"});
        assert_eq!(deref(&d, &missing), &missing);
        let looped = json!({"a": {"$ref": "#/b"}, "b": {"$ref": "#/a"}});
        let start = json!({"$ref": "#/a"});
        assert!(deref(&looped, &start).get("$ref").is_some());
        assert!(resolve_ref(&d, "http://elsewhere/x").is_none());
    }

    #[test]
    fn operations_are_read_with_their_parts() {
        let d = doc();
        let ops = operations(&d);
        let names: Vec<String> = ops
            .iter()
            .map(|o| format!("{} {}", o.method, o.path))
            .collect();
        assert_eq!(
            names,
            [
                "GET /health",
                "GET /keys",
                "POST /keys",
                "DELETE /keys/{id}"
            ]
        );
        let list = &ops[1];
        assert_eq!(list.params.len(), 1, "the nameless parameter is dropped");
        assert_eq!(list.params[0].name, "limit");
        assert_eq!(list.params[0].default.as_deref(), Some("50"));
        assert_eq!(list.params[0].type_label, "integer");
        let create = &ops[2];
        assert_eq!(create.operation_id, "create_key");
        assert_eq!(create.content_types(), ["application/json"]);
        let body = create
            .body
            .as_ref()
            .map(|b| (b.required, b.media[0].example.clone()));
        assert_eq!(body, Some((true, Some(json!({"label": "crm"})))));
        assert_eq!(create.responses[0].status, "201");
        assert_eq!(create.responses[0].description, "Created");
        assert_eq!(
            create.responses[0].media[0].example,
            Some(json!({"id": "k1"}))
        );
        let revoke = &ops[3];
        assert!(revoke.params[0].required, "path parameters are required");
        assert_eq!(operations(&json!({})), Vec::<Operation>::new());
    }

    #[test]
    fn paths_and_groups() {
        let d = doc();
        assert_eq!(full_path(&d, "/keys"), "/api/v1/keys");
        assert_eq!(full_path(&d, "/api/v1/keys"), "/api/v1/keys");
        assert_eq!(full_path(&json!({}), "/keys"), "/keys");
        let groups = by_tag(&d, operations(&d));
        let names: Vec<(&str, usize)> = groups
            .iter()
            .map(|(n, _, l)| (n.as_str(), l.len()))
            .collect();
        assert_eq!(names, [("keys", 2), ("ops", 1), ("Other", 1)]);
        assert_eq!(groups[0].1, "API keys");
    }
}
