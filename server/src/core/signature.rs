//! Verifying the signature a sender puts on a webhook: HMAC over the exact body bytes (and,
//! for some schemes, a timestamp and a message id), compared in constant time, with a
//! tolerance window against replays of old messages.
//!
//! Presets follow the senders' documentation: Standard Webhooks (Svix and others), GitHub,
//! Stripe, MS Teams outgoing webhooks; `generic` covers the rest (a header, an algorithm, an
//! encoding, an optional prefix and timestamp header).

use base64::Engine as _;
use hmac::{KeyInit, Mac};

/// How signatures are sent and computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> …`; the secret is
    /// `whsec_<base64>`; signed: `{id}.{timestamp}.{body}`.
    StandardWebhooks,
    /// `X-Hub-Signature-256: sha256=<hex of HMAC-SHA256(secret, body)>`.
    Github,
    /// `Stripe-Signature: t=<unix>,v1=<hex>,…`; signed: `{t}.{body}`.
    Stripe,
    /// `Authorization: HMAC <base64 of HMAC-SHA256(base64-decoded token, body)>`.
    MsTeams,
    Generic(Generic),
}

/// A scheme given by its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generic {
    /// The header holding the signature (lower case).
    pub header: String,
    pub algorithm: Algorithm,
    pub encoding: Encoding,
    /// Text before the signature in the header (`sha256=`), if any.
    pub prefix: String,
    /// A header holding a Unix timestamp; then `{timestamp}.{body}` is signed and the
    /// timestamp must be within the tolerance.
    pub timestamp_header: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    Base64,
}

/// Why a signature was refused. The messages say which check failed and nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    Missing(String),
    #[error("the {0} header is malformed")]
    Malformed(String),
    #[error("the signature timestamp is {0} s away from now, more than the tolerance allows")]
    Stale(i64),
    #[error("the signature does not match the body")]
    Mismatch,
    #[error("this webhook id was seen before (replay)")]
    Replayed,
    #[error("the trigger's signing secret is not usable for this scheme")]
    BadSecret,
}

/// A verified message: its id and signed timestamp, where the scheme has them (to refuse
/// replays).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verified {
    pub message_id: Option<String>,
    pub sent_at: Option<i64>,
}

/// Longest message id accepted (a replay check stores it).
pub const MAX_MESSAGE_ID_BYTES: usize = 255;

impl Scheme {
    /// The scheme a trigger's `signature` auth describes, with its tolerance (seconds).
    pub fn of(auth: &flowgate_api::TriggerAuth) -> Option<(Scheme, i64)> {
        use flowgate_api::{SignatureAlgorithm, SignatureEncoding, SignaturePreset};
        let flowgate_api::TriggerAuth::Signature {
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
        let scheme = match preset {
            SignaturePreset::StandardWebhooks => Scheme::StandardWebhooks,
            SignaturePreset::Github => Scheme::Github,
            SignaturePreset::Stripe => Scheme::Stripe,
            SignaturePreset::MsTeams => Scheme::MsTeams,
            SignaturePreset::Generic => Scheme::Generic(Generic {
                header: header
                    .as_deref()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase(),
                algorithm: match algorithm.unwrap_or_default() {
                    SignatureAlgorithm::Sha1 => Algorithm::Sha1,
                    SignatureAlgorithm::Sha256 => Algorithm::Sha256,
                    SignatureAlgorithm::Sha512 => Algorithm::Sha512,
                },
                encoding: match encoding.unwrap_or_default() {
                    SignatureEncoding::Hex => Encoding::Hex,
                    SignatureEncoding::Base64 => Encoding::Base64,
                },
                prefix: prefix.clone().unwrap_or_default(),
                timestamp_header: timestamp_header
                    .as_deref()
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty()),
            }),
        };
        Some((scheme, i64::try_from(*tolerance_s).unwrap_or(i64::MAX)))
    }
}

