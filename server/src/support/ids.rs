//! Ids: UUIDv7 (time-ordered), so rows sort by creation and indexes stay compact.

/// A new id for a row (executions, users, keys, integrations, subscriptions, deliveries…).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A fresh id for an event published through the API (`msg_` + 32 hex digits).
pub fn new_event_id() -> String {
    format!("msg_{}", uuid::Uuid::now_v7().simple())
}
