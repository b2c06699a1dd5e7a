//! Outbound webhooks as data: the deliveries an event makes, their bodies and ids, and the
//! signing scheme of the Standard Webhooks spec (with the signing secret sealed at rest).

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::execution::Finished;
use super::subscription_set::Entry;
use crate::support::crypto::{self, ServerSecret};
use crate::support::ids::new_id;
use crate::support::time::rfc3339;

/// Prefix of a signing secret (Standard Webhooks).
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a generated signing secret.
const SECRET_BYTES: usize = 32;

/// One delivery to insert: an event for one subscription.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: String,
    pub subscription_id: String,
    pub event_id: String,
    pub event_type: String,
    pub body: String,
    pub ordered: bool,
    pub execution_id: Option<String>,
    pub created_at: i64,
}

/// The body of a webhook (Standard Webhooks): `{"type", "timestamp", "data"}`.
pub fn body_of(event_type: &str, at_us: i64, payload: &Value) -> String {
    json!({
        "type": event_type,
        "timestamp": rfc3339(at_us),
        "data": payload,
    })
    .to_string()
}

/// The id of the `index`-th event of one run of an execution: the same if the end of that
/// run is written twice, so the unique (subscription, event) index keeps one delivery.
pub fn flow_event_id(execution_id: &str, started_at: i64, index: usize) -> String {
    let digest = Sha256::digest(format!("{execution_id}/{started_at}/{index}").as_bytes());
    let hex = hex::encode(digest);
    format!("msg_{}", hex.get(..32).unwrap_or(&hex))
}

/// The deliveries of some events to the subscriptions that want them.
pub fn deliveries_for(
    subs: &[Entry],
    events: &[(String, String, String)],
    execution_id: Option<&str>,
    now: i64,
) -> Vec<NewDelivery> {
    let mut out = Vec::new();
    for (event_id, event_type, body) in events {
        for s in subs.iter().filter(|s| s.wants(event_type)) {
            out.push(NewDelivery {
                id: new_id(),
                subscription_id: s.id.clone(),
                event_id: event_id.clone(),
                event_type: event_type.clone(),
                body: body.clone(),
                ordered: s.ordered,
                execution_id: execution_id.map(str::to_owned),
                created_at: now,
            });
        }
    }
    out
}

/// The deliveries of the events of an execution's run that ended (nothing for a run that
/// will be retried: only the run that ends the execution publishes).
pub fn deliveries_of_run(subs: &[Entry], f: &Finished) -> Vec<NewDelivery> {
    if f.events.is_empty() || subs.is_empty() || f.status == flowgate_api::ExecutionStatus::Queued {
        return Vec::new();
    }
    let events: Vec<(String, String, String)> = f
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            (
                flow_event_id(&f.id, f.started_at, i),
                e.event_type.clone(),
                body_of(&e.event_type, f.finished_at, &e.payload),
            )
        })
        .collect();
    deliveries_for(subs, &events, Some(&f.id), f.finished_at)
}

/// A new signing secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let bytes: [u8; SECRET_BYTES] = rand::random();
    format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the base64-decoded part
/// of the secret after `whsec_`; `None` for a malformed secret.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()?;
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{msg_id}.{timestamp}.{body}").as_bytes());
    let sig = mac.finalize().into_bytes();
    Some(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(sig)
    ))
}

/// How a subscription's signing secret is stored: encrypted like stored secrets
/// (ChaCha20-Poly1305 under a key derived from the server secret), bound to the subscription.
pub fn seal_secret(
    server: &ServerSecret,
    subscription_id: &str,
    secret: &str,
) -> anyhow::Result<String> {
    crypto::seal(server, &secret_aad(subscription_id), secret)
}

/// The signing secret of a stored value; `None` when it cannot be decrypted (another server
/// secret).
pub fn open_secret(server: &ServerSecret, subscription_id: &str, stored: &str) -> Option<String> {
    crypto::open(server, &secret_aad(subscription_id), stored)
}

fn secret_aad(subscription_id: &str) -> String {
    format!("subscription {subscription_id} signing secret")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_follows_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sig = sign(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            sig.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn secrets_are_whsec_and_long() {
        let s = generate_secret();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(s.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(raw.len(), 32);
        assert_ne!(s, generate_secret());
    }

    #[test]
    fn flow_event_ids_are_stable_per_run_and_index() {
        assert_eq!(flow_event_id("e", 1, 0), flow_event_id("e", 1, 0));
        assert_ne!(flow_event_id("e", 1, 0), flow_event_id("e", 1, 1));
        assert_ne!(flow_event_id("e", 1, 0), flow_event_id("e", 2, 0));
        assert!(flow_event_id("e", 1, 0).starts_with("msg_"));
    }
}
