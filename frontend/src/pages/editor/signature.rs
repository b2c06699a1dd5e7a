//! Signed webhooks: the sender's scheme, the stored secret that checks signatures, the
//! tolerance, a generic scheme's parts, and what else a signed call must carry.

use flowgate_api::integrations::MAX_TOLERANCE_S;
use flowgate_api::secrets::SecretOut;
use flowgate_api::{
    KeyOut, OauthClientOut, SignatureAlgorithm, SignatureEncoding, SignaturePreset, TriggerAuth,
};
use leptos::prelude::*;

use super::ctx::Ctx;
use super::edit::non_blank;
use super::picks::{client_choices, key_choices, picker, Cred};
use crate::components::ListLoader;
use crate::format::{preset_label, signs_timestamp};

/// Changes the signature settings (nothing happens under another kind of auth).
fn edit_signature(ctx: Ctx, f: impl FnOnce(&mut SignatureFields)) {
    ctx.edit(|d| {
        if let TriggerAuth::Signature {
            preset,
            secret,
            tolerance_s,
            header,
            algorithm,
            encoding,
            prefix,
            timestamp_header,
            ..
        } = &mut d.trigger.auth
        {
            f(&mut SignatureFields {
                preset,
                secret,
                tolerance_s,
                header,
                algorithm,
                encoding,
                prefix,
                timestamp_header,
            })
        }
    });
}

/// The signature settings, borrowed for a change.
struct SignatureFields<'a> {
    preset: &'a mut SignaturePreset,
    secret: &'a mut String,
    tolerance_s: &'a mut u64,
    header: &'a mut Option<String>,
    algorithm: &'a mut Option<SignatureAlgorithm>,
    encoding: &'a mut Option<SignatureEncoding>,
    prefix: &'a mut Option<String>,
    timestamp_header: &'a mut Option<String>,
}

/// The signature setting `f` reads, or its default when the auth is another kind.
fn sig_value<T: Default>(ctx: Ctx, f: impl Fn(SignatureView) -> T) -> T {
    ctx.doc.with_untracked(|d| match &d.trigger.auth {
        TriggerAuth::Signature {
            secret,
            tolerance_s,
            header,
            algorithm,
            encoding,
            prefix,
            timestamp_header,
            ..
        } => f(SignatureView {
            secret,
            tolerance_s: *tolerance_s,
            header: header.as_deref(),
            algorithm: algorithm.unwrap_or_default(),
            encoding: encoding.unwrap_or_default(),
            prefix: prefix.as_deref(),
            timestamp_header: timestamp_header.as_deref(),
        }),
        _ => T::default(),
    })
}

struct SignatureView<'a> {
    secret: &'a str,
    tolerance_s: u64,
    header: Option<&'a str>,
    algorithm: SignatureAlgorithm,
    encoding: SignatureEncoding,
    prefix: Option<&'a str>,
    timestamp_header: Option<&'a str>,
}

fn alg_name(a: SignatureAlgorithm) -> &'static str {
    match a {
        SignatureAlgorithm::Sha1 => "sha1",
        SignatureAlgorithm::Sha256 => "sha256",
        SignatureAlgorithm::Sha512 => "sha512",
    }
}

/// What the stored secret must hold for a preset.
fn secret_note(p: SignaturePreset) -> &'static str {
    match p {
        SignaturePreset::StandardWebhooks => {
            "Store the whsec_… secret the sender gave you for this endpoint."
        }
        SignaturePreset::Github => "Store the secret typed in the webhook's settings on GitHub.",
        SignaturePreset::Stripe => {
            "Store the endpoint's signing secret (whsec_…) from Stripe's dashboard."
        }
        SignaturePreset::MsTeams => {
            "Store the security token Teams showed when the outgoing webhook was created (base64)."
        }
        SignaturePreset::Generic => "Store the shared secret; it is the HMAC key as it is.",
    }
}

