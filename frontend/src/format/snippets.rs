//! Shell snippets: quoting, and how a consumer calls a trigger, whatever its auth: plain
//! `curl`, an API key, an OAuth2 token first, or a body signed with `openssl` the way the
//! sender's scheme wants it.

use flowgate_api::{SignatureAlgorithm, SignatureEncoding, SignaturePreset, TriggerAuth};

/// `it's` → `'it'\''s'`: one shell word, whatever it holds.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Text safe inside double quotes in a shell (`"…"`): `\`, `"`, `$` and `` ` `` escaped.
fn dq(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        if !c.is_control() {
            out.push(c);
        }
    }
    out
}

/// Text safe in a shell comment (one line).
fn one_line(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// A trigger as its callers see it.
pub struct CallTarget<'a> {
    /// Where the UI (and so the server) is: `http://host:port`.
    pub origin: &'a str,
    /// The trigger's full URL.
    pub url: &'a str,
    /// The method to show (the trigger's first).
    pub method: &'a str,
    pub auth: &'a TriggerAuth,
    /// The body the snippet sends (JSON); `None`: a small placeholder object.
    pub body: Option<&'a str>,
    /// Written for the consumer (the endpoint's published docs) rather than for the designer:
    /// "your key" instead of "one of the picked keys", no hints at admin pages.
    pub consumer: bool,
}

/// What a caller sends, in words, and a shell script that does it.
#[derive(Debug, Clone, PartialEq)]
pub struct HowToCall {
    pub what: Vec<String>,
    pub script: String,
}

/// The sample body every snippet sends.
const SAMPLE_BODY: &str = r#"{"hello": "world"}"#;

/// Whether the snippet sends a body with this method.
fn sends_body(method: &str) -> bool {
    !matches!(method, "GET" | "DELETE")
}

/// The short name of a preset (the trigger's summary line).
pub fn preset_name(p: SignaturePreset) -> &'static str {
    match p {
        SignaturePreset::StandardWebhooks => "Standard Webhooks",
        SignaturePreset::Github => "GitHub",
        SignaturePreset::Stripe => "Stripe",
        SignaturePreset::MsTeams => "Teams",
        SignaturePreset::Generic => "HMAC",
    }
}

/// The name a preset goes by in the UI's picker.
pub fn preset_label(p: SignaturePreset) -> &'static str {
    match p {
        SignaturePreset::StandardWebhooks => "Standard Webhooks (Svix and others)",
        SignaturePreset::Github => "GitHub",
        SignaturePreset::Stripe => "Stripe",
        SignaturePreset::MsTeams => "Microsoft Teams outgoing webhook",
        SignaturePreset::Generic => "Generic HMAC (your own header, hash, encoding)",
    }
}

/// Whether a scheme signs a timestamp (and so has a tolerance).
pub fn signs_timestamp(auth: &TriggerAuth) -> bool {
    match auth {
        TriggerAuth::Signature {
            preset,
            timestamp_header,
            ..
        } => match preset {
            SignaturePreset::StandardWebhooks | SignaturePreset::Stripe => true,
            SignaturePreset::Generic => timestamp_header
                .as_deref()
                .is_some_and(|h| !h.trim().is_empty()),
            SignaturePreset::Github | SignaturePreset::MsTeams => false,
        },
        _ => false,
    }
}

/// `300` → `5 min`, `90` → `90 s`, `7200` → `2 h`.
pub fn fmt_seconds(s: u64) -> String {
    match s {
        0..=119 => format!("{s} s"),
        _ if s.is_multiple_of(3600) => format!("{} h", s / 3600),
        _ if s.is_multiple_of(60) => format!("{} min", s / 60),
        _ => format!("{s} s"),
    }
}

