//! An integration's published OpenAPI document, rendered for the people who call it: the
//! endpoint and how it behaves, how to authenticate, query parameters, the body's fields with
//! an example, the responses, and `curl` examples per method. The admin page and the shared
//! page both show it.

use std::sync::Arc;

use leptos::prelude::*;
use serde_json::Value;

use super::endpoint::{auth_title, auth_words, examples, facts, summary, Summary};
use super::openapi::{deref, operations, text, Media, Operation, Param, Reply};
pub use super::prose::{inline, Prose};
use super::schema::SchemaTree;
use crate::components::{http_code_class, origin, CopyButton, JsonBlock};

/// Body fields nest at most this deep on the page.
const BODY_DEPTH: usize = 8;

/// The name the page is titled with.
pub fn doc_title(doc: &Value) -> String {
    let ops = operations(doc);
    let s = summary(doc, &ops);
    if s.name.is_empty() {
        "API documentation".to_owned()
    } else {
        s.name
    }
}

/// Every parameter of the operations, once.
fn all_params(ops: &[Operation]) -> Vec<Param> {
    let mut out: Vec<Param> = Vec::new();
    for p in ops.iter().flat_map(|o| o.params.iter()) {
        if !out
            .iter()
            .any(|q| q.name == p.name && q.location == p.location)
        {
            out.push(p.clone());
        }
    }
    out
}

#[component]
pub fn DocsView(doc: Value) -> impl IntoView {
    let doc = Arc::new(doc);
    let ops = operations(&doc);
    let s = summary(&doc, &ops);
    let description = doc
        .pointer("/info/description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let params = all_params(&ops);
    let body_op = ops.iter().find(|o| o.body.is_some()).cloned();
    let body_media = body_op
        .as_ref()
        .and_then(|o| o.body.as_ref())
        .and_then(|b| {
            b.media
                .iter()
                .find(|m| m.media_type.contains("json"))
                .or_else(|| b.media.first())
                .cloned()
        });
    let example = body_media.as_ref().and_then(|m| m.example.clone());
    let responses = ops
        .iter()
        .find(|o| !o.responses.is_empty())
        .map(|o| o.responses.clone())
        .unwrap_or_default();
    let curls = examples(&s, &params, example.as_ref(), &origin());

    view! {
        <div class="docs" id="docs">
            <EndpointCard s=s.clone() description=description/>
            <AuthCard s=s.clone() doc=doc.clone()/>
            <ParamsCard params=params/>
            <BodyCard doc=doc.clone() s=s.clone() media=body_media has_body=body_op.is_some()/>
            <ExamplesCard curls=curls/>
            <ResponsesCard doc=doc.clone() replies=responses/>
        </div>
    }
}

#[component]
fn EndpointCard(s: Summary, description: String) -> impl IntoView {
    let url = s.endpoint.clone();
    let facts = facts(&s, &description);
    view! {
        <section class="card docs-card" id="docs-endpoint" aria-labelledby="docs-endpoint-h">
            <h2 id="docs-endpoint-h">"Endpoint"</h2>
            <div class="docs-url-line">
                <div class="docs-methods">
                    {s.methods.iter().map(|m| view! { <span class=format!("method-badge method-{}", m.to_lowercase())>{m.clone()}</span> }).collect_view()}
                </div>
                <code class="docs-url" id="docs-url">{url.clone()}</code>
                <CopyButton text=url label="Copy URL"/>
            </div>
            <div class="docs-lead"><Prose text=description/></div>
            <dl class="kv docs-facts">
                {facts.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
            </dl>
        </section>
    }
}

/// One security scheme of `components.securitySchemes` in words: its description, then what
/// it is (`the X-API-Key header`).
pub fn scheme_words(scheme: &Value) -> String {
    let what = match text(scheme, "type").as_str() {
        "apiKey" => format!("the {} {}", text(scheme, "name"), text(scheme, "in")),
        "http" => format!("HTTP {}", text(scheme, "scheme")),
        "oauth2" => match scheme
            .pointer("/flows/clientCredentials/tokenUrl")
            .and_then(Value::as_str)
        {
            Some(url) if !url.is_empty() => format!("OAuth2 client credentials, tokens from {url}"),
            _ => "OAuth2".to_owned(),
        },
        "" => "unspecified".to_owned(),
        other => other.to_owned(),
    };
    let desc = text(scheme, "description");
    let desc = desc.trim().trim_end_matches('.');
    if desc.is_empty() {
        what
    } else {
        format!("{desc} ({what}).")
    }
}

#[component]
fn AuthCard(s: Summary, doc: Arc<Value>) -> impl IntoView {
    let words = auth_words(&s, &origin());
    let schemes: Vec<(String, String)> = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(name, v)| (name.clone(), scheme_words(deref(&doc, v))))
                .collect()
        })
        .unwrap_or_default();
    view! {
        <section class="card docs-card" id="docs-auth" aria-labelledby="docs-auth-h">
            <h2 id="docs-auth-h">"Authentication"</h2>
            <p class="docs-auth-title strong" id="docs-auth-title">{auth_title(&s)}</p>
            {words.into_iter().map(|w| view! { <p>{inline(&w)}</p> }).collect_view()}
            {(!schemes.is_empty()).then(|| view! {
                <div class="section-title">"Security schemes"</div>
                <ul class="docs-schemes">
                    {schemes.into_iter().map(|(n, w)| view! { <li><code>{n}</code>" — "{inline(&w)}</li> }).collect_view()}
                </ul>
            })}
        </section>
    }
}

