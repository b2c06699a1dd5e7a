//! Documents the UI writes itself (the integrations page and the editor both start from them).

use flowgate_api::{IntegrationDoc, TriggerAuth, TriggerDoc};

/// A new integration's first draft: a trigger (who may call it is still to be chosen) and no
/// steps yet; the editor's empty pipeline says what to add.
pub fn starter_doc(name: &str, path: &str) -> IntegrationDoc {
    let trigger: TriggerDoc = serde_json::from_value(serde_json::json!({
        "path": path,
        "auth": {"type": "api_key", "keys": []}
    }))
    .unwrap_or_else(|_| TriggerDoc {
        path: path.to_owned(),
        methods: vec!["POST".into()],
        auth: TriggerAuth::ApiKey { keys: Vec::new() },
        ordered: false,
        lane_key: None,
        request_response: true,
        timeout_ms: 10_000,
        max_body_bytes: 1024 * 1024,
        query_params: Vec::new(),
        content_types: Vec::new(),
        retry: Default::default(),
        idempotency: None,
        rate_limit: None,
        allow_redirects: false,
        sample: None,
        error_response: None,
    });
    IntegrationDoc {
        name: name.to_owned(),
        description: String::new(),
        enabled: true,
        trigger,
        steps: Vec::new(),
        on_error: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_draft_has_a_trigger_waiting_for_keys_and_no_steps() {
        let d = starter_doc("Sync", "acme/sync");
        assert_eq!(d.trigger.path, "acme/sync");
        assert_eq!(d.trigger.methods, vec!["POST".to_owned()]);
        assert!(matches!(d.trigger.auth, TriggerAuth::ApiKey { ref keys } if keys.is_empty()));
        assert!(d.steps.is_empty());
    }
}
