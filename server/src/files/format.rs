//! The files of an exported directory: their types, how they are written (deterministic YAML)
//! and read (YAML or JSON), and the normalisation both sides of a comparison go through.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use flowgate_api::integrations::{IntegrationOut, TriggerDoc};
use flowgate_api::{IntegrationDoc, RateLimit, TriggerAuth};
use flows_runtime::model::Step;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The folder of integration files, one `<slug>.yaml` each.
pub const INTEGRATIONS_DIR: &str = "integrations";
pub const KEYS_FILE: &str = "keys.yaml";
pub const CLIENTS_FILE: &str = "oauth-clients.yaml";
pub const SUBSCRIPTIONS_FILE: &str = "subscriptions.yaml";
pub const SECRETS_FILE: &str = "secrets.yaml";

/// In a file, a credential that had no label to write (its id was not among the live keys
/// or clients) is written `id:<id>`, and read back as that id.
pub const ID_PREFIX: &str = "id:";

/// `integrations/<slug>.yaml`: an integration document with its slug, the trigger's API
/// keys and OAuth clients named by label instead of id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationFile {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub trigger: TriggerDoc,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_error: Vec<Step>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// One entry of `keys.yaml`: what identifies an API key across environments (never its
/// secret, nor its prefix, id or dates, which differ from one environment to the next).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitEntry>,
}

/// [`RateLimit`] with an order, for sorting entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitEntry {
    pub per_second: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

impl From<RateLimit> for RateLimitEntry {
    fn from(r: RateLimit) -> Self {
        RateLimitEntry {
            per_second: r.per_second,
            burst: r.burst,
        }
    }
}

/// One entry of `oauth-clients.yaml` (never the client secret; the client id is generated
/// by each environment, so the label names the client).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    pub label: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitEntry>,
}

/// One entry of `secrets.yaml`: a stored secret's name and bound hosts, never its value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretEntry {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

/// One entry of `subscriptions.yaml`, identified by `url` (and `description` when several
/// share a URL). Header values are written `[redacted]`; never the signing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionEntry {
    pub url: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub event_types: Vec<String>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ordered: bool,
}

impl SubscriptionEntry {
    /// How the subscription is named in messages.
    pub fn name(&self) -> String {
        if self.description.is_empty() {
            self.url.clone()
        } else {
            format!("{} ({})", self.url, self.description)
        }
    }

    /// Sorted and without repeats: event types are a set.
    pub fn normalise(&mut self) {
        self.url = self.url.trim().to_owned();
        self.event_types.sort();
        self.event_types.dedup();
    }
}

impl IntegrationFile {
    /// The file of an integration as the API shows it, its credentials named by `name`.
    pub fn from_out(out: &IntegrationOut, name: impl FnMut(Cred, &str) -> String) -> Self {
        let mut file = IntegrationFile {
            slug: out.slug.clone(),
            name: out.name.clone(),
            description: out.description.clone(),
            enabled: out.enabled,
            trigger: out.trigger.clone(),
            steps: out.steps.clone(),
            on_error: out.on_error.clone(),
        };
        file.trigger.auth = map_auth(&file.trigger.auth, name);
        file.normalise();
        file
    }

    /// The document to send, its credentials turned back into ids by `resolve`.
    pub fn to_doc(&self, resolve: impl FnMut(Cred, &str) -> String) -> IntegrationDoc {
        let mut trigger = self.trigger.clone();
        trigger.auth = map_auth(&trigger.auth, resolve);
        IntegrationDoc {
            name: self.name.clone(),
            description: self.description.clone(),
            enabled: self.enabled,
            trigger,
            steps: self.steps.clone(),
            on_error: self.on_error.clone(),
        }
    }

    /// What the server would store for this file: the trimming and casing publishing applies
    /// (`domain::integrations::check`), and credentials in label order (they are a set).
    pub fn normalise(&mut self) {
        self.name = self.name.trim().to_owned();
        let t = &mut self.trigger;
        t.path = t.path.trim().trim_start_matches('/').to_owned();
        for m in &mut t.methods {
            *m = m.to_ascii_uppercase();
        }
        for ct in &mut t.content_types {
            *ct = ct.trim().to_ascii_lowercase();
        }
        match &mut t.auth {
            TriggerAuth::ApiKey { keys } => keys.sort(),
            TriggerAuth::Oauth2 {
                clients,
                keys,
                scope,
            } => {
                clients.sort();
                keys.sort();
                if let Some(s) = scope {
                    *s = s.trim().to_owned();
                }
            }
            TriggerAuth::Signature {
                secret,
                keys,
                clients,
                ..
            } => {
                *secret = secret.trim().to_owned();
                keys.sort();
                clients.sort();
            }
            TriggerAuth::None => {}
        }
    }
}

/// Which kind of credential a trigger names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cred {
    Key,
    Client,
}

impl Cred {
    pub fn what(self) -> &'static str {
        match self {
            Cred::Key => "API key",
            Cred::Client => "OAuth client",
        }
    }
}