/// Verifies a message. `header` looks a header up by its lower-case name; `now` and the
/// tolerance are in seconds.
pub fn verify<'a>(
    scheme: &Scheme,
    secret: &str,
    header: impl Fn(&str) -> Option<&'a str>,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<Verified, SignatureError> {
    let need = |name: &str| header(name).ok_or_else(|| SignatureError::Missing(name.to_owned()));
    match scheme {
        Scheme::StandardWebhooks => {
            let id = need("webhook-id")?;
            let ts = timestamp(need("webhook-timestamp")?, "webhook-timestamp")?;
            fresh(ts, now, tolerance)?;
            let key = base64::engine::general_purpose::STANDARD
                .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
                .map_err(|_| SignatureError::BadSecret)?;
            let sigs = need("webhook-signature")?;
            let candidates: Vec<Vec<u8>> = sigs
                .split_whitespace()
                .filter_map(|s| s.strip_prefix("v1,"))
                .filter_map(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                .collect();
            if candidates.is_empty() {
                return Err(SignatureError::Malformed("webhook-signature".to_owned()));
            }
            let ts_text = ts.to_string();
            let signed = [id.as_bytes(), b".", ts_text.as_bytes(), b".", body];
            any_matches(Algorithm::Sha256, &key, &signed, &candidates)?;
            if id.is_empty() || id.len() > MAX_MESSAGE_ID_BYTES || id.contains('\0') {
                return Err(SignatureError::Malformed("webhook-id".to_owned()));
            }
            Ok(Verified {
                message_id: Some(id.to_owned()),
                sent_at: Some(ts),
            })
        }
        Scheme::Github => {
            let name = "x-hub-signature-256";
            let sig = need(name)?
                .trim()
                .strip_prefix("sha256=")
                .and_then(|h| hex::decode(h).ok())
                .ok_or_else(|| SignatureError::Malformed(name.to_owned()))?;
            any_matches(Algorithm::Sha256, secret.as_bytes(), &[body], &[sig])?;
            Ok(Verified::default())
        }
        Scheme::Stripe => {
            let name = "stripe-signature";
            let value = need(name)?;
            let mut ts = None;
            let mut candidates = Vec::new();
            for part in value.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", t)) => ts = Some(timestamp(t, name)?),
                    Some(("v1", h)) => {
                        if let Ok(b) = hex::decode(h) {
                            candidates.push(b);
                        }
                    }
                    _ => {}
                }
            }
            let ts = ts.ok_or_else(|| SignatureError::Malformed(name.to_owned()))?;
            if candidates.is_empty() {
                return Err(SignatureError::Malformed(name.to_owned()));
            }
            fresh(ts, now, tolerance)?;
            let ts_text = ts.to_string();
            let signed = [ts_text.as_bytes(), b".", body];
            any_matches(Algorithm::Sha256, secret.as_bytes(), &signed, &candidates)?;
            Ok(Verified::default())
        }
        Scheme::MsTeams => {
            let name = "authorization";
            let sig = need(name)?
                .trim()
                .strip_prefix("HMAC ")
                .and_then(|b| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b.trim())
                        .ok()
                })
                .ok_or_else(|| SignatureError::Malformed(name.to_owned()))?;
            let key = base64::engine::general_purpose::STANDARD
                .decode(secret.trim())
                .map_err(|_| SignatureError::BadSecret)?;
            any_matches(Algorithm::Sha256, &key, &[body], &[sig])?;
            Ok(Verified::default())
        }
        Scheme::Generic(g) => {
            let raw = need(&g.header)?.trim();
            let encoded = raw
                .strip_prefix(g.prefix.as_str())
                .ok_or_else(|| SignatureError::Malformed(g.header.clone()))?;
            let sig = match g.encoding {
                Encoding::Hex => hex::decode(encoded.trim()).ok(),
                Encoding::Base64 => base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .ok(),
            }
            .ok_or_else(|| SignatureError::Malformed(g.header.clone()))?;
            match &g.timestamp_header {
                Some(th) => {
                    let ts = timestamp(need(th)?, th)?;
                    fresh(ts, now, tolerance)?;
                    let ts_text = ts.to_string();
                    let signed = [ts_text.as_bytes(), b".", body];
                    any_matches(g.algorithm, secret.as_bytes(), &signed, &[sig])?;
                }
                None => any_matches(g.algorithm, secret.as_bytes(), &[body], &[sig])?,
            }
            Ok(Verified::default())
        }
    }
}

