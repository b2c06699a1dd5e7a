//! The HTTP step's form: method, URL, where the answer goes, body, credentials, and (folded)
//! query, headers, timeout and retries.

use flows_runtime::model::{HttpAuth, HttpBodyType, HttpMethod, HttpRetries, HttpStep, Step};
use leptos::prelude::*;

use super::ctx::{Ctx, ListPath};
use super::edit::{edit_step, non_blank};
use super::fields::{step_check, var_field, PairRows, ValueEditor, VarField};

fn auth_kind(a: &Option<HttpAuth>) -> &'static str {
    match a {
        None => "none",
        Some(HttpAuth::Basic { .. }) => "basic",
        Some(HttpAuth::Bearer { .. }) => "bearer",
        Some(HttpAuth::SecretHeader { .. }) => "secret_header",
        Some(HttpAuth::OAuth2ClientCredentials { .. }) => "oauth2",
    }
}

fn empty_auth(kind: &str) -> Option<HttpAuth> {
    match kind {
        "basic" => Some(HttpAuth::Basic {
            username: String::new(),
            password_secret: String::new(),
        }),
        "bearer" => Some(HttpAuth::Bearer {
            token_secret: String::new(),
        }),
        "secret_header" => Some(HttpAuth::SecretHeader {
            header: "x-api-key".into(),
            secret: String::new(),
        }),
        "oauth2" => Some(HttpAuth::OAuth2ClientCredentials {
            token_url: String::new(),
            client_id: String::new(),
            client_secret_secret: String::new(),
            scope: None,
        }),
        _ => None,
    }
}

/// One text field of the HTTP step's auth, written back through `set`.
fn auth_field(
    ctx: Ctx,
    p: StoredValue<ListPath>,
    i: usize,
    label: &'static str,
    value: String,
    secret: bool,
    set: fn(&mut HttpAuth, String),
) -> AnyView {
    let ro = ctx.readonly;
    view! {
        <div class="field">
            <label>{label}</label>
            <input type="text" class=if secret { "mono auth-secret" } else { "mono" } aria-label=label readonly=ro
                list=secret.then_some("secret-names") prop:value=value
                placeholder=if secret { "name of a stored secret" } else { "" }
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(h) = s { if let Some(a) = h.auth.as_mut() { set(a, v); } });
                }/>
        </div>
    }
    .into_any()
}

fn auth_fields(ctx: Ctx, p: StoredValue<ListPath>, i: usize, auth: Option<HttpAuth>) -> AnyView {
    match auth {
        None => view! { <div class="hint">"No credentials are sent."</div> }.into_any(),
        Some(HttpAuth::Basic { username, password_secret }) => view! {
            <div class="row">
                {auth_field(ctx, p, i, "Username", username, false, |a, v| if let HttpAuth::Basic { username, .. } = a { *username = v })}
                {auth_field(ctx, p, i, "Password secret", password_secret, true, |a, v| if let HttpAuth::Basic { password_secret, .. } = a { *password_secret = v })}
            </div>
        }.into_any(),
        Some(HttpAuth::Bearer { token_secret }) => view! {
            <div class="row">
                {auth_field(ctx, p, i, "Token secret", token_secret, true, |a, v| if let HttpAuth::Bearer { token_secret } = a { *token_secret = v })}
            </div>
        }.into_any(),
        Some(HttpAuth::SecretHeader { header, secret }) => view! {
            <div class="row">
                {auth_field(ctx, p, i, "Header", header, false, |a, v| if let HttpAuth::SecretHeader { header, .. } = a { *header = v })}
                {auth_field(ctx, p, i, "Secret", secret, true, |a, v| if let HttpAuth::SecretHeader { secret, .. } = a { *secret = v })}
            </div>
        }.into_any(),
        Some(HttpAuth::OAuth2ClientCredentials { token_url, client_id, client_secret_secret, scope }) => view! {
            <div class="row">
                {auth_field(ctx, p, i, "Token URL", token_url, false, |a, v| if let HttpAuth::OAuth2ClientCredentials { token_url, .. } = a { *token_url = v })}
                {auth_field(ctx, p, i, "Client id", client_id, false, |a, v| if let HttpAuth::OAuth2ClientCredentials { client_id, .. } = a { *client_id = v })}
            </div>
            <div class="row">
                {auth_field(ctx, p, i, "Client secret (stored secret)", client_secret_secret, true, |a, v| if let HttpAuth::OAuth2ClientCredentials { client_secret_secret, .. } = a { *client_secret_secret = v })}
                {auth_field(ctx, p, i, "Scope (optional)", scope.unwrap_or_default(), false, |a, v| if let HttpAuth::OAuth2ClientCredentials { scope, .. } = a { *scope = non_blank(v) })}
            </div>
        }.into_any(),
    }
}

