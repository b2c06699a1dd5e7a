//! JSON Schemas (OpenAPI 3.1) as an indented field tree: each field with its type, whether
//! it is required, its description and notes (allowed values, default). `$ref`s are resolved,
//! `allOf` merged, `oneOf`/`anyOf` listed as variants; deep or recursive schemas are cut off.

use leptos::prelude::*;
use serde_json::{Map, Value};

use super::json::{deref, ref_name, scalar_text, text};

/// The most rows one tree shows.
const MAX_ROWS: usize = 400;
/// The most allowed values listed for an `enum`.
const MAX_ENUM: usize = 12;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub depth: usize,
    /// The property's name; empty for the schema itself or a variant's type.
    pub name: String,
    pub ty: String,
    pub required: bool,
    pub nullable: bool,
    pub description: String,
    pub notes: Vec<String>,
}

/// The types a schema's `type` names, `null` taken out; and whether `null` was one.
fn types(schema: &Value) -> (Vec<String>, bool) {
    let mut nullable = schema
        .get("nullable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut out = Vec::new();
    match schema.get("type") {
        Some(Value::String(t)) if t == "null" => nullable = true,
        Some(Value::String(t)) => out.push(t.clone()),
        Some(Value::Array(a)) => {
            for t in a.iter().filter_map(Value::as_str) {
                if t == "null" {
                    nullable = true;
                } else {
                    out.push(t.to_owned());
                }
            }
        }
        _ => {}
    }
    (out, nullable)
}

fn is_null_schema(s: &Value) -> bool {
    let (t, nullable) = types(s);
    t.is_empty() && nullable && s.get("properties").is_none()
}

/// The variants of a `oneOf`/`anyOf` (or `None`), without the `null` one, and whether there
/// was one.
fn variants(schema: &Value) -> Option<(Vec<&Value>, bool)> {
    let list = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)?;
    let nullable = list.iter().any(is_null_schema);
    Some((
        list.iter().filter(|v| !is_null_schema(v)).collect(),
        nullable,
    ))
}

/// A schema's type in a few words: `string (date-time)`, `array of KeyIn`, `integer or
/// string`, `KeyOut` for a reference to an object.
pub fn type_label(doc: &Value, schema: &Value) -> String {
    label_at(doc, schema, 0)
}

fn label_at(doc: &Value, schema: &Value, depth: usize) -> String {
    if depth > 4 {
        return "…".to_owned();
    }
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = deref(doc, schema);
        let (t, _) = types(target);
        // A named object reads as its name; a named string enum as its type.
        return if t.is_empty() || t.iter().any(|t| t == "object") || target.get("oneOf").is_some() {
            ref_name(r).to_owned()
        } else {
            label_at(doc, target, depth + 1)
        };
    }
    if let Some((vs, _)) = variants(schema) {
        return match vs.as_slice() {
            [one] => label_at(doc, one, depth + 1),
            [] => "null".to_owned(),
            many => {
                let mut names: Vec<String> =
                    many.iter().map(|v| label_at(doc, v, depth + 1)).collect();
                names.dedup();
                if names.len() > 3 {
                    format!("one of {} types", many.len())
                } else {
                    names.join(" or ")
                }
            }
        };
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        if let [one] = parts.as_slice() {
            return label_at(doc, one, depth + 1);
        }
        return "object".to_owned();
    }
    let (t, _) = types(schema);
    let format = text(schema, "format");
    let base = match t.as_slice() {
        [] if schema.get("properties").is_some() => "object".to_owned(),
        [] if schema.get("enum").is_some() || schema.get("const").is_some() => {
            let v = schema
                .get("const")
                .or_else(|| schema.get("enum").and_then(|e| e.get(0)));
            match v {
                Some(Value::String(_)) => "string".to_owned(),
                Some(Value::Number(_)) => "number".to_owned(),
                Some(Value::Bool(_)) => "boolean".to_owned(),
                _ => "any".to_owned(),
            }
        }
        [] => "any".to_owned(),
        [one] if one == "array" => match schema.get("items") {
            Some(items) => format!("array of {}", label_at(doc, items, depth + 1)),
            None => "array".to_owned(),
        },
        many => many.join(" or "),
    };
    if format.is_empty() {
        base
    } else {
        format!("{base} ({format})")
    }
}

