//! The request and the response as recorded: line, query, body (drawn as its encoding says)
//! and headers, with redacted values marked.

use std::collections::BTreeMap;

use flowgate_api::{RequestSnapshot, ResponseSnapshot, REDACTED};
use leptos::prelude::*;

use super::text::{curl_of, json_text, status_class};
use crate::components::{origin, CopyButton, JsonBlock};
use crate::format::fmt_bytes;

fn kv_table(map: BTreeMap<String, String>, what: &'static str) -> AnyView {
    if map.is_empty() {
        return view! { <p class="muted small">{format!("No {what}.")}</p> }.into_any();
    }
    view! {
        <div class="kv-wrap">
            <table class="table kv-table">
                <tbody>
                    {map.into_iter().map(|(k, v)| {
                        let redacted = v == REDACTED;
                        view! {
                            <tr>
                                <th scope="row" class="mono">{k}</th>
                                <td class=if redacted { "mono redacted" } else { "mono" }
                                    title=if redacted { "Stored, but not shown" } else { "" }>{v}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// A body with a copy button, drawn as its encoding says.
fn body_view(encoding: &str, body: serde_json::Value) -> AnyView {
    use serde_json::Value;
    match (encoding, body) {
        ("none", _) => view! { <p class="muted small body-none">"No body."</p> }.into_any(),
        ("base64", body) => {
            let b64 = json_text(&body);
            let size = b64.trim_end_matches('=').len() * 3 / 4;
            view! {
                <div class="body-binary">
                    <p class="muted small">{format!("Binary body, {} — shown base64-encoded.", fmt_bytes(size))}</p>
                    <details>
                        <summary>"Show base64"</summary>
                        <pre class="json body-text">{b64.clone()}</pre>
                        <CopyButton text=b64 label="Copy base64"/>
                    </details>
                </div>
            }
            .into_any()
        }
        ("form", Value::Object(m)) => {
            let map: BTreeMap<String, String> =
                m.iter().map(|(k, v)| (k.clone(), json_text(v))).collect();
            kv_table(map, "form fields")
        }
        ("text", body) | (_, body @ Value::String(_)) => {
            let text = json_text(&body);
            if text.is_empty() {
                return view! { <p class="muted small body-none">"Empty body."</p> }.into_any();
            }
            view! {
                <div class="body-block">
                    <pre class="json body-text">{text.clone()}</pre>
                    <div class="body-copy"><CopyButton text=text label="Copy"/></div>
                </div>
            }
            .into_any()
        }
        (_, body) => {
            let text = serde_json::to_string_pretty(&body).unwrap_or_default();
            view! {
                <div class="body-block">
                    <JsonBlock value=body/>
                    <div class="body-copy"><CopyButton text=text label="Copy"/></div>
                </div>
            }
            .into_any()
        }
    }
}

pub fn request_card(request: Option<RequestSnapshot>) -> AnyView {
    let Some(r) = request else {
        return view! {
            <section class="card exec-section" id="request" aria-labelledby="request-title">
                <h2 id="request-title">"Request"</h2>
                <p class="muted">"No request was recorded."</p>
            </section>
        }
        .into_any();
    };
    let curl = curl_of(&origin(), &r);
    let query_text = if r.query.is_empty() {
        String::new()
    } else {
        let q: Vec<String> = r.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("?{}", q.join("&"))
    };
    let body_meta = match &r.content_type {
        Some(ct) => format!("{ct} · {}", r.body_encoding),
        None => r.body_encoding.clone(),
    };
    let has_query = !r.query.is_empty();
    let method_class = format!("method method-{}", r.method.to_ascii_lowercase());
    view! {
        <section class="card exec-section" id="request" aria-labelledby="request-title">
            <div class="section-head">
                <h2 id="request-title">"Request"</h2>
                <div class="spacer"></div>
                <span title="The request as a curl command (set FLOWGATE_API_KEY; redacted headers are left out)">
                    <CopyButton text=curl label="Copy as curl"/>
                </span>
            </div>
            <div class="req-line mono" id="request-line">
                <span class=method_class>{r.method.clone()}</span>
                <span class="req-path">{r.path.clone()}<span class="muted">{query_text}</span></span>
            </div>
            {has_query.then(|| view! { <h3>"Query"</h3>{kv_table(r.query.clone(), "query parameters")}})}
            <h3>"Body "<span class="muted small body-meta">{body_meta}</span></h3>
            {body_view(&r.body_encoding, r.body.clone())}
            {headers_details(r.headers.clone())}
        </section>
    }
    .into_any()
}

pub fn response_card(
    response: Option<ResponseSnapshot>,
    mode: &str,
    replayed: bool,
    running: bool,
) -> AnyView {
    let note = if replayed {
        Some("A replay: nobody waits for its answer; this is what the flow answered.")
    } else {
        (mode == "async").then_some("The caller got 202 at once; this is what the flow answered.")
    };
    let Some(r) = response else {
        let text = if running {
            "No answer yet: the flow has not finished."
        } else {
            "No answer was recorded: the flow ended without responding."
        };
        return view! {
            <section class="card exec-section" id="response" aria-labelledby="response-title">
                <h2 id="response-title">"Response"</h2>
                <p class="muted">{text}</p>
            </section>
        }
        .into_any();
    };
    let encoding = if r.body.is_null() { "none" } else { "json" };
    view! {
        <section class="card exec-section" id="response" aria-labelledby="response-title">
            <div class="section-head">
                <h2 id="response-title">"Response"</h2>
                <span class=status_class(r.status) id="response-status">{r.status}</span>
            </div>
            {note.map(|n| view! { <p class="muted small">{n}</p> })}
            <h3>"Body"</h3>
            {body_view(encoding, r.body.clone())}
            {headers_details(r.headers.clone())}
        </section>
    }
    .into_any()
}

/// The headers, folded away when there are more than five.
fn headers_details(headers: BTreeMap<String, String>) -> impl IntoView {
    let count = headers.len();
    let open = count <= 5;
    view! {
        <details class="exec-details" open=open>
            <summary><h3>{format!("Headers ({count})")}</h3></summary>
            {kv_table(headers, "headers")}
        </details>
    }
}