/// Signed webhooks: the sender's scheme, the stored secret, the tolerance, the parts of a
/// generic scheme, and what else a call must carry.
#[component]
pub fn SignatureSection(ctx: Ctx) -> impl IntoView {
    let ro = ctx.readonly;
    let secrets = ListLoader::<SecretOut>::new("/secrets", "stored secrets");
    let keys = ListLoader::<KeyOut>::new("/keys", "API keys");
    let clients = ListLoader::<OauthClientOut>::new("/oauth-clients", "OAuth clients");
    let preset = Memo::new(move |_| {
        ctx.doc.with(|d| match &d.trigger.auth {
            TriggerAuth::Signature { preset, .. } => *preset,
            _ => SignaturePreset::StandardWebhooks,
        })
    });
    let preset0 = preset.get_untracked();
    let also = ctx.doc.with_untracked(|d| {
        !d.trigger.auth.keys().is_empty() || !d.trigger.auth.clients().is_empty()
    });
    let teams_with_clients = move || {
        preset.get() == SignaturePreset::MsTeams
            && ctx.doc.with(|d| !d.trigger.auth.clients().is_empty())
    };
    let tolerance_problem = move || {
        let t = ctx.doc.with(|d| match &d.trigger.auth {
            TriggerAuth::Signature { tolerance_s, .. } => *tolerance_s,
            _ => 1,
        });
        (t == 0 || t > MAX_TOLERANCE_S)
            .then(|| format!("The tolerance must be 1 to {MAX_TOLERANCE_S} seconds."))
    };
    view! {
        <div class="row" style="align-items: flex-start">
            <div class="field">
                <label for="sig-preset">"The sender's scheme"</label>
                <select id="sig-preset" disabled=ro on:change=move |ev| {
                    let v = event_target_value(&ev);
                    let Some(p) = SignaturePreset::ALL.into_iter().find(|p| p.as_str() == v) else { return };
                    edit_signature(ctx, |s| {
                        *s.preset = p;
                        if p != SignaturePreset::Generic {
                            // The other fields are the generic scheme's only.
                            *s.header = None;
                            *s.algorithm = None;
                            *s.encoding = None;
                            *s.prefix = None;
                            *s.timestamp_header = None;
                        }
                    });
                }>
                    {SignaturePreset::ALL.into_iter().map(|p| view! {
                        <option value=p.as_str() selected=p == preset0>{preset_label(p)}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="sig-secret">"Signing secret"</label>
                <SecretPicker ctx=ctx secrets=secrets/>
            </div>
        </div>
        <div class="hint" style="margin: -6px 0 10px">
            {move || secret_note(preset.get())}
            " The value is a stored secret: add it on the "<a href="/secrets">"Secrets page"</a>" (admins), then pick its name here."
        </div>
        <Show when=move || preset.get() == SignaturePreset::Generic>
            <GenericFields ctx=ctx/>
        </Show>
        <Show when=move || ctx.doc.with(|d| signs_timestamp(&d.trigger.auth))>
            <div class="field" style="max-width: 260px">
                <label for="sig-tolerance">"Tolerance (seconds)"</label>
                <input id="sig-tolerance" type="number" min="1" max=MAX_TOLERANCE_S.to_string() readonly=ro
                    prop:value=sig_value(ctx, |s| s.tolerance_s.to_string())
                    on:input=move |ev| {
                        if let Ok(v) = event_target_value(&ev).trim().parse::<u64>() {
                            edit_signature(ctx, |s| *s.tolerance_s = v);
                        }
                    }/>
                <div class="hint">"How far the signed timestamp may be from the server's clock; older calls are refused as replays."</div>
                {move || tolerance_problem().map(|p| view! { <div class="field-error">{p}</div> })}
            </div>
        </Show>
        <details class="sub-details" open=also>
            <summary>"Also require an API key or OAuth client (optional)"</summary>
            <div class="hint" style="margin-bottom: 6px">"With any picked here, a caller needs one of these credentials as well as a valid signature."</div>
            {picker(ctx, Cred::Key, keys, key_choices, "No API keys exist yet.")}
            {picker(ctx, Cred::Client, clients, client_choices, "No OAuth clients exist yet.")}
            {move || teams_with_clients().then(|| view! {
                <div class="warn-box">"Teams sends its signature in the Authorization header, so a caller cannot send a bearer token beside it: require an API key instead."</div>
            })}
        </details>
    }
}

/// The stored secret that checks signatures: picked by name from the list (admins may read
/// it), or typed when the list cannot be read.
#[component]
fn SecretPicker(ctx: Ctx, secrets: ListLoader<SecretOut>) -> impl IntoView {
    let ro = ctx.readonly;
    let set = move |v: String| edit_signature(ctx, |s| *s.secret = v.trim().to_owned());
    move || {
        let current = sig_value(ctx, |s| s.secret.to_owned());
        secrets.rows.with(|r| match r {
            None => view! { <select id="sig-secret" disabled><option>"Loading stored secrets…"</option></select> }.into_any(),
            Some(Ok(list)) => {
                let missing = !current.is_empty() && !list.iter().any(|s| s.name == current);
                let names: Vec<String> = list.iter().map(|s| s.name.clone()).collect();
                let none_left = names.is_empty();
                let known = names.clone();
                view! {
                    <select id="sig-secret" class="mono" disabled=ro on:change=move |ev| set(event_target_value(&ev))>
                        <option value="" selected=current.is_empty()>
                            {if none_left { "No stored secrets yet" } else { "Pick a stored secret…" }}
                        </option>
                        {names.into_iter().map(|n| {
                            let on = n == current;
                            let text = n.clone();
                            view! { <option value=n selected=on>{text}</option> }
                        }).collect_view()}
                        {missing.then(|| view! {
                            <option value=current.clone() selected=true>{format!("{current} (not found)")}</option>
                        })}
                    </select>
                    {move || {
                        let now = ctx.doc.with(|d| d.trigger.auth.signing_secret().unwrap_or_default().to_owned());
                        (!now.is_empty() && !known.contains(&now)).then(|| view! {
                            <div class="field-error">"No stored secret has this name: add it on the Secrets page, or pick another."</div>
                        })
                    }}
                }
                .into_any()
            }
            Some(Err(e)) => {
                let note = if e.status == 403 {
                    "Only admins can list stored secrets: type the name of the one an admin added.".to_owned()
                } else {
                    format!("The stored secrets could not be listed ({e}): type the name.")
                };
                view! {
                    <input id="sig-secret" type="text" class="mono" placeholder="github-webhook-secret" readonly=ro
                        autocomplete="off" spellcheck="false" prop:value=current
                        on:input=move |ev| set(event_target_value(&ev))/>
                    <div class="hint">{note}</div>
                }
                .into_any()
            }
        })
    }
}

/// A generic scheme's parts: header, hash, encoding, prefix, timestamp header.
#[component]
fn GenericFields(ctx: Ctx) -> impl IntoView {
    let ro = ctx.readonly;
    let text = move |id: &'static str,
                     label: &'static str,
                     placeholder: &'static str,
                     value: Option<String>,
                     set: fn(&mut SignatureFields, Option<String>)| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id type="text" class="mono" placeholder=placeholder readonly=ro autocomplete="off"
                    spellcheck="false" prop:value=value.unwrap_or_default()
                    on:input=move |ev| {
                        let v = non_blank(event_target_value(&ev));
                        edit_signature(ctx, |s| set(s, v));
                    }/>
            </div>
        }
    };
    let alg0 = sig_value(ctx, |s| s.algorithm);
    let enc0 = sig_value(ctx, |s| s.encoding);
    view! {
        <div class="row">
            {text("sig-header", "Signature header", "X-Signature", sig_value(ctx, |s| s.header.map(str::to_owned)),
                |s, v| *s.header = v.map(|h| h.trim().to_owned()))}
            <div class="field" style="max-width: 140px">
                <label for="sig-algorithm">"Hash"</label>
                <select id="sig-algorithm" disabled=ro on:change=move |ev| {
                    let a = match event_target_value(&ev).as_str() {
                        "sha1" => SignatureAlgorithm::Sha1,
                        "sha512" => SignatureAlgorithm::Sha512,
                        _ => SignatureAlgorithm::Sha256,
                    };
                    edit_signature(ctx, |s| *s.algorithm = Some(a));
                }>
                    {[SignatureAlgorithm::Sha256, SignatureAlgorithm::Sha1, SignatureAlgorithm::Sha512].into_iter().map(|a| view! {
                        <option value=alg_name(a) selected=a == alg0>{format!("HMAC-{}", alg_name(a).to_uppercase())}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field" style="max-width: 140px">
                <label for="sig-encoding">"Encoding"</label>
                <select id="sig-encoding" disabled=ro on:change=move |ev| {
                    let e = if event_target_value(&ev) == "base64" { SignatureEncoding::Base64 } else { SignatureEncoding::Hex };
                    edit_signature(ctx, |s| *s.encoding = Some(e));
                }>
                    <option value="hex" selected=enc0 == SignatureEncoding::Hex>"hex"</option>
                    <option value="base64" selected=enc0 == SignatureEncoding::Base64>"base64"</option>
                </select>
            </div>
        </div>
        <div class="row">
            {text("sig-prefix", "Prefix (optional)", "sha256=", sig_value(ctx, |s| s.prefix.map(str::to_owned)),
                |s, v| *s.prefix = v)}
            {text("sig-timestamp-header", "Timestamp header (optional)", "X-Timestamp",
                sig_value(ctx, |s| s.timestamp_header.map(str::to_owned)),
                |s, v| *s.timestamp_header = v.map(|h| h.trim().to_owned()))}
        </div>
        <div class="hint" style="margin: -6px 0 10px">
            "The prefix is the text before the signature in the header. With a timestamp header, "
            <code>"{timestamp}.{body}"</code>" is signed instead of the body, and old timestamps are refused."
        </div>
    }
}