/// Allowed values, default, limits: what a reader needs beside the type.
fn notes_of(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(c) = schema.get("const") {
        out.push(format!("always {}", c));
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        let shown: Vec<String> = e
            .iter()
            .filter(|v| !v.is_null())
            .take(MAX_ENUM)
            .map(|v| v.to_string())
            .collect();
        let more = e.len().saturating_sub(MAX_ENUM);
        let mut line = format!("one of {}", shown.join(", "));
        if more > 0 {
            line.push_str(&format!(" and {more} more"));
        }
        out.push(line);
    }
    if let Some(d) = schema.get("default") {
        out.push(format!("default {}", d));
    }
    let range = |lo: &str, hi: &str, unit: &str| -> Option<String> {
        let lo = schema.get(lo).map(scalar_text);
        let hi = schema.get(hi).map(scalar_text);
        match (lo, hi) {
            (Some(a), Some(b)) if a == b => Some(format!("exactly {a}{unit}")),
            (Some(a), Some(b)) => Some(format!("{a} to {b}{unit}")),
            (Some(a), None) => Some(format!("at least {a}{unit}")),
            (None, Some(b)) => Some(format!("at most {b}{unit}")),
            (None, None) => None,
        }
    };
    out.extend(range("minimum", "maximum", ""));
    out.extend(range("minLength", "maxLength", " characters"));
    out.extend(range("minItems", "maxItems", " items"));
    out
}

struct Walker<'a> {
    doc: &'a Value,
    max_depth: usize,
    rows: Vec<Row>,
    /// The named schemas being walked (a reference to one of them is a loop).
    stack: Vec<String>,
    cut: bool,
}

