//! The credentials of one server, to name them by label in files and to find them again by
//! label in another server.

use flowgate_api::secrets::SecretOut;
use flowgate_api::{KeyOut, OauthClientOut};

use super::client::Api;
use super::format::{Cred, ID_PREFIX};

/// The live API keys, OAuth clients and stored secrets of a server.
pub struct Credentials {
    pub keys: Vec<KeyOut>,
    pub clients: Vec<OauthClientOut>,
    pub secrets: Vec<SecretOut>,
}

impl Credentials {
    pub async fn fetch(api: &Api) -> anyhow::Result<Credentials> {
        Ok(Credentials {
            keys: api.list("/api/v1/keys").await?,
            clients: api.list("/api/v1/oauth-clients").await?,
            secrets: api.list("/api/v1/secrets").await?,
        })
    }

    /// `(id, label)` of each live credential of a kind.
    fn of(&self, kind: Cred) -> Vec<(&str, &str)> {
        match kind {
            Cred::Key => self
                .keys
                .iter()
                .map(|k| (k.id.as_str(), k.label.as_str()))
                .collect(),
            Cred::Client => self
                .clients
                .iter()
                .map(|c| (c.client_id.as_str(), c.label.as_str()))
                .collect(),
        }
    }

    /// How a file names a credential: its label, or `id:<id>` when no live one has this id.
    pub fn label_of(&self, kind: Cred, id: &str) -> Result<String, String> {
        match self.of(kind).into_iter().find(|(i, _)| *i == id) {
            Some((_, label)) => Ok(label.to_owned()),
            None => Err(format!("{ID_PREFIX}{id}")),
        }
    }

    /// How many live credentials of a kind carry this label.
    pub fn count_label(&self, kind: Cred, label: &str) -> usize {
        self.of(kind)
            .into_iter()
            .filter(|(_, l)| *l == label)
            .count()
    }

    /// The id of the credential a file names (`id:<id>` is that id); the error says why
    /// there is no single one.
    pub fn id_of(&self, kind: Cred, name: &str) -> Result<String, String> {
        if let Some(id) = name.strip_prefix(ID_PREFIX) {
            return if self.of(kind).iter().any(|(i, _)| *i == id) {
                Ok(id.to_owned())
            } else {
                Err(format!("no {} with id `{id}` in the target", kind.what()))
            };
        }
        let found: Vec<&str> = self
            .of(kind)
            .into_iter()
            .filter(|(_, l)| *l == name)
            .map(|(i, _)| i)
            .collect();
        match found.as_slice() {
            [id] => Ok((*id).to_owned()),
            [] => Err(format!(
                "no {} labelled `{name}` in the target (apply does not create credentials: create it there first)",
                kind.what()
            )),
            more => Err(format!(
                "{} {}s are labelled `{name}` in the target: give them distinct labels",
                more.len(),
                kind.what()
            )),
        }
    }

    pub fn has_secret(&self, name: &str) -> bool {
        self.secrets.iter().any(|s| s.name == name)
    }
}