/// The `curl` lines that get an access token into `$TOKEN`.
fn token_lines(
    origin: &str,
    client: Option<&str>,
    scope: Option<&str>,
    consumer: bool,
) -> Vec<String> {
    let mut out = if consumer {
        vec!["# CLIENT_ID, CLIENT_SECRET: your OAuth client's id and secret".to_owned()]
    } else {
        vec!["# CLIENT_SECRET: shown once, when the client was created or rotated".to_owned()]
    };
    match client.filter(|id| !id.is_empty()) {
        Some(id) => out.push(format!("CLIENT_ID={}", shell_quote(id))),
        None if consumer => {}
        None => {
            out.push("# CLIENT_ID: an accepted OAuth client's id (OAuth clients page)".to_owned())
        }
    }
    let mut call = vec![
        format!(
            "TOKEN=$(curl -s -X POST {}",
            shell_quote(&format!("{origin}/oauth/token"))
        ),
        "-u \"$CLIENT_ID:$CLIENT_SECRET\"".to_owned(),
        "-d grant_type=client_credentials".to_owned(),
    ];
    if let Some(scope) = scope.map(str::trim).filter(|s| !s.is_empty()) {
        call.push(format!(
            "--data-urlencode {}",
            shell_quote(&format!("scope={scope}"))
        ));
    }
    if let Some(l) = call.last_mut() {
        l.push_str(" | jq -r .access_token)");
    }
    out.push(call.join(" \\\n  "));
    out
}

/// A script that gets an access token for a client (shown when the client is created).
pub fn token_request(origin: &str, client_id: &str) -> String {
    let mut lines = token_lines(origin, Some(client_id), None, false);
    lines.push("echo \"$TOKEN\"".to_owned());
    lines.join("\n")
}

/// `curl -X … url` with `headers` and, for methods with a body, `body_arg`.
fn curl(method: &str, url: &str, headers: &[String], body_arg: &str) -> String {
    let mut parts = vec![format!("curl -X {method} {}", shell_quote(url))];
    parts.extend(headers.iter().map(|h| format!("-H {h}")));
    if sends_body(method) {
        parts.push("-H 'Content-Type: application/json'".to_owned());
        parts.push(body_arg.to_owned());
    }
    parts.join(" \\\n  ")
}

const API_KEY_HEADER: &str = "\"X-API-Key: $FLOWGATE_API_KEY\"";
const API_KEY_NOTE: &str = "# FLOWGATE_API_KEY: an accepted key's secret (shown once, at creation)";
const API_KEY_NOTE_CONSUMER: &str = "# FLOWGATE_API_KEY: the secret of the API key you were given";

fn api_key_note(consumer: bool) -> &'static str {
    if consumer {
        API_KEY_NOTE_CONSUMER
    } else {
        API_KEY_NOTE
    }
}

/// How to call a trigger: what to send, and a script that sends it.
pub fn how_to_call(t: &CallTarget) -> HowToCall {
    let method = if t.method.is_empty() {
        "POST"
    } else {
        t.method
    };
    let plain_body = format!("-d {}", shell_quote(t.body.unwrap_or(SAMPLE_BODY)));
    match t.auth {
        TriggerAuth::None => HowToCall {
            what: vec!["Anyone who knows the URL can call it: no credentials are needed.".into()],
            script: curl(method, t.url, &[], &plain_body),
        },
        TriggerAuth::ApiKey { .. } => HowToCall {
            what: vec![if t.consumer {
                "Send your API key's secret in the X-API-Key header (or as Authorization: Bearer <secret>).".into()
            } else {
                "Send the secret of one of the picked API keys in the X-API-Key header (or as Authorization: Bearer <secret>).".into()
            }],
            script: format!(
                "{}\n{}",
                api_key_note(t.consumer),
                curl(method, t.url, &[API_KEY_HEADER.to_owned()], &plain_body)
            ),
        },
        TriggerAuth::Oauth2 {
            clients,
            keys,
            scope,
        } => {
            let mut what = vec![
                "First get an access token: POST the client id and secret to /oauth/token (grant_type=client_credentials, HTTP Basic or form fields). Then send it as Authorization: Bearer <token> until it expires (expires_in seconds), and get a new one.".to_owned(),
            ];
            if let Some(s) = scope.as_deref().filter(|s| !s.trim().is_empty()) {
                what.push(format!(
                    "The token must carry the scope {s}: ask for it in the token request."
                ));
            }
            if !keys.is_empty() {
                what.push(if t.consumer {
                    "An API key's secret works as well (X-API-Key header).".into()
                } else {
                    "The secret of one of the picked API keys works as well (X-API-Key header)."
                        .into()
                });
            }
            let mut lines = token_lines(
                t.origin,
                clients.first().map(String::as_str),
                scope.as_deref(),
                t.consumer,
            );
            lines.push(curl(
                method,
                t.url,
                &["\"Authorization: Bearer $TOKEN\"".to_owned()],
                &plain_body,
            ));
            HowToCall {
                what,
                script: lines.join("\n"),
            }
        }
        TriggerAuth::Signature { .. } => signed(t, method),
    }
}