impl Walker<'_> {
    fn push(&mut self, row: Row) -> bool {
        if self.rows.len() >= MAX_ROWS {
            self.cut = true;
            return false;
        }
        self.rows.push(row);
        true
    }

    /// A field (or the root, with an empty name) and, below it, what it holds.
    fn field(&mut self, schema: &Value, name: &str, required: bool, depth: usize) {
        if self.rows.len() >= MAX_ROWS {
            self.cut = true;
            return;
        }
        let label = type_label(self.doc, schema);
        let own_desc = text(schema, "description");
        let mut named = None;
        let mut target = schema;
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let n = ref_name(r).to_owned();
            if self.stack.contains(&n) {
                self.push(Row {
                    depth,
                    name: name.to_owned(),
                    ty: label,
                    required,
                    nullable: false,
                    description: own_desc,
                    notes: vec![format!("the same fields as {n} above")],
                });
                return;
            }
            target = deref(self.doc, schema);
            named = Some(n);
        }
        if let Some(n) = &named {
            self.stack.push(n.clone());
        }
        self.node(target, name, required, depth, label, own_desc, false);
        if named.is_some() {
            self.stack.pop();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn node(
        &mut self,
        schema: &Value,
        name: &str,
        required: bool,
        depth: usize,
        label: String,
        desc: String,
        nullable: bool,
    ) {
        let desc = if desc.is_empty() {
            text(schema, "description")
        } else {
            desc
        };
        // `allOf` with one part (a reference with its own description) is that part.
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            if let [one] = parts.as_slice() {
                return self.field_with(one, name, required, depth, desc, nullable);
            }
        }
        if let Some((vs, null)) = variants(schema) {
            let nullable = nullable || null;
            if let [one] = vs.as_slice() {
                return self.field_with(one, name, required, depth, desc, nullable);
            }
            let (_, own_null) = types(schema);
            let shown = depth > 0 || !name.is_empty();
            if shown
                && !self.push(Row {
                    depth,
                    name: name.to_owned(),
                    ty: if vs.len() > 3 {
                        format!("one of {} types", vs.len())
                    } else {
                        label
                    },
                    required,
                    nullable: nullable || own_null,
                    description: desc,
                    notes: Vec::new(),
                })
            {
                return;
            }
            let inner = if shown { depth + 1 } else { depth };
            if inner > self.max_depth {
                return self.deeper(inner);
            }
            for (k, v) in vs.into_iter().enumerate() {
                self.variant(v, k, inner);
            }
            return;
        }
        let (t, null) = types(schema);
        let nullable = nullable || null;
        let merged;
        let object: Option<(&Map<String, Value>, Vec<String>)> =
            if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
                merged = merge_all_of(self.doc, parts);
                Some((&merged.0, merged.1.clone()))
            } else {
                schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| (p, required_list(schema)))
            };
        let is_root = depth == 0 && name.is_empty();
        if let Some((props, req)) = object {
            if !is_root
                && !self.push(Row {
                    depth,
                    name: name.to_owned(),
                    ty: label,
                    required,
                    nullable,
                    description: desc,
                    notes: notes_of(schema),
                })
            {
                return;
            }
            let inner = if is_root { 0 } else { depth + 1 };
            if inner > self.max_depth {
                return self.deeper(inner);
            }
            self.properties(props, &req, inner);
            self.additional(schema, inner);
            return;
        }
        if t.iter().any(|t| t == "array") {
            if !self.push(Row {
                depth,
                name: name.to_owned(),
                ty: label,
                required,
                nullable,
                description: desc,
                notes: notes_of(schema),
            }) {
                return;
            }
            if let Some(items) = schema.get("items") {
                self.items(items, depth + 1);
            }
            return;
        }
        if is_root && t.is_empty() && schema.get("additionalProperties").is_none() {
            // An open schema at the top: nothing to list.
            if !label.is_empty() && label != "any" {
                self.push(Row {
                    depth,
                    name: String::new(),
                    ty: label,
                    required,
                    nullable,
                    description: desc,
                    notes: notes_of(schema),
                });
            }
            return;
        }
        if !self.push(Row {
            depth,
            name: name.to_owned(),
            ty: label,
            required,
            nullable,
            description: desc,
            notes: notes_of(schema),
        }) {
            return;
        }
        self.additional(schema, depth + 1);
    }

    fn field_with(
        &mut self,
        schema: &Value,
        name: &str,
        required: bool,
        depth: usize,
        desc: String,
        nullable: bool,
    ) {
        let before = self.rows.len();
        self.field(schema, name, required, depth);
        if let Some(row) = self.rows.get_mut(before) {
            if row.depth == depth && row.name == name {
                if !desc.is_empty() {
                    row.description = desc;
                }
                row.nullable |= nullable;
            }
        }
    }

    /// The fields of an array's items, below the array.
    fn items(&mut self, items: &Value, depth: usize) {
        let mut target = items;
        let mut named = None;
        if let Some(r) = items.get("$ref").and_then(Value::as_str) {
            let n = ref_name(r).to_owned();
            if self.stack.contains(&n) {
                return;
            }
            target = deref(self.doc, items);
            named = Some(n);
        }
        let has_fields = target.get("properties").is_some()
            || target.get("allOf").is_some()
            || variants(target).is_some_and(|(v, _)| v.len() > 1);
        if !has_fields {
            return;
        }
        if depth > self.max_depth {
            return self.deeper(depth);
        }
        if let Some(n) = &named {
            self.stack.push(n.clone());
        }
        if let Some((vs, _)) = variants(target).filter(|(v, _)| v.len() > 1) {
            for (k, v) in vs.into_iter().enumerate() {
                self.variant(v, k, depth);
            }
        } else if let Some(parts) = target.get("allOf").and_then(Value::as_array) {
            let (props, req) = merge_all_of(self.doc, parts);
            self.properties(&props, &req, depth);
        } else if let Some(props) = target.get("properties").and_then(Value::as_object) {
            self.properties(props, &required_list(target), depth);
        }
        if named.is_some() {
            self.stack.pop();
        }
    }

    fn properties(&mut self, props: &Map<String, Value>, req: &[String], depth: usize) {
        for (key, value) in props {
            self.field(value, key, req.iter().any(|r| r == key), depth);
            if self.cut {
                return;
            }
        }
    }

    fn additional(&mut self, schema: &Value, depth: usize) {
        let Some(extra) = schema.get("additionalProperties") else {
            return;
        };
        if !extra.is_object() || extra.as_object().is_some_and(Map::is_empty) {
            return;
        }
        if depth > self.max_depth {
            return self.deeper(depth);
        }
        self.field(extra, "(any name)", false, depth);
    }

    /// One variant of a `oneOf`: a line saying which it is, then its fields.
    fn variant(&mut self, v: &Value, k: usize, depth: usize) {
        let target = deref(self.doc, v);
        let name = variant_name(v, target, k);
        let has_fields = target.get("properties").is_some() || target.get("allOf").is_some();
        if !has_fields {
            self.field(v, &name, false, depth);
            return;
        }
        if !self.push(Row {
            depth,
            name,
            ty: type_label(self.doc, v),
            required: false,
            nullable: false,
            description: text(target, "description"),
            notes: Vec::new(),
        }) {
            return;
        }
        if depth + 1 > self.max_depth {
            return self.deeper(depth + 1);
        }
        let named = v.get("$ref").and_then(Value::as_str).map(ref_name);
        if let Some(n) = named {
            if self.stack.iter().any(|s| s == n) {
                return;
            }
            self.stack.push(n.to_owned());
        }
        if let Some(parts) = target.get("allOf").and_then(Value::as_array) {
            let (props, req) = merge_all_of(self.doc, parts);
            self.properties(&props, &req, depth + 1);
        } else if let Some(props) = target.get("properties").and_then(Value::as_object) {
            self.properties(props, &required_list(target), depth + 1);
        }
        if named.is_some() {
            self.stack.pop();
        }
    }

    fn deeper(&mut self, depth: usize) {
        self.push(Row {
            depth,
            name: String::new(),
            ty: String::new(),
            required: false,
            nullable: false,
            description: String::new(),
            notes: vec!["deeper fields left out".to_owned()],
        });
    }
}

