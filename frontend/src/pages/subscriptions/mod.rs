//! Event subscriptions (outbound webhooks): URLs that receive the events flows publish (the
//! `emit` step), signed per Standard Webhooks and retried for about a day.
//!
//! Everyone signed in reads subscriptions and their deliveries; designers also publish test
//! events; admins add, change, enable/disable, delete subscriptions, rotate their signing
//! secrets (shown once) and redeliver.

mod actions;
mod deliveries;
mod delivery;
mod detail;
mod form;
mod list;
mod live;
mod modals;
mod overview;
mod parts;
mod rules;
mod send_event;
mod settings;

pub use detail::SubscriptionPage;
pub use list::SubscriptionsPage;