fn timestamp(value: &str, header: &str) -> Result<i64, SignatureError> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| SignatureError::Malformed(header.to_owned()))
}

fn fresh(ts: i64, now: i64, tolerance: i64) -> Result<(), SignatureError> {
    let off = now.saturating_sub(ts);
    if off.abs() > tolerance {
        Err(SignatureError::Stale(off))
    } else {
        Ok(())
    }
}

/// Whether one of the candidate signatures is the MAC of the parts (constant time each).
fn any_matches(
    alg: Algorithm,
    key: &[u8],
    parts: &[&[u8]],
    candidates: &[Vec<u8>],
) -> Result<(), SignatureError> {
    macro_rules! check {
        ($d:ty) => {{
            let mut mac =
                hmac::Hmac::<$d>::new_from_slice(key).map_err(|_| SignatureError::BadSecret)?;
            for p in parts {
                mac.update(p);
            }
            let mac = mac.finalize().into_bytes();
            let mut ok = false;
            for c in candidates {
                ok |= bool::from(subtle::ConstantTimeEq::ct_eq(mac.as_slice(), c.as_slice()));
            }
            ok
        }};
    }
    let ok = match alg {
        Algorithm::Sha1 => check!(sha1::Sha1),
        Algorithm::Sha256 => check!(sha2::Sha256),
        Algorithm::Sha512 => check!(sha2::Sha512),
    };
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The signature a sender would put in `header` for `body` (tests, the UI's "how to sign").
pub fn hmac_hex(alg: Algorithm, key: &[u8], parts: &[&[u8]]) -> Option<String> {
    macro_rules! mac {
        ($d:ty) => {{
            let mut mac = hmac::Hmac::<$d>::new_from_slice(key).ok()?;
            for p in parts {
                mac.update(p);
            }
            hex::encode(mac.finalize().into_bytes())
        }};
    }
    Some(match alg {
        Algorithm::Sha1 => mac!(sha1::Sha1),
        Algorithm::Sha256 => mac!(sha2::Sha256),
        Algorithm::Sha512 => mac!(sha2::Sha512),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn run(
        scheme: &Scheme,
        secret: &str,
        h: &HashMap<String, String>,
        body: &[u8],
        now: i64,
    ) -> Result<Verified, SignatureError> {
        verify(
            scheme,
            secret,
            |n| h.get(n).map(String::as_str),
            body,
            now,
            300,
        )
    }

    #[test]
    fn github_documented_example() {
        // docs.github.com, "Validating webhook deliveries": the test values given there.
        let h = headers(&[(
            "x-hub-signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        )]);
        let secret = "It's a Secret to Everybody";
        assert!(run(&Scheme::Github, secret, &h, b"Hello, World!", 0).is_ok());
        assert_eq!(
            run(&Scheme::Github, secret, &h, b"Hello, World?", 0),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            run(&Scheme::Github, secret, &headers(&[]), b"x", 0),
            Err(SignatureError::Missing("x-hub-signature-256".into()))
        );
    }

    #[test]
    fn standard_webhooks_documented_example() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let h = headers(&[
            ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            ("webhook-timestamp", "1614265330"),
            (
                "webhook-signature",
                "v1,bm9ldHUjKzFob2VudXRob2VodWUzMjRvdWVvdW9ldQo= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ),
        ]);
        let v = run(&Scheme::StandardWebhooks, secret, &h, body, 1614265330 + 10).unwrap();
        assert_eq!(
            v.message_id.as_deref(),
            Some("msg_p5jXN8AQM9LWM0D4loKWxJek")
        );
        assert_eq!(
            run(
                &Scheme::StandardWebhooks,
                secret,
                &h,
                body,
                1614265330 + 301
            ),
            Err(SignatureError::Stale(301))
        );
        assert_eq!(
            run(&Scheme::StandardWebhooks, secret, &h, b"{}", 1614265330),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stripe_signed_payload_is_timestamp_dot_body() {
        let secret = "whsec_test_secret";
        let body = br#"{"id":"evt_1"}"#;
        let sig = hmac_hex(
            Algorithm::Sha256,
            secret.as_bytes(),
            &[b"1700000000.", body],
        )
        .unwrap();
        let h = headers(&[(
            "stripe-signature",
            &format!("t=1700000000,v1=deadbeef,v1={sig},v0=0000"),
        )]);
        assert!(run(&Scheme::Stripe, secret, &h, body, 1700000100).is_ok());
        assert_eq!(
            run(&Scheme::Stripe, secret, &h, body, 1700000400),
            Err(SignatureError::Stale(400))
        );
        let no_t = headers(&[("stripe-signature", &format!("v1={sig}"))]);
        assert_eq!(
            run(&Scheme::Stripe, secret, &no_t, body, 1700000000),
            Err(SignatureError::Malformed("stripe-signature".into()))
        );
    }

    #[test]
    fn ms_teams_keys_with_the_decoded_token() {
        let token = base64::engine::general_purpose::STANDARD.encode(b"teams security token");
        let body = br#"{"type":"message","text":"hi"}"#;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"teams security token").unwrap();
        mac.update(body);
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let h = headers(&[("authorization", &format!("HMAC {sig}"))]);
        assert!(run(&Scheme::MsTeams, &token, &h, body, 0).is_ok());
        let bearer = headers(&[("authorization", "Bearer x")]);
        assert_eq!(
            run(&Scheme::MsTeams, &token, &bearer, body, 0),
            Err(SignatureError::Malformed("authorization".into()))
        );
        assert_eq!(
            run(&Scheme::MsTeams, "not base64!", &h, body, 0),
            Err(SignatureError::BadSecret)
        );
    }

    #[test]
    fn generic_with_every_algorithm_encoding_and_timestamp() {
        let body = b"a=1&b=2";
        for alg in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            let hexsig = hmac_hex(alg, b"k", &[body]).unwrap();
            let g = Generic {
                header: "x-sig".into(),
                algorithm: alg,
                encoding: Encoding::Hex,
                prefix: "sha=".into(),
                timestamp_header: None,
            };
            let h = headers(&[("x-sig", &format!("sha={hexsig}"))]);
            assert!(run(&Scheme::Generic(g.clone()), "k", &h, body, 0).is_ok());
            let b64 =
                base64::engine::general_purpose::STANDARD.encode(hex::decode(&hexsig).unwrap());
            let g64 = Generic {
                encoding: Encoding::Base64,
                prefix: String::new(),
                ..g
            };
            let h = headers(&[("x-sig", &b64)]);
            assert!(run(&Scheme::Generic(g64.clone()), "k", &h, body, 0).is_ok());
            assert_eq!(
                run(&Scheme::Generic(g64), "other", &h, body, 0),
                Err(SignatureError::Mismatch)
            );
        }
        let g = Generic {
            header: "x-sig".into(),
            algorithm: Algorithm::Sha256,
            encoding: Encoding::Hex,
            prefix: String::new(),
            timestamp_header: Some("x-ts".into()),
        };
        let sig = hmac_hex(Algorithm::Sha256, b"k", &[b"1000.", body]).unwrap();
        let h = headers(&[("x-sig", &sig), ("x-ts", "1000")]);
        assert!(run(&Scheme::Generic(g.clone()), "k", &h, body, 1100).is_ok());
        assert_eq!(
            run(&Scheme::Generic(g.clone()), "k", &h, body, 2000),
            Err(SignatureError::Stale(1000))
        );
        let h = headers(&[("x-sig", &sig)]);
        assert_eq!(
            run(&Scheme::Generic(g), "k", &h, body, 1000),
            Err(SignatureError::Missing("x-ts".into()))
        );
    }
}
