//! Small pieces several subscription views share: pattern chips, the enabled badge, the
//! signing secret shown once, and which clicks in a row are not row clicks.

use flowgate_api::subscriptions::SubscriptionOut;
use leptos::prelude::*;

use crate::components::{clicked_within, SecretOnce};

/// An element inside a link, button or field: a click there is not a row click.
pub fn on_control(ev: &leptos::ev::MouseEvent) -> bool {
    clicked_within(
        ev,
        "a, button, input, select, textarea, label, summary, pre",
    )
}

pub fn chips(patterns: &[String], max: usize) -> impl IntoView {
    let extra = patterns.len().saturating_sub(max);
    let all = patterns.join(", ");
    view! {
        <div class="chips" title=all>
            {patterns
                .iter()
                .take(max)
                .map(|p| {
                    let class = if p == "*" { "chip mono chip-all" } else { "chip mono" };
                    view! { <span class=class>{p.clone()}</span> }
                })
                .collect_view()}
            {(0 < extra).then(|| view! { <span class="chip chip-more">{format!("+{extra}")}</span> })}
        </div>
    }
}

/// Enabled / disabled, and why when Flowgate disabled it.
pub fn state_badge(s: &SubscriptionOut) -> impl IntoView {
    if s.enabled {
        view! { <span class="badge badge-ok">"Enabled"</span> }.into_any()
    } else if s.disabled_reason.is_some() {
        view! { <span class="badge badge-error" title="Disabled by Flowgate">"Disabled"</span> }
            .into_any()
    } else {
        view! { <span class="badge badge-disabled">"Disabled"</span> }.into_any()
    }
}

/// The signing secret, shown this once, with how to use it.
pub fn secret_block(secret: String) -> impl IntoView {
    view! {
        <div class="warn-box" role="alert">
            <strong>"This secret will not be shown again."</strong>
            " Copy it now into the receiver's configuration or secret store. If it is lost, rotate the secret on the subscription's page."
        </div>
        <SecretOnce id="sub-secret" aria_label="The signing secret" secret=secret/>
        <div class="verify-note">
            <h3>"How the receiver checks a delivery"</h3>
            <p>
                "Every delivery carries "<code>"webhook-id"</code>", "<code>"webhook-timestamp"</code>" and "
                <code>"webhook-signature"</code>". Compute the HMAC-SHA256 of "
                <code>"{webhook-id}.{webhook-timestamp}.{raw body}"</code>
                ", keyed with the base64-decoded part of the secret after "<code>"whsec_"</code>
                ", encode it in base64 and compare it with each "<code>"v1,…"</code>
                " signature in the header. Reject old timestamps (say, over 5 minutes) and dedupe on "<code>"webhook-id"</code>"."
            </p>
            <details>
                <summary>"Example (Node.js)"</summary>
                <pre class="json verify-code">{VERIFY_EXAMPLE}</pre>
            </details>
            <p class="muted small">
                "The "<a href="https://www.standardwebhooks.com/" target="_blank" rel="noopener">"Standard Webhooks"</a>
                " libraries do all of this for you."
            </p>
        </div>
    }
}

const VERIFY_EXAMPLE: &str = r#"const crypto = require("node:crypto");
// secret: "whsec_…"; rawBody: the exact bytes received, as a string
function verify(secret, headers, rawBody) {
  const id = headers["webhook-id"], ts = headers["webhook-timestamp"];
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const expected = crypto.createHmac("sha256", key)
    .update(`${id}.${ts}.${rawBody}`).digest("base64");
  return headers["webhook-signature"].split(" ")
    .some((s) => s.split(",")[1] === expected);
}"#;
