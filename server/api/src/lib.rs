//! Wire types of Flowgate's admin API (`/api/v1`), shared by the server and the UI.
//!
//! Versioning rule: within `/api/v1` fields are only ever added (with defaults), never renamed
//! or removed, and error codes are stable.

/// `Debug` for types that carry a secret: every field but the secret ones, which print as
/// `[redacted]`, so a secret never reaches a log through `{:?}`.
macro_rules! debug_redacted {
    ($t:ident { $($f:ident),* } secret { $($s:ident),+ }) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    $(.field(stringify!($f), &self.$f))*
                    $(.field(stringify!($s), &"[redacted]"))+
                    .finish()
            }
        }
    };
}

pub mod error;
pub mod executions;
pub mod integrations;
pub mod keys;
pub mod secrets;
pub mod subscriptions;
pub mod users;

pub use error::{ErrorBody, ErrorDetail, ErrorInner};
pub use executions::{ExecutionOut, ExecutionStatus, RequestSnapshot, ResponseSnapshot};
pub use integrations::{
    DraftOut, IntegrationDoc, IntegrationOut, IntegrationPatch, IntegrationStats, PublishIn,
    QueryParam, TestRequest, TestRunIn, TestRunOut, TestStepOut, TriggerAuth, TriggerDoc,
    ValidateOut,
};
pub use keys::{KeyCreatedOut, KeyIn, KeyOut};
pub use users::{LoginIn, LoginOut, UserOut, UserPatch};

use serde::{Deserialize, Serialize};

/// A page of a list, newest first. `next_cursor` is passed back as `cursor` to get the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
