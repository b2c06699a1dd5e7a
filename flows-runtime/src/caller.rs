//! Who called: the credential a trigger let the call in with, as flows see it
//! (`request.caller`) and as executions record it.

use serde::{Deserialize, Serialize};

/// The credential a call came with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// `api_key` or `oauth_client`.
    #[serde(rename = "type")]
    pub kind: CallerKind,
    /// The key's or the client's id.
    pub id: String,
    /// The key's or the client's label when the call came in.
    pub label: String,
}

/// What kind of credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerKind {
    ApiKey,
    OauthClient,
}

impl CallerKind {
    /// What a caller reference starts with (`key:<id>`, `client:<id>`).
    fn prefix(self) -> &'static str {
        match self {
            CallerKind::ApiKey => "key",
            CallerKind::OauthClient => "client",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CallerKind::ApiKey => "api_key",
            CallerKind::OauthClient => "oauth_client",
        }
    }
}

impl Caller {
    /// The stable reference stored (and filtered on) with an execution: `key:<id>` or
    /// `client:<id>`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.kind.prefix(), self.id)
    }

    /// The kind and the id a reference names, if it is one (`key:<id>`, `client:<id>`).
    pub fn parse_reference(reference: &str) -> Option<(CallerKind, &str)> {
        let (prefix, id) = reference.split_once(':')?;
        let kind = [CallerKind::ApiKey, CallerKind::OauthClient]
            .into_iter()
            .find(|k| k.prefix() == prefix)?;
        (!id.is_empty()).then_some((kind, id))
    }
}