pub fn http_form(ctx: Ctx, p: StoredValue<ListPath>, i: usize, h: HttpStep) -> AnyView {
    let ro = ctx.readonly;
    let method = RwSignal::new(h.method);
    let auth_sig = RwSignal::new(auth_kind(&h.auth));
    let auth_init = StoredValue::new(h.auth.clone());
    let query: Vec<(String, String)> = h.query.clone().into_iter().collect();
    let headers: Vec<(String, String)> = h.headers.clone().into_iter().collect();
    let has_extra = !query.is_empty() || !headers.is_empty();
    let body_type = match h.body_type {
        HttpBodyType::Json => "json",
        HttpBodyType::Form => "form",
        HttpBodyType::Text => "text",
        HttpBodyType::Raw => "raw",
    };
    view! {
        <div class="row">
            <div class="field" style="max-width: 120px">
                <label>"Method"</label>
                <select class="http-method" aria-label="Method" disabled=ro on:change=move |ev| {
                    if let Some(m) = HttpMethod::parse(&event_target_value(&ev)) {
                        method.set(m);
                        edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.method = m; });
                    }
                }>
                    {["GET", "POST", "PUT", "PATCH", "DELETE"].into_iter().map(|m| view! {
                        <option value=m selected=h.method.as_str() == m>{m}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field" style="flex: 4">
                <label>"URL"</label>
                <input type="url" class="mono http-url" aria-label="URL" readonly=ro prop:value=h.url.clone()
                    placeholder="https://api.example.com/users/${vars.mapped.id}"
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.url = v; });
                    }/>
            </div>
        </div>
        <div class="hint" style="margin: -6px 0 10px">"${expression} inserts a value (percent-encoded in the URL), e.g. ${vars.mapped.id}."</div>
        <div class="row">
            {var_field(ctx, p, i, VarField {
                label: "Answer into variable",
                class: "mono http-to",
                placeholder: "response",
                hint: "vars.<name> gets status, ok, headers and body (parsed JSON or text).",
                value: h.to.clone().unwrap_or_default(),
                set: |s, v| if let Step::Http(x) = s { x.to = v },
            })}
            {step_check(ctx, p, i, "margin-bottom: 30px", h.fail_on_status, "A 4xx/5xx answer fails the flow",
                |s, on| if let Step::Http(x) = s { x.fail_on_status = on })}
        </div>
        <Show when=move || !matches!(method.get(), HttpMethod::Get | HttpMethod::Delete)>
            <div class="row">
                <div class="field" style="max-width: 220px">
                    <label>"Body type"</label>
                    <select class="http-body-type" aria-label="Body type" disabled=ro on:change=move |ev| {
                        let t = match event_target_value(&ev).as_str() {
                            "form" => HttpBodyType::Form, "text" => HttpBodyType::Text, "raw" => HttpBodyType::Raw, _ => HttpBodyType::Json,
                        };
                        edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.body_type = t; });
                    }>
                        {[("json", "JSON"), ("form", "Form (URL-encoded)"), ("text", "Text"), ("raw", "Raw")].into_iter().map(|(v, l)| view! {
                            <option value=v selected=body_type == v>{l}</option>
                        }).collect_view()}
                    </select>
                </div>
            </div>
            <ValueEditor ctx=ctx label="Body" json=h.body.clone() expr=h.body_expr.clone() allow_none=true
                on_change=Callback::new(move |(json, expr): (Option<serde_json::Value>, Option<String>)| {
                    edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.body = json; x.body_expr = expr; });
                })/>
        </Show>
        <div class="field">
            <label>"Credentials"</label>
            <select class="http-auth" aria-label="Credentials" disabled=ro on:change=move |ev| {
                let k = event_target_value(&ev);
                let a = empty_auth(&k);
                auth_init.set_value(a.clone());
                edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.auth = a; });
                auth_sig.set(match k.as_str() { "basic" => "basic", "bearer" => "bearer", "secret_header" => "secret_header", "oauth2" => "oauth2", _ => "none" });
            }>
                {[("none", "None"), ("bearer", "Bearer token"), ("basic", "Basic (user + password)"), ("secret_header", "Secret in a header"), ("oauth2", "OAuth2 client credentials")]
                    .into_iter().map(|(v, l)| view! { <option value=v selected=auth_kind(&h.auth) == v>{l}</option> }).collect_view()}
            </select>
        </div>
        {move || { auth_sig.track(); auth_fields(ctx, p, i, auth_init.get_value()) }}
        <details class="sub-details" open=has_extra>
            <summary>"Query, headers, timeout and retries"</summary>
            <div class="field"><label>"Query parameters"</label></div>
            <PairRows ctx=ctx rows=query key_label="Parameter" value_label="Value (template)" key_placeholder="include"
                value_placeholder="${vars.mapped.kind}" class="http-query" suggestions=false
                on_change=Callback::new(move |rows: Vec<(String, String)>| {
                    edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.query = rows.into_iter().filter(|(k, _)| !k.trim().is_empty()).collect(); });
                })/>
            <div class="field"><label>"Headers"</label></div>
            <PairRows ctx=ctx rows=headers key_label="Header" value_label="Value (template)" key_placeholder="accept"
                value_placeholder="application/json" class="http-header" suggestions=false
                on_change=Callback::new(move |rows: Vec<(String, String)>| {
                    edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.headers = rows.into_iter().filter(|(k, _)| !k.trim().is_empty()).collect(); });
                })/>
            <div class="row">
                <div class="field">
                    <label>"Timeout (ms)"</label>
                    <input type="number" min="1" aria-label="Timeout (ms)" placeholder="10000" readonly=ro
                        prop:value=h.timeout_ms.map(|t| t.to_string()).unwrap_or_default()
                        on:input=move |ev| {
                            let v = event_target_value(&ev).parse::<u64>().ok();
                            edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.timeout_ms = v; });
                        }/>
                </div>
                <div class="field">
                    <label>"Retries (0–5)"</label>
                    <input type="number" min="0" max="5" aria-label="Retries" placeholder="0" readonly=ro
                        prop:value=h.retries.as_ref().map(|r| r.max.to_string()).unwrap_or_default()
                        on:input=move |ev| {
                            let v = event_target_value(&ev).parse::<u32>().ok();
                            edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s {
                                x.retries = v.filter(|n| *n > 0).map(|max| HttpRetries { max, delay_ms: None, max_delay_ms: None });
                            });
                        }/>
                    <div class="hint">"On connection errors, 429 and 5xx; Retry-After is honoured."</div>
                </div>
                <div class="field">
                    <label>"Largest answer (KiB)"</label>
                    <input type="number" min="1" aria-label="Largest answer (KiB)" placeholder="1024" readonly=ro
                        prop:value=h.max_response_bytes.map(|b| (b / 1024).to_string()).unwrap_or_default()
                        on:input=move |ev| {
                            let v = event_target_value(&ev).parse::<u64>().ok().map(|k| k.saturating_mul(1024));
                            edit_step(ctx, &p.get_value(), i, |s| if let Step::Http(x) = s { x.max_response_bytes = v; });
                        }/>
                </div>
            </div>
        </details>
    }
    .into_any()
}