fn required_list(schema: &Value) -> Vec<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `allOf`: the properties and required names of every part, references followed.
fn merge_all_of(doc: &Value, parts: &[Value]) -> (Map<String, Value>, Vec<String>) {
    let mut props = Map::new();
    let mut req = Vec::new();
    for p in parts {
        let p = deref(doc, p);
        if let Some(m) = p.get("properties").and_then(Value::as_object) {
            for (k, v) in m {
                props.insert(k.clone(), v.clone());
            }
        }
        req.extend(required_list(p));
        if let Some(inner) = p.get("allOf").and_then(Value::as_array) {
            let (m, r) = merge_all_of(doc, inner);
            props.extend(m);
            req.extend(r);
        }
    }
    (props, req)
}

/// A variant's name: its title, its tag (a property with one allowed value, such as
/// `type = "api_key"`), the schema it refers to, or `option 2`.
fn variant_name(v: &Value, target: &Value, k: usize) -> String {
    let title = text(target, "title");
    if !title.is_empty() {
        return title;
    }
    if let Some(props) = target.get("properties").and_then(Value::as_object) {
        for (key, p) in props {
            let one = p.get("const").or_else(|| {
                p.get("enum")
                    .and_then(Value::as_array)
                    .filter(|e| e.len() == 1)
                    .and_then(|e| e.first())
            });
            if let Some(one) = one {
                return format!("{key} = {one}");
            }
        }
    }
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        return ref_name(r).to_owned();
    }
    format!("option {}", k + 1)
}