#[component]
pub fn ParamsTable(params: Vec<Param>, #[prop(optional)] id: &'static str) -> impl IntoView {
    let show_in = params.iter().any(|p| p.location != "query");
    view! {
        <div class="schema-wrap">
            <table class="schema-table params-table" id=id>
                <thead><tr>
                    <th scope="col">"Name"</th>
                    {show_in.then(|| view! { <th scope="col">"In"</th> })}
                    <th scope="col">"Type"</th>
                    <th scope="col">"Required"</th>
                    <th scope="col">"Default"</th>
                    <th scope="col">"Description"</th>
                </tr></thead>
                <tbody>
                    {params.into_iter().map(|p| view! {
                        <tr data-param=p.name.clone()>
                            <td><code class="schema-name">{p.name.clone()}</code></td>
                            {show_in.then(|| view! { <td class="muted">{p.location.clone()}</td> })}
                            <td class="mono">{p.type_label.clone()}</td>
                            <td>{if p.required { view! { <span class="schema-required">"required"</span> }.into_any() } else { view! { <span class="muted">"optional"</span> }.into_any() }}</td>
                            <td>{match p.default.clone() {
                                Some(d) => view! { <code>{d}</code> }.into_any(),
                                None => view! { <span class="muted">"—"</span> }.into_any(),
                            }}</td>
                            <td>{inline(&p.description)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn ParamsCard(params: Vec<Param>) -> impl IntoView {
    let query: Vec<Param> = params
        .into_iter()
        .filter(|p| p.location == "query" || p.location == "header")
        .collect();
    view! {
        <section class="card docs-card" id="docs-params" aria-labelledby="docs-params-h">
            <h2 id="docs-params-h">"Query parameters and headers"</h2>
            {if query.is_empty() {
                view! { <p class="muted">"None: the endpoint reads no query parameters."</p> }.into_any()
            } else {
                view! { <ParamsTable params=query id="docs-params-table"/> }.into_any()
            }}
        </section>
    }
}

#[component]
fn BodyCard(doc: Arc<Value>, s: Summary, media: Option<Media>, has_body: bool) -> impl IntoView {
    let types = if s.content_types.is_empty() {
        "any content type".to_owned()
    } else {
        s.content_types.join(", ")
    };
    let inner = match media {
        None if !has_body => {
            view! { <p class="muted">"The endpoint takes no body."</p> }.into_any()
        }
        None => view! { <p class="muted">"Any body: the document gives no schema."</p> }.into_any(),
        Some(m) => {
            let schema = m.schema.clone();
            let example = m.example.clone();
            view! {
                <p class="muted small">{if s.content_types.len() > 1 {
                    format!("Send it as {types}. The fields of the {} body:", m.media_type)
                } else {
                    format!("Send it as {types}.")
                }}</p>
                {match schema {
                    Some(sc) => view! { <SchemaTree doc=doc.clone() schema=sc max_depth=BODY_DEPTH id="docs-body-schema"/> }.into_any(),
                    None => view! { <p class="muted small">"No schema given."</p> }.into_any(),
                }}
                {example.map(|e| view! {
                    <div class="section-title docs-example-title">"Example"</div>
                    <div id="docs-body-example"><JsonBlock value=e/></div>
                })}
            }
            .into_any()
        }
    };
    view! {
        <section class="card docs-card" id="docs-body" aria-labelledby="docs-body-h">
            <h2 id="docs-body-h">"Request body"</h2>
            {inner}
        </section>
    }
}

#[component]
pub fn RepliesList(
    doc: Arc<Value>,
    replies: Vec<Reply>,
    #[prop(default = 6)] max_depth: usize,
) -> impl IntoView {
    let repeats = repeated_refs(&replies);
    view! {
        <ul class="replies">
            {replies.into_iter().zip(repeats).map(|(r, repeat)| {
                let code = r.status.parse::<u16>().ok();
                let class = format!("{} reply-status", http_code_class(code));
                let media = r.media.into_iter().find(|m| m.media_type.contains("json"));
                let doc = doc.clone();
                view! {
                    <li class="reply" data-status=r.status.clone()>
                        <div class="reply-head">
                            <span class=class>{r.status.clone()}</span>
                            <span>{inline(&r.description)}</span>
                        </div>
                        {media.map(|m| {
                            let schema = m.schema.clone();
                            view! {
                                {match (schema, repeat) {
                                    (_, Some(name)) => view! {
                                        <p class="muted small reply-same">"Body: "<code>{name}</code>", the same fields as above."</p>
                                    }.into_any(),
                                    (Some(sc), None) => view! { <SchemaTree doc=doc.clone() schema=sc max_depth=max_depth/> }.into_any(),
                                    (None, None) => ().into_any(),
                                }}
                                {m.example.map(|e| view! { <details class="sub-details"><summary>"Example"</summary><JsonBlock value=e/></details> })}
                            }
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// For each reply, the name of its body's schema when an earlier reply already showed that
/// same schema (`$ref`), so it is not listed again.
pub fn repeated_refs(replies: &[Reply]) -> Vec<Option<String>> {
    let mut seen: Vec<String> = Vec::new();
    replies
        .iter()
        .map(|r| {
            let r = r
                .media
                .iter()
                .find(|m| m.media_type.contains("json"))
                .and_then(|m| m.schema.as_ref())
                .and_then(|s| s.get("$ref"))
                .and_then(Value::as_str)?;
            if seen.iter().any(|x| x == r) {
                Some(super::openapi::ref_name(r).to_owned())
            } else {
                seen.push(r.to_owned());
                None
            }
        })
        .collect()
}

#[component]
fn ResponsesCard(doc: Arc<Value>, replies: Vec<Reply>) -> impl IntoView {
    view! {
        <section class="card docs-card" id="docs-responses" aria-labelledby="docs-responses-h">
            <h2 id="docs-responses-h">"Responses"</h2>
            {if replies.is_empty() {
                view! { <p class="muted">"The document lists no responses."</p> }.into_any()
            } else {
                view! { <RepliesList doc=doc replies=replies max_depth=BODY_DEPTH/> }.into_any()
            }}
        </section>
    }
}

#[component]
fn ExamplesCard(curls: Vec<(String, String)>) -> impl IntoView {
    view! {
        <section class="card docs-card" id="docs-examples" aria-labelledby="docs-examples-h">
            <h2 id="docs-examples-h">"Examples"</h2>
            <p class="muted small">"Shell scripts with curl; fill in the credentials named in the comments."</p>
            {curls.into_iter().map(|(m, script)| {
                let id = format!("docs-curl-{}", m.to_lowercase());
                let text = script.clone();
                view! {
                    <div class="docs-example">
                        <div class="docs-example-head">
                            <span class=format!("method-badge method-{}", m.to_lowercase())>{m.clone()}</span>
                            <div class="spacer"></div>
                            <CopyButton text=text label="Copy"/>
                        </div>
                        <pre class="json verify-code" id=id>{script}</pre>
                    </div>
                }
            }).collect_view()}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_schema_shown_once_is_named_after() {
        let reply = |status: &str, schema: Option<Value>| Reply {
            status: status.into(),
            description: String::new(),
            media: vec![Media {
                media_type: "application/json".into(),
                schema,
                example: None,
            }],
        };
        let err = || Some(json!({"$ref": "#/components/schemas/Error"}));
        let replies = [
            reply("200", Some(json!({"type": "object"}))),
            reply("400", err()),
            reply("404", err()),
            reply("500", None),
        ];
        assert_eq!(
            repeated_refs(&replies),
            [None, None, Some("Error".to_owned()), None]
        );
    }

    #[test]
    fn schemes_in_words() {
        assert_eq!(
            scheme_words(
                &json!({"type": "apiKey", "in": "header", "name": "X-API-Key",
                "description": "An API key the admin gave you."})
            ),
            "An API key the admin gave you (the X-API-Key header)."
        );
        assert_eq!(
            scheme_words(&json!({"type": "http", "scheme": "bearer"})),
            "HTTP bearer"
        );
        assert_eq!(
            scheme_words(
                &json!({"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "/oauth/token"}}})
            ),
            "OAuth2 client credentials, tokens from /oauth/token"
        );
        assert_eq!(scheme_words(&json!({})), "unspecified");
    }
}