/// The signature part: the words and the lines that compute `$SIG` (and headers).
struct Signing {
    what: String,
    lines: Vec<String>,
    headers: Vec<String>,
}

// A line that ends with a pipe goes on on the next one: the long pipelines are split there.

fn hmac_hex(alg: &str, input: &str) -> String {
    format!(
        "printf '%s' \"{input}\" |\n  openssl dgst -{alg} -hmac \"$SECRET\" | awk '{{print $NF}}'"
    )
}

fn hmac_b64_hexkey(alg: &str, input: &str) -> String {
    format!(
        "printf '%s' \"{input}\" |\n  openssl dgst -{alg} -mac HMAC -macopt \"hexkey:$KEY_HEX\" -binary | openssl base64 -A"
    )
}

fn signing(auth: &TriggerAuth) -> Option<Signing> {
    let TriggerAuth::Signature {
        preset,
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
    let s = match preset {
        SignaturePreset::StandardWebhooks => Signing {
            what: "Sign {webhook-id}.{webhook-timestamp}.{body} with HMAC-SHA256, keyed with the base64-decoded part of the secret after whsec_, and send it base64-encoded as webhook-signature: v1,<signature>, with webhook-id (a unique message id: each is accepted once) and webhook-timestamp (Unix seconds).".into(),
            lines: vec![
                "ID=\"msg_$(date +%s)_$RANDOM\"".into(),
                "TS=$(date +%s)".into(),
                "KEY_HEX=$(printf '%s' \"${SECRET#whsec_}\" |\n  openssl base64 -d -A | od -An -v -tx1 | tr -d ' \\n')".into(),
                format!("SIG=$({})", hmac_b64_hexkey("sha256", "$ID.$TS.$BODY")),
            ],
            headers: vec![
                "\"webhook-id: $ID\"".into(),
                "\"webhook-timestamp: $TS\"".into(),
                "\"webhook-signature: v1,$SIG\"".into(),
            ],
        },
        SignaturePreset::Github => Signing {
            what: "Sign the exact body with HMAC-SHA256, keyed with the secret, and send it in hex as X-Hub-Signature-256: sha256=<hex>.".into(),
            lines: vec![format!("SIG=$({})", hmac_hex("sha256", "$BODY"))],
            headers: vec!["\"X-Hub-Signature-256: sha256=$SIG\"".into()],
        },
        SignaturePreset::Stripe => Signing {
            what: "Sign {t}.{body} with HMAC-SHA256, keyed with the secret (t: the Unix time in seconds), and send Stripe-Signature: t=<t>,v1=<hex>.".into(),
            lines: vec![
                "TS=$(date +%s)".into(),
                format!("SIG=$({})", hmac_hex("sha256", "$TS.$BODY")),
            ],
            headers: vec!["\"Stripe-Signature: t=$TS,v1=$SIG\"".into()],
        },
        SignaturePreset::MsTeams => Signing {
            what: "Sign the exact body with HMAC-SHA256, keyed with the base64-decoded security token, and send it base64-encoded as Authorization: HMAC <signature>.".into(),
            lines: vec![
                "KEY_HEX=$(printf '%s' \"$SECRET\" |\n  openssl base64 -d -A | od -An -v -tx1 | tr -d ' \\n')".into(),
                format!("SIG=$({})", hmac_b64_hexkey("sha256", "$BODY")),
            ],
            headers: vec!["\"Authorization: HMAC $SIG\"".into()],
        },
        SignaturePreset::Generic => {
            let (alg, alg_name) = match algorithm.unwrap_or_default() {
                SignatureAlgorithm::Sha1 => ("sha1", "HMAC-SHA1"),
                SignatureAlgorithm::Sha256 => ("sha256", "HMAC-SHA256"),
                SignatureAlgorithm::Sha512 => ("sha512", "HMAC-SHA512"),
            };
            let header = header
                .as_deref()
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .unwrap_or("X-Signature");
            let prefix = prefix.clone().unwrap_or_default();
            let ts = timestamp_header
                .as_deref()
                .map(str::trim)
                .filter(|h| !h.is_empty());
            let input = if ts.is_some() { "$TS.$BODY" } else { "$BODY" };
            let (enc_name, sig) = match encoding.unwrap_or_default() {
                SignatureEncoding::Hex => ("hex", hmac_hex(alg, input)),
                SignatureEncoding::Base64 => (
                    "base64",
                    format!(
                        "printf '%s' \"{input}\" |\n  openssl dgst -{alg} -hmac \"$SECRET\" -binary | openssl base64 -A"
                    ),
                ),
            };
            let mut lines = Vec::new();
            let mut headers = Vec::new();
            if let Some(th) = ts {
                lines.push("TS=$(date +%s)".to_owned());
                headers.push(format!("\"{}: $TS\"", dq(th)));
            }
            lines.push(format!("SIG=$({sig})"));
            headers.push(format!("\"{}: {}$SIG\"", dq(header), dq(&prefix)));
            let signed = match ts {
                Some(th) => format!("{{{th}}}.{{body}} ({th}: the Unix time in seconds, sent in that header)"),
                None => "the exact body".to_owned(),
            };
            Signing {
                what: format!(
                    "Sign {signed} with {alg_name}, keyed with the secret, and send it {enc_name}-encoded as {header}: {prefix}<signature>."
                ),
                lines,
                headers,
            }
        }
    };
    Some(s)
}

fn signed(t: &CallTarget, method: &str) -> HowToCall {
    let auth = t.auth;
    let Some(Signing {
        what: sign_what,
        lines: sign_lines,
        mut headers,
    }) = signing(auth)
    else {
        return HowToCall {
            what: Vec::new(),
            script: String::new(),
        };
    };
    let TriggerAuth::Signature {
        preset,
        secret,
        tolerance_s,
        keys,
        clients,
        ..
    } = auth
    else {
        return HowToCall {
            what: Vec::new(),
            script: String::new(),
        };
    };
    let mut what = vec![sign_what];
    if signs_timestamp(auth) {
        what.push(format!(
            "The timestamp must be within {} of the server's clock.",
            fmt_seconds(*tolerance_s)
        ));
    }
    let mut lines = Vec::new();
    let secret = secret.trim();
    lines.push(if t.consumer {
        "# SECRET: the signing secret agreed with the integration's owner".to_owned()
    } else if secret.is_empty() {
        "# SECRET: the signing secret (pick the stored secret that holds it)".to_owned()
    } else {
        format!(
            "# SECRET: the value of the stored secret {}",
            one_line(secret)
        )
    });
    // A caller may also need an API key or an OAuth token: a key when there are keys (the
    // simpler of the two), else a token.
    if !keys.is_empty() {
        what.push(if t.consumer {
            "It also needs your API key's secret, in the X-API-Key header.".into()
        } else {
            "It also needs the secret of one of the picked API keys, in the X-API-Key header."
                .into()
        });
        lines.push(api_key_note(t.consumer).to_owned());
        headers.push(API_KEY_HEADER.to_owned());
    } else if !clients.is_empty() {
        if *preset == SignaturePreset::MsTeams {
            what.push("Teams signs in the Authorization header, so no bearer token fits beside it: require an API key instead of an OAuth client.".into());
        } else {
            what.push(if t.consumer {
                "It also needs an access token of your OAuth client, as Authorization: Bearer <token> (from /oauth/token).".into()
            } else {
                "It also needs an access token of one of the picked OAuth clients, as Authorization: Bearer <token> (from /oauth/token).".into()
            });
            lines.extend(token_lines(
                t.origin,
                clients.first().map(String::as_str),
                None,
                t.consumer,
            ));
            headers.push("\"Authorization: Bearer $TOKEN\"".to_owned());
        }
    }
    let body = if sends_body(method) {
        t.body.unwrap_or(SAMPLE_BODY)
    } else {
        ""
    };
    lines.push(format!(
        "BODY={}  # sign the exact bytes you send",
        shell_quote(body)
    ));
    lines.extend(sign_lines);
    lines.push(curl(method, t.url, &headers, "--data-raw \"$BODY\""));
    HowToCall {
        what,
        script: lines.join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(auth: TriggerAuth, method: &str) -> HowToCall {
        how_to_call(&CallTarget {
            origin: "http://h",
            url: "http://h/t/acme/x",
            method,
            auth: &auth,
            body: None,
            consumer: false,
        })
    }

    fn sig(preset: SignaturePreset) -> TriggerAuth {
        TriggerAuth::Signature {
            preset,
            secret: "gh-secret".into(),
            tolerance_s: 300,
            header: None,
            algorithm: None,
            encoding: None,
            prefix: None,
            timestamp_header: None,
            keys: Vec::new(),
            clients: Vec::new(),
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(dq(r#"a"b$c`d\e"#), r#"a\"b\$c\`d\\e"#);
        assert_eq!(fmt_seconds(300), "5 min");
        assert_eq!(fmt_seconds(90), "90 s");
        assert_eq!(fmt_seconds(7200), "2 h");
        assert_eq!(fmt_seconds(125), "125 s");
    }

    #[test]
    fn open_and_keyed_calls() {
        let c = call(TriggerAuth::None, "POST");
        assert_eq!(
            c.script,
            "curl -X POST 'http://h/t/acme/x' \\\n  -H 'Content-Type: application/json' \\\n  -d '{\"hello\": \"world\"}'"
        );
        let c = call(
            TriggerAuth::ApiKey {
                keys: vec!["k".into()],
            },
            "GET",
        );
        assert!(c.script.ends_with(
            "curl -X GET 'http://h/t/acme/x' \\\n  -H \"X-API-Key: $FLOWGATE_API_KEY\""
        ));
    }

    #[test]
    fn oauth2_gets_a_token_first() {
        let c = call(
            TriggerAuth::Oauth2 {
                clients: vec!["fgc_1".into()],
                keys: Vec::new(),
                scope: Some("orders:write".into()),
            },
            "POST",
        );
        assert!(c.script.contains("CLIENT_ID='fgc_1'"), "{}", c.script);
        assert!(c.script.contains(
            "TOKEN=$(curl -s -X POST 'http://h/oauth/token' \\\n  -u \"$CLIENT_ID:$CLIENT_SECRET\" \\\n  -d grant_type=client_credentials \\\n  --data-urlencode 'scope=orders:write' | jq -r .access_token)"
        ));
        assert!(c.script.contains("-H \"Authorization: Bearer $TOKEN\""));
        assert!(c.what.iter().any(|w| w.contains("orders:write")));
    }

    #[test]
    fn each_preset_signs_its_way() {
        let g = call(sig(SignaturePreset::Github), "POST").script;
        assert!(g.contains("# SECRET: the value of the stored secret gh-secret"));
        assert!(g.contains(
            "SIG=$(printf '%s' \"$BODY\" |\n  openssl dgst -sha256 -hmac \"$SECRET\" | awk '{print $NF}')"
        ));
        assert!(g.contains("-H \"X-Hub-Signature-256: sha256=$SIG\""));
        assert!(g.contains("--data-raw \"$BODY\""));

        let s = call(sig(SignaturePreset::Stripe), "POST");
        assert!(s.script.contains("\"$TS.$BODY\""));
        assert!(s.script.contains("Stripe-Signature: t=$TS,v1=$SIG"));
        assert!(s.what.iter().any(|w| w.contains("within 5 min")));

        let w = call(sig(SignaturePreset::StandardWebhooks), "POST").script;
        assert!(w.contains("${SECRET#whsec_}"));
        assert!(w.contains("\"$ID.$TS.$BODY\""));
        assert!(w.contains("webhook-signature: v1,$SIG"));

        let t = call(sig(SignaturePreset::MsTeams), "POST").script;
        assert!(t.contains("Authorization: HMAC $SIG"));
        assert!(!call(sig(SignaturePreset::MsTeams), "POST")
            .what
            .iter()
            .any(|w| w.contains("within")));
    }

    #[test]
    fn generic_follows_its_settings() {
        let auth = TriggerAuth::Signature {
            preset: SignaturePreset::Generic,
            secret: "s".into(),
            tolerance_s: 60,
            header: Some("X-Sig".into()),
            algorithm: Some(SignatureAlgorithm::Sha512),
            encoding: Some(SignatureEncoding::Base64),
            prefix: Some("v1=".into()),
            timestamp_header: Some("X-Time".into()),
            keys: vec!["k".into()],
            clients: Vec::new(),
        };
        assert!(signs_timestamp(&auth));
        let c = call(auth, "PUT");
        assert!(c
            .script
            .contains("openssl dgst -sha512 -hmac \"$SECRET\" -binary | openssl base64 -A"));
        assert!(c.script.contains("-H \"X-Time: $TS\""));
        assert!(c.script.contains("-H \"X-Sig: v1=$SIG\""));
        assert!(c.script.contains("-H \"X-API-Key: $FLOWGATE_API_KEY\""));
        assert!(c.what.iter().any(|w| w.contains("HMAC-SHA512")));
        assert!(!signs_timestamp(&sig(SignaturePreset::Github)));
    }

    #[test]
    fn consumer_snippets_send_the_sample_and_speak_to_the_caller() {
        let mut auth = sig(SignaturePreset::Github);
        if let TriggerAuth::Signature { clients, .. } = &mut auth {
            clients.push(String::new());
        }
        let c = how_to_call(&CallTarget {
            origin: "http://h",
            url: "http://h/t/acme/x",
            method: "POST",
            auth: &auth,
            body: Some(r#"{"id":"1"}"#),
            consumer: true,
        });
        assert!(c.script.contains(r#"BODY='{"id":"1"}'"#), "{}", c.script);
        assert!(c.script.contains("agreed with the integration's owner"));
        assert!(
            !c.script.contains("gh-secret"),
            "no secret names for consumers"
        );
        assert!(
            !c.script.contains("CLIENT_ID="),
            "no made-up client id: {}",
            c.script
        );
        assert!(c.script.contains("your OAuth client's id and secret"));
        assert!(c.what.iter().any(|w| w.contains("your OAuth client")));
        let k = how_to_call(&CallTarget {
            origin: "http://h",
            url: "http://h/t/acme/x",
            method: "PUT",
            auth: &TriggerAuth::ApiKey { keys: Vec::new() },
            body: Some("[1]"),
            consumer: true,
        });
        assert!(k.script.starts_with(API_KEY_NOTE_CONSUMER));
        assert!(k.script.ends_with("-d '[1]'"));
    }

    #[test]
    fn signatures_with_a_client_get_a_token_too() {
        let mut auth = sig(SignaturePreset::Github);
        if let TriggerAuth::Signature { clients, .. } = &mut auth {
            clients.push("fgc_2".into());
        }
        let c = call(auth, "POST").script;
        assert!(c.contains("CLIENT_ID='fgc_2'"));
        assert!(c.contains("-H \"Authorization: Bearer $TOKEN\""));
    }
}