/// A schema as rows, fields nested at most `max_depth` levels deep.
pub fn flatten(doc: &Value, schema: &Value, max_depth: usize) -> Vec<Row> {
    let mut w = Walker {
        doc,
        max_depth,
        rows: Vec::new(),
        stack: Vec::new(),
        cut: false,
    };
    w.field(schema, "", false, 0);
    if w.cut {
        w.rows.push(Row {
            depth: 0,
            name: String::new(),
            ty: String::new(),
            required: false,
            nullable: false,
            description: String::new(),
            notes: vec![format!("only the first {MAX_ROWS} fields are shown")],
        });
    }
    w.rows
}

/// A schema as an indented table of fields.
#[component]
pub fn SchemaTree(
    doc: std::sync::Arc<Value>,
    schema: Value,
    #[prop(default = 6)] max_depth: usize,
    #[prop(optional)] id: &'static str,
) -> impl IntoView {
    let rows = flatten(&doc, &schema, max_depth);
    if rows.is_empty() {
        return view! { <p class="muted small schema-empty">"Any JSON value (no schema given)."</p> }
            .into_any();
    }
    view! {
        <div class="schema-wrap">
            <table class="schema-table" id=id>
                <thead><tr>
                    <th scope="col">"Field"</th><th scope="col">"Type"</th><th scope="col">"Description"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(schema_row).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

fn schema_row(r: Row) -> impl IntoView {
    let pad = format!("{}px", 8 + r.depth * 18);
    let name = if r.name.is_empty() {
        view! { <span class="muted">"—"</span> }.into_any()
    } else {
        view! { <code class="schema-name">{r.name.clone()}</code> }.into_any()
    };
    view! {
        <tr class="schema-row" data-field=r.name.clone() data-depth=r.depth.to_string()>
            <td class="schema-field" style:padding-left=pad>
                {(r.depth > 0).then(|| view! { <span class="schema-branch" aria-hidden="true">"└ "</span> })}
                {name}
                {r.required.then(|| view! { <span class="schema-required">"required"</span> })}
            </td>
            <td class="schema-type mono">
                {r.ty.clone()}
                {r.nullable.then(|| view! { <span class="muted">" or null"</span> })}
            </td>
            <td class="schema-desc">
                {(!r.description.is_empty()).then(|| view! { <span>{super::prose::inline(&r.description)}</span> })}
                {r.notes.into_iter().map(|n| view! { <span class="schema-note">{n}</span> }).collect_view()}
            </td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn brief(rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|r| {
                format!(
                    "{}{}: {}{}{}",
                    "  ".repeat(r.depth),
                    r.name,
                    r.ty,
                    if r.required { " *" } else { "" },
                    if r.nullable { " ?" } else { "" }
                )
            })
            .collect()
    }

    #[test]
    fn an_inferred_body_reads_as_a_tree() {
        let schema = json!({
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {"type": "string"},
                "count": {"type": "integer", "default": 1},
                "user": {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}},
                "items": {"type": "array", "items": {"type": "object", "required": ["sku"],
                    "properties": {"sku": {"type": "string"}}}},
                "tags": {"type": "array", "items": {"type": "string"}}
            }
        });
        let rows = flatten(&json!({}), &schema, 6);
        assert_eq!(
            brief(&rows),
            [
                "count: integer",
                "id: string *",
                "items: array of object",
                "  sku: string *",
                "tags: array of string",
                "user: object",
                "  email: string (email)",
            ]
        );
        assert_eq!(rows[0].notes, ["default 1"]);
    }

    #[test]
    fn references_enums_and_nullables() {
        let doc = json!({"components": {"schemas": {
            "KeyIn": {"type": "object", "required": ["label"], "properties": {
                "label": {"type": "string", "description": "Who uses it"},
                "expires_at": {"type": ["string", "null"], "format": "date-time"},
                "rate_limit": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/RateLimit"}]},
                "status": {"$ref": "#/components/schemas/Status"}
            }},
            "RateLimit": {"type": "object", "properties": {"per_second": {"type": "integer", "minimum": 1}}},
            "Status": {"type": "string", "enum": ["active", "revoked"]}
        }}});
        let rows = flatten(&doc, &json!({"$ref": "#/components/schemas/KeyIn"}), 6);
        assert_eq!(
            brief(&rows),
            [
                "expires_at: string (date-time) ?",
                "label: string *",
                "rate_limit: RateLimit ?",
                "  per_second: integer",
                "status: string",
            ]
        );
        assert_eq!(rows[1].description, "Who uses it");
        assert_eq!(rows[3].notes, ["at least 1"]);
        let limited = json!({"type": "string", "minLength": 1, "maxLength": 100});
        assert_eq!(flatten(&doc, &limited, 6)[0].notes, ["1 to 100 characters"]);
        let exact =
            json!({"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2});
        assert_eq!(flatten(&doc, &exact, 6)[0].notes, ["exactly 2 items"]);
        assert_eq!(rows[4].notes, [r#"one of "active", "revoked""#]);
        assert_eq!(
            type_label(
                &doc,
                &json!({"type": "array", "items": {"$ref": "#/components/schemas/KeyIn"}})
            ),
            "array of KeyIn"
        );
    }

    #[test]
    fn tagged_variants_are_named_by_their_tag() {
        let doc = json!({"components": {"schemas": {"Auth": {"oneOf": [
            {"type": "object", "required": ["type", "keys"], "properties": {
                "type": {"type": "string", "enum": ["api_key"]},
                "keys": {"type": "array", "items": {"type": "string"}}}},
            {"type": "object", "properties": {"type": {"const": "none"}}}
        ]}}}});
        let schema = json!({"type": "object", "properties": {"auth": {"$ref": "#/components/schemas/Auth"}}});
        let rows = flatten(&doc, &schema, 6);
        assert_eq!(
            brief(&rows),
            [
                "auth: Auth",
                "  type = \"api_key\": object",
                "    keys: array of string *",
                "    type: string *",
                "  type = \"none\": object",
                "    type: string",
            ]
        );
    }

    #[test]
    fn loops_and_depth_are_cut() {
        let doc = json!({"components": {"schemas": {"Step": {"type": "object", "properties": {
            "then": {"type": "array", "items": {"$ref": "#/components/schemas/Step"}},
            "next": {"$ref": "#/components/schemas/Step"}
        }}}}});
        let rows = flatten(&doc, &json!({"$ref": "#/components/schemas/Step"}), 6);
        assert_eq!(brief(&rows), ["next: Step", "then: array of Step"]);
        assert_eq!(rows[0].notes, ["the same fields as Step above"]);

        let deep = json!({"type": "object", "properties": {"a": {"type": "object", "properties": {
            "b": {"type": "object", "properties": {"c": {"type": "string"}}}}}}});
        let rows = flatten(&json!({}), &deep, 1);
        assert_eq!(brief(&rows), ["a: object", "  b: object", "    : "]);
        assert_eq!(rows[2].notes, ["deeper fields left out"]);
    }

    #[test]
    fn all_of_merges_and_odd_schemas_do_not_fail() {
        let doc = json!({"components": {"schemas": {"Base": {"type": "object", "required": ["id"],
            "properties": {"id": {"type": "string"}}}}}});
        let schema = json!({"allOf": [{"$ref": "#/components/schemas/Base"},
            {"type": "object", "properties": {"name": {"type": "string"}}}]});
        assert_eq!(
            brief(&flatten(&doc, &schema, 6)),
            ["id: string *", "name: string"]
        );
        assert!(flatten(&doc, &json!({}), 6).is_empty());
        assert!(flatten(&doc, &json!("nonsense"), 6).is_empty());
        assert_eq!(
            brief(&flatten(&doc, &json!({"type": "string"}), 6)),
            [": string"]
        );
        assert_eq!(
            brief(&flatten(
                &doc,
                &json!({"type": "array", "items": {"type": "integer"}}),
                6
            )),
            [": array of integer"]
        );
        let open = json!({"type": "object", "properties": {"headers": {"type": "object",
            "additionalProperties": {"type": "string"}}}});
        assert_eq!(
            brief(&flatten(&doc, &open, 6)),
            ["headers: object", "  (any name): string"]
        );
    }
}
