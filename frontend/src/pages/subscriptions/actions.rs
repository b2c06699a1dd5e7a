//! What the list and a subscription's page both do to a subscription: enable or disable it,
//! and delete it (after a confirmation).

use flowgate_api::subscriptions::{SubscriptionOut, SubscriptionPatch};
use leptos::task::spawn_local;

use crate::api::{self, enc, ApiError};
use crate::components::{confirm, Notify};

/// `PATCH` the subscription `id` to `enabled: enable`.
pub async fn set_enabled(id: &str, enable: bool) -> Result<SubscriptionOut, ApiError> {
    let body = SubscriptionPatch {
        enabled: Some(enable),
        ..SubscriptionPatch::default()
    };
    api::patch::<SubscriptionOut, _>(&format!("/subscriptions/{}", enc(id)), &body).await
}

/// Why enabling (or disabling) failed, for a notice.
pub fn toggle_failed(e: &ApiError, enable: bool) -> String {
    if e.status == 403 {
        "Only admins enable and disable subscriptions.".to_owned()
    } else {
        format!(
            "Could not {} the subscription: {e}",
            if enable { "enable" } else { "disable" }
        )
    }
}

/// Asks, then deletes `s`. Once it is gone, `on_gone(false)`; when it was gone already (404),
/// `on_gone(true)`. Each outcome is said in a notice.
pub fn delete_subscription(
    s: &SubscriptionOut,
    notify: Notify,
    on_gone: impl Fn(bool) + Send + Sync + 'static,
) {
    let id = s.id.clone();
    confirm(
        "Delete this subscription?",
        format!(
            "{} will get no more events. Its deliveries and their attempts are deleted too, \
             including pending ones that were not sent yet. This cannot be undone.",
            s.url
        ),
        "Delete subscription",
        {
            let on_gone = std::sync::Arc::new(on_gone);
            move || {
                let id = id.clone();
                let on_gone = on_gone.clone();
                spawn_local(async move {
                    match api::delete(&format!("/subscriptions/{}", enc(&id))).await {
                        Ok(()) => {
                            notify.ok("Subscription deleted");
                            on_gone(false);
                        }
                        Err(e) if e.status == 404 => {
                            notify.error("This subscription was already deleted.");
                            on_gone(true);
                        }
                        Err(e) if e.status == 403 => {
                            notify.error("Only admins delete subscriptions.")
                        }
                        Err(e) => notify.error(format!("Could not delete the subscription: {e}")),
                    }
                });
            }
        },
    );
}