/// The auth with each key and client passed through `f`.
fn map_auth(auth: &TriggerAuth, mut f: impl FnMut(Cred, &str) -> String) -> TriggerAuth {
    let mut auth = auth.clone();
    let mut keys_of = |v: &mut Vec<String>, c: Cred| {
        for s in v.iter_mut() {
            *s = f(c, s);
        }
    };
    match &mut auth {
        TriggerAuth::ApiKey { keys } => keys_of(keys, Cred::Key),
        TriggerAuth::Oauth2 { clients, keys, .. }
        | TriggerAuth::Signature { clients, keys, .. } => {
            keys_of(keys, Cred::Key);
            keys_of(clients, Cred::Client);
        }
        TriggerAuth::None => {}
    }
    auth
}

/// The YAML text of a value: deterministic (struct fields in declaration order, maps sorted),
/// ending with a newline.
pub fn to_yaml<T: Serialize>(value: &T) -> anyhow::Result<String> {
    let mut text = yaml_serde::to_string(value).context("writing YAML")?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// Parses a file's text: JSON when its name ends in `.json`, YAML otherwise. The error names
/// the file and, for YAML, the line and column.
pub fn parse<T: DeserializeOwned>(name: &str, text: &str) -> anyhow::Result<T> {
    if name.ends_with(".json") {
        serde_json::from_str(text).with_context(|| format!("{name}: not a valid file"))
    } else {
        yaml_serde::from_str(text).with_context(|| format!("{name}: not a valid file"))
    }
}

/// Reads and parses one file (`None` when it does not exist).
pub fn read_optional<T: DeserializeOwned>(dir: &Path, name: &str) -> anyhow::Result<Option<T>> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(name, &text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The integration files of a directory, by file name: `(name relative to the directory,
/// slug the file name gives, text)`.
pub fn integration_files(dir: &Path) -> anyhow::Result<Vec<(String, String, String)>> {
    let folder = dir.join(INTEGRATIONS_DIR);
    let entries = match std::fs::read_dir(&folder) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", folder.display())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", folder.display()))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(slug) = integration_slug(&file_name) else {
            continue;
        };
        let path = entry.path();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        out.push((
            format!("{INTEGRATIONS_DIR}/{file_name}"),
            slug.to_owned(),
            text,
        ));
    }
    out.sort();
    Ok(out)
}

/// The slug an integration file's name gives (`a.yaml`, `a.yml`, `a.json`), if it is one.
pub fn integration_slug(file_name: &str) -> Option<&str> {
    [".yaml", ".yml", ".json"]
        .iter()
        .find_map(|ext| file_name.strip_suffix(ext))
        .filter(|s| !s.is_empty() && !s.starts_with('.'))
}

/// A unified diff of two texts, `old` named `from` and `new` named `to`; empty when equal.
pub fn diff(old: &str, new: &str, from: &str, to: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(from, to)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> IntegrationFile {
        parse(
            "a.yaml",
            "slug: a\nname: ' A '\ntrigger:\n  path: /x/y\n  methods: [post]\n  auth:\n    type: api_key\n    keys: [b, a]\nsteps:\n- type: respond\n  status: 200\n",
        )
        .unwrap()
    }

    #[test]
    fn files_normalise_like_the_server() {
        let mut f = sample();
        f.normalise();
        assert_eq!(f.name, "A");
        assert_eq!(f.trigger.path, "x/y");
        assert_eq!(f.trigger.methods, ["POST"]);
        assert_eq!(f.trigger.auth.keys(), ["a".to_owned(), "b".to_owned()]);
    }

    #[test]
    fn yaml_round_trips_and_is_stable() {
        let mut f = sample();
        f.normalise();
        let text = to_yaml(&f).unwrap();
        assert!(text.ends_with('\n'), "{text}");
        assert!(text.starts_with("slug: a\nname: A\n"), "{text}");
        let back: IntegrationFile = parse("a.yaml", &text).unwrap();
        assert_eq!(back, f);
        assert_eq!(to_yaml(&back).unwrap(), text);
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(parse::<IntegrationFile>("a.json", &json).unwrap(), f);
    }

    #[test]
    fn unknown_fields_and_bad_yaml_name_the_file() {
        let e = parse::<IntegrationFile>("integrations/a.yaml", "slug: a\nnmae: x\n").unwrap_err();
        let text = format!("{e:#}");
        assert!(
            text.contains("integrations/a.yaml") && text.contains("nmae"),
            "{text}"
        );
        let e = parse::<IntegrationFile>("b.yaml", "slug: [\n").unwrap_err();
        assert!(format!("{e:#}").contains("line"), "{e:#}");
    }

    #[test]
    fn credentials_map_both_ways() {
        let f = sample();
        let doc = f.to_doc(|c, l| format!("{c:?}-{l}"));
        assert_eq!(
            doc.trigger.auth.keys(),
            ["Key-b".to_owned(), "Key-a".to_owned()]
        );
        let slugs = [
            "a.yaml",
            "b.yml",
            "c.json",
            ".hidden.yaml",
            "d.txt",
            ".yaml",
        ];
        let got: Vec<_> = slugs.iter().filter_map(|s| integration_slug(s)).collect();
        assert_eq!(got, ["a", "b", "c"]);
    }

    #[test]
    fn diffs_are_unified() {
        let d = diff("a\nb\n", "a\nc\n", "old", "new");
        assert!(d.contains("--- old") && d.contains("+++ new"), "{d}");
        assert!(d.contains("-b\n") && d.contains("+c\n"), "{d}");
        assert!(diff("a\n", "a\n", "x", "y").is_empty());
    }
}
