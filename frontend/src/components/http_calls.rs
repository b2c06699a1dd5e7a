//! Outbound HTTP calls of a step (HTTP steps and `http()`), as the trace records them: secrets
//! are already redacted by the server.

use leptos::prelude::*;

/// The pill of an HTTP status (no answer at all counts as bad).
pub fn http_code_class(status: Option<u16>) -> &'static str {
    match status {
        Some(s) if s < 300 => "http-code ok",
        Some(s) if s < 500 => "http-code warn",
        _ => "http-code bad",
    }
}

#[component]
pub fn HttpCalls(calls: Vec<flows_runtime::HttpCallTrace>) -> impl IntoView {
    (!calls.is_empty()).then(|| {
        view! {
            <ul class="http-calls">
                {calls.into_iter().map(|c| {
                    let status = c.status.map(|s| s.to_string()).unwrap_or_else(|| "no answer".into());
                    let class = http_code_class(c.status);
                    let ms = c.duration_us as f64 / 1000.0;
                    let headers = |h: &std::collections::BTreeMap<String, String>| {
                        h.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n")
                    };
                    let req_h = headers(&c.request_headers);
                    let resp_h = headers(&c.response_headers);
                    view! {
                        <li class="http-call">
                            <details>
                                <summary>
                                    <span class="mono strong">{c.method.clone()}</span>" "
                                    <span class="mono call-url" title=c.url.clone()>{c.url.clone()}</span>" "
                                    <span class=class>{status}</span>
                                    <span class="muted small">{format!(" {ms:.1} ms")}
                                        {(1 < c.attempt).then(|| format!(" · attempt {}", c.attempt))}
                                        {c.purpose.clone().map(|p| format!(" · {p}"))}</span>
                                </summary>
                                {c.error.clone().map(|e| view! { <div class="error-box">{e}</div> })}
                                {(!req_h.is_empty()).then(|| view! { <div class="section-title">"Request headers"</div><pre class="json">{req_h}</pre> })}
                                {c.request_body.clone().map(|b| view! { <div class="section-title">"Request body"</div><pre class="json">{b}</pre> })}
                                {(!resp_h.is_empty()).then(|| view! { <div class="section-title">"Response headers"</div><pre class="json">{resp_h}</pre> })}
                                {c.response_body.clone().map(|b| view! { <div class="section-title">"Response body"</div><pre class="json">{b}</pre> })}
                            </details>
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
    })
}
